-- Retention: delete what the club no longer needs, one small batch at a time
-- (src/fitclub/services/retention.py says what goes when; sql/0026_retention.sql the indexes).
--
-- Every statement deletes at most `limit` rows older than `before`, oldest first, through
-- an index range scan, and locks only the rows it deletes: FOR UPDATE SKIP LOCKED passes over
-- a row some transaction of the bot holds (it is taken in a later run), so the bot never waits
-- for the job and the job never waits for the bot. Returns how many rows went.

-- name: inbox
-- Processed updates (done, failed, skipped) that arrived before the limit.
WITH gone AS (
    DELETE FROM inbox
    WHERE update_id IN (SELECT update_id FROM inbox
                        WHERE status <> 'pending' AND received_at < %(before)s
                        ORDER BY received_at
                        LIMIT %(limit)s
                        FOR UPDATE SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: outbox
-- Calls delivered or given up (sent, failed, dropped) queued before the limit, except the row
-- a chat's command list points at (the start-up sync reads its status to know whether to try
-- again) and the rows of an announcement whose figures are not recorded yet.
WITH gone AS (
    DELETE FROM outbox
    WHERE id IN (SELECT o.id FROM outbox o
                 WHERE o.status IN ('sent', 'failed', 'dropped') AND o.created_at < %(before)s
                   AND NOT EXISTS (SELECT 1 FROM command_lists c WHERE c.outbox_id = o.id)
                   AND NOT EXISTS (SELECT 1 FROM announcement_deliveries d
                                   JOIN announcements a ON a.id = d.announcement_id
                                   WHERE d.outbox_id = o.id AND a.sent_count IS NULL)
                 ORDER BY o.created_at
                 LIMIT %(limit)s
                 FOR UPDATE OF o SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: conversation_state
-- Conversations nobody touched since the limit (a step left half done).
WITH gone AS (
    DELETE FROM conversation_state
    WHERE ctid IN (SELECT ctid FROM conversation_state
                   WHERE updated_at < %(before)s
                   ORDER BY updated_at
                   LIMIT %(limit)s
                   FOR UPDATE SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: chat_flood
-- Flood buckets untouched since the limit (long full again: no row means a full bucket).
WITH gone AS (
    DELETE FROM chat_flood
    WHERE chat_id IN (SELECT chat_id FROM chat_flood
                      WHERE updated_at < %(before)s
                      ORDER BY updated_at
                      LIMIT %(limit)s
                      FOR UPDATE SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: card_codes
-- Card codes that expired before the limit (the service passes now: an expired code checks
-- nobody in and is not looked up again).
WITH gone AS (
    DELETE FROM card_codes
    WHERE code IN (SELECT code FROM card_codes
                   WHERE expires_at < %(before)s
                   ORDER BY expires_at
                   LIMIT %(limit)s
                   FOR UPDATE SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: card_spent
-- Used or replaced card tokens that expired before the limit (the service passes now: an
-- expired token is refused by its own signed time, so the row no longer says anything).
WITH gone AS (
    DELETE FROM card_spent
    WHERE token IN (SELECT token FROM card_spent
                    WHERE expires_at < %(before)s
                    ORDER BY expires_at
                    LIMIT %(limit)s
                    FOR UPDATE SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: jobs
-- Jobs finished (done, failed, cancelled) before the limit. Kept: recurring rows, and a
-- reminder about a membership still active, whose (kind, dedup_key) row is what makes it
-- "sent once" (the membership kinds: the last visit reminder is due as long as one visit is
-- left, so deleting its row would send it again).
WITH gone AS (
    DELETE FROM jobs
    WHERE id IN (SELECT j.id FROM jobs j
                 WHERE j.status <> 'pending' AND j.finished_at < %(before)s
                   AND j.every_seconds IS NULL
                   AND NOT (j.kind = ANY(%(membership_kinds)s::text[])
                            AND EXISTS (SELECT 1 FROM memberships ms
                                        WHERE ms.id = (j.payload->>'membership_id')::bigint
                                          AND ms.status = 'active'))
                 ORDER BY j.finished_at
                 LIMIT %(limit)s
                 FOR UPDATE OF j SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: audit_log
-- Audit entries older than the audit limit (AUDIT_RETENTION_DAYS, not RETENTION_DAYS).
WITH gone AS (
    DELETE FROM audit_log
    WHERE id IN (SELECT id FROM audit_log
                 WHERE at < %(before)s
                 ORDER BY at
                 LIMIT %(limit)s
                 FOR UPDATE SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM gone;
