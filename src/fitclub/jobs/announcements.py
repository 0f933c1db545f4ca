"""Announcements: queue a confirmed one at a steady pace, and keep its admin's progress
message up to date.

`announcement_queue` runs every half second and inserts as many recipients' outbox rows
(announcement priority) as ANNOUNCE_RATE allows for the time since its last run, each with its
delivery row, in one statement. At the default it fills the bot's send rate: a reply (or a
reminder) still goes first, as a sender thread takes its place in the window before it picks
the most urgent row due (runtime/sender.py). Each run is one
transaction: a crash rolls back at most the rows in hand, and the delivery rows' primary key
makes a second message to a member impossible, so a restart simply goes on.
`announcement_progress` edits the admin's message every ANNOUNCE_PROGRESS_SECONDS (only when
it changed) until nothing is left in flight, then records the final figures.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from fitclub.runtime.context import PRIORITY_ANNOUNCEMENT, PRIORITY_REMINDER
from fitclub.runtime.jobs import JobContext, register
from fitclub.screens import announce as screens
from fitclub.services import announcements, club

QUEUE_EVERY = 0.5
# The first run queues a second's worth; a late run catches up at most this much.
FIRST_SECONDS = 1.0
MAX_CATCH_UP_SECONDS = 2.0


@register(announcements.QUEUE_JOB, priority=PRIORITY_ANNOUNCEMENT)
def queue(ctx: JobContext, payload: dict) -> None:
    """Queue what the rate allows since the last run; again in half a second until all are."""
    ann_id = int(payload["announcement_id"])
    now = ctx.now().timestamp()
    last = payload.get("at")
    elapsed = FIRST_SECONDS if last is None else min(max(now - last, 0.0),
                                                      MAX_CATCH_UP_SECONDS)
    allowance = float(payload.get("carry", 0.0)) + announcements.queue_rate(ctx.settings) * elapsed
    limit = int(allowance)
    if limit:
        today = club.of(ctx.settings).today(ctx.now())
        batch = announcements.queue_batch(ctx.conn, ann_id, today, limit)
        # Rows written by SQL, not ctx.reply: count them so the runner wakes the sender.
        ctx.queued += batch.queued
        finished = batch.finished
    else:
        found = announcements.get(ctx.conn, ann_id)
        finished = found is None or found.status != "sending" or found.queued_at is not None
    if not finished:
        ctx.run_again(timedelta(seconds=QUEUE_EVERY),
                      payload={**payload, "at": now, "carry": allowance - limit})


# Progress edits go before every announcement row (and after replies).
@register(announcements.PROGRESS_JOB, priority=PRIORITY_REMINDER)
def progress(ctx: JobContext, payload: dict) -> None:
    """Edit the admin's progress message if it changed; again later unless it is over."""
    settings = ctx.settings
    ann_id = int(payload["announcement_id"])
    announcements.settle(ctx.conn, ann_id)
    speed = announcements.pace(settings)
    status = announcements.status(ctx.conn, ann_id, ctx.now(), speed)
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
        ctx.run_again(timedelta(seconds=speed.progress_seconds),
                      payload={**payload, "shown": shown})
