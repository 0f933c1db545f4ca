-- Reads on the read replica: where the primary's WAL is, and how far the standby has replayed it.

-- name: primary_position
-- The primary's WAL flushed so far, which is all the standby can be sent: every commit acknowledged with synchronous_commit on (the default) ends before it; one made with it off is flushed within 3 x wal_writer_delay.
SELECT pg_current_wal_flush_lsn()::text AS lsn;

-- name: replay
-- On the standby: whether it is one, whether it has replayed up to a WAL position of the primary, and the commit time of the last transaction it replayed.
SELECT pg_is_in_recovery() AS standby,
       coalesce(pg_last_wal_replay_lsn() >= %(lsn)s::pg_lsn, false) AS caught_up,
       pg_last_xact_replay_timestamp() AS replayed_at,
       clock_timestamp() AS at;

-- name: begin_read
-- The replica transaction's terms: read only, with the statement timeout of long reads (set per transaction, so it holds through PgBouncer too).
SELECT set_config('transaction_read_only', 'on', true),
       set_config('statement_timeout', %(timeout_ms)s, true);
