-- Bookings, waitlist places, the memberships they reserve visits from, and waitlist offers.

-- name: of_member
-- The member's booking row of a class (any status).
SELECT id, status, membership_id, visit_reserved
FROM bookings WHERE class_id = %(class_id)s AND member_id = %(member_id)s;

-- name: class_start
-- When a class starts, read without its lock (what cancelling would cost, asked before).
SELECT starts_at FROM classes WHERE id = %(class_id)s;

-- name: insert
-- A new booking or waitlist place; created_at is taken after the class lock, so the waitlist
-- is served in the order the places were committed.
INSERT INTO bookings (class_id, member_id, status, membership_id, visit_reserved, created_at)
VALUES (%(class_id)s, %(member_id)s, %(status)s, %(membership_id)s, %(visit_reserved)s,
        clock_timestamp())
RETURNING id;

-- name: renew
-- Book again (or queue again) after a cancellation: back at the end of the line.
UPDATE bookings
SET status = %(status)s, membership_id = %(membership_id)s,
    visit_reserved = %(visit_reserved)s, cancelled_at = NULL, late_cancel = false
WHERE id = %(booking_id)s AND status = 'cancelled';

-- name: promote
-- A waitlist place becomes a booking (an accepted offer).
UPDATE bookings
SET status = 'booked', membership_id = %(membership_id)s, visit_reserved = %(visit_reserved)s
WHERE id = %(booking_id)s AND status = 'waitlisted';

-- name: cancel
-- Cancel a booking or leave the waitlist; a late cancellation keeps its visit.
UPDATE bookings
SET status = 'cancelled', cancelled_at = %(now)s, late_cancel = %(late)s,
    visit_reserved = visit_reserved AND %(late)s
WHERE id = %(booking_id)s AND status IN ('booked', 'waitlisted');

-- name: position
-- The place in line of a waitlisted booking (1 = next).
SELECT count(*)::integer FROM bookings w JOIN bookings me ON me.class_id = w.class_id
WHERE me.id = %(booking_id)s AND me.status = 'waitlisted' AND w.status = 'waitlisted'
  AND (w.created_at, w.id) <= (me.created_at, me.id);

-- name: next_in_line
-- The first waitlisted member of a class who holds no offer yet (and can be told: a member
-- who blocked the bot would hold the place for nobody).
SELECT b.id, b.member_id FROM bookings b JOIN members m ON m.id = b.member_id
WHERE b.class_id = %(class_id)s AND b.status = 'waitlisted' AND m.deleted_at IS NULL
  AND m.blocked_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM waitlist_offers o
                  WHERE o.booking_id = b.id AND o.status = 'open')
ORDER BY b.created_at, b.id
LIMIT 1;

-- name: membership_for_update
-- The member's current membership (active or frozen), locked, with whether a freeze covers
-- the class day (and its last day) and whether a freeze is open (planned or running) at all.
SELECT m.id, m.status, m.starts_on, m.ends_on, m.visits_left,
       EXISTS (SELECT 1 FROM membership_freezes f
               WHERE f.membership_id = m.id
                 AND %(day)s BETWEEN f.frozen_from AND f.frozen_until) AS frozen_on_day,
       (SELECT max(f.frozen_until) FROM membership_freezes f
        WHERE f.membership_id = m.id
          AND %(day)s BETWEEN f.frozen_from AND f.frozen_until) AS frozen_until,
       EXISTS (SELECT 1 FROM membership_freezes f
               WHERE f.membership_id = m.id AND f.ended_at IS NULL) AS freeze_open
FROM memberships m
WHERE m.member_id = %(member_id)s AND m.status IN ('active', 'frozen')
FOR UPDATE OF m;

-- name: membership_on_day
-- As membership_for_update, only read (nothing locked): for the class details' Book button.
SELECT m.id, m.status, m.starts_on, m.ends_on, m.visits_left,
       EXISTS (SELECT 1 FROM membership_freezes f
               WHERE f.membership_id = m.id
                 AND %(day)s BETWEEN f.frozen_from AND f.frozen_until) AS frozen_on_day,
       (SELECT max(f.frozen_until) FROM membership_freezes f
        WHERE f.membership_id = m.id
          AND %(day)s BETWEEN f.frozen_from AND f.frozen_until) AS frozen_until,
       EXISTS (SELECT 1 FROM membership_freezes f
               WHERE f.membership_id = m.id AND f.ended_at IS NULL) AS freeze_open
FROM memberships m
WHERE m.member_id = %(member_id)s AND m.status IN ('active', 'frozen');

-- name: take_visit
-- Reserve one visit (unlimited memberships have none to count).
UPDATE memberships SET visits_left = visits_left - 1
WHERE id = %(membership_id)s AND visits_left IS NOT NULL;

-- name: give_back_visit
-- Return a reserved visit after a timely cancellation.
UPDATE memberships SET visits_left = visits_left + 1
WHERE id = %(membership_id)s AND visits_left IS NOT NULL;

-- name: insert_offer
-- Hold a freed place for the first in line until expires_at.
INSERT INTO waitlist_offers (booking_id, class_id, member_id, offered_at, expires_at)
VALUES (%(booking_id)s, %(class_id)s, %(member_id)s, %(now)s, %(expires_at)s)
RETURNING id;

-- name: offer_of
-- An offer (only the offered member's, when member_id is given), not locked.
SELECT o.id, o.booking_id, o.class_id, o.member_id, o.status, o.expires_at
FROM waitlist_offers o
WHERE o.id = %(offer_id)s AND (%(member_id)s::bigint IS NULL OR o.member_id = %(member_id)s);

-- name: offer_for_update
-- An offer (only the offered member's, when member_id is given), locked.
SELECT o.id, o.booking_id, o.class_id, o.member_id, o.status, o.expires_at
FROM waitlist_offers o
WHERE o.id = %(offer_id)s AND (%(member_id)s::bigint IS NULL OR o.member_id = %(member_id)s)
FOR UPDATE OF o;

-- name: open_offer_of_booking
-- The open offer of a waitlist place, if any.
SELECT o.id, o.booking_id, o.class_id, o.member_id, o.status, o.expires_at
FROM waitlist_offers o WHERE o.booking_id = %(booking_id)s AND o.status = 'open'
FOR UPDATE OF o;

-- name: resolve_offer
-- Close an open offer with its outcome.
UPDATE waitlist_offers SET status = %(status)s, resolved_at = %(now)s
WHERE id = %(offer_id)s AND status = 'open';

-- name: offer_notice
-- What the offered member is told: their chat, language and the class.
SELECT o.id AS offer_id, m.telegram_id, m.language, c.id AS class_id,
       t.name_i18n AS class_name, c.starts_at, o.expires_at
FROM waitlist_offers o
JOIN members m ON m.id = o.member_id
JOIN classes c ON c.id = o.class_id
JOIN class_types t ON t.id = c.class_type_id
WHERE o.id = %(offer_id)s;

-- name: upcoming_for_member
-- The member's bookings and waitlist places of classes not yet started, soonest first, with
-- the place in line and any open offer.
SELECT c.id AS class_id, c.starts_at, t.name_i18n AS name, b.status,
       CASE WHEN b.status = 'waitlisted' THEN
           (SELECT count(*) FROM bookings w
            WHERE w.class_id = b.class_id AND w.status = 'waitlisted'
              AND (w.created_at, w.id) <= (b.created_at, b.id))::integer END AS position,
       o.id AS offer_id, o.expires_at AS offer_expires_at
FROM bookings b
JOIN classes c ON c.id = b.class_id
JOIN class_types t ON t.id = c.class_type_id
LEFT JOIN waitlist_offers o ON o.booking_id = b.id AND o.status = 'open'
WHERE b.member_id = %(member_id)s AND b.status IN ('booked', 'waitlisted')
  AND c.status = 'scheduled' AND c.starts_at > %(now)s
ORDER BY c.starts_at, c.id
LIMIT 30;

-- name: last_visits
-- The member's last five visits, newest first, with the class name when there was one.
SELECT v.checked_in_at, t.name_i18n AS class_name
FROM visits v
LEFT JOIN classes c ON c.id = v.class_id
LEFT JOIN class_types t ON t.id = c.class_type_id
WHERE v.member_id = %(member_id)s
ORDER BY v.checked_in_at DESC
LIMIT 5;
