"""Freezes: a planned freeze begins on its first day, and a freeze ends after its last.

Both are scheduled when an admin sets the freeze up (services.freezes.freeze), under the key
`freeze:<id>`, at midnight in the club's time zone, and cancelled by an early unfreeze. Each
checks the freeze again, so a repeated run changes nothing twice, and one that comes early
(the club's time zone changed) looks again later.
"""

from __future__ import annotations

from datetime import timedelta

from fitclub.runtime.context import PRIORITY_REMINDER
from fitclub.runtime.jobs import JobContext, register
from fitclub.services import club, freezes
from fitclub.services.membership_change import Outcome

EARLY_RETRY = timedelta(minutes=30)


@register(freezes.FREEZE_START_JOB, priority=PRIORITY_REMINDER)
def freeze_start(ctx: JobContext, payload: dict) -> None:
    """The first day of a planned freeze: the membership is frozen (the member was told when
    it was set up)."""
    outcome = freezes.begin(ctx.conn, int(payload["freeze_id"]), ctx.now(),
                            club.of(ctx.settings).booking)
    if outcome is Outcome.REFUSED:
        ctx.run_again(EARLY_RETRY)


@register(freezes.FREEZE_END_JOB, priority=PRIORITY_REMINDER)
def freeze_end(ctx: JobContext, payload: dict) -> None:
    """The freeze is over: active again, the end date moved by the days frozen; the member
    is told (the service's notice)."""
    result = freezes.finish(ctx.conn, int(payload["freeze_id"]), ctx.now(),
                            club.of(ctx.settings).booking)
    if result.outcome is Outcome.REFUSED:
        ctx.run_again(EARLY_RETRY)
