-- Classes as members see them (the schedule of a day, one class), the row lock that
-- serialises every booking change of a class, and the admin side: the timetable as admins
-- see it, scheduling, capacity, moves and cancelling.

-- name: view
-- Classes as one member sees them: one class (class_id), or those starting in [start, end)
-- (class_id NULL), with places taken (held offers count), the waitlist length and the
-- member's own booking status. psycopg2 sends the values inline, so the planner folds the
-- branch not taken away.
SELECT c.id, c.starts_at, c.duration_minutes, c.status, t.name_i18n AS name,
       t.description_i18n AS description, c.room,
       coalesce(tr.first_name || coalesce(' ' || tr.last_name, ''), '') AS trainer,
       c.capacity,
       c.booked_count + (SELECT count(*) FROM waitlist_offers o
                         WHERE o.class_id = c.id AND o.status = 'open')::integer AS taken,
       (SELECT count(*) FROM bookings w
        WHERE w.class_id = c.id AND w.status = 'waitlisted')::integer AS waiting,
       b.status AS my_status
FROM classes c
JOIN class_types t ON t.id = c.class_type_id
JOIN members tr ON tr.id = c.trainer_id
LEFT JOIN bookings b ON b.class_id = c.id AND b.member_id = %(member_id)s
WHERE CASE WHEN %(class_id)s::bigint IS NULL
           THEN c.starts_at >= %(start)s AND c.starts_at < %(end)s
           ELSE c.id = %(class_id)s END
ORDER BY c.starts_at, c.id;

-- name: lock
-- Take the class row for this transaction (every booking change of a class queues here, so
-- capacity, held offers and waitlist order are decided one at a time, in commit order).
SELECT c.id, c.starts_at, c.status, c.capacity, c.booked_count,
       (SELECT count(*) FROM waitlist_offers o
        WHERE o.class_id = c.id AND o.status = 'open')::integer AS held,
       t.name_i18n AS name
FROM classes c JOIN class_types t ON t.id = c.class_type_id
WHERE c.id = %(class_id)s
FOR UPDATE OF c;

-- name: admin_view
-- Classes as admins see them: one class (class_id), or those starting in [start, end)
-- (class_id NULL), with seats booked, places held by open offers and the waitlist length.
SELECT c.id, c.starts_at, c.duration_minutes, c.status, t.name_i18n AS name,
       coalesce(tr.first_name || coalesce(' ' || tr.last_name, ''), '') AS trainer,
       c.room, c.capacity, c.booked_count AS booked,
       (SELECT count(*) FROM waitlist_offers o
        WHERE o.class_id = c.id AND o.status = 'open')::integer AS held,
       (SELECT count(*) FROM bookings w
        WHERE w.class_id = c.id AND w.status = 'waitlisted')::integer AS waiting,
       c.series_id, c.trainer_id
FROM classes c
JOIN class_types t ON t.id = c.class_type_id
JOIN members tr ON tr.id = c.trainer_id
WHERE CASE WHEN %(class_id)s::bigint IS NULL
           THEN c.starts_at >= %(start)s AND c.starts_at < %(end)s
           ELSE c.id = %(class_id)s END
ORDER BY c.starts_at, c.id;

-- name: trainers
-- Who may lead a class: live trainers first, then admins, by name.
SELECT id, coalesce(first_name || coalesce(' ' || last_name, ''), '') AS name
FROM members
WHERE role IN ('trainer', 'admin') AND deleted_at IS NULL
ORDER BY role = 'admin', first_name, last_name NULLS FIRST, id
LIMIT %(limit)s;

-- name: trainer
-- One person who may lead a class, by id.
SELECT id, coalesce(first_name || coalesce(' ' || last_name, ''), '') AS name
FROM members
WHERE id = %(id)s AND role IN ('trainer', 'admin') AND deleted_at IS NULL;

-- name: recent_rooms
-- Rooms used by the latest classes, most recent first.
SELECT room FROM classes WHERE room <> ''
GROUP BY room ORDER BY max(id) DESC LIMIT %(limit)s;

-- name: trainer_overlaps
-- The trainer's scheduled classes overlapping any of the given starts (each lasting
-- duration minutes), soonest first, with how many there are in all.
SELECT c.id, c.starts_at, t.name_i18n AS name, count(*) OVER ()::integer AS total
FROM classes c JOIN class_types t ON t.id = c.class_type_id
WHERE c.trainer_id = %(trainer_id)s AND c.status = 'scheduled'
  AND (%(exclude_id)s::bigint IS NULL OR c.id <> %(exclude_id)s)
  AND c.starts_at < (SELECT max(s) FROM unnest(%(starts)s::timestamptz[]) s)
                    + make_interval(mins => %(duration)s)
  AND EXISTS (SELECT 1 FROM unnest(%(starts)s::timestamptz[]) s
              WHERE c.starts_at < s + make_interval(mins => %(duration)s)
                AND s < c.starts_at + make_interval(mins => c.duration_minutes))
ORDER BY c.starts_at, c.id
LIMIT 5;

-- name: insert_series
-- A weekly series: the weekdays and weeks asked for.
INSERT INTO class_series (weekdays, weeks, created_by)
VALUES (%(weekdays)s::smallint[], %(weeks)s, %(actor_id)s)
RETURNING id;

-- name: insert_many
-- Classes at the given starts, only if the type exists and the trainer may lead classes.
INSERT INTO classes (class_type_id, trainer_id, starts_at, duration_minutes, capacity, room,
                     series_id)
SELECT t.id, m.id, s.starts_at, %(duration)s, %(capacity)s, %(room)s, %(series_id)s
FROM class_types t
JOIN members m ON m.id = %(trainer_id)s AND m.role IN ('trainer', 'admin')
                  AND m.deleted_at IS NULL
CROSS JOIN unnest(%(starts)s::timestamptz[]) WITH ORDINALITY AS s (starts_at, n)
WHERE t.id = %(type_id)s
ORDER BY s.n
RETURNING id;

-- name: set_capacity
-- A class's new number of places (the CHECK keeps it at or above the seats booked).
UPDATE classes SET capacity = %(capacity)s WHERE id = %(class_id)s;

-- name: move
-- A class's new start.
UPDATE classes SET starts_at = %(starts_at)s WHERE id = %(class_id)s;

-- name: retime_offers
-- Open offers of a class held past its new booking close end at that close instead (never
-- before they were made); those changed, with their new expiry.
UPDATE waitlist_offers
SET expires_at = greatest(offered_at + interval '1 second', %(closes_at)s)
WHERE class_id = %(class_id)s AND status = 'open' AND expires_at > %(closes_at)s
RETURNING id, expires_at;

-- name: audience
-- Who holds a place or waits for one in a class and can be told: their chat and language,
-- whether booked (a place checked in already, 'attended' up to the check-in window before the
-- start, is booked too) or waitlisted, whether a cancellation gives a reserved visit back, and
-- whether they have checked in (their visit is used and stays).
SELECT m.telegram_id, m.language,
       CASE WHEN b.status = 'waitlisted' THEN 'waitlisted' ELSE 'booked' END AS status,
       (b.status = 'booked' AND b.visit_reserved AND b.membership_id IS NOT NULL) AS visit_back,
       b.status = 'attended' AS checked_in
FROM bookings b JOIN members m ON m.id = b.member_id
WHERE b.class_id = %(class_id)s AND b.status IN ('booked', 'attended', 'waitlisted')
  AND m.deleted_at IS NULL AND m.blocked_at IS NULL AND m.telegram_id IS NOT NULL
ORDER BY b.status = 'waitlisted', b.created_at, b.id;

-- name: give_back_visits
-- A cancelled class: every visit its bookings reserved goes back to its membership.
WITH back AS (
    SELECT membership_id, count(*)::integer AS n FROM bookings
    WHERE class_id = %(class_id)s AND status = 'booked' AND visit_reserved
      AND membership_id IS NOT NULL
    GROUP BY membership_id)
UPDATE memberships ms SET visits_left = ms.visits_left + back.n
FROM back
WHERE ms.id = back.membership_id AND ms.visits_left IS NOT NULL
RETURNING back.n;

-- name: withdraw_offers
-- A cancelled class: its open offers are withdrawn; their ids.
UPDATE waitlist_offers SET status = 'withdrawn', resolved_at = %(now)s
WHERE class_id = %(class_id)s AND status = 'open'
RETURNING id;

-- name: cancel_bookings
-- A cancelled class: every booking and waitlist place ends (visits were given back first).
-- A member who checked in already came in: their visit stays used (its flag stays, as a late
-- cancel's does).
UPDATE bookings
SET status = 'cancelled', cancelled_at = %(now)s, late_cancel = false,
    visit_reserved = visit_reserved AND status = 'attended'
WHERE class_id = %(class_id)s AND status IN ('booked', 'attended', 'waitlisted');

-- name: cancel
-- The class itself is cancelled.
UPDATE classes SET status = 'cancelled' WHERE id = %(class_id)s AND status = 'scheduled';
