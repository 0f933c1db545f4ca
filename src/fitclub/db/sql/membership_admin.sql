-- Memberships as admins manage them: grant, extend, freeze and unfreeze, cancel, adjust
-- visits, notes on members, and members' requests for a plan.

-- name: of_member
-- The member's current membership (active and not past its end, or frozen), else their
-- latest one, with its plan, freeze allowance and open freeze; `status` reads 'expired' for
-- an active one past its end.
SELECT m.id, m.member_id, m.plan_id, p.name AS plan_name,
       CASE WHEN m.status = 'active' AND m.ends_on < %(today)s THEN 'expired'
            ELSE m.status END AS status,
       m.starts_on, m.ends_on, m.visits_left, p.freeze_days AS freeze_allowance,
       coalesce((SELECT sum(f.frozen_until - f.frozen_from + 1) FROM membership_freezes f
                 WHERE f.membership_id = m.id), 0)::integer AS freeze_used,
       o.id AS freeze_id, o.frozen_from, o.frozen_until
FROM memberships m
JOIN membership_plans p ON p.id = m.plan_id
LEFT JOIN membership_freezes o ON o.membership_id = m.id AND o.ended_at IS NULL
WHERE m.member_id = %(member_id)s
ORDER BY (m.status = 'frozen' OR (m.status = 'active' AND m.ends_on >= %(today)s)) DESC,
         m.ends_on DESC, m.id DESC
LIMIT 1;

-- name: lock
-- One membership, locked for a change, as of_member shows it; only a live member's unless
-- erased_too (the freeze_end job still ends an erased member's freeze).
SELECT m.id, m.member_id, m.plan_id, p.name AS plan_name,
       CASE WHEN m.status = 'active' AND m.ends_on < %(today)s THEN 'expired'
            ELSE m.status END AS status,
       m.starts_on, m.ends_on, m.visits_left, p.freeze_days AS freeze_allowance,
       coalesce((SELECT sum(f.frozen_until - f.frozen_from + 1) FROM membership_freezes f
                 WHERE f.membership_id = m.id), 0)::integer AS freeze_used,
       o.id AS freeze_id, o.frozen_from, o.frozen_until
FROM memberships m
JOIN membership_plans p ON p.id = m.plan_id
JOIN members mb ON mb.id = m.member_id AND (mb.deleted_at IS NULL OR %(erased_too)s)
LEFT JOIN membership_freezes o ON o.membership_id = m.id AND o.ended_at IS NULL
WHERE m.id = %(membership_id)s
FOR UPDATE OF m;

-- name: lock_member
-- Serialise changes to one live, registered member's memberships for this transaction.
SELECT id FROM members
WHERE id = %(member_id)s AND deleted_at IS NULL AND registered_at IS NOT NULL
FOR UPDATE;

-- name: expire_stale
-- Mark the member's active memberships past their end as expired (they are not current).
UPDATE memberships SET status = 'expired'
WHERE member_id = %(member_id)s AND status = 'active' AND ends_on < %(today)s;

-- name: has_current
-- Whether the member holds a current membership (active or frozen).
SELECT EXISTS (SELECT 1 FROM memberships
               WHERE member_id = %(member_id)s AND status IN ('active', 'frozen'));

-- name: insert
-- Sell a plan to a member: its days from the start, its visits.
INSERT INTO memberships (member_id, plan_id, starts_on, ends_on, visits_left)
SELECT %(member_id)s, p.id, %(starts_on)s, %(starts_on)s::date + p.duration_days - 1,
       p.visit_count
FROM membership_plans p WHERE p.id = %(plan_id)s
RETURNING id;

-- name: close_requests
-- The member's open requests are answered: the granted plan's as granted, others dismissed.
UPDATE plan_requests
SET status = CASE WHEN plan_id = %(plan_id)s THEN 'granted' ELSE 'dismissed' END,
    closed_at = now()
WHERE member_id = %(member_id)s AND status = 'open'
RETURNING id;

-- name: extend
-- Add a plan's days to the end and its visits to the balance (unlimited on either side stays
-- unlimited), if the end date is still the one the admin saw.
UPDATE memberships
SET ends_on = ends_on + %(days)s,
    visits_left = CASE WHEN visits_left IS NULL OR %(visits)s::integer IS NULL THEN NULL
                       ELSE visits_left + %(visits)s::integer END
WHERE id = %(membership_id)s AND ends_on = %(expected_end)s
  AND status IN ('active', 'frozen')
RETURNING id;

-- name: insert_freeze
-- A freeze of a membership, both days inclusive.
INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until, created_by)
VALUES (%(membership_id)s, %(frozen_from)s, %(frozen_until)s, %(created_by)s)
RETURNING id;

-- name: set_status
-- Change a membership's status.
UPDATE memberships SET status = %(status)s WHERE id = %(membership_id)s;

-- name: booked_between
-- The member's booked classes starting in [start, end) and not before now.
SELECT c.id AS class_id
FROM bookings b JOIN classes c ON c.id = b.class_id
WHERE b.member_id = %(member_id)s AND b.status = 'booked' AND c.status = 'scheduled'
  AND c.starts_at >= greatest(%(start)s::timestamptz, %(now)s::timestamptz)
  AND c.starts_at < %(end)s
ORDER BY c.starts_at;

-- name: freeze
-- An open freeze, locked, with its membership.
SELECT f.id, f.membership_id, f.frozen_from, f.frozen_until, m.status AS membership_status
FROM membership_freezes f JOIN memberships m ON m.id = f.membership_id
WHERE f.id = %(freeze_id)s AND f.ended_at IS NULL
FOR UPDATE OF f, m;

-- name: end_freeze
-- End a freeze on its last frozen day; the days it lasted.
UPDATE membership_freezes SET frozen_until = %(frozen_until)s, ended_at = now()
WHERE id = %(freeze_id)s AND ended_at IS NULL
RETURNING frozen_until - frozen_from + 1;

-- name: drop_freeze
-- Remove a freeze that froze no day (planned, or undone on its first day).
DELETE FROM membership_freezes WHERE id = %(freeze_id)s AND ended_at IS NULL;

-- name: thaw
-- A membership is active again after a freeze, its end moved by the days frozen (also one
-- whose planned freeze had not been marked frozen yet).
UPDATE memberships SET status = 'active', ends_on = ends_on + %(days)s
WHERE id = %(membership_id)s AND status IN ('active', 'frozen');

-- name: adjust
-- Add (or take) visits; no row for an unlimited membership or a balance that would go below 0.
UPDATE memberships SET visits_left = visits_left + %(delta)s
WHERE id = %(membership_id)s AND visits_left IS NOT NULL AND visits_left + %(delta)s >= 0
RETURNING visits_left;

-- name: insert_adjustment
-- Record an adjustment and its reason.
INSERT INTO membership_adjustments (membership_id, actor_id, delta, visits_after, reason)
VALUES (%(membership_id)s, %(actor_id)s, %(delta)s, %(visits_after)s, %(reason)s);

-- name: notes
-- The member's latest notes, newest first, with their author's name.
SELECT n.created_at, a.first_name AS author, n.body
FROM member_notes n LEFT JOIN members a ON a.id = n.author_id
WHERE n.member_id = %(member_id)s
ORDER BY n.created_at DESC, n.id DESC
LIMIT %(limit)s;

-- name: insert_note
-- A note on a live, registered member.
INSERT INTO member_notes (member_id, author_id, body)
SELECT id, %(author_id)s, %(body)s FROM members
WHERE id = %(member_id)s AND deleted_at IS NULL AND registered_at IS NOT NULL
RETURNING id;

-- name: open_requests
-- Open requests for a plan, newest first, of live members.
SELECT r.id, r.member_id, m.first_name, m.last_name, m.phone, m.username, r.plan_id,
       p.name AS plan_name, p.is_active AS plan_on_sale, r.created_at
FROM plan_requests r
JOIN members m ON m.id = r.member_id AND m.deleted_at IS NULL
JOIN membership_plans p ON p.id = r.plan_id
WHERE r.status = 'open'
ORDER BY r.created_at DESC, r.id DESC
LIMIT %(limit)s;

-- name: count_open_requests
-- How many requests are open.
SELECT count(*) FROM plan_requests r JOIN members m ON m.id = r.member_id
WHERE r.status = 'open' AND m.deleted_at IS NULL;

-- name: lock_request
-- An open request of a live member, locked.
SELECT r.id, r.member_id, r.plan_id
FROM plan_requests r JOIN members m ON m.id = r.member_id AND m.deleted_at IS NULL
WHERE r.id = %(request_id)s AND r.status = 'open'
FOR UPDATE OF r;

-- name: close_request
-- Answer one open request.
UPDATE plan_requests SET status = %(status)s, closed_at = now()
WHERE id = %(request_id)s AND status = 'open';
