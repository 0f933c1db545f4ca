-- Attendance: the classes a trainer teaches, their rosters, marks, and the no-show sweep.
-- Every query that takes a class or booking id from a button checks it against the actor:
-- the class's own trainer, or any admin (the role read from the database).

-- name: taught
-- The classes a member teaches starting in [since, until), minus those that ended more
-- than the marking window ago and started before today, soonest first.
SELECT c.id, c.starts_at, c.duration_minutes, c.status, t.name_i18n AS name, c.room,
       c.capacity,
       c.booked_count AS booked,
       (SELECT count(*) FROM bookings w
        WHERE w.class_id = c.id AND w.status = 'waitlisted')::integer AS waiting
FROM classes c JOIN class_types t ON t.id = c.class_type_id
WHERE c.trainer_id = %(trainer_id)s
  AND c.starts_at >= %(since)s AND c.starts_at < %(until)s
  AND (c.starts_at >= %(today)s
       OR c.starts_at + c.duration_minutes * interval '1 minute' > %(open_after)s)
ORDER BY c.starts_at, c.id;

-- name: class_for
-- A class the actor may see the roster of (theirs, or any for an admin).
SELECT c.id, c.starts_at, c.duration_minutes, c.status, t.name_i18n AS name, c.room,
       c.capacity,
       c.booked_count AS booked,
       coalesce(tr.first_name || coalesce(' ' || tr.last_name, ''), '') AS trainer
FROM classes c
JOIN class_types t ON t.id = c.class_type_id
JOIN members tr ON tr.id = c.trainer_id
WHERE c.id = %(class_id)s
  AND (c.trainer_id = %(actor_id)s
       OR EXISTS (SELECT 1 FROM members a WHERE a.id = %(actor_id)s AND a.role = 'admin'
                  AND a.deleted_at IS NULL));

-- name: booked
-- The places taken in a class (booked, attended, no-show) with the time of each member's
-- check-in to it, and of their check-in at the door for it (not a trainer's mark), in the
-- order they were booked. Erased members have no name.
SELECT b.id AS booking_id, b.member_id,
       m.first_name || coalesce(' ' || m.last_name, '') AS name, b.status,
       (SELECT min(v.checked_in_at) FROM visits v
        WHERE v.class_id = b.class_id AND v.member_id = b.member_id) AS checked_in_at,
       (SELECT min(v.checked_in_at) FROM visits v
        WHERE v.class_id = b.class_id AND v.member_id = b.member_id
          AND v.method <> 'class') AS door_at
FROM bookings b JOIN members m ON m.id = b.member_id
WHERE b.class_id = %(class_id)s AND b.status IN ('booked', 'attended', 'no_show')
ORDER BY b.created_at, b.id;

-- name: waiting
-- The waitlist of a class in the order it is served, with whether a place is held for each.
SELECT b.id AS booking_id, m.first_name || coalesce(' ' || m.last_name, '') AS name,
       EXISTS (SELECT 1 FROM waitlist_offers o
               WHERE o.booking_id = b.id AND o.status = 'open') AS offered
FROM bookings b JOIN members m ON m.id = b.member_id
WHERE b.class_id = %(class_id)s AND b.status = 'waitlisted'
ORDER BY b.created_at, b.id;

-- name: checked_in
-- Everyone with a visit recorded for a class (at the door or marked by staff), in order.
SELECT v.member_id, m.first_name || coalesce(' ' || m.last_name, '') AS name,
       v.checked_in_at, v.method
FROM visits v JOIN members m ON m.id = v.member_id
WHERE v.class_id = %(class_id)s
ORDER BY v.checked_in_at, v.id;

-- name: class_to_mark
-- Take the row of a class the actor may mark (their class, or any for an admin): every
-- booking change of a class queues on it.
SELECT c.id, c.starts_at, c.duration_minutes, c.status
FROM classes c
WHERE c.id = %(class_id)s
  AND (c.trainer_id = %(actor_id)s
       OR EXISTS (SELECT 1 FROM members a WHERE a.id = %(actor_id)s AND a.role = 'admin'
                  AND a.deleted_at IS NULL))
FOR UPDATE OF c;

-- name: lock_class
-- Take a class row for the no-show sweep (the system acts on any class).
SELECT id, starts_at, duration_minutes, status
FROM classes WHERE id = %(class_id)s
FOR UPDATE;

-- name: booking_for_update
-- A booking of a class, locked, with its member's name. (When they checked in at the door is
-- door_check_in, a statement of its own: a row re-read after waiting for its lock comes with
-- subqueries still of the snapshot from before the wait.)
SELECT b.id, b.member_id, b.membership_id, b.status,
       m.first_name || coalesce(' ' || m.last_name, '') AS name
FROM bookings b JOIN members m ON m.id = b.member_id
WHERE b.id = %(booking_id)s AND b.class_id = %(class_id)s
FOR UPDATE OF b;

-- name: door_check_in
-- When a member checked in at the door for a class (not a trainer's mark), if they did.
SELECT min(checked_in_at) FROM visits
WHERE class_id = %(class_id)s AND member_id = %(member_id)s AND method <> 'class';

-- name: set_status
-- Mark a place attended or no-show.
UPDATE bookings SET status = %(status)s
WHERE id = %(booking_id)s AND status IN ('booked', 'attended', 'no_show');

-- name: add_class_visit
-- The visit of an attended class. Its visit was reserved when it was booked, so no balance
-- changes here, and a visit already recorded for the class (a check-in at the door) stays.
INSERT INTO visits (member_id, membership_id, class_id, checked_in_at, checked_in_by, method)
VALUES (%(member_id)s, %(membership_id)s, %(class_id)s, %(now)s, %(actor_id)s, 'class')
ON CONFLICT (member_id, class_id) WHERE class_id IS NOT NULL DO NOTHING;

-- name: remove_class_visit
-- Undo a class visit marked by mistake (a check-in at the door is a visit of its own and stays).
DELETE FROM visits
WHERE member_id = %(member_id)s AND class_id = %(class_id)s AND method = 'class';

-- name: due_no_shows
-- Classes (not cancelled) that ended at least the grace period ago and still hold
-- unmarked places, oldest first.
SELECT c.id
FROM classes c
WHERE c.status <> 'cancelled'
  AND c.starts_at + c.duration_minutes * interval '1 minute' <= %(ended_by)s
  AND c.id IN (SELECT b.class_id FROM bookings b WHERE b.status = 'booked')
ORDER BY c.starts_at, c.id
LIMIT %(limit)s;

-- name: record_no_shows
-- In one statement: every place of the class still unmarked becomes a no-show, or attended
-- when the member checked in at the door for the class, each with its audit row (actor NULL:
-- the system). The class row is locked first by the caller, and a place marked meanwhile no
-- longer matches, so each place is recorded once. Returns the no-shows.
WITH unmarked AS (
    SELECT b.id,
           EXISTS (SELECT 1 FROM visits v
                   WHERE v.class_id = b.class_id AND v.member_id = b.member_id
                     AND v.method <> 'class') AS came
    FROM bookings b
    WHERE b.class_id = %(class_id)s AND b.status = 'booked'
), marked AS (
    UPDATE bookings b SET status = CASE WHEN u.came THEN 'attended' ELSE 'no_show' END
    FROM unmarked u
    WHERE b.id = u.id AND b.status = 'booked'
    RETURNING b.id, b.member_id, b.class_id, b.status
), no_shows_logged AS (
    INSERT INTO audit_log (actor_id, action, entity, entity_id, details)
    SELECT NULL, 'attendance.no_show', 'booking', id,
           jsonb_build_object('class_id', class_id, 'member_id', member_id, 'from', 'booked',
                              'by', 'no_show_sweep')
    FROM marked WHERE status = 'no_show'
), came_logged AS (
    INSERT INTO audit_log (actor_id, action, entity, entity_id, details)
    SELECT NULL, 'attendance.attended', 'booking', id,
           jsonb_build_object('class_id', class_id, 'member_id', member_id, 'from', 'booked',
                              'by', 'no_show_sweep')
    FROM marked WHERE status = 'attended'
)
SELECT m.id AS booking_id, p.first_name || coalesce(' ' || p.last_name, '') AS name
FROM marked m JOIN members p ON p.id = m.member_id
WHERE m.status = 'no_show'
ORDER BY m.id;

-- name: trainer_notice
-- Whom to tell about a class's no-shows: its trainer, if staff and reachable. The trainer's
-- row is locked (FOR SHARE): their erasure meanwhile waits for the notice (and drops it) or
-- is waited for (and no notice goes).
SELECT tr.telegram_id, tr.language, t.name_i18n AS class_name, c.starts_at, c.duration_minutes
FROM classes c
JOIN class_types t ON t.id = c.class_type_id
JOIN members tr ON tr.id = c.trainer_id
WHERE c.id = %(class_id)s AND tr.role IN ('trainer', 'admin') AND tr.deleted_at IS NULL
  AND tr.blocked_at IS NULL AND tr.telegram_id IS NOT NULL
FOR SHARE OF tr;
