-- Members' requests for a plan: asked for (and withdrawn) by members, granted or dismissed by
-- admins.

-- name: lock_member
-- Serialise one member's requests (a double tap must not send two) for this transaction.
SELECT id FROM members WHERE id = %(member_id)s FOR UPDATE;

-- name: latest_of_member
-- The member's latest request if it is open, or dismissed by the club with no membership
-- granted since (a grant dismisses the member's requests for other plans in its transaction).
SELECT r.id, r.plan_id, p.name_i18n AS plan_name, r.status, r.created_at, r.closed_at
FROM (SELECT id, member_id, plan_id, status, created_at, closed_at FROM plan_requests
      WHERE member_id = %(member_id)s
      ORDER BY created_at DESC, id DESC LIMIT 1) r
JOIN membership_plans p ON p.id = r.plan_id
WHERE r.status = 'open'
   OR (r.status = 'dismissed'
       AND NOT EXISTS (SELECT 1 FROM memberships m
                       WHERE m.member_id = r.member_id AND m.created_at >= r.closed_at));

-- name: withdraw
-- The member withdraws their own open request; the request as closed (no row: not open).
UPDATE plan_requests r SET status = 'withdrawn', closed_at = now()
FROM membership_plans p
WHERE r.id = %(request_id)s AND r.member_id = %(member_id)s AND r.status = 'open'
  AND p.id = r.plan_id
RETURNING r.id, r.plan_id, p.name_i18n AS plan_name, r.status, r.created_at, r.closed_at;

-- name: recent
-- Whether the member asked for this plan within the last day (admins are told once a day).
SELECT EXISTS (SELECT 1 FROM plan_requests
               WHERE member_id = %(member_id)s AND plan_id = %(plan_id)s
                 AND created_at > now() - interval '1 day');

-- name: insert
-- Record a request for a plan.
INSERT INTO plan_requests (member_id, plan_id) VALUES (%(member_id)s, %(plan_id)s)
RETURNING id;

-- name: close_on_grant
-- The member's open requests are answered: the granted plan's as granted, others dismissed.
UPDATE plan_requests
SET status = CASE WHEN plan_id = %(plan_id)s THEN 'granted' ELSE 'dismissed' END,
    closed_at = now()
WHERE member_id = %(member_id)s AND status = 'open'
RETURNING id;

-- name: open
-- Open requests for a plan, newest first, of live members.
SELECT r.id, r.member_id, m.first_name, m.last_name, m.phone, m.username, r.plan_id,
       p.name_i18n AS plan_name, p.is_active AS plan_on_sale, r.created_at
FROM plan_requests r
JOIN members m ON m.id = r.member_id AND m.deleted_at IS NULL
JOIN membership_plans p ON p.id = r.plan_id
WHERE r.status = 'open'
ORDER BY r.created_at DESC, r.id DESC
LIMIT %(limit)s;

-- name: count_open
-- How many requests are open.
SELECT count(*) FROM plan_requests r JOIN members m ON m.id = r.member_id
WHERE r.status = 'open' AND m.deleted_at IS NULL;

-- name: lock
-- An open request of a live member, locked.
SELECT r.id, r.member_id, r.plan_id
FROM plan_requests r JOIN members m ON m.id = r.member_id AND m.deleted_at IS NULL
WHERE r.id = %(request_id)s AND r.status = 'open'
FOR UPDATE OF r;

-- name: close
-- Answer one open request.
UPDATE plan_requests SET status = %(status)s, closed_at = now()
WHERE id = %(request_id)s AND status = 'open';
