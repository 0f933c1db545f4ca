"""Announcements: queue a confirmed one a batch at a time, and keep its admin's progress
message up to date.

`announcement_queue` inserts the next ANNOUNCE_BATCH recipients' outbox rows (announcement
priority) with their delivery rows in one statement, then runs again at once until everyone
is queued. Each run is one transaction: a crash rolls the batch back whole, and the delivery
rows' primary key makes a second message to a member impossible, so a restart simply goes on.
`announcement_progress` edits the admin's message every ANNOUNCE_PROGRESS_SECONDS (only when
it changed) until nothing is left in flight, then records the final figures.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from fitclub.jobs.registry import JobContext, register
from fitclub.runtime.context import PRIORITY_ANNOUNCEMENT, PRIORITY_REMINDER
from fitclub.screens import announce as screens
from fitclub.services import announcements, booking, schedule

DEFAULT_BATCH = 500
DEFAULT_PROGRESS_SECONDS = 5.0
DEFAULT_RATE = 30.0


@register(announcements.QUEUE_JOB, priority=PRIORITY_ANNOUNCEMENT)
def queue(ctx: JobContext, payload: dict) -> None:
    """One batch of recipients into the outbox; again at once until all are queued."""
    settings = ctx.settings
    today = schedule.today(ctx.now(), booking.rules_from(settings))
    batch = announcements.queue_batch(ctx.conn, int(payload["announcement_id"]), today,
                                      settings.announce_batch if settings else DEFAULT_BATCH)
    # Rows written by SQL, not ctx.reply: count them so the runner wakes the sender.
    ctx.queued += batch.queued
    if not batch.finished:
        ctx.run_again(timedelta(0))


# Progress edits go before every announcement row (and after replies).
@register(announcements.PROGRESS_JOB, priority=PRIORITY_REMINDER)
def progress(ctx: JobContext, payload: dict) -> None:
    """Edit the admin's progress message if it changed; again later unless it is over."""
    settings = ctx.settings
    ann_id = int(payload["announcement_id"])
    announcements.settle(ctx.conn, ann_id)
    status = announcements.status(ctx.conn, ann_id, ctx.now(),
                                  settings.outbound_rate if settings else DEFAULT_RATE)
    if status is None:
        return
    ann = status.announcement
    shown = payload.get("shown")
    if ann.progress_chat_id and ann.progress_message_id:
        chat = ctx.chat(ann.progress_chat_id)
        screen = screens.progress(chat.texts, status)
        digest = hashlib.sha256(json.dumps(
            [screen.text, screen.markup.to_dict() if screen.markup else None],
            sort_keys=True).encode()).hexdigest()[:16]
        if digest != shown:
            chat.edit(ann.progress_message_id, screen.text, reply_markup=screen.markup)
            shown = digest
    if ann.sent_count is None:  # not over: queued, waiting or in flight still
        every = settings.announce_progress_seconds if settings else DEFAULT_PROGRESS_SECONDS
        ctx.run_again(timedelta(seconds=every), payload={**payload, "shown": shown})
