-- migrate: no-transaction
-- Retention (issue 17): the indexes the pruning job walks, and a failed delivery keeps no file.
-- The job (src/fitclub/jobs/retention.py) deletes old rows a small batch at a time, oldest
-- first, each batch an index range scan: no index, and every batch would read the table from
-- its start, through the rows earlier batches left dead.
-- CONCURRENTLY so that applying this file to a live database never blocks writes, which is why
-- it cannot run inside a transaction. If a build is interrupted PostgreSQL leaves an INVALID
-- index behind that IF NOT EXISTS would skip, so drop it (DROP INDEX CONCURRENTLY name) before
-- running this file again. Keep semicolons, quotes and apostrophes out of comments: the
-- migrator splits this file into statements and runs them one at a time.

-- Processed updates (done, failed, skipped) by arrival.
CREATE INDEX CONCURRENTLY IF NOT EXISTS inbox_processed_received_at_idx
    ON inbox (received_at) WHERE status <> 'pending';

-- Delivered and given-up calls (sent, failed, dropped) by age.
CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_finished_created_at_idx
    ON outbox (created_at) WHERE status IN ('sent', 'failed', 'dropped');

-- Conversations and flood buckets nobody touched for a while.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversation_state_updated_at_idx
    ON conversation_state (updated_at);

CREATE INDEX CONCURRENTLY IF NOT EXISTS chat_flood_updated_at_idx
    ON chat_flood (updated_at);

-- Expired card codes (card_spent has card_spent_expires_idx since 0024).
CREATE INDEX CONCURRENTLY IF NOT EXISTS card_codes_expires_at_idx
    ON card_codes (expires_at);

-- Finished jobs by when they finished.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_finished_at_idx
    ON jobs (finished_at) WHERE status <> 'pending';

-- The outbox rows other tables point at (no foreign keys, by design): the job asks of every
-- row it would delete whether the command list sync or an unfinished announcement needs it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS command_lists_outbox_id_idx
    ON command_lists (outbox_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS announcement_deliveries_outbox_id_idx
    ON announcement_deliveries (outbox_id);

-- A call given up (failed) keeps no file either, as a delivered or dropped one already does
-- (a members export holds every phone number). The new rule is added NOT VALID in the same
-- statement that drops the old one, so no moment goes unchecked and no long lock is taken,
-- then the failed rows lose their bytes, then the rule is validated without blocking writes.
-- app: outbox_file_check (a file bytes are there while it waits, and only for a file).
ALTER TABLE outbox
    DROP CONSTRAINT outbox_file_check,
    ADD CONSTRAINT outbox_file_check CHECK (
        CASE WHEN file_field IS NULL THEN file_bytes IS NULL
             ELSE file_bytes IS NOT NULL OR status IN ('sent', 'failed', 'dropped')
        END) NOT VALID;

UPDATE outbox SET file_bytes = NULL WHERE file_bytes IS NOT NULL AND status = 'failed';

ALTER TABLE outbox VALIDATE CONSTRAINT outbox_file_check;
