-- migrate: no-transaction
-- Indexes for the reports and the audit log. CONCURRENTLY so that applying this file to a live
-- database never blocks check-ins or staff actions, which is why it cannot run inside a
-- transaction. If a build is interrupted, drop the INVALID index it leaves (DROP INDEX
-- CONCURRENTLY name) before running this file again. Keep semicolons, quotes and apostrophes
-- out of comments: the migrator splits this file into statements.

-- The club visits of a time window (check-ins today, visits per week for the chart).
CREATE INDEX CONCURRENTLY IF NOT EXISTS visits_checked_in_at_idx
    ON visits (checked_in_at);

-- The audit log of one member: the actions taken by them (also serves the actor foreign key
-- when a member row is deleted) ...
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_actor_id_at_idx
    ON audit_log (actor_id, at);

-- ... and the actions on them or on their memberships, bookings, visits and requests ...
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_entity_entity_id_at_idx
    ON audit_log (entity, entity_id, at);

-- ... and actions on something else that name them in their details (a class roster mark).
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_details_member_id_idx
    ON audit_log ((details ->> 'member_id')) WHERE details ? 'member_id';
