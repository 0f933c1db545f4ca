-- Members: registration, lookups, language, blocking, erasure.

-- name: by_telegram_id
-- The live member with a Telegram id.
SELECT id, telegram_id, first_name, last_name, phone, username, language, role,
       registered_at, reminders_enabled, blocked_at
FROM members WHERE telegram_id = %(telegram_id)s AND deleted_at IS NULL;

-- name: by_id
-- The live member with an id.
SELECT id, telegram_id, first_name, last_name, phone, username, language, role,
       registered_at, reminders_enabled, blocked_at
FROM members WHERE id = %(id)s AND deleted_at IS NULL;

-- name: register
-- Finish a registration: a new member, or a staff-created row (a trainer) completing theirs;
-- bootstrap admins get the admin role.
INSERT INTO members (telegram_id, first_name, last_name, phone, username, language, role,
                     registered_at)
VALUES (%(telegram_id)s, %(first_name)s, NULL, %(phone)s, %(username)s, %(language)s,
        CASE WHEN %(telegram_id)s = ANY(%(admin_ids)s) THEN 'admin' ELSE 'member' END, now())
ON CONFLICT (telegram_id) DO UPDATE
SET first_name = EXCLUDED.first_name, last_name = NULL, phone = EXCLUDED.phone,
    username = EXCLUDED.username, language = EXCLUDED.language, blocked_at = NULL,
    registered_at = coalesce(members.registered_at, now()),
    role = CASE WHEN members.telegram_id = ANY(%(admin_ids)s) THEN 'admin' ELSE members.role END
RETURNING id;

-- name: touch
-- A registered member wrote: refresh the username Telegram shows and clear a block.
UPDATE members SET username = %(username)s, blocked_at = NULL
WHERE id = %(id)s AND (username IS DISTINCT FROM %(username)s OR blocked_at IS NOT NULL);

-- name: set_language
-- The member chose a language.
UPDATE members SET language = %(language)s WHERE id = %(id)s;

-- name: admins
-- Every admin who can be messaged.
SELECT telegram_id, language FROM members
WHERE role = 'admin' AND deleted_at IS NULL AND blocked_at IS NULL
ORDER BY id;

-- name: erase
-- "Delete my data": nothing left that identifies the person; visits and counts stay.
UPDATE members
SET telegram_id = NULL, first_name = NULL, last_name = NULL, phone = NULL, username = NULL,
    deleted_at = now(), role = 'member'
WHERE id = %(id)s AND deleted_at IS NULL;

-- name: cancel_future_bookings
-- An erased member's places on classes not yet started go back to the class.
UPDATE bookings b SET status = 'cancelled'
FROM classes c
WHERE b.class_id = c.id AND b.member_id = %(id)s AND b.status IN ('booked', 'waitlisted')
  AND c.starts_at > now();

-- name: mark_blocked
-- Telegram says the user blocked the bot.
UPDATE members SET blocked_at = now() WHERE telegram_id = %(telegram_id)s AND blocked_at IS NULL;

-- name: clear_blocked
-- The user wrote again or unblocked the bot.
UPDATE members SET blocked_at = NULL
WHERE telegram_id = %(telegram_id)s AND blocked_at IS NOT NULL;

-- name: promote_admins
-- Make the bootstrap admins admins (those already registered).
UPDATE members SET role = 'admin' WHERE telegram_id = ANY(%(admin_ids)s) AND role <> 'admin';
