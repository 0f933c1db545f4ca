"""/membership and the menu's Membership: the member's membership as it is, or the plans with
"request this plan", the pending request and its Withdraw."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import MENU, PLAN_REQUEST, PLAN_WITHDRAW
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import membership as screens
from fitclub.services import memberships, plan_requests
from fitclub.services.plan_requests import RequestOutcome


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /membership, the menu's Membership, and the request and withdraw buttons."""
    routes = Routes(bot, deps)
    routes.command("membership", show_membership)
    routes.button(MENU.matches(screen="membership"), show_membership)
    routes.button(PLAN_REQUEST, request_plan)
    routes.button(PLAN_WITHDRAW, withdraw)


def _screen(deps: Deps, ctx: UpdateContext, member: Member, note: str | None = None) -> Screen:
    today = deps.club.today(ctx.now())
    return screens.membership(ctx.texts, memberships.membership_of(ctx.conn, member.id, today),
                              memberships.plans_on_sale(ctx.conn),
                              plan_requests.my_request(ctx.conn, member.id), note)


@member_only
def show_membership(deps: Deps, ctx: UpdateContext, member: Member,
                    update: types.Message | types.CallbackQuery) -> None:
    ui.show(ctx, _screen(deps, ctx, member), update)


@member_only
def request_plan(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    """Ask the front desk for a plan (the admins are told by the service's notices): the
    screen shows it pending. Refused, with why in the screen, while another is pending or
    the membership is current."""
    tx = ctx.texts
    result = plan_requests.request_plan(ctx.conn, member.id,
                                        PLAN_REQUEST.parse(call.data)["plan_id"],
                                        deps.club.today(ctx.now()))
    if result.outcome is RequestOutcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=_screen(deps, ctx, member))
        return
    if result.outcome is RequestOutcome.PENDING:
        note = tx("plan_request_pending_refused", plan=result.request.plan_name,
                  date=tx.date(result.request.created_at, "long"))
    elif result.outcome is RequestOutcome.HAS_MEMBERSHIP:
        note = tx("plan_request_has_membership", plan=result.membership.plan_name,
                  date=tx.date(result.membership.ends_on, "long"))
    else:  # sent: the screen shows it pending
        ui.show(ctx, _screen(deps, ctx, member), call,
                toast=tx("plan_requested", plan=result.plan.name))
        return
    ui.show(ctx, _screen(deps, ctx, member, note), call, toast=note)


@member_only
def withdraw(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Withdraw the pending request: the plans' request buttons are back."""
    closed = plan_requests.withdraw(ctx.conn, member.id,
                                    PLAN_WITHDRAW.parse(call.data)["request_id"])
    if closed is None:
        ui.stale(ctx, call, refresh=_screen(deps, ctx, member))
        return
    note = ctx.texts("plan_withdrawn", plan=closed.plan_name)
    ui.show(ctx, _screen(deps, ctx, member, note), call, toast=note)
