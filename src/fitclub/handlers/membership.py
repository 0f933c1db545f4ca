"""/membership and the menu's Membership: the member's membership as it is, or the plans with
"request this plan", the pending request and its Withdraw. With a payment provider connected
(PAYMENT_PROVIDER_TOKEN), Buy or Renew with the price instead: the press opens an order and
sends its invoice below (the payment itself is handled in handlers/payments.py)."""

from __future__ import annotations

from datetime import timedelta

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import MENU, PAY_PLAN, PLAN_REQUEST, PLAN_WITHDRAW
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import membership as screens
from fitclub.screens import payments as pay_screens
from fitclub.services import memberships, payments, plan_requests
from fitclub.services.plan_requests import RequestOutcome


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /membership, the menu's Membership, and the request and withdraw buttons."""
    routes = Routes(bot, deps)
    routes.command("membership", show_membership)
    routes.button(MENU.matches(screen="membership"), show_membership)
    routes.button(PLAN_REQUEST, request_plan)
    routes.button(PLAN_WITHDRAW, withdraw)
    routes.button(PAY_PLAN, pay_plan)


def _paying(deps: Deps) -> bool:
    """Members pay in the chat: a payment provider is connected."""
    return deps.settings.payments_on


def _screen(deps: Deps, ctx: UpdateContext, member: Member, note: str | None = None) -> Screen:
    today = deps.club.today(ctx.now())
    current = memberships.membership_of(ctx.conn, member.id, today)
    plans = memberships.plans_on_sale(ctx.conn)
    # A renewal runs from the day after the current end (services.payments).
    renew_from = (current.ends_on + timedelta(days=1)
                  if current is not None and current.current else None)
    return screens.membership(ctx.texts, current, plans,
                              plan_requests.my_request(ctx.conn, member.id), note,
                              renew_from=renew_from, payments=_paying(deps))


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


@member_only
def pay_plan(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Buy or renew a plan: open its order and send the invoice below (the one new message);
    the screen says it is there. Refused in one line, in the screen too: payments off, the
    plan off sale meanwhile, its order already paid."""
    tx = ctx.texts
    plan_id = PAY_PLAN.parse(call.data)["plan_id"]
    if not _paying(deps):
        _refuse(deps, ctx, member, call, pay_screens.refusal(tx, "pay_err_off"))
        return
    plan = memberships.plan_on_sale(ctx.conn, plan_id)
    if plan is None:  # archived or deleted since the screen was shown (or a forged id)
        _refuse(deps, ctx, member, call, pay_screens.refusal(tx, "pay_err_plan_off_sale"))
        return
    settings = deps.settings
    order = payments.open_order(ctx.conn, member.id, plan.id, ctx.now(), deps.club.booking,
                                settings.card_secret or "", settings.club_currency,
                                ttl_hours=settings.order_ttl_hours)
    if isinstance(order, payments.Refusal):
        _refuse(deps, ctx, member, call, pay_screens.refusal(tx, order.reason, plan.name))
        return
    invoice = pay_screens.invoice(tx, plan, order.starts_on, order.ends_on)
    ctx.send_invoice(title=invoice.title, description=invoice.description,
                     payload=order.payload, provider_token=settings.payment_provider_token,
                     currency=order.currency,
                     prices=[{"label": invoice.label, "amount": order.amount_minor}])
    note = pay_screens.invoice_sent(tx, plan)
    ui.show(ctx, _screen(deps, ctx, member, note), call)


def _refuse(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery,
            note: str) -> None:
    ui.show(ctx, _screen(deps, ctx, member, note), call, toast=note)
