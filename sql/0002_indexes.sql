-- migrate: no-transaction
-- Indexes for the queries we can foresee. CONCURRENTLY so that applying this file to a live
-- database never blocks writes, which is why it cannot run inside a transaction.
-- Lookups already served by a primary key or unique constraint are not repeated here:
-- bookings by class (bookings_class_id_member_id_key leads with class_id), members by
-- Telegram id, plans and class types by name.
-- If a build is interrupted PostgreSQL leaves an INVALID index behind that IF NOT EXISTS
-- would skip, so drop it (DROP INDEX CONCURRENTLY name) before running this file again.
-- Keep every statement simple and keep semicolons, quotes and apostrophes out of comments:
-- the migrator splits this file into statements and runs them one at a time.

-- The schedule and the reminder job: classes in a time window.
CREATE INDEX CONCURRENTLY IF NOT EXISTS classes_starts_at_idx
    ON classes (starts_at);

-- The classes of one trainer in a time window (also serves the trainer foreign key).
CREATE INDEX CONCURRENTLY IF NOT EXISTS classes_trainer_id_starts_at_idx
    ON classes (trainer_id, starts_at);

-- The bookings of one member (also serves ON DELETE CASCADE from members).
CREATE INDEX CONCURRENTLY IF NOT EXISTS bookings_member_id_idx
    ON bookings (member_id);

-- The next in line on the waitlist of a class, in the order it is served.
CREATE INDEX CONCURRENTLY IF NOT EXISTS bookings_waitlist_idx
    ON bookings (class_id, created_at, id) WHERE status = 'waitlisted';

-- The visit history and activity of one member (read newest first by a backward scan).
CREATE INDEX CONCURRENTLY IF NOT EXISTS visits_member_id_checked_in_at_idx
    ON visits (member_id, checked_in_at);

-- The memberships of one member, current and past.
CREATE INDEX CONCURRENTLY IF NOT EXISTS memberships_member_id_starts_on_idx
    ON memberships (member_id, starts_on);

-- The expiry job and the membership-ends-soon reminders look only at current ones.
CREATE INDEX CONCURRENTLY IF NOT EXISTS memberships_current_ends_on_idx
    ON memberships (ends_on) WHERE status IN ('active', 'frozen');

-- The freezes of a membership (also serves ON DELETE CASCADE from memberships).
CREATE INDEX CONCURRENTLY IF NOT EXISTS membership_freezes_membership_id_idx
    ON membership_freezes (membership_id, frozen_from);

-- The audit log read by time.
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_at_idx
    ON audit_log (at);
