"""Scheduled jobs: rows in the `jobs` table, run by every instance, each in one transaction.

Adding a kind is one function in any module listed in `fitclub.jobs.kinds.MODULES`::

    from fitclub.jobs import JobContext, register

    @register("offer_expiry")
    def offer_expiry(ctx: JobContext, payload: dict) -> None:
        waitlist.expire_offer(ctx, payload["offer_id"])   # writes + ctx.reply(..., chat_id=...)

and scheduling one is a call in the caller's transaction (a handler's `ctx.conn`, a service's
connection, or `ctx.schedule(...)` inside another job)::

    schedule(ctx.conn, "offer_expiry", {"offer_id": 7}, expires_at, key="offer:7")

Recurring sweepers register with `every=` seconds; the runner keeps one shared row for them.
"""

from fitclub.jobs.registry import REGISTRY, Job, JobContext, JobSpec, Registry, register
from fitclub.jobs.scheduling import cancel, ensure_recurring, reschedule, schedule

__all__ = ["REGISTRY", "Job", "JobContext", "JobSpec", "Registry", "cancel", "ensure_recurring",
           "register", "reschedule", "schedule"]
