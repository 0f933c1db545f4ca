-- Check-in at the door: the member, their membership (locked), the last visit, a booked class.

-- name: person
-- A live, registered member who can be checked in, with what the staff and the note need.
SELECT id, first_name || coalesce(' ' || last_name, '') AS name, telegram_id, language,
       blocked_at IS NOT NULL AS blocked
FROM members
WHERE id = %(member_id)s AND deleted_at IS NULL AND registered_at IS NOT NULL;

-- name: classes_in_window
-- Take the rows of the classes the member booked that start within the window around now, in
-- id order, before anything else: every booking change of a class queues on its row (and a
-- trainer's mark takes it before the booking's), so a check-in taking the booking first could
-- deadlock with them, or let a mark miss the visit this records.
SELECT c.id
FROM classes c
WHERE c.status <> 'cancelled'
  AND c.starts_at BETWEEN %(from)s AND %(until)s
  AND EXISTS (SELECT 1 FROM bookings b
              WHERE b.class_id = c.id AND b.member_id = %(member_id)s
                AND b.status IN ('booked', 'attended', 'no_show'))
ORDER BY c.id
FOR UPDATE OF c;

-- name: membership_for_update
-- The member's current membership (active or frozen), locked: two scans of one member queue
-- here, so the second sees the visit the first recorded. With the end of a freeze that
-- covers today, if any.
SELECT m.id, m.status, m.starts_on, m.ends_on, m.visits_left,
       (SELECT max(f.frozen_until) FROM membership_freezes f
        WHERE f.membership_id = m.id
          AND %(today)s BETWEEN f.frozen_from AND f.frozen_until) AS frozen_until
FROM memberships m
WHERE m.member_id = %(member_id)s AND m.status IN ('active', 'frozen')
FOR UPDATE OF m;

-- name: latest_visit
-- When the member last checked in, if since a moment (the dedup window).
SELECT max(checked_in_at) FROM visits
WHERE member_id = %(member_id)s AND checked_in_at > %(since)s;

-- name: booking_in_window
-- The member's booking of a class starting within the window around now, of the classes taken
-- by classes_in_window (one booked since is left for the next check-in), nearest to now first,
-- locked; with the visit already recorded for that class, if any (a trainer may have marked
-- the member attended before they reached the door).
SELECT b.id, b.status, c.id AS class_id, t.name_i18n AS class_name, c.starts_at,
       (SELECT v.checked_in_at FROM visits v
        WHERE v.member_id = b.member_id AND v.class_id = b.class_id) AS visit_at
FROM bookings b
JOIN classes c ON c.id = b.class_id
JOIN class_types t ON t.id = c.class_type_id
WHERE b.member_id = %(member_id)s AND b.status IN ('booked', 'attended', 'no_show')
  AND c.status <> 'cancelled'
  AND c.starts_at BETWEEN %(from)s AND %(until)s AND c.id = ANY(%(classes)s)
ORDER BY abs(extract(epoch FROM c.starts_at - %(now)s)), c.starts_at, c.id
LIMIT 1
FOR UPDATE OF b;

-- name: attend
-- The member came to the class they booked.
UPDATE bookings SET status = 'attended' WHERE id = %(booking_id)s AND status <> 'attended';

-- name: take_visit
-- Take one visit from a counted membership; the visits left after it.
UPDATE memberships SET visits_left = visits_left - 1
WHERE id = %(membership_id)s AND visits_left IS NOT NULL
RETURNING visits_left;

-- name: record_visit
-- Record the visit (checked in by a staff member, by QR or by hand); no row when the class's
-- visit is already there (a trainer's attended mark committed while this waited on the
-- booking's lock: the lock's recheck does not see that visit).
INSERT INTO visits (member_id, membership_id, class_id, checked_in_at, checked_in_by, method)
VALUES (%(member_id)s, %(membership_id)s, %(class_id)s, %(now)s, %(staff_id)s, %(method)s)
ON CONFLICT (member_id, class_id) WHERE class_id IS NOT NULL DO NOTHING
RETURNING id;

-- name: class_visit
-- When the member's visit of a class was recorded.
SELECT checked_in_at FROM visits WHERE member_id = %(member_id)s AND class_id = %(class_id)s;
