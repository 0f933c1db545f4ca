"""Freezes: a planned freeze begins on its first day, and a freeze ends after its last; and
telling a member about a change to their membership (the admin handlers use it too).

Both are scheduled when an admin sets the freeze up (services.membership_admin.freeze), under
the key `freeze:<id>`, at midnight in the club's time zone, and cancelled by an early unfreeze.
Each checks the freeze again, so a repeated run changes nothing twice, and one that comes
early (the club's time zone changed) looks again later.
"""

from __future__ import annotations

from datetime import timedelta

from fitclub.jobs.offers import announce
from fitclub.locales import Texts
from fitclub.runtime.context import PRIORITY_REMINDER, UpdateContext
from fitclub.runtime.jobs.registry import JobContext, register
from fitclub.screens import members_admin as screens
from fitclub.services import booking, membership_admin
from fitclub.services.membership_admin import Outcome

EARLY_RETRY = timedelta(minutes=30)


def tell_member(ctx: UpdateContext, result: membership_admin.Result) -> None:
    """The member hears about the change (their language); freed places go to the line."""
    if result.notice is not None:
        notice = result.notice
        ctx.reply(screens.notice(Texts(notice.language), notice), chat_id=notice.telegram_id)
    announce(ctx, result.offers)


@register(membership_admin.FREEZE_START_JOB, priority=PRIORITY_REMINDER)
def freeze_start(ctx: JobContext, payload: dict) -> None:
    """The first day of a planned freeze: the membership is frozen (the member was told when
    it was set up)."""
    outcome = membership_admin.begin_freeze(ctx.conn, int(payload["freeze_id"]), ctx.now(),
                                            booking.rules_from(ctx.settings))
    if outcome is Outcome.REFUSED:
        ctx.run_again(EARLY_RETRY)


@register(membership_admin.FREEZE_END_JOB, priority=PRIORITY_REMINDER)
def freeze_end(ctx: JobContext, payload: dict) -> None:
    """The freeze is over: active again, the end date moved by the days frozen; the member
    is told."""
    result = membership_admin.finish_freeze(ctx.conn, int(payload["freeze_id"]), ctx.now(),
                                            booking.rules_from(ctx.settings))
    if result.outcome is Outcome.REFUSED:
        ctx.run_again(EARLY_RETRY)
    elif result.outcome is Outcome.DONE:
        tell_member(ctx, result)
