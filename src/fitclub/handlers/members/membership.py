"""A member's membership as admins change it, from the member card (/members): grant a plan
(from today or a typed date), extend by a plan, cancel, and adjust visits with a reason.

The member is told of every change (the services' notices); the card shows it done, or why
it was refused. Typed steps are part of the flow "mbr" (services.admin_input).
"""

from __future__ import annotations

from datetime import timedelta

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import (
    ADJUST,
    EXTEND,
    EXTEND_OK,
    EXTEND_PLAN,
    GRANT,
    GRANT_DATE,
    GRANT_DAY,
    GRANT_OK,
    GRANT_PLAN,
    MEMBERSHIP_CANCEL,
)
from fitclub.db.members import Member, by_id
from fitclub.deps import Deps
from fitclub.handlers.members import common
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import members_admin as screens
from fitclub.services import admin_input, membership_admin, plans
from fitclub.services.admin_input import DELTA_STEP, GRANT_DATE_STEP, REASON_STEP, SEARCH
from fitclub.services.membership_change import (
    Refusal,
    membership_of,
    with_member,
)
from fitclub.services.plans import PlanRow


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the grant, extend, cancel and adjust buttons and their typed steps."""
    routes = Routes(bot, deps)
    routes.button(GRANT, grant)
    routes.button(GRANT_PLAN, grant_plan)
    routes.button(GRANT_DATE, grant_date)
    routes.message(grant_date_typed, when=flows.typed_step(deps.context, GRANT_DATE_STEP))
    routes.button(GRANT_DAY, grant_day)
    routes.button(GRANT_OK, grant_ok)
    routes.button(EXTEND, extend)
    routes.button(EXTEND_PLAN, extend_plan)
    routes.button(EXTEND_OK, extend_ok)
    routes.button(MEMBERSHIP_CANCEL, cancel)
    routes.button(ADJUST, adjust)
    routes.message(delta_typed, when=flows.typed_step(deps.context, DELTA_STEP))
    routes.message(reason_typed, when=flows.typed_step(deps.context, REASON_STEP))


# -- grant -------------------------------------------------------------------------------------

def _member_and_plan(ctx: UpdateContext, member_id: int, plan_id: int
                     ) -> tuple[Member | None, PlanRow | None]:
    member = by_id(ctx.conn, member_id)
    plan = plans.get(ctx.conn, plan_id) if member is not None else None
    return member, plan


@admin_only("members.grant")
def grant(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """The plans on sale, for a member without a current membership."""
    member_id = GRANT.parse(call.data)["member_id"]
    member = by_id(ctx.conn, member_id)
    if member is None:
        common.to_search(ctx, call)
        return
    current = membership_of(ctx.conn, member_id, deps.club.today(ctx.now()))
    if current is not None and current.current:
        common.card(deps, ctx, call, member_id, toast=ctx.texts(
            "mbr_refused_has_current", name=member.name, plan=current.plan_name,
            end=ctx.texts.date(current.ends_on, "long")))
        return
    ui.show(ctx, screens.grant_choose(ctx.texts, member,
                                      membership_admin.plans_on_sale(ctx.conn)), call)


@admin_only("members.grant")
def grant_plan(deps: Deps, ctx: UpdateContext, admin: Member,
               call: types.CallbackQuery) -> None:
    """From today, or another date?"""
    values = GRANT_PLAN.parse(call.data)
    member, plan = _member_and_plan(ctx, values["member_id"], values["plan_id"])
    if member is None:
        common.to_search(ctx, call)
        return
    if plan is None or not plan.is_active:
        common.card(deps, ctx, call, member.id, toast=ctx.texts("mbr_refused_plan_off_sale"))
        return
    ui.show(ctx, screens.grant_start(ctx.texts, member, plan, deps.club.today(ctx.now())), call)


@admin_only("members.grant")
def grant_date(deps: Deps, ctx: UpdateContext, admin: Member,
               call: types.CallbackQuery) -> None:
    """Type the first day."""
    values = GRANT_DATE.parse(call.data)
    member, plan = _member_and_plan(ctx, values["member_id"], values["plan_id"])
    if plan is None:
        common.to_search(ctx, call)
        return
    flows.enter(ctx, GRANT_DATE_STEP, {"member_id": member.id, "plan_id": plan.id})
    today = deps.club.today(ctx.now())
    ui.show(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_start", today), call)


@admin_only("members.step", leave_flow=True)
def grant_date_typed(deps: Deps, ctx: UpdateContext, admin: Member,
                     message: types.Message) -> None:
    """The typed first day: the grant to confirm (asked again if it is no day in the year to
    come)."""
    data = flows.current(ctx).data
    member, plan = _member_and_plan(ctx, data["member_id"], data["plan_id"])
    today = deps.club.today(ctx.now())
    if plan is None:
        common.to_search(ctx)
        return
    checked = admin_input.read_day(message.text, today)
    day = checked.value
    if day is None or not membership_admin.start_allowed(day, today):
        last = today + timedelta(days=membership_admin.MAX_START_AHEAD_DAYS)
        ui.show(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_start", today,
                                      problem=checked.problem or admin_input.BAD_DATE,
                                      first=today, last=last))
        return
    flows.enter(ctx, SEARCH)
    ui.show(ctx, screens.grant_confirm(ctx.texts, member, plan, day))


@admin_only("members.grant")
def grant_day(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """The grant from this day, to confirm."""
    values = GRANT_DAY.parse(call.data)
    member, plan = _member_and_plan(ctx, values["member_id"], values["plan_id"])
    if plan is None:
        common.to_search(ctx, call)
        return
    ui.show(ctx, screens.grant_confirm(ctx.texts, member, plan, values["day"]), call)


@admin_only("members.grant")
def grant_ok(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    values = GRANT_OK.parse(call.data)
    result = membership_admin.grant(ctx.conn, admin.id, values["member_id"], values["plan_id"],
                                    values["day"], ctx.now(), deps.club.booking)
    m = result.membership
    done = ctx.texts("mbr_granted", plan=m.plan_name if m else "",
                     end=ctx.texts.date(m.ends_on, "long") if m else "")
    common.after(deps, ctx, call, result, done)


# -- extend ------------------------------------------------------------------------------------

@admin_only("members.extend")
def extend(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """The plans on sale to extend a current membership by."""
    member, found = with_member(ctx.conn, EXTEND.parse(call.data)["membership_id"],
                                deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx, call)
    elif not found.current:
        common.refuse(deps, ctx, call, member, found, Refusal.NOT_CURRENT)
    else:
        ui.show(ctx, screens.extend_choose(ctx.texts, member, found,
                                           membership_admin.plans_on_sale(ctx.conn)), call)


@admin_only("members.extend")
def extend_plan(deps: Deps, ctx: UpdateContext, admin: Member,
                call: types.CallbackQuery) -> None:
    """The extension by this plan, to confirm."""
    values = EXTEND_PLAN.parse(call.data)
    member, found = with_member(ctx.conn, values["membership_id"], deps.club.today(ctx.now()))
    plan = plans.get(ctx.conn, values["plan_id"]) if found is not None else None
    if plan is None:
        common.to_search(ctx, call)
    elif not found.current:
        common.refuse(deps, ctx, call, member, found, Refusal.NOT_CURRENT)
    else:
        ui.show(ctx, screens.extend_confirm(ctx.texts, member, found, plan), call)


@admin_only("members.extend")
def extend_ok(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    values = EXTEND_OK.parse(call.data)
    result = membership_admin.extend(ctx.conn, admin.id, values["membership_id"],
                                     values["plan_id"], values["end"], ctx.now(),
                                     deps.club.booking)
    m = result.membership
    common.after(deps, ctx, call, result,
                 ctx.texts("mbr_extended", end=ctx.texts.date(m.ends_on, "long") if m else ""))


# -- cancel ------------------------------------------------------------------------------------

@admin_only("members.cancel")
def cancel(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """Cancel a current membership: ask, then cancel it."""
    values = MEMBERSHIP_CANCEL.parse(call.data)
    if values["step"] == "ask":
        member, found = with_member(ctx.conn, values["membership_id"], deps.club.today(ctx.now()))
        if found is None:
            common.to_search(ctx, call)
        elif not found.current:
            common.refuse(deps, ctx, call, member, found, Refusal.NOT_CURRENT)
        else:
            ui.show(ctx, screens.cancel_ask(ctx.texts, member, found), call)
        return
    result = membership_admin.cancel(ctx.conn, admin.id, values["membership_id"], ctx.now(),
                                     deps.club.booking)
    common.after(deps, ctx, call, result, ctx.texts("mbr_cancelled"))


# -- adjust visits -----------------------------------------------------------------------------

@admin_only("members.adjust")
def adjust(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """Type the change of visits of a current, counted membership."""
    member, found = with_member(ctx.conn, ADJUST.parse(call.data)["membership_id"],
                                deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx, call)
    elif not found.current or found.visits_left is None:
        reason = Refusal.NOT_CURRENT if not found.current else Refusal.UNLIMITED
        common.refuse(deps, ctx, call, member, found, reason)
    else:
        flows.enter(ctx, DELTA_STEP, {"membership_id": found.id})
        ui.show(ctx, screens.ask_delta(ctx.texts, member, found), call)


@admin_only("members.step", leave_flow=True)
def delta_typed(deps: Deps, ctx: UpdateContext, admin: Member, message: types.Message) -> None:
    """The typed change: its reason next (asked again if bad or below zero)."""
    member, found = with_member(ctx.conn, flows.current(ctx).data["membership_id"],
                                deps.club.today(ctx.now()))
    if found is None or not found.current or found.visits_left is None:
        common.to_search(ctx, problem="mbr_step_gone")
        return
    tx = ctx.texts
    checked = admin_input.check_delta(message.text or "")
    if checked.problem is not None:
        ui.show(ctx, screens.ask_delta(tx, member, found, checked.problem))
        return
    if found.visits_left + checked.value < 0:
        ui.show(ctx, screens.ask_delta(tx, member, found, "mbr_refused_below_zero",
                                       left=tx.plural("plan_visits", found.visits_left),
                                       asked=tx.plural("plan_visits", -checked.value)))
        return
    flows.enter(ctx, REASON_STEP, {"membership_id": found.id, "delta": checked.value})
    ui.show(ctx, screens.ask_reason(tx, member.id, checked.value))


@admin_only("members.step", leave_flow=True)
def reason_typed(deps: Deps, ctx: UpdateContext, admin: Member, message: types.Message) -> None:
    """The typed reason: the visits change (asked again if too short or long)."""
    data = flows.current(ctx).data
    member, found = with_member(ctx.conn, data["membership_id"], deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx, problem="mbr_step_gone")
        return
    checked = admin_input.check_reason(message.text or "")
    if checked.problem is not None:
        ui.show(ctx, screens.ask_reason(ctx.texts, member.id, data["delta"], problem=True))
        return
    result = membership_admin.adjust(ctx.conn, admin.id, found.id, data["delta"],
                                     checked.value, ctx.now(), deps.club.booking)
    after = result.membership.visits_left if result.membership else None
    done = ctx.texts("mbr_adjusted", before=found.visits_left or 0, after=after or 0)
    common.after(deps, ctx, None, result, done)
