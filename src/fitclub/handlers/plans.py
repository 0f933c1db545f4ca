"""/plans (admins): the club's plans; create one in a guided flow, edit each field, archive or
put back on sale, delete one never sold."""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, flows, ui
from fitclub.callbacks import (
    PLAN_CONFIRM,
    PLAN_DELETE,
    PLAN_EDIT,
    PLAN_FLOW_CANCEL,
    PLAN_NEW,
    PLAN_SALE,
    PLAN_UNLIMITED,
    PLAN_VIEW,
    STAFF,
)
from fitclub.screens import plans as screens
from fitclub.services import plans
from fitclub.services.plans import Draft, Outcome

FLOW = "plan"
EDIT = "plan.edit"
CONFIRM = "plan.confirm"


def _step_state(field: str) -> str:
    return f"{FLOW}.{field}"


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /plans, the plans section of the staff home, its buttons and typed steps."""
    private = {"chat_types": ["private"]}
    in_flow = flows.in_flow(deps.context, FLOW)
    bot.register_message_handler(partial(show_plans, deps), commands=["plans"], **private)
    # Commands typed mid-step stay commands (/cancel leaves the flow, in registration).
    bot.register_message_handler(
        partial(typed, deps), content_types=["text"],
        func=lambda m: not (m.text or "").startswith("/") and in_flow(m), **private)
    for handler, action in ((section, STAFF.matches(section="plans")),
                            (view, PLAN_VIEW.matches()), (new, PLAN_NEW.matches()),
                            (edit, PLAN_EDIT.matches()), (unlimited, PLAN_UNLIMITED.matches()),
                            (confirm, PLAN_CONFIRM.matches()), (sale, PLAN_SALE.matches()),
                            (delete, PLAN_DELETE.matches()),
                            (flow_cancel, PLAN_FLOW_CANCEL.matches())):
        bot.register_callback_query_handler(partial(handler, deps), func=action)


def _admin(ctx, call=None, what="plans.open"):
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what=what)


def _leave_mine(ctx) -> None:
    """Leave a plan step the admin walked away from (a typed text must not land in it)."""
    if (flows.current(ctx).state or "").startswith(FLOW + "."):
        flows.leave(ctx)


def show_plans(deps, message: types.Message) -> None:
    ctx = deps.context()
    if _admin(ctx) is None:
        return
    _leave_mine(ctx)
    screen = screens.plan_list(ctx.texts, plans.all_plans(ctx.conn))
    ctx.reply(screen.text, reply_markup=screen.markup)


def section(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call) is None:
        return
    _leave_mine(ctx)
    ui.show(ctx, screens.plan_list(ctx.texts, plans.all_plans(ctx.conn)), call)


def _stale(ctx, call) -> None:
    ui.stale(ctx, call, refresh=screens.plan_list(ctx.texts, plans.all_plans(ctx.conn)))


def view(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "plans.view") is None:
        return
    _leave_mine(ctx)
    plan = plans.get(ctx.conn, PLAN_VIEW.parse(call.data)["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    ui.show(ctx, screens.details(ctx.texts, plan), call)


def new(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "plans.create") is None:
        return
    flows.enter(ctx, _step_state("name"), {})
    ui.show(ctx, screens.ask(ctx.texts, "name", step=1), call)


def edit(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "plans.edit") is None:
        return
    values = PLAN_EDIT.parse(call.data)
    plan = plans.get(ctx.conn, values["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    flows.enter(ctx, EDIT, {"plan_id": plan.id, "field": values["field"]})
    ui.show(ctx, screens.ask(ctx.texts, values["field"], plan=plan), call)


def typed(deps, message: types.Message) -> None:
    """A typed value for the step the admin is at."""
    ctx = deps.context()
    if _admin(ctx, what="plans.step") is None:
        flows.leave(ctx)
        return
    flow = flows.current(ctx)
    field = flow.data.get("field") if flow.state == EDIT else flow.state.split(".", 1)[1]
    if field not in plans.FIELDS:  # at the confirmation: the buttons answer, not text
        screen = screens.confirm_new(ctx.texts, _draft(flow.data))
        ctx.reply(screen.text, reply_markup=screen.markup)
        return
    checked = plans.CHECKS[field](message.text)
    name = None
    if (checked.problem is None and field == "name"
            and plans.name_taken(ctx.conn, checked.value, flow.data.get("plan_id"))):
        checked, name = plans.Checked(problem="pl_name_taken"), checked.value
    accept(ctx, flow, field, checked.value, problem=checked.problem, limit=checked.limit,
           name=name)


def accept(ctx, flow: flows.Flow, field: str, value, *, problem: str | None = None,
           limit: int | None = None, name: str | None = None,
           call: types.CallbackQuery | None = None) -> None:
    """Take a step's value (typed or pressed), or ask again with the problem."""
    tx = ctx.texts
    editing = flow.state == EDIT
    plan = plans.get(ctx.conn, flow.data["plan_id"]) if editing else None
    if editing and plan is None:
        flows.leave(ctx)
        ui.show(ctx, screens.plan_list(tx, plans.all_plans(ctx.conn)), call,
                toast=tx("stale_button") if call else None)
        return
    if problem is not None:
        step = plans.FIELDS.index(field) + 1
        ui.show(ctx, screens.ask(tx, field, step=step, plan=plan, problem=problem,
                                 limit=limit, name=name), call)
        return
    if editing:
        change = plans.update(ctx.conn, ctx.member.id, plan.id, field, value)
        if change.outcome is Outcome.NAME_TAKEN:
            ui.show(ctx, screens.ask(tx, field, plan=plan, problem="pl_name_taken",
                                     name=value), call)
            return
        flows.leave(ctx)
        note = tx("pl_saved") if change.outcome is Outcome.DONE else None
        ui.show(ctx, screens.details(tx, change.plan, note), call)
        return
    data = {**flow.data, field: value}
    position = plans.FIELDS.index(field)
    if position + 1 < len(plans.FIELDS):
        following = plans.FIELDS[position + 1]
        flows.enter(ctx, _step_state(following), data)
        ui.show(ctx, screens.ask(tx, following, step=position + 2), call)
        return
    flows.enter(ctx, CONFIRM, data)
    ui.show(ctx, screens.confirm_new(tx, _draft(data)), call)


def _draft(data: dict) -> Draft:
    return Draft(data["name"], data["price"], data["days"], data["visits"], data["freeze"])


def unlimited(deps, call: types.CallbackQuery) -> None:
    """'Unlimited' at the visits step."""
    ctx = deps.context()
    if _admin(ctx, call, "plans.step") is None:
        return
    flow = flows.current(ctx)
    at_visits = flow.state == _step_state("visits") or (
        flow.state == EDIT and flow.data.get("field") == "visits")
    if not at_visits:
        ui.stale(ctx, call)
        return
    accept(ctx, flow, "visits", None, call=call)


def confirm(deps, call: types.CallbackQuery) -> None:
    """Create the plan gathered, or drop it."""
    ctx = deps.context()
    member = _admin(ctx, call, "plans.create")
    if member is None:
        return
    flow = flows.current(ctx)
    if flow.state != CONFIRM:
        ui.stale(ctx, call)  # a second tap: the plan was created (or dropped) by the first
        return
    tx = ctx.texts
    if PLAN_CONFIRM.parse(call.data)["answer"] == "no":
        flows.leave(ctx)
        ui.show(ctx, screens.cancelled(tx), call)
        return
    change = plans.create(ctx.conn, member.id, _draft(flow.data))
    if change.outcome is Outcome.NAME_TAKEN:
        flows.enter(ctx, _step_state("name"), flow.data)
        ui.show(ctx, screens.ask(tx, "name", step=1, problem="pl_name_taken",
                                 name=change.name), call)
        return
    flows.leave(ctx)
    ui.show(ctx, screens.details(tx, change.plan, tx("pl_created", name=change.plan.name)),
            call, toast=tx("pl_created", name=change.plan.name))


def sale(deps, call: types.CallbackQuery) -> None:
    """Archive a plan, or put it back on sale."""
    ctx = deps.context()
    member = _admin(ctx, call, "plans.archive")
    if member is None:
        return
    values = PLAN_SALE.parse(call.data)
    on = values["on"] == "y"
    change = plans.set_on_sale(ctx.conn, member.id, values["plan_id"], on)
    if change.outcome is Outcome.UNAVAILABLE:
        _stale(ctx, call)
        return
    tx = ctx.texts
    toast = tx("pl_put_on_sale" if on else "pl_archived_toast", name=change.plan.name)
    ui.show(ctx, screens.details(tx, change.plan), call, toast=toast)


def delete(deps, call: types.CallbackQuery) -> None:
    """Delete a plan never sold (asked first); a sold one is refused."""
    ctx = deps.context()
    member = _admin(ctx, call, "plans.delete")
    if member is None:
        return
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
    ui.show(ctx, screens.plan_list(tx, plans.all_plans(ctx.conn)), call,
            toast=tx("pl_deleted", name=change.name))


def flow_cancel(deps, call: types.CallbackQuery) -> None:
    """Cancel in a plan step: leave it."""
    ctx = deps.context()
    if _admin(ctx, call, "plans.step") is None:
        return
    _leave_mine(ctx)
    ui.show(ctx, screens.cancelled(ctx.texts), call)
