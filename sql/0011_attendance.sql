-- migrate: no-transaction
-- Trainers rosters and the no-show sweep. CONCURRENTLY so a live database keeps taking
-- writes while these build, which is why this file runs outside a transaction.
-- Keep semicolons, quotes and apostrophes out of comments: the migrator splits this file
-- into statements and runs them one at a time.

-- The no-show sweep looks for classes that still hold unmarked places. Booked rows are
-- only those of classes to come and of classes waiting for the sweep, so this stays small
-- however long the history grows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS bookings_booked_class_idx
    ON bookings (class_id) WHERE status = 'booked';

-- Who checked in to a class (the roster), read by class rather than by member.
CREATE INDEX CONCURRENTLY IF NOT EXISTS visits_class_id_idx
    ON visits (class_id) WHERE class_id IS NOT NULL;
