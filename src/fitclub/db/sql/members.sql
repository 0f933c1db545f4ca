-- Members, as far as the runtime and registration need them.

-- name: upsert_from_telegram
-- Register a Telegram user or refresh their name; bootstrap admins get the admin role.
INSERT INTO members (telegram_id, first_name, last_name, language, role)
VALUES (%(telegram_id)s, %(first_name)s, %(last_name)s, %(language)s,
        CASE WHEN %(telegram_id)s = ANY(%(admin_ids)s) THEN 'admin' ELSE 'member' END)
ON CONFLICT (telegram_id) DO UPDATE
SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, blocked_at = NULL,
    role = CASE WHEN members.telegram_id = ANY(%(admin_ids)s) THEN 'admin' ELSE members.role END
RETURNING id, language, role, (xmax = 0) AS created;

-- name: by_telegram_id
-- One member by their Telegram id.
SELECT id, first_name, last_name, phone, language, role, blocked_at
FROM members WHERE telegram_id = %(telegram_id)s;

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
