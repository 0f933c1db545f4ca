-- Roles: admins make people trainers, admins or members again.

-- name: person
-- A live, registered person whose role an admin may change.
SELECT id, telegram_id, first_name, last_name, phone, username, language, role,
       registered_at, reminders_enabled, blocked_at
FROM members
WHERE id = %(person_id)s AND deleted_at IS NULL AND registered_at IS NOT NULL;

-- name: lock_pair
-- The acting admin and the person, locked in id order: two admins changing each other's
-- roles at once go one after the other, and the second sees the first's change.
SELECT id, role, registered_at IS NOT NULL AS registered
FROM members
WHERE id IN (%(actor_id)s, %(person_id)s) AND deleted_at IS NULL
ORDER BY id
FOR UPDATE;

-- name: set_role
-- Give the person a new role if they still have the one the admin saw.
UPDATE members SET role = %(role)s
WHERE id = %(person_id)s AND role = %(was)s AND deleted_at IS NULL;
