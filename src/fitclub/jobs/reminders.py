"""Reminders: a sweep every minute schedules one job per due reminder, each under a dedup key.

So each reminder is sent once across sweeps, restarts and processes (the jobs table's
(kind, dedup_key) is unique), at reminder priority, through the outbox. Each job checks again
that its reminder still applies (booking kept, reminders on, bot not blocked) before sending.
"""

from __future__ import annotations

from fitclub import ui
from fitclub.locales import Texts
from fitclub.runtime.context import PRIORITY_REMINDER
from fitclub.runtime.jobs import JobContext, register
from fitclub.screens import settings as screens
from fitclub.services import booking, club, reminders

SWEEP_SECONDS = 60


def _hours(settings) -> float:
    return settings.reminder_hours if settings is not None else 2.0


@register("reminder_sweep", priority=PRIORITY_REMINDER, every=SWEEP_SECONDS)
def reminder_sweep(ctx: JobContext, payload: dict) -> None:
    """Schedule every due reminder (those already scheduled once are no-ops)."""
    now = ctx.now()
    today = club.of(ctx.settings).today(now)
    for due in reminders.due(ctx.conn, now, today, _hours(ctx.settings)):
        ctx.schedule(due.kind, due.payload, None, key=due.key)


@register(reminders.CLASS_JOB, priority=PRIORITY_REMINDER)
def class_reminder(ctx: JobContext, payload: dict) -> None:
    """A booked class is near: remind, with Cancel while the visit would come back."""
    now = ctx.now()
    notice = reminders.class_reminder(ctx.conn, int(payload["booking_id"]), now)
    if notice is None:
        return
    rules = club.of(ctx.settings).booking
    free = booking.cancel_is_free(notice.starts_at, now, rules)
    screen = screens.class_reminder(Texts(notice.language), notice,
                                    booking.free_cancel_until(notice.starts_at, rules)
                                    if free else None)
    ui.show(ctx.chat(notice.telegram_id), screen)


@register(reminders.EXPIRY_JOB, priority=PRIORITY_REMINDER)
def membership_expiry_notice(ctx: JobContext, payload: dict) -> None:
    """The membership ends within days."""
    notice = reminders.membership_reminder(ctx.conn, int(payload["membership_id"]))
    if notice is not None:
        screen = screens.expiry_notice(Texts(notice.language), notice)
        ui.show(ctx.chat(notice.telegram_id), screen)


@register(reminders.LAST_VISIT_JOB, priority=PRIORITY_REMINDER)
def last_visit_notice(ctx: JobContext, payload: dict) -> None:
    """One visit left."""
    notice = reminders.membership_reminder(ctx.conn, int(payload["membership_id"]))
    if notice is not None and notice.visits_left == 1:
        screen = screens.last_visit_notice(Texts(notice.language), notice)
        ui.show(ctx.chat(notice.telegram_id), screen)
