-- Announcements (see sql/0014_announcements.sql and services/announcements.py).

-- name: create_draft
-- A new draft by an admin: the text (or caption) with its formatting, and an optional photo.
INSERT INTO announcements (author_id, text, entities, photo_file_id)
VALUES (%(author_id)s, %(text)s, %(entities)s, %(photo_file_id)s)
RETURNING id;

-- name: get
-- One announcement with the class its audience names (if any).
SELECT a.id, a.author_id, a.text, a.entities, a.photo_file_id, a.audience, a.class_id, a.days,
       a.status, a.total, a.progress_chat_id, a.progress_message_id, a.sent_at, a.queued_at,
       a.finished_at, a.sent_count, a.failed_count, a.blocked_count,
       t.name_i18n AS class_name, c.starts_at AS class_starts_at
FROM announcements a
LEFT JOIN classes c ON c.id = a.class_id
LEFT JOIN class_types t ON t.id = c.class_type_id
WHERE a.id = %(id)s;

-- name: recent
-- The latest announcements (any status but discarded drafts), newest first.
SELECT a.id, a.author_id, a.text, a.entities, a.photo_file_id, a.audience, a.class_id, a.days,
       a.status, a.total, a.progress_chat_id, a.progress_message_id, a.sent_at, a.queued_at,
       a.finished_at, a.sent_count, a.failed_count, a.blocked_count,
       t.name_i18n AS class_name, c.starts_at AS class_starts_at
FROM announcements a
LEFT JOIN classes c ON c.id = a.class_id
LEFT JOIN class_types t ON t.id = c.class_type_id
WHERE a.status <> 'draft' AND NOT (a.status = 'cancelled' AND a.sent_at IS NULL)
ORDER BY a.created_at DESC, a.id DESC
LIMIT %(limit)s;

-- name: set_audience
-- The author of a draft chooses who gets it (class_id and days only for those audiences).
UPDATE announcements
SET audience = %(audience)s, class_id = %(class_id)s, days = %(days)s
WHERE id = %(id)s AND author_id = %(author_id)s AND status = 'draft'
RETURNING id;

-- name: live_class
-- A class whose members an announcement may go to: one that exists and is not cancelled.
SELECT id FROM classes WHERE id = %(class_id)s AND status <> 'cancelled';

-- name: classes_of_day
-- The classes of one club day (not cancelled), with how many booked or attended each.
SELECT c.id, t.name_i18n AS name, c.starts_at,
       (SELECT count(*) FROM bookings b
        WHERE b.class_id = c.id AND b.status IN ('booked', 'attended'))::int AS people
FROM classes c JOIN class_types t ON t.id = c.class_type_id
WHERE c.starts_at >= %(day_start)s AND c.starts_at < %(day_end)s AND c.status <> 'cancelled'
ORDER BY c.starts_at, c.id;

-- name: count_audience
-- How many members an audience reaches now ("expiring" within N days: today to today + N - 1).
SELECT count(*)::int
FROM announcement_audience(%(audience)s, %(class_id)s, %(days)s, %(today)s);

-- name: confirm
-- The author confirms a draft with a chosen audience: sending starts, the recipients counted
-- now and the message that will show progress are recorded. One winner per draft.
UPDATE announcements
SET status = 'sending', sent_at = now(), total = %(total)s,
    progress_chat_id = %(chat_id)s, progress_message_id = %(message_id)s
WHERE id = %(id)s AND author_id = %(author_id)s AND status = 'draft' AND audience IS NOT NULL
RETURNING id;

-- name: discard
-- The author drops a draft.
UPDATE announcements SET status = 'cancelled', finished_at = now()
WHERE id = %(id)s AND author_id = %(author_id)s AND status = 'draft'
RETURNING id;

-- name: lock_sending
-- Lock an announcement that is sending (batches and Stop take turns on this row lock); its
-- audience for the next batch.
SELECT audience, class_id, days, queued_at IS NOT NULL AS queued
FROM announcements WHERE id = %(id)s AND status = 'sending'
FOR UPDATE;

-- name: queue_batch
-- The next recipients by member id (after the last one queued), one outbox row each at
-- announcement priority, and their deliveries, in one statement: a member already delivered
-- to fails the primary key and with it the whole statement, outbox rows included. Their rows
-- are locked (FOR SHARE): one erasing their data meanwhile either waits for this batch (and
-- drops its message) or is waited for, and then is no longer in it (deleted_at, telegram_id
-- checked again on the row as committed). How many were considered (fewer than the limit:
-- none left) and how many queued.
WITH candidates AS (
    SELECT r.member_id
    FROM announcement_audience(%(audience)s, %(class_id)s, %(days)s, %(today)s) r
    WHERE r.member_id > coalesce((SELECT max(d.member_id) FROM announcement_deliveries d
                                  WHERE d.announcement_id = %(id)s), 0)
    ORDER BY r.member_id
    LIMIT %(limit)s
), batch AS (
    SELECT m.id AS member_id, m.telegram_id
    FROM members m
    WHERE m.id IN (SELECT member_id FROM candidates)
      AND m.deleted_at IS NULL AND m.blocked_at IS NULL AND m.telegram_id IS NOT NULL
    FOR SHARE OF m
), queued AS (
    INSERT INTO outbox (chat_id, method, params, priority)
    SELECT b.telegram_id, %(method)s,
           jsonb_set(%(params)s::jsonb, '{chat_id}', to_jsonb(b.telegram_id)), %(priority)s
    FROM batch b
    ORDER BY b.member_id
    RETURNING id, chat_id
)
, delivered AS (
    INSERT INTO announcement_deliveries (announcement_id, member_id, outbox_id)
    SELECT %(id)s, b.member_id, q.id
    FROM batch b JOIN queued q ON q.chat_id = b.telegram_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM candidates)::int AS considered,
       (SELECT count(*) FROM delivered)::int AS queued;

-- name: mark_queued
-- Every recipient has an outbox row: the total becomes the exact number queued.
UPDATE announcements
SET queued_at = now(),
    total = (SELECT count(*) FROM announcement_deliveries WHERE announcement_id = %(id)s)
WHERE id = %(id)s AND status = 'sending';

-- name: progress
-- Where the announcement's messages are, by their outbox rows' status: sent, failed (given
-- up), blocked (the member blocked the bot: 'dropped'), waiting (pending or in flight).
SELECT count(*) FILTER (WHERE o.status = 'sent')::int AS sent,
       count(*) FILTER (WHERE o.status = 'failed')::int AS failed,
       count(*) FILTER (WHERE o.status = 'dropped')::int AS blocked,
       count(*) FILTER (WHERE o.status IN ('pending', 'sending'))::int AS waiting,
       count(*)::int AS queued
FROM announcement_deliveries d
LEFT JOIN outbox o ON o.id = d.outbox_id
WHERE d.announcement_id = %(id)s;

-- name: ahead
-- Messages the sender takes before the announcement's next one (it takes pending rows by
-- priority, then id): any due row of a higher priority, and the due rows of the same
-- priority (another announcement's) queued before its own first pending row, or all of them
-- when none of its own is pending yet.
SELECT count(*)::int
FROM outbox o
WHERE o.status = 'pending' AND o.not_before <= clock_timestamp()
  AND (o.priority < %(priority)s
       OR (o.priority = %(priority)s
           AND o.id < coalesce((SELECT min(w.id)
                                FROM announcement_deliveries d
                                JOIN outbox w ON w.id = d.outbox_id
                                WHERE d.announcement_id = %(id)s AND w.status = 'pending'),
                               9223372036854775807)));

-- name: finish
-- Nothing is waiting or in flight any more: record the final figures (and done, unless it
-- was stopped).
UPDATE announcements
SET status = CASE WHEN status = 'sending' THEN 'done' ELSE status END,
    finished_at = coalesce(finished_at, now()),
    sent_count = %(sent)s, failed_count = %(failed)s, blocked_count = %(blocked)s
WHERE id = %(id)s AND status IN ('sending', 'cancelled') AND sent_count IS NULL
RETURNING id;

-- name: stop
-- Stop an announcement that is sending: no more batches.
UPDATE announcements SET status = 'cancelled', finished_at = now()
WHERE id = %(id)s AND status = 'sending'
RETURNING id;

-- name: unqueue
-- Take back the announcement's messages no sender has claimed yet (and their deliveries: those
-- members were not sent it). Rows in flight are left to finish and be counted.
WITH gone AS (
    DELETE FROM outbox o
    USING announcement_deliveries d
    WHERE d.announcement_id = %(id)s AND o.id = d.outbox_id AND o.status = 'pending'
    RETURNING o.id
)
DELETE FROM announcement_deliveries d
WHERE d.announcement_id = %(id)s AND d.outbox_id IN (SELECT id FROM gone);
