-- Freezes of a membership: set up, begun, ended early or after their last day.

-- name: insert
-- A freeze of a membership, both days inclusive.
INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until, created_by)
VALUES (%(membership_id)s, %(frozen_from)s, %(frozen_until)s, %(created_by)s)
RETURNING id;

-- name: lock
-- An open freeze, locked, with its membership.
SELECT f.id, f.membership_id, f.frozen_from, f.frozen_until, m.status AS membership_status
FROM membership_freezes f JOIN memberships m ON m.id = f.membership_id
WHERE f.id = %(freeze_id)s AND f.ended_at IS NULL
FOR UPDATE OF f, m;

-- name: end
-- End a freeze on its last frozen day; the days it lasted.
UPDATE membership_freezes SET frozen_until = %(frozen_until)s, ended_at = now()
WHERE id = %(freeze_id)s AND ended_at IS NULL
RETURNING frozen_until - frozen_from + 1;

-- name: drop
-- Remove a freeze that froze no day (planned, or undone on its first day).
DELETE FROM membership_freezes WHERE id = %(freeze_id)s AND ended_at IS NULL;

-- name: thaw
-- A membership is active again after a freeze, its end moved by the days frozen (also one
-- whose planned freeze had not been marked frozen yet).
UPDATE memberships SET status = 'active', ends_on = ends_on + %(days)s
WHERE id = %(membership_id)s AND status IN ('active', 'frozen');
