-- Scheduled jobs: offer expiry, reminders, no-shows, announcements, recurring sweeps.
--
-- Every instance's runner takes due rows with FOR UPDATE SKIP LOCKED and runs each one in the
-- transaction that holds that lock and marks it done. The row lock is the "running" state:
-- nothing else can take the job meanwhile, and a process that dies mid-job loses its
-- transaction, so the row is simply pending again (no lease to expire, no status to repair).

CREATE TABLE jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The name a function was registered under (fitclub.jobs.register).
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    -- Optional: scheduling a (kind, dedup_key) that exists already, in any status, is a no-op,
    -- so "remind booking 42" or "expire offer 7" happens once however often it is scheduled.
    dedup_key     text,
    run_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    status        text NOT NULL DEFAULT 'pending',
    attempts      integer NOT NULL DEFAULT 0,
    -- NULL: the kind's registered default (fitclub.jobs.register(max_attempts=...)).
    max_attempts  integer,
    last_error    text,
    -- Set for recurring kinds: after each run the same row is due again this many seconds on.
    every_seconds double precision,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    CONSTRAINT jobs_kind_check CHECK (kind ~ '^[a-z][a-z0-9_.]*$'),
    CONSTRAINT jobs_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT jobs_status_check
        CHECK (status IN ('pending', 'done', 'failed', 'cancelled')),
    CONSTRAINT jobs_attempts_check CHECK (attempts >= 0),
    CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1),
    CONSTRAINT jobs_every_seconds_check CHECK (every_seconds > 0),
    CONSTRAINT jobs_finished_check CHECK ((status = 'pending') = (finished_at IS NULL)),
    CONSTRAINT jobs_kind_dedup_key_key UNIQUE (kind, dedup_key)
);

-- The runner's question (and /healthz's): the pending jobs that are due, oldest first.
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status = 'pending';
