"""Payments on the member card (/members): every payment of a member, and Mark refunded with
its confirmation. The refund itself is made at the provider; marking it refunded
(`services.payments.mark_refunded`) ends or shortens the membership it paid for, and the
member is told. A press on a payment marked refunded meanwhile (or gone) says so in one line
on the member's card (the report's payments when the member is gone) and changes nothing.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import admin_only
from fitclub.callbacks import MEMBER_PAYMENTS, PAYMENT_REFUND
from fitclub.db.members import Member, by_id
from fitclub.deps import Deps
from fitclub.handlers.members import common
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import payments_admin as screens
from fitclub.services import payments, payments_admin


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register All payments and Mark refunded."""
    routes = Routes(bot, deps)
    routes.button(MEMBER_PAYMENTS, all_payments)
    routes.button(PAYMENT_REFUND, refund)


@admin_only("members.payments")
def all_payments(deps: Deps, ctx: UpdateContext, admin: Member,
                 call: types.CallbackQuery) -> None:
    """The member's payments, newest first, each not refunded with Mark refunded."""
    member = by_id(ctx.conn, MEMBER_PAYMENTS.parse(call.data)["member_id"])
    if member is None:
        common.to_search(ctx, call)
        return
    found = payments_admin.of_member(ctx.conn, member.id, payments_admin.ALL_SHOWN)
    ui.show(ctx, screens.all_payments(ctx.texts, member, found), call)


def _back(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery, member: Member | None,
          line: str) -> None:
    """The member's card saying `line` (the report's payments when the member is gone)."""
    if member is not None:
        common.rest(ctx)
        common.card(deps, ctx, call, member.id, toast=line, note=line)
        return
    now = ctx.now()
    found = payments_admin.report(ctx.conn, now, deps.club.timezone)
    ui.show(ctx, screens.report(ctx.texts, found, payments_admin.to_refund(ctx.conn),
                                deps.club.today(now)), call, toast=line)


def _refused(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery,
             found: payments.PaymentLine | None, reason: str) -> None:
    """Mark refunded refused (marked refunded meanwhile, or no such payment): the member's
    card (or the report's payments) saying why in one line; nothing changes."""
    member = (by_id(ctx.conn, found.member_id)
              if found is not None and found.member_id is not None else None)
    _back(deps, ctx, call, member, ctx.texts(reason))


@admin_only("members.refund")
def refund(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """Mark refunded: what it changes, to confirm; then done (the card says so). A payment
    marked refunded meanwhile (or gone) is stale."""
    values = PAYMENT_REFUND.parse(call.data)
    today = deps.club.today(ctx.now())
    terms = payments_admin.refund_terms(ctx.conn, values["payment_id"], today)
    if terms is None:
        found = payments.payment(ctx.conn, values["payment_id"])
        _refused(deps, ctx, call, found,
                 "pay_err_already_refunded" if found is not None else "pay_err_no_payment")
        return
    member_id = terms.payment.member_id
    member = by_id(ctx.conn, member_id) if member_id is not None else None
    if values["step"] == "ask":
        ui.show(ctx, screens.refund_ask(ctx.texts, member, terms), call)
        return
    result = payments.mark_refunded(ctx.conn, terms.payment.id, admin.id, ctx.now(),
                                    deps.club.booking)
    if result.status != "refunded":
        _refused(deps, ctx, call, payments.payment(ctx.conn, terms.payment.id),
                 result.reason or "pay_err_no_payment")
        return
    _back(deps, ctx, call, member, screens.refunded(ctx.texts, terms.payment, result))
