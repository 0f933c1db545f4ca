"""Waitlist offers: the offer_expiry job, and telling members about offers (handlers use it too)."""

from __future__ import annotations

from collections.abc import Iterable

from fitclub.locales import Texts
from fitclub.runtime.context import UpdateContext
from fitclub.runtime.jobs.registry import JobContext, register
from fitclub.screens import bookings as screens
from fitclub.services import booking
from fitclub.services.booking import OfferNotice


def announce(ctx: UpdateContext, offers: Iterable[OfferNotice]) -> None:
    """One message per offer, with Accept and Decline, to the offered member's chat."""
    for offer in offers:
        if offer.telegram_id is None:
            continue
        screen = screens.offer(Texts(offer.language), offer)
        ctx.reply(screen.text, reply_markup=screen.markup, chat_id=offer.telegram_id)


@register(booking.OFFER_JOB)
def offer_expiry(ctx: JobContext, payload: dict) -> None:
    """An unanswered offer runs out: its member is told, the place passes to the next in line."""
    rules = booking.rules_from(ctx.settings)
    # ctx.now is becoming a method (the database time the job was taken); accept either.
    now = ctx.now() if callable(ctx.now) else ctx.now
    result = booking.expire_offer(ctx.conn, int(payload["offer_id"]), now, rules)
    gone = result.expired
    if gone is not None and gone.telegram_id is not None:
        tx = Texts(gone.language)
        ctx.reply(tx("offer_expired", name=gone.class_name, when=tx.datetime(gone.starts_at)),
                  chat_id=gone.telegram_id)
    announce(ctx, result.offers)
