-- Outbox claims belong to a process: each bot process registers here and beats every few
-- seconds; rows claimed by a process that stopped beating are released within seconds instead
-- of after their lease. Every claim carries its own token, and every mark, requeue or failure
-- names it, so a sender whose claim was released or retaken can never touch the row again.
-- Plain rows and short statements only: nothing session-level, so PgBouncer's transaction
-- pooling keeps working.

CREATE TABLE bot_processes (
    id            uuid PRIMARY KEY,
    hostname      text NOT NULL,
    -- With the pid, tells a restarted process which dead predecessor on its host it replaces.
    pid_namespace text NOT NULL DEFAULT '',
    pid           integer NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    heartbeat_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT bot_processes_pid_check CHECK (pid > 0)
);

CREATE SEQUENCE outbox_claim_token;

-- Claims taken before this migration have no owner: hand them back.
UPDATE outbox SET status = 'pending', lease_until = NULL WHERE status = 'sending';

ALTER TABLE outbox
    ADD COLUMN claimed_by  uuid,
    ADD COLUMN claim_token bigint,
    ADD CONSTRAINT outbox_claim_check CHECK ((status = 'sending') = (claim_token IS NOT NULL));

-- Per-chat order is (priority, id): a chat's head is its first pending row in that order.
CREATE INDEX outbox_pending_by_chat ON outbox (chat_id, priority, id) WHERE status = 'pending';
-- A chat with a row in flight waits; the heartbeat sweep walks the rows in flight.
CREATE INDEX outbox_sending_by_chat ON outbox (chat_id) WHERE status = 'sending';
DROP INDEX outbox_open_by_chat;
