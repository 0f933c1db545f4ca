-- migrate: no-transaction
-- Performance at 20,000 members with years of history (issue 20, bench/hot_queries.py).
-- CONCURRENTLY so that applying this file to a live database never blocks writes, which is why
-- it cannot run inside a transaction. If a build is interrupted PostgreSQL leaves an INVALID
-- index behind that IF NOT EXISTS would skip, so drop it (DROP INDEX CONCURRENTLY name) before
-- running this file again. Keep semicolons, quotes and apostrophes out of comments: the
-- migrator splits this file into statements and runs them one at a time.

-- A member's open places (booked or in line), for My bookings (bookings.upcoming_for_member)
-- and an erasure (members.future_places). Through bookings_member_id_idx both read every
-- booking the member ever made, a year of history and more, to keep the few still open. Booked
-- rows are only those of classes to come and of classes waiting for the no-show sweep, so
-- this index stays small however long the history grows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS bookings_member_open_idx
    ON bookings (member_id) WHERE status IN ('booked', 'waitlisted');
