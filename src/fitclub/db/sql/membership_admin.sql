-- Memberships as admins see and change them: the membership (locked for a change), grant,
-- extend, cancel and adjust visits.

-- name: of_member
-- The member's current membership (active and not past its end, or frozen), else their
-- latest one, with its plan, freeze allowance and open freeze; `status` reads 'expired' for
-- an active one past its end; `upcoming`: its first day is after today.
SELECT m.id, m.member_id, m.plan_id, p.name_i18n AS plan_name,
       CASE WHEN m.status = 'active' AND m.ends_on < %(today)s THEN 'expired'
            ELSE m.status END AS status,
       m.starts_on, m.ends_on, m.starts_on > %(today)s AS upcoming, m.visits_left,
       p.freeze_days AS freeze_allowance,
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
SELECT m.id, m.member_id, m.plan_id, p.name_i18n AS plan_name,
       CASE WHEN m.status = 'active' AND m.ends_on < %(today)s THEN 'expired'
            ELSE m.status END AS status,
       m.starts_on, m.ends_on, m.starts_on > %(today)s AS upcoming, m.visits_left,
       p.freeze_days AS freeze_allowance,
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

-- name: adjust
-- Add (or take) visits; no row for an unlimited membership or a balance that would go below 0.
UPDATE memberships SET visits_left = visits_left + %(delta)s
WHERE id = %(membership_id)s AND visits_left IS NOT NULL AND visits_left + %(delta)s >= 0
RETURNING visits_left;

-- name: insert_adjustment
-- Record an adjustment and its reason.
INSERT INTO membership_adjustments (membership_id, actor_id, delta, visits_after, reason)
VALUES (%(membership_id)s, %(actor_id)s, %(delta)s, %(visits_after)s, %(reason)s);
