"""/classes (admins, staff section "classes"): the timetable by day, a class's card, change
capacity, move, cancel.

Typed steps: `cls.cap` (a new capacity), `cls.move.day` (a date as DD.MM) and
`cls.move.time` (HH:MM); their buttons carry everything they need, so an old one still does
the right thing or says why not. Members affected are told through the outbox, each once,
in their own language.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import partial

import telebot
from telebot import types

from fitclub import access, flows, ui
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
)
from fitclub.screens import Screen
from fitclub.screens import classes as screens
from fitclub.services import booking, class_planner, class_types, classes, club
from fitclub.services.classes import AdminClass, Outcome

CAPACITY = "cls.cap"
MOVE_DAY = "cls.move.day"
MOVE_TIME = "cls.move.time"
STATES = (CAPACITY, MOVE_DAY, MOVE_TIME)


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /classes, the timetable's buttons and the typed steps of capacity and move."""
    private = {"chat_types": ["private"]}
    bot.register_message_handler(partial(show_classes, deps), commands=["classes"], **private)
    for action, handler in ((STAFF, section), (ADMIN_DAY, page), (ADMIN_CLASS, open_class),
                            (CLASS_CAPACITY, capacity_screen),
                            (CLASS_SET_CAPACITY, set_capacity), (CLASS_MOVE, move_start),
                            (CLASS_MOVE_DAY, move_day), (CLASS_MOVE_AT, move_at),
                            (CLASS_MOVE_OK, move_ok), (CLASS_CANCEL, cancel_ask),
                            (CLASS_CANCEL_OK, cancel_ok)):
        matches = action.matches(section="classes") if action is STAFF else action.matches()
        bot.register_callback_query_handler(partial(handler, deps), func=matches)

    def typed(message: types.Message) -> bool:
        if (message.text or "").startswith("/"):
            return False  # commands keep working; /cancel leaves the flow
        return flows.current(deps.context()).state in STATES

    bot.register_message_handler(partial(step_text, deps), content_types=["text"],
                                 func=typed, **private)


def _admin(ctx, call=None, what: str = "classes.open"):
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what=what)


def _rules(deps):
    return club.of(deps.settings).booking


def _today(deps, ctx) -> date:
    return booking.class_day(ctx.now(), _rules(deps))


def _range(deps, ctx) -> tuple[date, date]:
    """The days the timetable may show: today up to a year ahead."""
    today = _today(deps, ctx)
    return today, date.fromordinal(today.toordinal() + classes.DAYS_TYPED)


def day_screen(deps, ctx, on: date | None = None, note: str | None = None) -> Screen:
    """One day of the admin timetable (today when `on` is out of range)."""
    first, last = _range(deps, ctx)
    on = on if on is not None and first <= on <= last else first
    return screens.day(ctx.texts, on, classes.day(ctx.conn, on, _rules(deps)), first, last,
                       ctx.now(), note)


def _leave(ctx) -> None:
    """Leave a capacity or move step (opening another screen ends it)."""
    if flows.current(ctx).state in STATES:
        flows.leave(ctx)


def show_classes(deps, message: types.Message) -> None:
    ctx = deps.context()
    if _admin(ctx, what="classes.list") is None:
        return
    _leave(ctx)
    ui.show(ctx, day_screen(deps, ctx))


def section(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "classes.list") is None:
        return
    _leave(ctx)
    ui.show(ctx, day_screen(deps, ctx), call)


def page(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "classes.list") is None:
        return
    _leave(ctx)
    ui.show(ctx, day_screen(deps, ctx, ADMIN_DAY.parse(call.data)["day"]), call)


def _class(deps, ctx, call, action) -> tuple[dict, AdminClass | None]:
    """The press's values and its class; a gone class answers stale with today's page."""
    values = action.parse(call.data)
    cls = classes.get(ctx.conn, values["class_id"])
    if cls is None:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx))
    return values, cls


def _live(ctx, cls: AdminClass) -> Outcome | None:
    """Why the class can no longer change (cancelled, started), or None."""
    if cls.status == "cancelled":
        return Outcome.CANCELLED
    if cls.status != "scheduled" or ctx.now() >= cls.starts_at:
        return Outcome.STARTED
    return None


def _card(ctx, cls_or_id, note: str | None = None) -> Screen:
    cls = classes.get(ctx.conn, cls_or_id) if isinstance(cls_or_id, int) else cls_or_id
    return screens.card(ctx.texts, cls, ctx.now(), note)


def open_class(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call) is None:
        return
    _leave(ctx)
    _, cls = _class(deps, ctx, call, ADMIN_CLASS)
    if cls is not None:
        ui.show(ctx, _card(ctx, cls), call)


def _refuse(ctx, call, cls: AdminClass, why: Outcome) -> None:
    """A change to a class that no longer allows it: the card, with the reason."""
    _leave(ctx)
    ui.show(ctx, _card(ctx, cls), call, toast=screens.refusal(ctx.texts, why))


def _pressed(deps, call, action, what: str, live: bool = False) -> tuple | None:
    """An admin's press on a class: (ctx, member, values, class); None once refused, answered
    stale (the class is gone) or, with `live`, shown the card because it can no longer
    change."""
    ctx = deps.context()
    member = _admin(ctx, call, what)
    if member is None:
        return None
    values, cls = _class(deps, ctx, call, action)
    if cls is None:
        return None
    if live:
        why = _live(ctx, cls)
        if why is not None:
            _refuse(ctx, call, cls, why)
            return None
    return ctx, member, values, cls


# -- capacity ------------------------------------------------------------------------------

def capacity_screen(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_CAPACITY, "classes.capacity", live=True)
    if got is None:
        return
    ctx, _, _, cls = got
    flows.enter(ctx, CAPACITY, {"class_id": cls.id})
    ui.show(ctx, screens.capacity(ctx.texts, cls), call)


def _change_capacity(deps, ctx, member, class_id: int, capacity: int) -> tuple[Outcome, str]:
    """Set the capacity (the places it frees are offered to the line); the outcome and its
    line."""
    result = classes.set_capacity(ctx.conn, member.id, class_id, capacity, ctx.now(),
                                  _rules(deps))
    return result.outcome, screens.capacity_result(ctx.texts, result.outcome, capacity,
                                                   result.taken, len(result.offers))


def set_capacity(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_SET_CAPACITY, "classes.capacity")
    if got is None:
        return
    ctx, member, values, cls = got
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


# -- moving --------------------------------------------------------------------------------

def _move_days(deps, ctx) -> list[date]:
    return classes.days(_today(deps, ctx))


def move_start(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_MOVE, "classes.move", live=True)
    if got is None:
        return
    ctx, _, _, cls = got
    flows.enter(ctx, MOVE_DAY, {"class_id": cls.id})
    ui.show(ctx, screens.move_day(ctx.texts, cls, _move_days(deps, ctx)), call)


def _day_allowed(deps, ctx, on: date) -> bool:
    first, last = _range(deps, ctx)
    return first <= on <= last


def move_day(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_MOVE_DAY, "classes.move", live=True)
    if got is None:
        return
    ctx, _, values, cls = got
    if not _day_allowed(deps, ctx, values["day"]):
        ui.stale(ctx, call, refresh=screens.move_day(ctx.texts, cls, _move_days(deps, ctx)))
        return
    flows.enter(ctx, MOVE_TIME, {"class_id": cls.id, "day": values["day"].isoformat()})
    ui.show(ctx, screens.move_time(ctx.texts, cls, values["day"]), call)


def _new_start(deps, ctx, on: date, minute: int) -> tuple[datetime | None, str | None]:
    """The moment of a local date and minute, or why it cannot be (skipped by the clocks,
    already passed)."""
    at = time(minute // 60, minute % 60)
    moment = classes.local_start(on, at, _rules(deps).timezone)
    if moment is None:
        return None, screens.problem(ctx.texts, class_types.Problem("gap", low=on.toordinal()))
    if moment <= ctx.now():
        return None, screens.refusal(ctx.texts, Outcome.PAST)
    return moment, None


def _move_confirm(ctx, cls: AdminClass, moment: datetime) -> Screen:
    found = class_planner.overlaps(ctx.conn, cls.trainer_id, (moment,), cls.duration_minutes,
                                    exclude_id=cls.id)
    return screens.move_confirm(ctx.texts, cls, moment, classes.audience(ctx.conn, cls.id),
                                found)


def move_at(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_MOVE_AT, "classes.move", live=True)
    if got is None:
        return
    ctx, _, values, cls = got
    if not _day_allowed(deps, ctx, values["day"]):
        ui.stale(ctx, call)
        return
    moment, problem = _new_start(deps, ctx, values["day"], values["minute"])
    if moment is None:
        ctx.answer_callback(call.id, problem, show_alert=True)
        return
    ui.show(ctx, _move_confirm(ctx, cls, moment), call)


def move_ok(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_MOVE_OK, "classes.move")
    if got is None:
        return
    ctx, member, values, cls = got
    moment, problem = _new_start(deps, ctx, values["day"], values["minute"])
    if moment is None:
        ctx.answer_callback(call.id, problem, show_alert=True)
        return
    result = classes.move(ctx.conn, member.id, cls.id, moment, ctx.now(), _rules(deps))
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
    line = tx.plural("cls_moved", len(result.attendees), when=tx.datetime(moment))
    ui.show(ctx, _card(ctx, cls.id, line), call, toast=line)


# -- cancelling ----------------------------------------------------------------------------

def cancel_ask(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_CANCEL, "classes.cancel", live=True)
    if got is None:
        return
    ctx, _, _, cls = got
    _leave(ctx)
    ui.show(ctx, screens.cancel_confirm(ctx.texts, cls, classes.audience(ctx.conn, cls.id)),
            call)


def cancel_ok(deps, call: types.CallbackQuery) -> None:
    got = _pressed(deps, call, CLASS_CANCEL_OK, "classes.cancel")
    if got is None:
        return
    ctx, member, _, cls = got
    result = classes.cancel(ctx.conn, member.id, cls.id, ctx.now())
    if result.outcome is not Outcome.DONE:
        _refuse(ctx, call, cls, result.outcome)
        return
    line = ctx.texts("cls_cancelled", told=len(result.attendees),
                     visits=result.visits_returned)
    ui.show(ctx, _card(ctx, cls.id, line), call, toast=line)


# -- typed steps -----------------------------------------------------------------------------

def step_text(deps, message: types.Message) -> None:
    """A typed capacity, date or time (checked; asked again with the reason if wrong)."""
    ctx = deps.context()
    member = _admin(ctx, what="classes.step")
    if member is None:
        flows.leave(ctx)
        return
    flow = flows.current(ctx)
    cls = classes.get(ctx.conn, flow.data.get("class_id") or 0)
    if cls is None:
        flows.leave(ctx)
        ui.show(ctx, day_screen(deps, ctx, note=ctx.texts("stale_button")))
        return
    why = _live(ctx, cls)
    if why is not None:
        flows.leave(ctx)
        ui.show(ctx, _card(ctx, cls, screens.refusal(ctx.texts, why)))
        return
    if flow.state == CAPACITY:
        _typed_capacity(deps, ctx, member, cls, message.text)
    elif flow.state == MOVE_DAY:
        checked = classes.check_day(message.text, _today(deps, ctx))
        if checked.problem is not None:
            note = screens.problem(ctx.texts, checked.problem)
            ui.show(ctx, screens.move_day(ctx.texts, cls, _move_days(deps, ctx), note))
            return
        flows.enter(ctx, MOVE_TIME, {"class_id": cls.id, "day": checked.value.isoformat()})
        ui.show(ctx, screens.move_time(ctx.texts, cls, checked.value))
    else:
        on = date.fromisoformat(flow.data["day"])
        checked = classes.check_time(message.text)
        moment = problem = None
        if checked.problem is not None:
            problem = screens.problem(ctx.texts, checked.problem)
        else:
            moment, problem = _new_start(deps, ctx, on, checked.value.hour * 60
                                         + checked.value.minute)
        if moment is None:
            ui.show(ctx, screens.move_time(ctx.texts, cls, on, problem))
            return
        ui.show(ctx, _move_confirm(ctx, cls, moment))


def _typed_capacity(deps, ctx, member, cls: AdminClass, text: str) -> None:
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
