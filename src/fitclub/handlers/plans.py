"""/plans (admins, staff section "plans"): the club's plans; create one in a guided flow, edit
each field, archive or put back on sale, delete one never sold.

The flow's steps are `plan.<field>` (creating, one field each in `screens.STEPS` order: the
name, the name in the other language (optional), then the other fields), `plan.confirm` and
`plan.edit` (one field of a plan; "name" is the name in the admin's language, "name_tr" in the
other); its data lives in PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import (
    PLAN_CONFIRM,
    PLAN_DELETE,
    PLAN_EDIT,
    PLAN_FLOW_CANCEL,
    PLAN_NEW,
    PLAN_SALE,
    PLAN_SKIP,
    PLAN_TRANSLATE,
    PLAN_UNLIMITED,
    PLAN_VIEW,
    STAFF,
)
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.locales import DEFAULT, other_language
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import plans as screens
from fitclub.services import plans
from fitclub.services.plans import Draft, Outcome

FLOW = "plan"
EDIT = "plan.edit"
CONFIRM = "plan.confirm"


def _step_state(field: str) -> str:
    return f"{FLOW}.{field}"


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /plans, the plans section of the staff home, its buttons and typed steps."""
    routes = Routes(bot, deps)
    routes.command("plans", show_plans)
    routes.message(typed, when=flows.typed_step(deps.context, FLOW))
    routes.button(STAFF.matches(section="plans"), show_plans)
    routes.button(PLAN_VIEW, view)
    routes.button(PLAN_NEW, new)
    routes.button(PLAN_EDIT, edit)
    routes.button(PLAN_TRANSLATE, translate)
    routes.button(PLAN_SKIP, skip)
    routes.button(PLAN_UNLIMITED, unlimited)
    routes.button(PLAN_CONFIRM, confirm)
    routes.button(PLAN_SALE, sale)
    routes.button(PLAN_DELETE, delete)
    routes.button(PLAN_FLOW_CANCEL, flow_cancel)


def _list(ctx: UpdateContext) -> Screen:
    return screens.plan_list(ctx.texts, plans.all_plans(ctx.conn))


def _stale(ctx: UpdateContext, call: types.CallbackQuery) -> None:
    ui.stale(ctx, call, refresh=_list(ctx))


@admin_only("plans.open")
def show_plans(deps: Deps, ctx: UpdateContext, member: Member,
               update: types.Message | types.CallbackQuery) -> None:
    ui.leave_flow(ctx, FLOW)  # a typed text must not land in a step walked away from
    ui.show(ctx, _list(ctx), update)


@admin_only("plans.view")
def view(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    ui.leave_flow(ctx, FLOW)
    plan = plans.get(ctx.conn, PLAN_VIEW.parse(call.data)["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    ui.show(ctx, screens.details(ctx.texts, plan), call)


@admin_only("plans.create")
def new(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    flows.enter(ctx, _step_state("name"), {"lang": ctx.texts.lang})
    ui.show(ctx, screens.ask(ctx.texts, "name", step=1), call)


@admin_only("plans.edit")
def edit(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    values = PLAN_EDIT.parse(call.data)
    plan = plans.get(ctx.conn, values["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    flows.enter(ctx, EDIT, {"plan_id": plan.id, "field": values["field"]})
    ui.show(ctx, screens.ask(ctx.texts, values["field"], plan=plan), call)


@admin_only("plans.edit")
def translate(deps: Deps, ctx: UpdateContext, member: Member,
              call: types.CallbackQuery) -> None:
    """The plan's name in the other language: type it (or remove it)."""
    plan = plans.get(ctx.conn, PLAN_TRANSLATE.parse(call.data)["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    flows.enter(ctx, EDIT, {"plan_id": plan.id, "field": "name_tr"})
    ui.show(ctx, screens.ask(ctx.texts, "name_tr", plan=plan), call)


@admin_only("plans.step", leave_flow=True)
def typed(deps: Deps, ctx: UpdateContext, member: Member, message: types.Message) -> None:
    """A typed value for the step the admin is at."""
    flow = flows.current(ctx)
    field = flow.data.get("field") if flow.state == EDIT else flow.state.split(".", 1)[1]
    if field not in screens.STEPS:  # at the confirmation: the buttons answer, not text
        ui.show(ctx, screens.confirm_new(ctx.texts, _draft(flow.data)))
        return
    checked = plans.CHECKS["name" if field == "name_tr" else field](message.text)
    name = None
    if (checked.problem is None and field in ("name", "name_tr")
            and plans.name_taken(ctx.conn, checked.value, flow.data.get("plan_id"))):
        checked, name = plans.Checked(problem="pl_name_taken"), checked.value
    _accept(ctx, member, flow, field, checked.value, problem=checked.problem,
            limit=checked.limit, name=name)


def _accept(ctx: UpdateContext, member: Member, flow: flows.Flow, field: str, value: Any, *,
            problem: str | None = None, limit: int | None = None, name: str | None = None,
            call: types.CallbackQuery | None = None) -> None:
    """Take a step's value (typed or pressed), or ask again with the problem."""
    tx = ctx.texts
    editing = flow.state == EDIT
    plan = plans.get(ctx.conn, flow.data["plan_id"]) if editing else None
    if editing and plan is None:
        flows.leave(ctx)
        ui.show(ctx, _list(ctx), call, toast=tx("stale_button") if call else None)
        return
    if problem is not None:
        step = screens.STEPS.index(field) + 1
        ui.show(ctx, screens.ask(tx, field, step=step, plan=plan, problem=problem,
                                 limit=limit, name=name), call)
        return
    if editing:
        change = _save(ctx, member, plan.id, field, value)
        if change.outcome in (Outcome.NAME_TAKEN, Outcome.LAST_NAME):
            problem = ("pl_name_taken" if change.outcome is Outcome.NAME_TAKEN
                       else "pl_tr_last")
            ui.show(ctx, screens.ask(tx, field, plan=change.plan or plan, problem=problem,
                                     name=value), call)
            return
        flows.leave(ctx)
        note = tx("pl_saved") if change.outcome is Outcome.DONE else None
        ui.show(ctx, screens.details(tx, change.plan, note), call)
        return
    data = {**flow.data, field: value}
    position = screens.STEPS.index(field)
    if position + 1 < len(screens.STEPS):
        following = screens.STEPS[position + 1]
        flows.enter(ctx, _step_state(following), data)
        ui.show(ctx, screens.ask(tx, following, step=position + 2), call)
        return
    flows.enter(ctx, CONFIRM, data)
    ui.show(ctx, screens.confirm_new(tx, _draft(data)), call)


def _save(ctx: UpdateContext, member: Member, plan_id: int, field: str,
          value: Any) -> plans.Change:
    """An edit: the name in the admin's language ("name") or the other ("name_tr"), or
    another field."""
    if field in ("name", "name_tr"):
        lang = ctx.texts.lang if field == "name" else other_language(ctx.texts.lang)
        return plans.rename(ctx.conn, member.id, plan_id, lang, value)
    return plans.update(ctx.conn, member.id, plan_id, field, value)


def _draft(data: dict[str, Any]) -> Draft:
    return Draft(data["name"], data["price"], data["days"], data["visits"], data["freeze"],
                 lang=data.get("lang", DEFAULT), name_tr=data.get("name_tr"))


@admin_only("plans.step")
def unlimited(deps: Deps, ctx: UpdateContext, member: Member,
              call: types.CallbackQuery) -> None:
    """'Unlimited' at the visits step."""
    _no_value(ctx, member, call, "visits")


@admin_only("plans.step")
def skip(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """'Skip' at the step of the name in the other language, or 'Remove' when editing it."""
    _no_value(ctx, member, call, "name_tr")


def _no_value(ctx: UpdateContext, member: Member, call: types.CallbackQuery,
              field: str) -> None:
    """A button that answers `field`'s step with no value (None), while the flow is at it
    (creating or editing); stale elsewhere."""
    flow = flows.current(ctx)
    if not (flow.state == _step_state(field)
            or (flow.state == EDIT and flow.data.get("field") == field)):
        ui.stale(ctx, call)
        return
    _accept(ctx, member, flow, field, None, call=call)


@admin_only("plans.create")
def confirm(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Create the plan gathered, or drop it."""
    flow = flows.current(ctx)
    if flow.state != CONFIRM:
        ui.stale(ctx, call)  # a second tap: the plan was created (or dropped) by the first
        return
    tx = ctx.texts
    if PLAN_CONFIRM.parse(call.data)["answer"] == "no":
        flows.leave(ctx)
        ui.show(ctx, screens.cancelled(tx), call)
        return
    draft = _draft(flow.data)
    change = plans.create(ctx.conn, member.id, draft)
    if change.outcome is Outcome.NAME_TAKEN:
        field = "name_tr" if change.name == draft.name_tr != draft.name else "name"
        flows.enter(ctx, _step_state(field), flow.data)
        ui.show(ctx, screens.ask(tx, field, step=screens.STEPS.index(field) + 1,
                                 problem="pl_name_taken", name=change.name), call)
        return
    flows.leave(ctx)
    ui.show(ctx, screens.details(tx, change.plan, tx("pl_created", name=change.plan.name)),
            call, toast=tx("pl_created", name=change.plan.name))


@admin_only("plans.archive")
def sale(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Archive a plan, or put it back on sale."""
    values = PLAN_SALE.parse(call.data)
    on = values["on"] == "y"
    change = plans.set_on_sale(ctx.conn, member.id, values["plan_id"], on)
    if change.outcome is Outcome.UNAVAILABLE:
        _stale(ctx, call)
        return
    tx = ctx.texts
    toast = tx("pl_put_on_sale" if on else "pl_archived_toast", name=change.plan.name)
    ui.show(ctx, screens.details(tx, change.plan), call, toast=toast)


@admin_only("plans.delete")
def delete(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Delete a plan never sold (asked first); a sold one is refused."""
    values = PLAN_DELETE.parse(call.data)
    tx = ctx.texts
    plan = plans.get(ctx.conn, values["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    if values["step"] == "ask":
        if plan.sold:
            ui.show(ctx, screens.details(tx, plan), call, toast=tx("pl_delete_sold",
                                                                   name=plan.name))
            return
        ui.show(ctx, screens.delete_ask(tx, plan), call)
        return
    change = plans.delete(ctx.conn, member.id, plan.id)
    if change.outcome is Outcome.SOLD:
        ui.show(ctx, screens.details(tx, change.plan), call,
                toast=tx("pl_delete_sold", name=plan.name))
        return
    if change.outcome is Outcome.UNAVAILABLE:
        _stale(ctx, call)
        return
    ui.show(ctx, _list(ctx), call, toast=tx("pl_deleted", name=change.name))


@admin_only("plans.step")
def flow_cancel(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    """Cancel in a plan step: leave it."""
    ui.leave_flow(ctx, FLOW)
    ui.show(ctx, screens.cancelled(ctx.texts), call)
