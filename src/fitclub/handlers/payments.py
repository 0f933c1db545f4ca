"""A payment that went through (Telegram's `successful_payment`, in the member's chat): record
it and grant or extend the membership it paid for (services.payments, one transaction), then
tell the member in one message: the plan, the new end date and the visits, or, for a payment
the club cannot honour, that it will be refused back. The same payment seen twice grants once
and says nothing the second time.

The pre-checkout answer is not here: it must never wait behind a chat's queue, so the runtime
answers it on its own lane (services.payments.check_checkout). Registered before the flows
that take every kind of message (registration, announcement compose), so a payment is never
taken for a flow's step.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub.access import anyone
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import payments as screens
from fitclub.services import memberships, payments


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the successful_payment message."""
    routes = Routes(bot, deps)
    routes.message(paid, content_types=["successful_payment"])


@anyone
def paid(deps: Deps, ctx: UpdateContext, member: Member | None,
         message: types.Message) -> None:
    """Record the payment (idempotent on its Telegram charge id); the member's one message is
    the service's notice (fitclub.notify), else, when there is none for this chat (a payer the
    club does not know), the answer from the result here."""
    payment = message.successful_payment
    now = ctx.now()
    result = payments.record_payment(
        ctx.conn, payload=payment.invoice_payload, telegram_user_id=message.from_user.id,
        total_amount=payment.total_amount, currency=payment.currency,
        telegram_charge_id=payment.telegram_payment_charge_id,
        provider_charge_id=payment.provider_payment_charge_id, now=now,
        rules=deps.club.booking, secret=deps.settings.card_secret or "")
    if result.status == "duplicate" or any(
            isinstance(notice, payments.PaymentNotice) and notice.telegram_id == ctx.chat_id
            for notice in ctx.notices):
        return  # told already (a duplicate), or told by the notice delivered after this
    tx = ctx.texts
    if result.status == "needs_refund" or member is None:
        screen = screens.needs_refund(tx, payment.total_amount, result.problem,
                                      payment.currency)
    else:
        current = memberships.membership_of(ctx.conn, member.id, deps.club.today(now))
        screen = screens.paid(tx, current.plan_name if current else "", result.ends_on,
                              result.visits_left, renewed=False)
    ctx.reply(screen.text, reply_markup=screen.markup)
