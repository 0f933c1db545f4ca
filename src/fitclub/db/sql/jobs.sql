-- Queries of the scheduled jobs table (see sql/0005_jobs.sql and fitclub.runtime.jobs).

-- name: schedule
-- Add a job in the caller's transaction; an existing (kind, dedup_key) makes this a no-op.
INSERT INTO jobs (kind, payload, dedup_key, run_at, max_attempts)
VALUES (%(kind)s, %(payload)s, %(key)s,
        COALESCE(%(run_at)s, clock_timestamp() + make_interval(secs => %(delay)s)),
        %(max_attempts)s)
ON CONFLICT (kind, dedup_key) DO NOTHING
RETURNING id;

-- name: reschedule
-- Make the job with this key pending at a new time, whatever its state (a fresh job if none).
INSERT INTO jobs (kind, payload, dedup_key, run_at, max_attempts)
VALUES (%(kind)s, COALESCE(%(payload)s, '{}'::jsonb), %(key)s,
        COALESCE(%(run_at)s, clock_timestamp() + make_interval(secs => %(delay)s)),
        %(max_attempts)s)
ON CONFLICT (kind, dedup_key) DO UPDATE
SET run_at = EXCLUDED.run_at,
    payload = COALESCE(%(payload)s, jobs.payload),
    status = 'pending', attempts = 0, last_error = NULL, finished_at = NULL
RETURNING id;

-- name: cancel
-- Cancel the pending job with this key; a job already run (or running, until it commits) stays.
UPDATE jobs SET status = 'cancelled', finished_at = clock_timestamp()
WHERE kind = %(kind)s AND dedup_key = %(key)s AND status = 'pending'
RETURNING id;

-- name: ensure_recurring
-- Create the one row of a recurring kind, due now, unless some instance already did.
INSERT INTO jobs (kind, dedup_key, every_seconds, max_attempts)
VALUES (%(kind)s, %(key)s, %(every)s, %(max_attempts)s)
ON CONFLICT (kind, dedup_key) DO NOTHING
RETURNING id;

-- name: revive_recurring
-- Bring an existing recurring row back to pending with the current interval, if it differs.
UPDATE jobs
SET every_seconds = %(every)s, status = 'pending', finished_at = NULL, attempts = 0,
    run_at = CASE WHEN status = 'pending'
                  THEN LEAST(run_at, clock_timestamp() + make_interval(secs => %(every)s))
                  ELSE clock_timestamp() END
WHERE kind = %(kind)s AND dedup_key = %(key)s
  AND (status <> 'pending' OR every_seconds IS DISTINCT FROM %(every)s);

-- name: take
-- Lock the oldest due job no other transaction holds; it stays locked until this one ends.
-- (now(), not clock_timestamp(): a stable value lets the index bound the scan; this is the
-- transaction's first statement, so the two agree.)
SELECT id, kind, payload, dedup_key, run_at, attempts, max_attempts, every_seconds,
       clock_timestamp() AS now
FROM jobs
WHERE status = 'pending' AND run_at <= now()
ORDER BY run_at, id
LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: finish
-- Record a job as done (or failed for good) with the number of attempts it took, unless the
-- job moved itself (run_again) or cancelled itself while it ran.
UPDATE jobs
SET status = %(status)s, attempts = %(attempts)s, last_error = %(error)s,
    finished_at = clock_timestamp()
WHERE id = %(id)s AND status = 'pending' AND run_at = %(run_at)s;

-- name: run_again
-- A running job asks to run again later (a batch at a time), optionally with a new payload.
UPDATE jobs
SET run_at = COALESCE(%(run_at)s, clock_timestamp() + make_interval(secs => %(delay)s)),
    payload = COALESCE(%(payload)s, payload), attempts = 0, last_error = NULL
WHERE id = %(id)s;

-- name: postpone
-- Keep a job pending, due again after a delay (a retry, or a recurring job's next run).
UPDATE jobs
SET attempts = %(attempts)s, last_error = %(error)s,
    run_at = clock_timestamp() + make_interval(secs => %(delay)s)
WHERE id = %(id)s;

-- name: repeat
-- A recurring job ran: due again one interval after its last due time (from now if behind),
-- unless it moved itself.
UPDATE jobs
SET attempts = 0, last_error = NULL,
    run_at = CASE WHEN run_at + make_interval(secs => every_seconds) > clock_timestamp()
                  THEN run_at + make_interval(secs => every_seconds)
                  ELSE clock_timestamp() + make_interval(secs => every_seconds) END
WHERE id = %(id)s AND status = 'pending' AND run_at = %(run_at)s;

-- name: next_due
-- Seconds until the next pending job falls due (NULL when none is scheduled). Jobs already due
-- but not taken are running elsewhere: they are not a reason to look again sooner.
SELECT EXTRACT(EPOCH FROM min(run_at) - now())::float8
FROM jobs WHERE status = 'pending' AND run_at > now();

-- name: overview
-- Due pending jobs and the age in seconds of the oldest (for /metrics and /healthz).
SELECT count(*), EXTRACT(EPOCH FROM now() - min(run_at))::float8
FROM jobs WHERE status = 'pending' AND run_at <= now();
