"""The class planner (admins): a guided flow that creates one class or a weekly series,
buttons wherever possible, then a confirmation.

Steps (flow `cls.new.*`): type -> trainer -> date (or typed DD.MM) -> once or weekly
(weekdays and weeks) -> time (typed HH:MM, club time) -> duration -> capacity -> room ->
confirm (Confirm / Change / Cancel). Change goes back to one step and returns to the
confirmation. A step's button works only while the flow is at that step, so old buttons and
double taps change nothing.
"""

from __future__ import annotations

from typing import Any

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import (
    NEW_CLASS,
    NEW_CLASS_CHANGE,
    NEW_CLASS_DAY,
    NEW_CLASS_FLOW,
    NEW_CLASS_REPEAT,
    NEW_CLASS_ROOM,
    NEW_CLASS_TRAINER,
    NEW_CLASS_TYPE,
    NEW_CLASS_VALUE,
    NEW_CLASS_WEEKDAY,
    NEW_CLASS_WEEKS,
)
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.locales import zone_name
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import class_planner as screens
from fitclub.screens import classes as class_screens
from fitclub.services import class_planner, class_types, classes
from fitclub.services.class_planner import MAX_WEEKS, Draft
from fitclub.services.class_types import Problem

FLOW = "cls.new"
ORDER = ("type", "trainer", "date", "repeat", "time", "dur", "cap", "room", "confirm")
TYPED = ("date", "time", "dur", "cap", "room")  # the other steps take buttons only
DEFAULT_WEEKS = 4


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the flow's buttons and its typed steps."""
    routes = Routes(bot, deps)
    routes.button(NEW_CLASS, start)
    routes.button(NEW_CLASS_TYPE, pick_type)
    routes.button(NEW_CLASS_TRAINER, pick_trainer)
    routes.button(NEW_CLASS_DAY, pick_day)
    routes.button(NEW_CLASS_REPEAT, repeat)
    routes.button(NEW_CLASS_WEEKDAY, weekday)
    routes.button(NEW_CLASS_WEEKS, weeks)
    routes.button(NEW_CLASS_VALUE, value)
    routes.button(NEW_CLASS_ROOM, room)
    routes.button(NEW_CLASS_FLOW, flow_button)
    routes.button(NEW_CLASS_CHANGE, change)
    routes.message(step_text, when=flows.typed_step(deps.context, FLOW))



def _state(ctx: UpdateContext) -> tuple[str | None, dict[str, Any]]:
    """The step the flow is at ('type', 'trainer', ...) and its data; (None, {}) outside."""
    flow = flows.current(ctx)
    if not (flow.state or "").startswith(FLOW + "."):
        return None, {}
    return flow.state.removeprefix(FLOW + "."), flow.data


def _screen(deps: Deps, ctx: UpdateContext, step: str, draft: Draft, data: dict[str, Any],
            note: str | None = None, found: class_planner.Preview | None = None) -> Screen:
    """The screen of a step (the confirmation and the change menu included; `found` is the
    draft's preview when the caller has it already)."""
    tx = ctx.texts
    if step in ("confirm", "change"):
        found = found or class_planner.preview(ctx.conn, draft, ctx.now(), deps.club.timezone)
        return screens.confirm(tx, found, note) if step == "confirm" else \
            screens.change(tx, found)
    kind, who = class_planner.chosen(ctx.conn, draft, ctx.now())
    names = screens.Names(kind.name if kind else None, who.name if who else None)
    asks = {
        "type": lambda: screens.ask_type(tx, draft, names,
                                         class_types.all_types(ctx.conn, ctx.now()), note),
        "trainer": lambda: screens.ask_trainer(tx, draft, names,
                                               class_planner.trainers(ctx.conn), note),
        "date": lambda: screens.ask_day(tx, draft, names, classes.days(deps.club.today(ctx.now())),
                                        note),
        "repeat": lambda: screens.ask_repeat(tx, draft, names, note),
        "time": lambda: screens.ask_time(tx, draft, names, zone_name(deps.club.timezone), note),
        "dur": lambda: screens.ask_duration(
            tx, draft, names, kind.default_duration_minutes if kind else 60, note),
        "cap": lambda: screens.ask_capacity(tx, draft, names,
                                            kind.default_capacity if kind else 10, note),
        "room": lambda: screens.ask_room(tx, draft, names, data.get("rooms") or [], note),
    }
    return asks[step]()


def _go(deps: Deps, ctx: UpdateContext, step: str, draft: Draft, data: dict[str, Any],
        call: types.CallbackQuery | None = None, note: str | None = None,
        toast: str | None = None) -> None:
    """Enter a step with the draft, and show it (in place after a button)."""
    data = {**data, **draft.to_data()}
    found = None
    if step == "room":
        data["rooms"] = class_planner.recent_rooms(ctx.conn)
    if step == "confirm":
        found = class_planner.preview(ctx.conn, draft, ctx.now(), deps.club.timezone)
        if found.problem is not None:
            # Something no longer holds (the time passed, a type or trainer is gone): back
            # to the step that fixes it, saying why.
            step = _fixed_at(found)
            note = class_screens.problem(ctx.texts, found.problem)
            data["editing"] = True
            found = None  # another step's screen
    flows.enter(ctx, f"{FLOW}.{step}", data)
    ui.show(ctx, _screen(deps, ctx, step, draft, data, note, found), call, toast=toast)


def _fixed_at(found: class_planner.Preview) -> str:
    """The step that fixes a draft's problem."""
    code = found.problem.code
    if code == "gone":
        return "type" if found.type_name is None else "trainer"
    return "repeat" if code in ("weekdays", "weeks") else "time"


def _next(step: str, data: dict[str, Any]) -> str:
    """The step after `step`: the confirmation when changing one value (a new date also
    asks once-or-weekly again)."""
    if data.get("editing") and step != "date":
        return "confirm"
    return ORDER[ORDER.index(step) + 1]


def _at(ctx: UpdateContext, call: types.CallbackQuery,
        step: str) -> tuple[Draft, dict[str, Any]] | None:
    """The draft and the flow's data if the flow is at `step`; otherwise None, once the press
    is answered as stale."""
    current, data = _state(ctx)
    if current != step:
        ui.stale(ctx, call)
        return None
    return Draft.from_data(data), data


# -- buttons -------------------------------------------------------------------------------

@admin_only("classes.schedule")
def start(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    _go(deps, ctx, "type", Draft(), {}, call)


@admin_only("classes.schedule")
def pick_type(deps: Deps, ctx: UpdateContext, member: Member,
              call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "type")
    if at is None:
        return
    draft, data = at
    kind = class_types.get(ctx.conn, NEW_CLASS_TYPE.parse(call.data)["type_id"], ctx.now())
    if kind is None:
        ui.stale(ctx, call, refresh=_screen(deps, ctx, "type", draft, data))
        return
    _go(deps, ctx, _next("type", data), draft._replace(type_id=kind.id), data, call)


@admin_only("classes.schedule")
def pick_trainer(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "trainer")
    if at is None:
        return
    draft, data = at
    who = class_planner.trainer(ctx.conn, NEW_CLASS_TRAINER.parse(call.data)["member_id"])
    if who is None:
        ui.stale(ctx, call, refresh=_screen(deps, ctx, "trainer", draft, data))
        return
    _go(deps, ctx, _next("trainer", data), draft._replace(trainer_id=who.id), data, call)


@admin_only("classes.schedule")
def pick_day(deps: Deps, ctx: UpdateContext, member: Member,
             call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "date")
    if at is None:
        return
    draft, data = at
    on = NEW_CLASS_DAY.parse(call.data)["day"]
    if not classes.within_reach(on, deps.club.today(ctx.now())):
        ui.stale(ctx, call, refresh=_screen(deps, ctx, "date", draft, data))
        return
    # A new date: a series keeps its weekdays and weeks.
    _go(deps, ctx, "repeat", draft._replace(day=on), data, call)


@admin_only("classes.schedule")
def repeat(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "repeat")
    if at is None:
        return
    draft, data = at
    mode = NEW_CLASS_REPEAT.parse(call.data)["mode"]
    if mode == "weekly":
        if draft.weekly:  # a double tap: already a series
            ctx.answer_callback(call.id)
            return
        series = draft._replace(weekdays=(draft.day.isoweekday(),), weeks=DEFAULT_WEEKS)
        _go(deps, ctx, "repeat", series, data, call)
    elif mode == "once":
        _go(deps, ctx, _next("repeat", data), draft._replace(weekdays=(), weeks=0), data, call)
    elif not draft.weekly:
        ui.stale(ctx, call)
    elif not draft.weekdays:
        ctx.answer_callback(call.id, class_screens.problem(ctx.texts, Problem("weekdays")),
                            show_alert=True)
    else:
        _go(deps, ctx, _next("repeat", data), draft, data, call)


@admin_only("classes.schedule")
def weekday(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "repeat")
    if at is None:
        return
    draft, data = at
    day = NEW_CLASS_WEEKDAY.parse(call.data)["weekday"]
    if not draft.weekly or not 1 <= day <= 7:
        ui.stale(ctx, call)
        return
    chosen = set(draft.weekdays) ^ {day}
    _go(deps, ctx, "repeat", draft._replace(weekdays=tuple(sorted(chosen))), data, call)


@admin_only("classes.schedule")
def weeks(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "repeat")
    if at is None:
        return
    draft, data = at
    count = NEW_CLASS_WEEKS.parse(call.data)["weeks"]
    if not draft.weekly or not 1 <= count <= MAX_WEEKS:
        ui.stale(ctx, call)
        return
    if count == draft.weeks:
        ctx.answer_callback(call.id)
        return
    _go(deps, ctx, "repeat", draft._replace(weeks=count), data, call)


@admin_only("classes.schedule")
def value(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """A duration or capacity by its button (the class type's default)."""
    values = NEW_CLASS_VALUE.parse(call.data)
    step = values["step"]
    at = _at(ctx, call, step)
    if at is None:
        return
    draft, data = at
    valued = class_planner.with_value(draft, step, str(values["value"]), ctx.now(),
                                      deps.club.timezone)
    if isinstance(valued, Problem):
        ui.stale(ctx, call)
        return
    _go(deps, ctx, _next(step, data), valued, data, call)


@admin_only("classes.schedule")
def room(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "room")
    if at is None:
        return
    draft, data = at
    pick = NEW_CLASS_ROOM.parse(call.data)["pick"]
    offered = data.get("rooms") or []
    if pick > len(offered):
        ui.stale(ctx, call)
        return
    _go(deps, ctx, "confirm", draft._replace(room=offered[pick - 1] if pick else ""), data,
        call)


@admin_only("classes.schedule")
def flow_button(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    """Confirm, Change, Cancel on the confirmation; Back from the change menu."""
    answer = NEW_CLASS_FLOW.parse(call.data)["answer"]
    step, data = _state(ctx)
    tx = ctx.texts
    if step is None or (answer in ("ok", "change") and step != "confirm") or (
            answer == "back" and step != "change"):
        ui.stale(ctx, call)
        return
    draft = Draft.from_data(data)
    if answer == "cancel":
        flows.leave(ctx)
        note = tx("cls_flow_cancelled")
        today = classes.day(ctx.conn, ctx.now(), deps.club.booking)
        ui.show(ctx, class_screens.day(tx, today, note), call, toast=note)
        return
    if answer in ("change", "back"):
        shown = "change" if answer == "change" else "confirm"
        flows.enter(ctx, f"{FLOW}.{shown}", data)
        ui.show(ctx, _screen(deps, ctx, shown, draft, data), call)
        return
    made = class_planner.create(ctx.conn, member.id, draft, ctx.now(), deps.club.timezone)
    if made.problem is not None:
        _go(deps, ctx, "confirm", draft, data, call)
        return
    flows.leave(ctx)
    ui.show(ctx, screens.done(tx, made.preview, made.class_ids), call,
            toast=tx.plural("cls_planned_toast", len(made.class_ids)))


@admin_only("classes.schedule")
def change(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    at = _at(ctx, call, "change")
    if at is None:
        return
    draft, data = at
    field = NEW_CLASS_CHANGE.parse(call.data)["field"]
    _go(deps, ctx, field, draft, {**data, "editing": True}, call)


# -- typed steps ---------------------------------------------------------------------------

@admin_only("classes.schedule", leave_flow=True)
def step_text(deps: Deps, ctx: UpdateContext, member: Member,
              message: types.Message) -> None:
    """A typed date, time, duration, capacity or room; buttons-only steps say so."""
    step, data = _state(ctx)
    draft = Draft.from_data(data)
    tx = ctx.texts
    if step not in TYPED:
        ui.show(ctx, _screen(deps, ctx, step, draft, data, tx("cls_use_buttons")))
        return
    typed = class_planner.with_value(draft, step, message.text or "", ctx.now(),
                                     deps.club.timezone)
    if isinstance(typed, Problem):
        ui.show(ctx, _screen(deps, ctx, step, draft, data, class_screens.problem(tx, typed)))
        return
    _go(deps, ctx, _next(step, data), typed, data)
