"""Orders: a sweep every few minutes expires the open (and pre-checked) orders whose time is
up (ORDER_TTL_HOURS after they were opened: services/payments.open_order sets expires_at).

The sweep is one shared row of the jobs table, taken with FOR UPDATE SKIP LOCKED, so two
processes never run it at once; it is one UPDATE over the partial index of open orders by
expiry, so it finds nothing to do quickly. An invoice whose order expired is refused at
checkout (pay_err_closed); a payment that arrives for an order expired after its checkout said
ok is still honoured (services/payments.record_payment).
"""

from __future__ import annotations

import logging

from fitclub.runtime.context import PRIORITY_REMINDER
from fitclub.runtime.jobs import JobContext, register
from fitclub.services import payments

log = logging.getLogger(__name__)

EXPIRY_KIND = "order_expiry_sweep"
EXPIRY_SECONDS = 300


@register(EXPIRY_KIND, priority=PRIORITY_REMINDER, every=EXPIRY_SECONDS)
def order_expiry_sweep(ctx: JobContext, payload: dict) -> None:
    """Expire the orders whose time is up."""
    expired = payments.expire_orders(ctx.conn, ctx.now())
    if expired:
        log.info("orders: %d expired", expired)
