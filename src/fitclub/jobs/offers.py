"""Waitlist offers: an unanswered offer runs out (the offer_expiry job)."""

from __future__ import annotations

from fitclub.runtime.jobs import JobContext, register
from fitclub.services import booking, club


@register(booking.OFFER_JOB)
def offer_expiry(ctx: JobContext, payload: dict) -> None:
    """An unanswered offer runs out: the place passes to the next in line (both members are
    told by the service's notices)."""
    booking.expire_offer(ctx.conn, int(payload["offer_id"]), ctx.now(),
                         club.of(ctx.settings).booking)
