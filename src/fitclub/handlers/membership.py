"""/membership and the menu's Membership: the member's membership, or the plans with
"request this plan"."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import MENU, PLAN_REQUEST
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import membership as screens
from fitclub.services import memberships, plan_requests
from fitclub.services.plan_requests import RequestOutcome


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /membership, the menu's Membership and the plan request button."""
    routes = Routes(bot, deps)
    routes.command("membership", show_membership)
    routes.button(MENU.matches(screen="membership"), show_membership)
    routes.button(PLAN_REQUEST, request_plan)


def _screen(deps: Deps, ctx: UpdateContext, member: Member) -> Screen:
    today = deps.club.today(ctx.now())
    return screens.membership(ctx.texts, memberships.membership_of(ctx.conn, member.id, today),
                              memberships.plans_on_sale(ctx.conn))


@member_only
def show_membership(deps: Deps, ctx: UpdateContext, member: Member,
                    update: types.Message | types.CallbackQuery) -> None:
    ui.show(ctx, _screen(deps, ctx, member), update)


@member_only
def request_plan(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    """Ask the front desk for a plan (the admins are told by the service's notices)."""
    plan_id = PLAN_REQUEST.parse(call.data)["plan_id"]
    result = plan_requests.request_plan(ctx.conn, member.id, plan_id)
    if result.outcome is RequestOutcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=_screen(deps, ctx, member))
        return
    if result.outcome is RequestOutcome.REPEAT:
        ctx.answer_callback(call.id, ctx.texts("plan_request_repeat", plan=result.plan.name))
        return
    ctx.answer_callback(call.id, ctx.texts("plan_requested", plan=result.plan.name),
                        show_alert=True)
