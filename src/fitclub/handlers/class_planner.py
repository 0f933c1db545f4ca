"""Schedule a class (admins): a guided flow, buttons wherever possible, then a confirmation.

Steps (flow `cls.new.*`): type -> trainer -> date (or typed DD.MM) -> once or weekly
(weekdays and weeks) -> time (typed HH:MM, club time) -> duration -> capacity -> room ->
confirm (Confirm / Change / Cancel). Change goes back to one step and returns to the
confirmation. A step's button works only while the flow is at that step, so old buttons and
double taps change nothing.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import telebot
from telebot import types

from fitclub import access, flows, ui
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
from fitclub.screens import Screen
from fitclub.screens import class_planner as screens
from fitclub.screens import classes as class_screens
from fitclub.services import booking, class_planner, class_types, classes, club
from fitclub.services.class_planner import MAX_WEEKS, Draft
from fitclub.services.class_types import Problem

FLOW = "cls.new"
ORDER = ("type", "trainer", "date", "repeat", "time", "dur", "cap", "room", "confirm")
DEFAULT_WEEKS = 4


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the flow's buttons and its typed steps."""
    for action, handler in ((NEW_CLASS, start), (NEW_CLASS_TYPE, pick_type),
                            (NEW_CLASS_TRAINER, pick_trainer), (NEW_CLASS_DAY, pick_day),
                            (NEW_CLASS_REPEAT, repeat), (NEW_CLASS_WEEKDAY, weekday),
                            (NEW_CLASS_WEEKS, weeks), (NEW_CLASS_VALUE, value),
                            (NEW_CLASS_ROOM, room), (NEW_CLASS_FLOW, flow_button),
                            (NEW_CLASS_CHANGE, change)):
        bot.register_callback_query_handler(partial(handler, deps), func=action.matches())
    in_flow = flows.in_flow(deps.context, FLOW)
    # Commands are not steps: /cancel leaves the flow, any other command still works.
    bot.register_message_handler(
        partial(step_text, deps), content_types=["text"], chat_types=["private"],
        func=lambda m: not (m.text or "").startswith("/") and in_flow(m))


def _admin(ctx, call=None):
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="classes.schedule")


def _tz(deps):
    return club.of(deps.settings).booking.timezone


def _today(deps, ctx):
    return booking.class_day(ctx.now(), club.of(deps.settings).booking)


def _timetable(deps, ctx, note: str) -> Screen:
    """Today's admin timetable, with a line on top (where a cancelled flow lands)."""
    rules = club.of(deps.settings).booking
    today = _today(deps, ctx)
    last = date.fromordinal(today.toordinal() + classes.DAYS_TYPED)
    return class_screens.day(ctx.texts, today, classes.day(ctx.conn, today, rules), today, last,
                             ctx.now(), note)


def _state(ctx) -> tuple[str | None, dict[str, Any]]:
    """The step the flow is at ('type', 'trainer', ...) and its data; (None, {}) outside."""
    flow = flows.current(ctx)
    if not (flow.state or "").startswith(FLOW + "."):
        return None, {}
    return flow.state.removeprefix(FLOW + "."), flow.data


def _names(ctx, draft: Draft) -> screens.Names:
    kind = class_types.get(ctx.conn, draft.type_id, ctx.now()) if draft.type_id else None
    who = class_planner.trainer(ctx.conn, draft.trainer_id) if draft.trainer_id else None
    return screens.Names(kind.name if kind else None, who.name if who else None)


def _screen(deps, ctx, step: str, draft: Draft, data: dict[str, Any],
            note: str | None = None) -> Screen:
    """The screen of a step (the confirmation and the change menu included)."""
    tx = ctx.texts
    if step in ("confirm", "change"):
        found = class_planner.preview(ctx.conn, draft, ctx.now(), _tz(deps))
        return screens.confirm(tx, found, note) if step == "confirm" else \
            screens.change(tx, found)
    names = _names(ctx, draft)
    kind = class_types.get(ctx.conn, draft.type_id, ctx.now()) if draft.type_id else None
    asks = {
        "type": lambda: screens.ask_type(tx, draft, names,
                                         class_types.all_types(ctx.conn, ctx.now()), note),
        "trainer": lambda: screens.ask_trainer(tx, draft, names,
                                               class_planner.trainers(ctx.conn), note),
        "date": lambda: screens.ask_day(tx, draft, names, classes.days(_today(deps, ctx)),
                                        note),
        "repeat": lambda: screens.ask_repeat(tx, draft, names, note),
        "time": lambda: screens.ask_time(tx, draft, names,
                                         tx.local(ctx.now()).tzname() or "", note),
        "dur": lambda: screens.ask_duration(
            tx, draft, names, kind.default_duration_minutes if kind else 60, note),
        "cap": lambda: screens.ask_capacity(tx, draft, names,
                                            kind.default_capacity if kind else 10, note),
    }
    if step in asks:
        return asks[step]()
    return screens.ask_room(tx, draft, names, data.get("rooms") or [], note)


def _go(deps, ctx, step: str, draft: Draft, data: dict[str, Any], call=None,
        note: str | None = None, toast: str | None = None) -> None:
    """Enter a step with the draft, and show it (in place after a button)."""
    data = {**data, **draft.to_data()}
    if step == "room":
        data["rooms"] = class_planner.recent_rooms(ctx.conn)
    if step == "confirm":
        found = class_planner.preview(ctx.conn, draft, ctx.now(), _tz(deps))
        if found.problem is not None:
            # Something no longer holds (the time passed, a type or trainer is gone): back
            # to the step that fixes it, saying why.
            step = _fixed_at(found)
            note = class_screens.problem(ctx.texts, found.problem)
            data["editing"] = True
    flows.enter(ctx, f"{FLOW}.{step}", data)
    ui.show(ctx, _screen(deps, ctx, step, draft, data, note), call, toast=toast)


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


def _at(ctx, call, step: str) -> tuple[Draft | None, dict[str, Any]]:
    """The draft if the flow is at `step`; otherwise answers the press as stale."""
    current, data = _state(ctx)
    if current != step:
        ui.stale(ctx, call)
        return None, {}
    return Draft.from_data(data), data


def _step(deps, call, step: str) -> tuple[Any, Draft, dict[str, Any]] | None:
    """An admin's press at `step`: (ctx, draft, data), or None once refused or answered stale."""
    ctx = deps.context()
    if _admin(ctx, call) is None:
        return None
    draft, data = _at(ctx, call, step)
    if draft is None:
        return None
    return ctx, draft, data


# -- buttons -------------------------------------------------------------------------------

def start(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call) is None:
        return
    _go(deps, ctx, "type", Draft(), {}, call)


def pick_type(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "type")
    if got is None:
        return
    ctx, draft, data = got
    kind = class_types.get(ctx.conn, NEW_CLASS_TYPE.parse(call.data)["type_id"], ctx.now())
    if kind is None:
        ui.stale(ctx, call, refresh=_screen(deps, ctx, "type", draft, data))
        return
    _go(deps, ctx, _next("type", data), draft._replace(type_id=kind.id), data, call)


def pick_trainer(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "trainer")
    if got is None:
        return
    ctx, draft, data = got
    who = class_planner.trainer(ctx.conn, NEW_CLASS_TRAINER.parse(call.data)["member_id"])
    if who is None:
        ui.stale(ctx, call, refresh=_screen(deps, ctx, "trainer", draft, data))
        return
    _go(deps, ctx, _next("trainer", data), draft._replace(trainer_id=who.id), data, call)


def _day_ok(deps, ctx, on) -> bool:
    today = _today(deps, ctx)
    return today.toordinal() <= on.toordinal() <= today.toordinal() + classes.DAYS_TYPED


def _with_day(draft: Draft, on) -> Draft:
    """A new date; a series keeps its weekdays and weeks."""
    return draft._replace(day=on)


def pick_day(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "date")
    if got is None:
        return
    ctx, draft, data = got
    on = NEW_CLASS_DAY.parse(call.data)["day"]
    if not _day_ok(deps, ctx, on):
        ui.stale(ctx, call, refresh=_screen(deps, ctx, "date", draft, data))
        return
    _go(deps, ctx, "repeat", _with_day(draft, on), data, call)


def repeat(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "repeat")
    if got is None:
        return
    ctx, draft, data = got
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


def weekday(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "repeat")
    if got is None:
        return
    ctx, draft, data = got
    day = NEW_CLASS_WEEKDAY.parse(call.data)["weekday"]
    if not draft.weekly or not 1 <= day <= 7:
        ui.stale(ctx, call)
        return
    chosen = set(draft.weekdays) ^ {day}
    _go(deps, ctx, "repeat", draft._replace(weekdays=tuple(sorted(chosen))), data, call)


def weeks(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "repeat")
    if got is None:
        return
    ctx, draft, data = got
    count = NEW_CLASS_WEEKS.parse(call.data)["weeks"]
    if not draft.weekly or not 1 <= count <= MAX_WEEKS:
        ui.stale(ctx, call)
        return
    if count == draft.weeks:
        ctx.answer_callback(call.id)
        return
    _go(deps, ctx, "repeat", draft._replace(weeks=count), data, call)


def _check_number(step: str, text: str):
    """A duration ('dur') or a capacity ('cap') checked."""
    check = class_types.check_duration if step == "dur" else class_types.check_capacity
    return check(text)


def _with_number(draft: Draft, step: str, number: int) -> Draft:
    """The draft with its duration ('dur') or capacity ('cap') set."""
    return (draft._replace(duration=number) if step == "dur"
            else draft._replace(capacity=number))


def value(deps, call: types.CallbackQuery) -> None:
    values = NEW_CLASS_VALUE.parse(call.data)
    step = values["step"]
    got = _step(deps, call, step)
    if got is None:
        return
    ctx, draft, data = got
    checked = _check_number(step, str(values["value"]))
    if checked.problem is not None:
        ui.stale(ctx, call)
        return
    _go(deps, ctx, _next(step, data), _with_number(draft, step, checked.value), data, call)


def room(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "room")
    if got is None:
        return
    ctx, draft, data = got
    pick = NEW_CLASS_ROOM.parse(call.data)["pick"]
    offered = data.get("rooms") or []
    if pick > len(offered):
        ui.stale(ctx, call)
        return
    _go(deps, ctx, "confirm", draft._replace(room=offered[pick - 1] if pick else ""), data,
        call)


def flow_button(deps, call: types.CallbackQuery) -> None:
    """Confirm, Change, Cancel on the confirmation; Back from the change menu."""
    ctx = deps.context()
    member = _admin(ctx, call)
    if member is None:
        return
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
        ui.show(ctx, _timetable(deps, ctx, tx("cls_flow_cancelled")), call,
                toast=tx("cls_flow_cancelled"))
        return
    if answer in ("change", "back"):
        flows.enter(ctx, f"{FLOW}.{'change' if answer == 'change' else 'confirm'}", data)
        ui.show(ctx, _screen(deps, ctx, "change" if answer == "change" else "confirm", draft,
                             data), call)
        return
    made = class_planner.create(ctx.conn, member.id, draft, ctx.now(), _tz(deps))
    if made.problem is not None:
        _go(deps, ctx, "confirm", draft, data, call)
        return
    flows.leave(ctx)
    ui.show(ctx, screens.done(tx, made.preview, made.class_ids), call,
            toast=tx.plural("cls_scheduled_toast", len(made.class_ids)))


def change(deps, call: types.CallbackQuery) -> None:
    got = _step(deps, call, "change")
    if got is None:
        return
    ctx, draft, data = got
    field = NEW_CLASS_CHANGE.parse(call.data)["field"]
    _go(deps, ctx, field, draft, {**data, "editing": True}, call)


# -- typed steps ---------------------------------------------------------------------------

def step_text(deps, message: types.Message) -> None:
    """A typed date, time, duration, capacity or room; buttons-only steps say so."""
    ctx = deps.context()
    if _admin(ctx) is None:
        flows.leave(ctx)
        return
    step, data = _state(ctx)
    draft = Draft.from_data(data)
    tx = ctx.texts
    text = message.text or ""
    if step == "date":
        checked = classes.check_day(text, _today(deps, ctx))
        if checked.problem is None:
            _go(deps, ctx, "repeat", _with_day(draft, checked.value), data)
            return
    elif step == "time":
        checked = classes.check_time(text)
        if checked.problem is None:
            timed = draft._replace(at=checked.value)
            moments, problem = class_planner.starts(timed, _tz(deps))
            if problem is None and moments[0] <= ctx.now():
                problem = Problem("past")
            if problem is None:
                _go(deps, ctx, _next("time", data), timed, data)
                return
            checked = checked._replace(problem=problem)
    elif step in ("dur", "cap"):
        checked = _check_number(step, text)
        if checked.problem is None:
            _go(deps, ctx, _next(step, data), _with_number(draft, step, checked.value), data)
            return
    elif step == "room":
        typed = class_planner.check_room(text)
        if typed is not None:
            _go(deps, ctx, "confirm", draft._replace(room=typed), data)
            return
        checked = class_types.Checked(problem=Problem("room", high=class_planner.ROOM_MAX))
    else:
        ui.show(ctx, _screen(deps, ctx, step, draft, data, tx("cls_use_buttons")))
        return
    ui.show(ctx, _screen(deps, ctx, step, draft, data,
                         class_screens.problem(tx, checked.problem)))
