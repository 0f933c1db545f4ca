"""No-shows: a sweep every minute records places still unmarked NO_SHOW_GRACE_MINUTES after
their class ended, one statement per class, and tells each class's trainer once. A member
checked in at the door for the class is never recorded as a no-show (the service records such
a place as attended: services/attendance.record_no_shows).

The sweep is one shared row of the jobs table, taken with FOR UPDATE SKIP LOCKED, so two
processes never run it at once; within it each class is marked under its row lock and only
places still 'booked' change, so a place is recorded (and audited, actor None) exactly once
however many sweeps and processes see it. The trainer's summary (the service's notice) is
queued in the same transaction as the marks: sent once, or not at all.
"""

from __future__ import annotations

from fitclub.runtime.context import PRIORITY_REMINDER
from fitclub.runtime.jobs import JobContext, register
from fitclub.services import attendance, club

SWEEP_KIND = "no_show_sweep"
SWEEP_SECONDS = 60


@register(SWEEP_KIND, priority=PRIORITY_REMINDER, every=SWEEP_SECONDS)
def no_show_sweep(ctx: JobContext, payload: dict) -> None:
    """Record the due no-shows of every class that has some (each trainer is told by the
    service's notice)."""
    now = ctx.now()
    rules = club.of(ctx.settings).attendance
    for class_id in attendance.due_classes(ctx.conn, now, rules):
        attendance.record_no_shows(ctx.conn, class_id, now, rules)
