"""Class types (admins, staff section "types"): list, create in a guided flow, edit, delete.

The flow's steps are `ctype.name`, `ctype.name_tr`, `ctype.desc`, `ctype.desc_tr`, `ctype.dur`,
`ctype.cap`, `ctype.confirm` (creating; the `_tr` steps ask for the text in the language the
admin does not read the bot in, and may be skipped) and `ctype.edit` (one field of a type: the
name and description in the admin's language, `name_tr` and `desc_tr` in the other); its data
lives in PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import (
    STAFF,
    TYPE_DELETE,
    TYPE_EDIT,
    TYPE_FLOW,
    TYPE_NEW,
    TYPE_OPEN,
    TYPE_SKIP,
    TYPE_TRANSLATE,
    TYPE_VALUE,
)
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.locales import other_language
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import class_types as screens
from fitclub.services import class_types
from fitclub.services.class_types import Checked, ClassType

FLOW = "ctype"
STEPS = screens.STEPS
EDIT = "ctype.edit"
CONFIRM = "ctype.confirm"


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the types section, its buttons and the flow's typed steps."""
    routes = Routes(bot, deps)
    routes.button(STAFF.matches(section="types"), section)
    routes.button(TYPE_OPEN, open_type)
    routes.button(TYPE_NEW, new_type)
    routes.button(TYPE_EDIT, edit_type)
    routes.button(TYPE_TRANSLATE, translate_type)
    routes.button(TYPE_SKIP, skip_button)
    routes.button(TYPE_VALUE, value_button)
    routes.button(TYPE_FLOW, flow_button)
    routes.button(TYPE_DELETE, delete_type)
    routes.message(step_text, when=flows.typed_step(deps.context, FLOW))


def _list(ctx: UpdateContext, note: str | None = None) -> Screen:
    return screens.type_list(ctx.texts, class_types.all_types(ctx.conn, ctx.now()), note)


def _type_or_stale(ctx: UpdateContext, call: types.CallbackQuery,
                   type_id: int) -> ClassType | None:
    """The class type, or None after answering the press as stale with the list."""
    kind = class_types.get(ctx.conn, type_id, ctx.now())
    if kind is None:
        ui.stale(ctx, call, refresh=_list(ctx))
    return kind


@admin_only("types.list")
def section(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    ui.leave_flow(ctx, FLOW)
    ui.show(ctx, _list(ctx), call)


@admin_only("types.open")
def open_type(deps: Deps, ctx: UpdateContext, member: Member,
              call: types.CallbackQuery) -> None:
    ui.leave_flow(ctx, FLOW)
    kind = _type_or_stale(ctx, call, TYPE_OPEN.parse(call.data)["type_id"])
    if kind is None:
        return
    ui.show(ctx, screens.card(ctx.texts, kind), call)


@admin_only("types.create")
def new_type(deps: Deps, ctx: UpdateContext, member: Member,
             call: types.CallbackQuery) -> None:
    flows.enter(ctx, "ctype.name", {"lang": ctx.texts.lang})
    ui.show(ctx, screens.ask(ctx.texts, "name", {}), call)


@admin_only("types.edit")
def edit_type(deps: Deps, ctx: UpdateContext, member: Member,
              call: types.CallbackQuery) -> None:
    values = TYPE_EDIT.parse(call.data)
    kind = _type_or_stale(ctx, call, values["type_id"])
    if kind is None:
        return
    flows.enter(ctx, EDIT, {"type_id": kind.id, "field": values["field"]})
    ui.show(ctx, screens.edit(ctx.texts, kind, values["field"]), call)


@admin_only("types.edit")
def translate_type(deps: Deps, ctx: UpdateContext, member: Member,
                   call: types.CallbackQuery) -> None:
    """The type's name or description in the other language: type it (or remove it)."""
    values = TYPE_TRANSLATE.parse(call.data)
    kind = _type_or_stale(ctx, call, values["type_id"])
    if kind is None:
        return
    field = values["field"] + "_tr"
    flows.enter(ctx, EDIT, {"type_id": kind.id, "field": field})
    ui.show(ctx, screens.edit(ctx.texts, kind, field), call)


@admin_only("types.delete")
def delete_type(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
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
    # Not deleted: a class was planned (or the type deleted) since the card was read.
    kind = _type_or_stale(ctx, call, kind.id)
    if kind is not None:
        _has_classes(ctx, call, kind)


def _has_classes(ctx: UpdateContext, call: types.CallbackQuery, kind: ClassType) -> None:
    """The type's card: it cannot be deleted while it has classes."""
    ui.show(ctx, screens.card(ctx.texts, kind), call, toast=ctx.texts("ctype_has_classes"))


# -- the flow: one value per step, by button or typed ---------------------------------------

def _step_of(state: str | None, data: dict[str, Any]) -> str | None:
    """The field the flow is asking for (creating or editing), or None."""
    if state == EDIT:
        return data.get("field")
    name = (state or "").removeprefix(FLOW + ".")
    return name if name in STEPS else None


def _accept(ctx: UpdateContext, member: Member, step: str, value: Any,
            call: types.CallbackQuery | None = None) -> None:
    """A checked value for the current step: save an edit, or go to the next step."""
    flow = flows.current(ctx)
    tx = ctx.texts
    if flow.state == EDIT:
        saved = _save(ctx, member, flow.data["type_id"], step, value)
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
    if STEPS[following:following + 1] == ("desc_tr",) and not data.get("desc"):
        following += 1  # no description: nothing to translate
    if following < len(STEPS):
        flows.enter(ctx, f"{FLOW}.{STEPS[following]}", data)
        _show(ctx, screens.ask(tx, STEPS[following], data), call)
    else:
        flows.enter(ctx, CONFIRM, data)
        _show(ctx, screens.confirm(tx, data), call)


def _save(ctx: UpdateContext, member: Member, type_id: int, step: str,
          value: Any) -> class_types.Saved:
    """An edit: the name or description in the admin's language, or in the other ("_tr"), or
    another field."""
    if step in ("name", "desc"):
        return class_types.set_text(ctx.conn, member.id, type_id, step, ctx.texts.lang, value)
    if step in ("name_tr", "desc_tr"):
        return class_types.set_text(ctx.conn, member.id, type_id, step.removesuffix("_tr"),
                                    other_language(ctx.texts.lang), value)
    return class_types.update(ctx.conn, member.id, type_id, step, value)


def _show(ctx: UpdateContext, screen: Screen, call: types.CallbackQuery | None = None,
          toast: str | None = None, stale: bool = False) -> None:
    if stale and call is not None:
        ui.stale(ctx, call, refresh=screen)
    else:
        ui.show(ctx, screen, call, toast=toast)


@admin_only("types.step", leave_flow=True)
def step_text(deps: Deps, ctx: UpdateContext, member: Member,
              message: types.Message) -> None:
    """A typed answer to the current step (checked, asked again with the reason if wrong)."""
    flow = flows.current(ctx)
    step = _step_of(flow.state, flow.data)
    tx = ctx.texts
    if step is None:  # the confirmation: buttons only
        ui.show(ctx, screens.confirm(tx, flow.data, tx("ctype_use_buttons")))
        return
    checked = class_types.check(ctx.conn, step, message.text, flow.data.get("type_id"))
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


@admin_only("types.step")
def value_button(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    """A step answered by a button (no description, a duration, a capacity)."""
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
        checked = class_types.check(ctx.conn, step, str(value))
    if checked is None or checked.problem is not None:
        ui.stale(ctx, call)
        return
    _accept(ctx, member, step, checked.value, call)


@admin_only("types.step")
def skip_button(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    """Skip a translation step (creating), or remove the translation (editing)."""
    step = TYPE_SKIP.parse(call.data)["step"]
    flow = flows.current(ctx)
    if _step_of(flow.state, flow.data) != step:
        ui.stale(ctx, call)
        return
    _accept(ctx, member, step, None, call)


@admin_only("types.create")
def flow_button(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    """Save the new type, or cancel creating or editing."""
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
                               data["dur"], data["cap"], lang=data.get("lang", tx.lang),
                               name_tr=data.get("name_tr"), description_tr=data.get("desc_tr"))
    if saved.problem is not None:  # a name was taken meanwhile: ask again for that one
        field = saved.field or "name"
        flows.enter(ctx, f"{FLOW}.{field}", data)
        ui.show(ctx, screens.ask(tx, field, data, screens.problem(tx, saved.problem)), call)
        return
    flows.leave(ctx)
    kind = class_types.get(ctx.conn, saved.type_id, ctx.now())
    ui.show(ctx, screens.card(tx, kind, tx("ctype_created")), call,
            toast=tx("ctype_created"))
