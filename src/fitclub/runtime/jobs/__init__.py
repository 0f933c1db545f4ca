"""Scheduled jobs: rows in the `jobs` table, run by every instance, each in one transaction.

This package is the machinery (registry, runner, scheduling, metrics); the kinds the bot
runs live in `fitclub.jobs`, beside the handlers. A kind is one registered function::

    from fitclub.runtime.jobs import JobContext, register

    @register(booking.OFFER_JOB)
    def offer_expiry(ctx: JobContext, payload: dict) -> None:
        booking.expire_offer(ctx.conn, int(payload["offer_id"]), ctx.now(), rules)

and scheduling one is a call in the caller's transaction (a handler's `ctx.conn`, a service's
connection, or `ctx.schedule(...)` inside another job)::

    schedule(conn, booking.OFFER_JOB, {"offer_id": 7}, expires_at, key="offer:7")

Recurring sweepers register with `every=` seconds; the runner keeps one shared row for them.
"""

from fitclub.runtime.jobs.registry import REGISTRY, Job, JobContext, JobSpec, Registry, register
from fitclub.runtime.jobs.scheduling import cancel, ensure_recurring, reschedule, schedule

__all__ = ["REGISTRY", "Job", "JobContext", "JobSpec", "Registry", "cancel", "ensure_recurring",
           "register", "reschedule", "schedule"]
