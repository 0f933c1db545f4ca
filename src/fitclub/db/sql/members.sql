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
-- bootstrap admins get the admin role. The phone was shared after the privacy notice
-- (its text as shown, and when).
INSERT INTO members (telegram_id, first_name, last_name, phone, username, language, role,
                     registered_at, privacy_notice_at, privacy_notice)
VALUES (%(telegram_id)s, %(first_name)s, NULL, %(phone)s, %(username)s, %(language)s,
        CASE WHEN %(telegram_id)s = ANY(%(admin_ids)s) THEN 'admin' ELSE 'member' END, now(),
        now(), %(notice)s)
ON CONFLICT (telegram_id) DO UPDATE
SET first_name = EXCLUDED.first_name, last_name = NULL, phone = EXCLUDED.phone,
    username = EXCLUDED.username, language = EXCLUDED.language, blocked_at = NULL,
    registered_at = coalesce(members.registered_at, now()), privacy_notice_at = now(),
    privacy_notice = EXCLUDED.privacy_notice,
    role = CASE WHEN members.telegram_id = ANY(%(admin_ids)s) THEN 'admin' ELSE members.role END
RETURNING id;

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

-- name: future_places
-- The member's places on classes not yet started (booked or in line), oldest class first.
SELECT b.class_id, b.status
FROM bookings b JOIN classes c ON c.id = b.class_id
WHERE b.member_id = %(id)s AND b.status IN ('booked', 'waitlisted') AND c.starts_at > now()
ORDER BY c.starts_at, b.class_id;

-- name: scrub_inbox
-- An erased member's stored updates, up to the one erasing them, keep only their ids (they
-- held name, phone, username).
UPDATE inbox SET payload = jsonb_build_object('update_id', update_id)
WHERE chat_id = %(chat_id)s AND (status <> 'pending' OR update_id <= %(update_id)s);

-- name: scrub_outbox
-- What was sent to an erased member, or because of them (admins' notices of their plan
-- requests), keeps only its method and status, not its content.
UPDATE outbox SET params = jsonb_build_object('chat_id', chat_id), file_bytes = NULL,
                  file_field = NULL, file_name = NULL
WHERE status NOT IN ('pending', 'sending')
  AND (chat_id = %(chat_id)s
       OR update_id IN (SELECT update_id FROM inbox WHERE chat_id = %(chat_id)s));

-- name: mark_blocked
-- Telegram says the user blocked the bot.
UPDATE members SET blocked_at = now() WHERE telegram_id = %(telegram_id)s AND blocked_at IS NULL;

-- name: clear_blocked
-- The user wrote again or unblocked the bot.
UPDATE members SET blocked_at = NULL
WHERE telegram_id = %(telegram_id)s AND blocked_at IS NOT NULL;

-- name: promote_admins
-- Make the bootstrap admins admins (those already registered; registration does the rest):
-- the people promoted, with the role they had.
UPDATE members m SET role = 'admin'
FROM (SELECT id, role FROM members
      WHERE telegram_id = ANY(%(admin_ids)s) AND role <> 'admin'
        AND registered_at IS NOT NULL AND deleted_at IS NULL
      FOR UPDATE) old
WHERE m.id = old.id
RETURNING m.id, old.role AS old_role;
