"""Announcements: an admin's message to many members, each member at most once.

A draft holds the text (or a photo's caption) with Telegram's formatting entities, so members
see exactly what the admin wrote and previewed. Its author chooses the audience and confirms;
from then on the `announcement_queue` job queues it at ANNOUNCE_RATE (one outbox row per
member at announcement priority, and a delivery row whose primary key refuses a second one),
and the `announcement_progress` job reports progress from the outbox rows' status. Stop takes
back the rows no sender has claimed yet. Plain functions over the caller's transaction.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from enum import Enum
from typing import Any, NamedTuple

from psycopg2.extras import Json

from fitclub.db import audit, rows
from fitclub.locales import Localized
from fitclub.runtime.context import PRIORITY_ANNOUNCEMENT
from fitclub.runtime.jobs import scheduling

AUDIENCES = ("active", "all", "class", "expiring")
#: The "memberships ending within N days" choices.
EXPIRING_DAYS = (3, 7, 14, 30)
QUEUE_JOB = "announcement_queue"
PROGRESS_JOB = "announcement_progress"
# Formatting a member's client shows as the admin wrote it. Links, mentions, hashtags and
# commands are found again by the client itself, so they are not sent as entities.
FORMATTING = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler", "code",
                        "pre", "text_link", "text_mention", "custom_emoji", "blockquote",
                        "expandable_blockquote"})
# ANNOUNCE_RATE's, OUTBOUND_RATE's and ANNOUNCE_PROGRESS_SECONDS's defaults, for code run
# without settings (tests).
DEFAULT_RATE = 30.0
DEFAULT_SEND_RATE = 30.0
DEFAULT_PROGRESS_SECONDS = 5.0
# The rate achieved so far is trusted once it has been measured over this many seconds.
MEASURED_AFTER = 3.0
# The last message's way to Telegram and back, and the progress job's wait for its turn.
SETTLE_SECONDS = 1.0


class Announcement(NamedTuple):
    """One announcement, with the class its audience names (if any)."""

    id: int
    author_id: int | None
    text: str
    entities: list[dict[str, Any]]
    photo_file_id: str | None
    audience: str | None
    class_id: int | None
    days: int | None
    status: str  # draft, sending, done, cancelled
    total: int | None
    progress_chat_id: int | None
    progress_message_id: int | None
    sent_at: datetime | None
    queued_at: datetime | None
    finished_at: datetime | None
    sent_count: int | None
    failed_count: int | None
    blocked_count: int | None
    class_name: Localized | None
    class_starts_at: datetime | None


class ClassChoice(NamedTuple):
    """A class an announcement may go to, with how many booked or attended it."""

    id: int
    name: Localized
    starts_at: datetime
    people: int


class Progress(NamedTuple):
    """Where an announcement's queued messages are."""

    sent: int
    failed: int
    blocked: int
    waiting: int  # pending or in flight
    queued: int

    @property
    def done(self) -> int:
        """Messages delivered or given up."""
        return self.sent + self.failed + self.blocked


class Status(NamedTuple):
    """An announcement and its progress, for the progress screen."""

    announcement: Announcement
    progress: Progress
    left: int  # recipients not yet delivered or given up (not yet queued included)
    eta_seconds: float | None  # None when nothing is left (or stopped)


def message(ann: Announcement) -> tuple[str, dict[str, Any]]:
    """The Bot API call members get (without chat_id): the preview is this very call."""
    if ann.photo_file_id:
        params: dict[str, Any] = {"photo": ann.photo_file_id}
        if ann.text:
            params["caption"] = ann.text
            if ann.entities:
                params["caption_entities"] = ann.entities
        return "sendPhoto", params
    params = {"text": ann.text}
    if ann.entities:
        params["entities"] = ann.entities
    return "sendMessage", params


def formatting(entities: list[Any] | None) -> list[dict[str, Any]]:
    """The formatting entities of a message, as JSON (entity objects or dicts)."""
    out = []
    for entity in entities or []:
        data = entity if isinstance(entity, dict) else entity.to_dict()
        if data.get("type") in FORMATTING:
            out.append({k: v for k, v in data.items() if v is not None})
    return out


# -- composing (the author's draft) ------------------------------------------------------------

def create_draft(conn, author_id: int, text: str, entities: list[dict[str, Any]],
                 photo_file_id: str | None = None) -> Announcement:
    """A new draft; audited as created."""
    ann_id = rows.scalar(conn, "announcements.create_draft", {
        "author_id": author_id, "text": text, "entities": Json(entities),
        "photo_file_id": photo_file_id})
    audit.record(conn, actor_id=author_id, action="announcement.create", entity="announcement",
                 entity_id=ann_id, details={"photo": photo_file_id is not None,
                                            "length": len(text)})
    return get(conn, ann_id)


def get(conn, ann_id: int) -> Announcement | None:
    """An announcement by id (any status), or None."""
    return rows.one(conn, "announcements.get", {"id": ann_id}, Announcement)


def draft_of(conn, ann_id: int, author_id: int) -> Announcement | None:
    """The author's own draft, or None (another admin's, already sent, discarded, gone)."""
    ann = get(conn, ann_id)
    return ann if ann is not None and ann.status == "draft" and ann.author_id == author_id \
        else None


def recent(conn, limit: int = 5) -> list[Announcement]:
    """The latest announcements sent (or being sent), newest first."""
    return rows.many(conn, "announcements.recent", {"limit": limit}, Announcement)


def classes_of_day(conn, day_start: datetime, day_end: datetime) -> list[ClassChoice]:
    """The classes of a club day an announcement may go to."""
    return rows.many(conn, "announcements.classes_of_day",
                     {"day_start": day_start, "day_end": day_end}, ClassChoice)


def choose_audience(conn, ann_id: int, author_id: int, audience: str, *,
                    class_id: int | None = None, days: int | None = None) -> Announcement | None:
    """Set the audience of the author's draft; None when the draft or the class is gone."""
    if audience not in AUDIENCES or (audience == "expiring") != (days in EXPIRING_DAYS):
        return None
    if audience == "class":
        if class_id is None or rows.scalar(conn, "announcements.live_class",
                                           {"class_id": class_id}) is None:
            return None
    else:
        class_id = None
    if not rows.scalar(conn, "announcements.set_audience", {
            "id": ann_id, "author_id": author_id, "audience": audience, "class_id": class_id,
            "days": days if audience == "expiring" else None}):
        return None
    return get(conn, ann_id)


def count(conn, ann: Announcement, today: date) -> int:
    """How many members the announcement's audience reaches now (0 before one is chosen)."""
    if ann.audience is None:
        return 0
    return rows.scalar(conn, "announcements.count_audience", {
        "audience": ann.audience, "class_id": ann.class_id, "days": ann.days, "today": today})


def discard(conn, ann_id: int, author_id: int) -> bool:
    """Drop the author's draft; False when it is not a draft of theirs any more."""
    if not rows.scalar(conn, "announcements.discard", {"id": ann_id, "author_id": author_id}):
        return False
    audit.record(conn, actor_id=author_id, action="announcement.discard",
                 entity="announcement", entity_id=ann_id)
    return True


class Confirmed(Enum):
    """What became of a Send press."""

    SENDING = "sending"
    NOBODY = "nobody"  # the audience reaches nobody now
    GONE = "gone"  # not a draft of this admin's any more (a double tap, an old button)


def confirm(conn, ann_id: int, author_id: int, today: date, *, chat_id: int,
            message_id: int | None) -> tuple[Confirmed, Announcement | None]:
    """Start sending the author's draft: the jobs that queue it and report progress are
    scheduled in this transaction, and the message `message_id` in `chat_id` will show it."""
    ann = draft_of(conn, ann_id, author_id)
    if ann is None or ann.audience is None:
        return Confirmed.GONE, get(conn, ann_id)
    total = count(conn, ann, today)
    if total == 0:
        return Confirmed.NOBODY, ann
    if not rows.scalar(conn, "announcements.confirm", {
            "id": ann_id, "author_id": author_id, "total": total, "chat_id": chat_id,
            "message_id": message_id}):
        return Confirmed.GONE, get(conn, ann_id)
    key = f"announcement:{ann_id}"
    scheduling.schedule(conn, QUEUE_JOB, {"announcement_id": ann_id}, None, key=key)
    scheduling.schedule(conn, PROGRESS_JOB, {"announcement_id": ann_id}, None, key=key)
    audit.record(conn, actor_id=author_id, action="announcement.send", entity="announcement",
                 entity_id=ann_id, details={"audience": ann.audience, "class_id": ann.class_id,
                                            "days": ann.days, "recipients": total})
    return Confirmed.SENDING, get(conn, ann_id)


# -- delivering (the jobs) ---------------------------------------------------------------------

def queue_rate(settings) -> float:
    """Messages per second an announcement is queued at: ANNOUNCE_RATE, at most OUTBOUND_RATE."""
    if settings is None:
        return DEFAULT_RATE
    return min(settings.announce_rate, settings.outbound_rate)


class Pace(NamedTuple):
    """How fast an announcement goes out, and how often its progress is shown."""

    queue_rate: float  # recipients queued per second (ANNOUNCE_RATE, at most OUTBOUND_RATE)
    send_rate: float  # messages the bot sends per second, of every kind (OUTBOUND_RATE)
    progress_seconds: float  # between edits of the progress message (ANNOUNCE_PROGRESS_SECONDS)


def pace(settings) -> Pace:
    """The settings' pace (the defaults without settings)."""
    if settings is None:
        return Pace(DEFAULT_RATE, DEFAULT_SEND_RATE, DEFAULT_PROGRESS_SECONDS)
    return Pace(queue_rate(settings), settings.outbound_rate, settings.announce_progress_seconds)


def estimate(left: int, waiting: int, ahead: int, done: int, elapsed: float,
             speed: Pace) -> float:
    """Seconds until the progress message says the announcement is delivered.

    `left` of its messages are to go, `waiting` of them already queued; `ahead` other messages
    wait before them, `done` went out in the `elapsed` seconds since it was sent. The time:
    those ahead at the send rate; its own at the rate achieved so far once measured for a
    few seconds, else the ones not queued yet at the queue rate and the queued ones at the
    send rate; a second for the last one's way; then up to the next edit of the progress
    message, the moment it says "delivered" (at least one edit away).
    """
    if done and elapsed >= MEASURED_AFTER:
        own = left / max(done / elapsed, 0.1)
    else:
        own = max(left - waiting, 0) / speed.queue_rate + waiting / speed.send_rate
    sending = ahead / speed.send_rate + own + SETTLE_SECONDS
    step = speed.progress_seconds
    return max(1, math.ceil(sending / step)) * step


class Batch(NamedTuple):
    """What one batch did: rows queued, and whether every recipient is now queued."""

    queued: int
    finished: bool


def queue_batch(conn, ann_id: int, today: date, limit: int) -> Batch:
    """Queue the next `limit` recipients of a sending announcement; finished when none is left
    (or it was stopped). Takes the announcement's row lock, so Stop waits for a batch and a
    batch after Stop queues nothing."""
    locked = rows.one(conn, "announcements.lock_sending", {"id": ann_id}, _Locked)
    if locked is None or locked.queued:
        return Batch(0, True)
    ann = get(conn, ann_id)
    method, params = message(ann)
    done = rows.one(conn, "announcements.queue_batch", {
        "id": ann_id, "audience": locked.audience, "class_id": locked.class_id,
        "days": locked.days, "today": today, "limit": limit, "method": method,
        "params": Json({**params, "chat_id": 0}), "priority": PRIORITY_ANNOUNCEMENT},
        _Queued)
    # Fewer considered than the limit: none left (a member erased meanwhile is considered
    # but not queued, and does not end the sending early).
    if done.considered < limit:
        rows.execute(conn, "announcements.mark_queued", {"id": ann_id})
        return Batch(done.queued, True)
    return Batch(done.queued, False)


class _Queued(NamedTuple):
    considered: int
    queued: int


class _Locked(NamedTuple):
    audience: str
    class_id: int | None
    days: int | None
    queued: bool


def progress(conn, ann_id: int) -> Progress:
    """Counts of the announcement's messages by where they are."""
    return rows.one(conn, "announcements.progress", {"id": ann_id}, Progress)


def status(conn, ann_id: int, now: datetime, speed: Pace) -> Status | None:
    """The announcement, its progress, what is left and roughly how long until its progress
    says it is delivered (`estimate`: what is queued before it, the rate, the progress edits).
    """
    ann = get(conn, ann_id)
    if ann is None:
        return None
    counts = progress(conn, ann_id)
    if ann.status == "sending":
        left = counts.waiting if ann.queued_at else max((ann.total or 0) - counts.done,
                                                        counts.waiting)
    else:
        left = counts.waiting
    eta = None
    if left and ann.status == "sending":
        elapsed = (now - ann.sent_at).total_seconds() if ann.sent_at else 0.0
        ahead = rows.scalar(conn, "announcements.ahead",
                            {"id": ann_id, "priority": PRIORITY_ANNOUNCEMENT})
        eta = estimate(left, counts.waiting, ahead, counts.done, elapsed, speed)
    return Status(ann, counts, left, eta)


def settle(conn, ann_id: int) -> bool:
    """Record the final figures once nothing is queued, waiting or in flight; True if it was
    finished now (done, or the end of a stopped one)."""
    ann = get(conn, ann_id)
    if ann is None or ann.sent_count is not None:
        return False
    if ann.status == "sending" and ann.queued_at is None:
        return False
    counts = progress(conn, ann_id)
    if counts.waiting or ann.status not in ("sending", "cancelled"):
        return False
    return bool(rows.scalar(conn, "announcements.finish", {
        "id": ann_id, "sent": counts.sent, "failed": counts.failed, "blocked": counts.blocked}))


class Stopped(NamedTuple):
    """A stopped announcement and how many queued messages were taken back."""

    announcement: Announcement
    taken_back: int


def stop(conn, ann_id: int, actor_id: int) -> Stopped | None:
    """Stop an announcement that is sending (any admin may): no more batches, and the messages
    no sender has claimed yet are taken back; those in flight still go. None if not sending."""
    if not rows.scalar(conn, "announcements.stop", {"id": ann_id}):
        return None
    taken_back = rows.execute(conn, "announcements.unqueue", {"id": ann_id})
    counts = progress(conn, ann_id)
    audit.record(conn, actor_id=actor_id, action="announcement.cancel", entity="announcement",
                 entity_id=ann_id, details={"taken_back": taken_back, "sent": counts.sent,
                                            "in_flight": counts.waiting})
    return Stopped(get(conn, ann_id), taken_back)
