"""/classes (admins, staff section "classes"): the timetable by day, a class's card, change
capacity, move, cancel.

Typed steps: `cls.cap` (a new capacity), `cls.move.day` (a date as DD.MM) and
`cls.move.time` (HH:MM); their buttons carry everything they need, so an old one still does
the right thing or says why not. The members a move or a cancellation concerns are told by
the service's notices (`ClassMoved`, `ClassCancelled`), each once, in their own language;
the card says how many.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import (
    ADMIN_CLASS,
    ADMIN_DAY,
    CLASS_CANCEL,
    CLASS_CANCEL_OK,
    CLASS_CAPACITY,
    CLASS_MOVE,
    CLASS_MOVE_AT,
    CLASS_MOVE_DAY,
    CLASS_MOVE_OK,
    CLASS_SET_CAPACITY,
    STAFF,
    Action,
)
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import classes as screens
from fitclub.services import class_planner, class_types, classes
from fitclub.services.classes import AdminClass, Outcome

CAPACITY = "cls.cap"
MOVE_DAY = "cls.move.day"
MOVE_TIME = "cls.move.time"
STATES = (CAPACITY, MOVE_DAY, MOVE_TIME)


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /classes, the timetable's buttons and the typed steps of capacity and move."""
    routes = Routes(bot, deps)
    routes.command("classes", show_classes)
    routes.button(STAFF.matches(section="classes"), show_classes)
    routes.button(ADMIN_DAY, page)
    routes.button(ADMIN_CLASS, open_class)
    routes.button(CLASS_CAPACITY, capacity_screen)
    routes.button(CLASS_SET_CAPACITY, set_capacity)
    routes.button(CLASS_MOVE, move_start)
    routes.button(CLASS_MOVE_DAY, move_day)
    routes.button(CLASS_MOVE_AT, move_at)
    routes.button(CLASS_MOVE_OK, move_ok)
    routes.button(CLASS_CANCEL, cancel_ask)
    routes.button(CLASS_CANCEL_OK, cancel_ok)
    routes.message(step_text, when=flows.typed_step(deps.context, *STATES))



def _day(deps: Deps, ctx: UpdateContext, on: date | None = None,
         note: str | None = None) -> Screen:
    """One day of the admin timetable (today when `on` is out of reach)."""
    return screens.day(ctx.texts, classes.day(ctx.conn, ctx.now(), deps.club.booking, on), note)


def _card(ctx: UpdateContext, cls_or_id: AdminClass | int, note: str | None = None) -> Screen:
    cls = classes.get(ctx.conn, cls_or_id) if isinstance(cls_or_id, int) else cls_or_id
    return screens.card(ctx.texts, cls, ctx.now(), note)


def _leave(ctx: UpdateContext) -> None:
    """Leave a capacity or move step (opening another screen ends it)."""
    if flows.current(ctx).state in STATES:
        flows.leave(ctx)


def _refuse(ctx: UpdateContext, call: types.CallbackQuery, cls: AdminClass,
            why: Outcome) -> None:
    """A change to a class that no longer allows it: the card, with the reason."""
    _leave(ctx)
    ui.show(ctx, _card(ctx, cls), call, toast=screens.refusal(ctx.texts, why))


def _class(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery, action: Action, *,
           live: bool = False) -> tuple[dict[str, Any], AdminClass] | None:
    """The press's values and its class; None once answered stale (the class is gone: today's
    page) or, with `live`, shown the card because the class can no longer change."""
    values = action.parse(call.data)
    cls = classes.get(ctx.conn, values["class_id"])
    if cls is None:
        ui.stale(ctx, call, refresh=_day(deps, ctx))
        return None
    why = classes.closed(cls, ctx.now()) if live else None
    if why is not None:
        _refuse(ctx, call, cls, why)
        return None
    return values, cls


# -- the timetable and a class's card --------------------------------------------------------

@admin_only("classes.list")
def show_classes(deps: Deps, ctx: UpdateContext, member: Member,
                 update: types.Message | types.CallbackQuery) -> None:
    _leave(ctx)
    ui.show(ctx, _day(deps, ctx), update)


@admin_only("classes.list")
def page(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    _leave(ctx)
    ui.show(ctx, _day(deps, ctx, ADMIN_DAY.parse(call.data)["day"]), call)


@admin_only("classes.open")
def open_class(deps: Deps, ctx: UpdateContext, member: Member,
               call: types.CallbackQuery) -> None:
    _leave(ctx)
    found = _class(deps, ctx, call, ADMIN_CLASS)
    if found is not None:
        ui.show(ctx, _card(ctx, found[1]), call)


# -- capacity ------------------------------------------------------------------------------

@admin_only("classes.capacity")
def capacity_screen(deps: Deps, ctx: UpdateContext, member: Member,
                    call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_CAPACITY, live=True)
    if found is None:
        return
    _, cls = found
    flows.enter(ctx, CAPACITY, {"class_id": cls.id})
    ui.show(ctx, screens.capacity(ctx.texts, cls), call)


def _change_capacity(deps: Deps, ctx: UpdateContext, member: Member, class_id: int,
                     capacity: int) -> tuple[Outcome, str]:
    """Set the capacity (the places it frees are offered to the line); the outcome and its
    line."""
    result = classes.set_capacity(ctx.conn, member.id, class_id, capacity, ctx.now(),
                                  deps.club.booking)
    return result.outcome, screens.capacity_result(ctx.texts, result.outcome, capacity,
                                                   result.taken, len(result.offers))


@admin_only("classes.capacity")
def set_capacity(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_SET_CAPACITY)
    if found is None:
        return
    values, cls = found
    if not 1 <= values["capacity"] <= class_types.CAPACITY_MAX:
        ui.stale(ctx, call)
        return
    outcome, line = _change_capacity(deps, ctx, member, cls.id, values["capacity"])
    if outcome is Outcome.BELOW:
        ui.show(ctx, screens.capacity(ctx.texts, classes.get(ctx.conn, cls.id), line), call,
                toast=line)
        return
    _leave(ctx)
    ui.show(ctx, _card(ctx, cls.id, line), call, toast=line)


def _typed_capacity(deps: Deps, ctx: UpdateContext, member: Member, cls: AdminClass,
                    text: str) -> None:
    checked = class_types.check_capacity(text)
    if checked.problem is not None:
        ui.show(ctx, screens.capacity(ctx.texts, cls, screens.problem(ctx.texts,
                                                                      checked.problem)))
        return
    outcome, line = _change_capacity(deps, ctx, member, cls.id, checked.value)
    if outcome is Outcome.BELOW:
        ui.show(ctx, screens.capacity(ctx.texts, classes.get(ctx.conn, cls.id), line))
        return
    flows.leave(ctx)
    ui.show(ctx, _card(ctx, cls.id, line))


# -- moving --------------------------------------------------------------------------------

def _move_days(deps: Deps, ctx: UpdateContext, cls: AdminClass,
               note: str | None = None) -> Screen:
    return screens.move_day(ctx.texts, cls, classes.days(deps.club.today(ctx.now())), note)


def _at(minute: int) -> time:
    """The time of day a button's minute after midnight stands for."""
    return time(*divmod(minute, 60))


def _move_confirm(ctx: UpdateContext, cls: AdminClass, moment: datetime) -> Screen:
    found = class_planner.overlaps(ctx.conn, cls.trainer_id, (moment,), cls.duration_minutes,
                                   exclude_id=cls.id)
    return screens.move_confirm(ctx.texts, cls, moment, classes.audience(ctx.conn, cls.id),
                                found)


@admin_only("classes.move")
def move_start(deps: Deps, ctx: UpdateContext, member: Member,
               call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_MOVE, live=True)
    if found is None:
        return
    _, cls = found
    flows.enter(ctx, MOVE_DAY, {"class_id": cls.id})
    ui.show(ctx, _move_days(deps, ctx, cls), call)


@admin_only("classes.move")
def move_day(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_MOVE_DAY, live=True)
    if found is None:
        return
    values, cls = found
    if not classes.within_reach(values["day"], deps.club.today(ctx.now())):
        ui.stale(ctx, call, refresh=_move_days(deps, ctx, cls))
        return
    flows.enter(ctx, MOVE_TIME, {"class_id": cls.id, "day": values["day"].isoformat()})
    ui.show(ctx, screens.move_time(ctx.texts, cls, values["day"]), call)


@admin_only("classes.move")
def move_at(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_MOVE_AT, live=True)
    if found is None:
        return
    values, cls = found
    if not classes.within_reach(values["day"], deps.club.today(ctx.now())):
        ui.stale(ctx, call)
        return
    start = classes.new_start(values["day"], _at(values["minute"]), ctx.now(),
                              deps.club.timezone)
    if start.problem is not None:
        ctx.answer_callback(call.id, screens.problem(ctx.texts, start.problem), show_alert=True)
        return
    ui.show(ctx, _move_confirm(ctx, cls, start.value), call)


@admin_only("classes.move")
def move_ok(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_MOVE_OK)
    if found is None:
        return
    values, cls = found
    start = classes.new_start(values["day"], _at(values["minute"]), ctx.now(),
                              deps.club.timezone)
    if start.problem is not None:
        ctx.answer_callback(call.id, screens.problem(ctx.texts, start.problem), show_alert=True)
        return
    result = classes.move(ctx.conn, member.id, cls.id, start.value, ctx.now(),
                          deps.club.booking)
    tx = ctx.texts
    if result.outcome is Outcome.SAME:
        _leave(ctx)
        ui.show(ctx, _card(ctx, cls.id), call, toast=tx("cls_move_same"))
        return
    if result.outcome is Outcome.FAR:  # no button offers such a day: forged or tampered
        ui.stale(ctx, call)
        return
    if result.outcome is not Outcome.DONE:
        _refuse(ctx, call, cls, result.outcome)
        return
    _leave(ctx)
    line = tx.plural("cls_moved", len(result.attendees), when=tx.datetime(start.value))
    ui.show(ctx, _card(ctx, cls.id, line), call, toast=line)


def _typed_day(deps: Deps, ctx: UpdateContext, cls: AdminClass, text: str) -> None:
    checked = classes.check_day(text, deps.club.today(ctx.now()))
    if checked.problem is not None:
        ui.show(ctx, _move_days(deps, ctx, cls, screens.problem(ctx.texts, checked.problem)))
        return
    flows.enter(ctx, MOVE_TIME, {"class_id": cls.id, "day": checked.value.isoformat()})
    ui.show(ctx, screens.move_time(ctx.texts, cls, checked.value))


def _typed_time(deps: Deps, ctx: UpdateContext, cls: AdminClass, on: date, text: str) -> None:
    checked = classes.check_time(text)
    if checked.problem is None:
        checked = classes.new_start(on, checked.value, ctx.now(), deps.club.timezone)
    if checked.problem is not None:
        ui.show(ctx, screens.move_time(ctx.texts, cls, on,
                                       screens.problem(ctx.texts, checked.problem)))
        return
    ui.show(ctx, _move_confirm(ctx, cls, checked.value))


# -- cancelling ----------------------------------------------------------------------------

@admin_only("classes.cancel")
def cancel_ask(deps: Deps, ctx: UpdateContext, member: Member,
               call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_CANCEL, live=True)
    if found is None:
        return
    _, cls = found
    _leave(ctx)
    ui.show(ctx, screens.cancel_confirm(ctx.texts, cls, classes.audience(ctx.conn, cls.id)),
            call)


@admin_only("classes.cancel")
def cancel_ok(deps: Deps, ctx: UpdateContext, member: Member,
              call: types.CallbackQuery) -> None:
    found = _class(deps, ctx, call, CLASS_CANCEL_OK)
    if found is None:
        return
    _, cls = found
    result = classes.cancel(ctx.conn, member.id, cls.id, ctx.now())
    if result.outcome is not Outcome.DONE:
        _refuse(ctx, call, cls, result.outcome)
        return
    line = ctx.texts("cls_cancelled", told=len(result.attendees),
                     visits=result.visits_returned)
    ui.show(ctx, _card(ctx, cls.id, line), call, toast=line)


# -- typed steps -----------------------------------------------------------------------------

@admin_only("classes.step", leave_flow=True)
def step_text(deps: Deps, ctx: UpdateContext, member: Member,
              message: types.Message) -> None:
    """A typed capacity, date or time (checked; asked again with the reason if wrong)."""
    flow = flows.current(ctx)
    cls = classes.get(ctx.conn, flow.data.get("class_id") or 0)
    if cls is None:
        flows.leave(ctx)
        ui.show(ctx, _day(deps, ctx, note=ctx.texts("stale_button")))
        return
    why = classes.closed(cls, ctx.now())
    if why is not None:
        flows.leave(ctx)
        ui.show(ctx, _card(ctx, cls, screens.refusal(ctx.texts, why)))
        return
    if flow.state == CAPACITY:
        _typed_capacity(deps, ctx, member, cls, message.text)
    elif flow.state == MOVE_DAY:
        _typed_day(deps, ctx, cls, message.text)
    else:
        _typed_time(deps, ctx, cls, date.fromisoformat(flow.data["day"]), message.text)
