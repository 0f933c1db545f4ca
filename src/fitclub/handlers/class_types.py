"""Class types (admins, staff section "types"): list, create in a guided flow, edit, delete.

The flow's steps are `ctype.name`, `ctype.desc`, `ctype.dur`, `ctype.cap`, `ctype.confirm`
(creating) and `ctype.edit` (one field of a type); its data lives in PostgreSQL.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import telebot
from telebot import types

from fitclub import access, flows, ui
from fitclub.callbacks import (
    STAFF,
    TYPE_DELETE,
    TYPE_EDIT,
    TYPE_FLOW,
    TYPE_NEW,
    TYPE_OPEN,
    TYPE_VALUE,
)
from fitclub.screens import class_types as screens
from fitclub.services import class_types
from fitclub.services.class_types import Checked

FLOW = "ctype"
STEPS = screens.STEPS
EDIT = "ctype.edit"
CONFIRM = "ctype.confirm"


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the types section, its buttons and the flow's typed steps."""
    in_flow = flows.in_flow(deps.context, FLOW)
    bot.register_callback_query_handler(partial(section, deps),
                                        func=STAFF.matches(section="types"))
    bot.register_callback_query_handler(partial(open_type, deps), func=TYPE_OPEN.matches())
    bot.register_callback_query_handler(partial(new_type, deps), func=TYPE_NEW.matches())
    bot.register_callback_query_handler(partial(edit_type, deps), func=TYPE_EDIT.matches())
    bot.register_callback_query_handler(partial(value_button, deps), func=TYPE_VALUE.matches())
    bot.register_callback_query_handler(partial(flow_button, deps), func=TYPE_FLOW.matches())
    bot.register_callback_query_handler(partial(delete_type, deps), func=TYPE_DELETE.matches())
    # Commands are not steps: /cancel leaves the flow, any other command still works.
    bot.register_message_handler(
        partial(step_text, deps), content_types=["text"], chat_types=["private"],
        func=lambda m: not (m.text or "").startswith("/") and in_flow(m))


def _admin(ctx, call=None, what: str = "types.open"):
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what=what)


def _list(ctx, note: str | None = None):
    return screens.type_list(ctx.texts, class_types.all_types(ctx.conn, ctx.now()), note)


def section(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "types.list") is None:
        return
    _leave_own_flow(ctx)
    ui.show(ctx, _list(ctx), call)


def _leave_own_flow(ctx) -> None:
    if (flows.current(ctx).state or "").startswith(FLOW + "."):
        flows.leave(ctx)


def _type_or_stale(ctx, call, type_id: int):
    """The class type, or None after answering the press as stale with the list."""
    kind = class_types.get(ctx.conn, type_id, ctx.now())
    if kind is None:
        ui.stale(ctx, call, refresh=_list(ctx))
    return kind


def open_type(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call) is None:
        return
    _leave_own_flow(ctx)
    kind = _type_or_stale(ctx, call, TYPE_OPEN.parse(call.data)["type_id"])
    if kind is None:
        return
    ui.show(ctx, screens.card(ctx.texts, kind), call)


def new_type(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "types.create") is None:
        return
    flows.enter(ctx, "ctype.name", {})
    ui.show(ctx, screens.ask(ctx.texts, "name", {}), call)


def edit_type(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "types.edit") is None:
        return
    values = TYPE_EDIT.parse(call.data)
    kind = _type_or_stale(ctx, call, values["type_id"])
    if kind is None:
        return
    flows.enter(ctx, EDIT, {"type_id": kind.id, "field": values["field"]})
    ui.show(ctx, screens.edit(ctx.texts, kind, values["field"]), call)


def delete_type(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    member = _admin(ctx, call, "types.delete")
    if member is None:
        return
    values = TYPE_DELETE.parse(call.data)
    kind = _type_or_stale(ctx, call, values["type_id"])
    if kind is None:
        return
    if kind.classes:
        _has_classes(ctx, call, kind)
        return
    if values["step"] == "ask":
        ui.show(ctx, screens.delete(ctx.texts, kind), call)
        return
    if class_types.delete(ctx.conn, member.id, kind.id):
        ui.show(ctx, _list(ctx), call, toast=ctx.texts("ctype_deleted", name=kind.name))
        return
    # Not deleted: a class was scheduled (or the type deleted) since the card was read.
    kind = _type_or_stale(ctx, call, kind.id)
    if kind is not None:
        _has_classes(ctx, call, kind)


def _has_classes(ctx, call, kind) -> None:
    """The type's card: it cannot be deleted while it has classes."""
    ui.show(ctx, screens.card(ctx.texts, kind), call, toast=ctx.texts("ctype_has_classes"))


# -- the flow: one value per step, by button or typed ---------------------------------------

def _step_of(state: str | None, data: dict[str, Any]) -> str | None:
    """The field the flow is asking for (creating or editing), or None."""
    if state == EDIT:
        return data.get("field")
    name = (state or "").removeprefix(FLOW + ".")
    return name if name in STEPS else None


def _check(ctx, step: str, text: str, type_id: int | None) -> Checked:
    if step == "name":
        return class_types.check_name(ctx.conn, text, exclude_id=type_id)
    if step == "desc":
        return class_types.check_description(text)
    if step == "dur":
        return class_types.check_duration(text)
    return class_types.check_capacity(text)


def _accept(ctx, member, step: str, value: Any, call=None) -> None:
    """A checked value for the current step: save an edit, or go to the next step."""
    flow = flows.current(ctx)
    tx = ctx.texts
    if flow.state == EDIT:
        saved = class_types.update(ctx.conn, member.id, flow.data["type_id"], step, value)
        if saved.type_id is None:
            flows.leave(ctx)
            _show(ctx, _list(ctx), call, stale=True)
            return
        kind = class_types.get(ctx.conn, saved.type_id, ctx.now())
        if saved.problem is not None:
            _show(ctx, screens.edit(tx, kind, step, screens.problem(tx, saved.problem)), call)
            return
        flows.leave(ctx)
        _show(ctx, screens.card(tx, kind, tx("ctype_saved")), call, toast=tx("ctype_saved"))
        return
    data = {**flow.data, step: value}
    following = STEPS.index(step) + 1
    if following < len(STEPS):
        flows.enter(ctx, f"{FLOW}.{STEPS[following]}", data)
        _show(ctx, screens.ask(tx, STEPS[following], data), call)
    else:
        flows.enter(ctx, CONFIRM, data)
        _show(ctx, screens.confirm(tx, data), call)


def _show(ctx, screen, call=None, toast: str | None = None, stale: bool = False) -> None:
    if stale and call is not None:
        ui.stale(ctx, call, refresh=screen)
    else:
        ui.show(ctx, screen, call, toast=toast)


def step_text(deps, message: types.Message) -> None:
    """A typed answer to the current step (checked, asked again with the reason if wrong)."""
    ctx = deps.context()
    member = _admin(ctx, what="types.step")
    if member is None:
        flows.leave(ctx)
        return
    flow = flows.current(ctx)
    step = _step_of(flow.state, flow.data)
    tx = ctx.texts
    if step is None:  # the confirmation: buttons only
        ui.show(ctx, screens.confirm(tx, flow.data, tx("ctype_use_buttons")))
        return
    checked = _check(ctx, step, message.text, flow.data.get("type_id"))
    if checked.problem is not None:
        note = screens.problem(tx, checked.problem)
        if flow.state == EDIT:
            kind = class_types.get(ctx.conn, flow.data["type_id"], ctx.now())
            if kind is None:
                flows.leave(ctx)
                ui.show(ctx, _list(ctx))
                return
            ui.show(ctx, screens.edit(tx, kind, step, note))
        else:
            ui.show(ctx, screens.ask(tx, step, flow.data, note))
        return
    _accept(ctx, member, step, checked.value)


def value_button(deps, call: types.CallbackQuery) -> None:
    """A step answered by a button (no description, a duration, a capacity)."""
    ctx = deps.context()
    member = _admin(ctx, call, "types.step")
    if member is None:
        return
    values = TYPE_VALUE.parse(call.data)
    flow = flows.current(ctx)
    step = values["step"]
    if _step_of(flow.state, flow.data) != step:
        ui.stale(ctx, call)
        return
    value = values["value"]
    if step == "desc":
        checked = Checked("") if value == 0 else None
    else:
        checked = _check(ctx, step, str(value), None)
    if checked is None or checked.problem is not None:
        ui.stale(ctx, call)
        return
    _accept(ctx, member, step, checked.value, call)


def flow_button(deps, call: types.CallbackQuery) -> None:
    """Save the new type, or cancel creating or editing."""
    ctx = deps.context()
    member = _admin(ctx, call, "types.create")
    if member is None:
        return
    answer = TYPE_FLOW.parse(call.data)["answer"]
    flow = flows.current(ctx)
    if not (flow.state or "").startswith(FLOW + "."):
        ui.stale(ctx, call)
        return
    tx = ctx.texts
    if answer == "cancel":
        flows.leave(ctx)
        kind = (class_types.get(ctx.conn, flow.data["type_id"], ctx.now())
                if flow.state == EDIT else None)
        note = tx("ctype_cancelled")
        screen = screens.card(tx, kind, note) if kind else _list(ctx, note)
        ui.show(ctx, screen, call, toast=note)
        return
    if flow.state != CONFIRM:
        ui.stale(ctx, call)
        return
    data = flow.data
    saved = class_types.create(ctx.conn, member.id, data["name"], data.get("desc") or "",
                               data["dur"], data["cap"])
    if saved.problem is not None:  # the name was taken meanwhile: ask for another
        flows.enter(ctx, "ctype.name", data)
        ui.show(ctx, screens.ask(tx, "name", data, screens.problem(tx, saved.problem)), call)
        return
    flows.leave(ctx)
    kind = class_types.get(ctx.conn, saved.type_id, ctx.now())
    ui.show(ctx, screens.card(tx, kind, tx("ctype_created")), call,
            toast=tx("ctype_created"))
