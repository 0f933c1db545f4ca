-- People: staff find a person by name, username or whole phone number.

-- name: search
-- Live, registered people whose name contains the text or whose username is it; best matches
-- first (username exact, then names starting with the text, then containing it). A phone is
-- never matched here: see by_phone.
SELECT id, telegram_id, first_name, last_name, phone, username, language, role,
       registered_at, reminders_enabled, blocked_at
FROM members
WHERE deleted_at IS NULL AND registered_at IS NOT NULL
  AND (   (first_name || coalesce(' ' || last_name, '')) ILIKE '%%' || %(text)s || '%%'
       OR (%(username)s <> '' AND lower(username) = %(username)s))
ORDER BY coalesce(lower(username), '') = %(username)s DESC,
         (first_name || coalesce(' ' || last_name, '')) ILIKE %(text)s || '%%' DESC,
         first_name, last_name NULLS FIRST, id
LIMIT %(limit)s;

-- name: by_phone
-- Live, registered people whose phone is this whole number (E.164, as registration stores
-- it; a stored number without its '+' matches too).
SELECT id, telegram_id, first_name, last_name, phone, username, language, role,
       registered_at, reminders_enabled, blocked_at
FROM members
WHERE deleted_at IS NULL AND registered_at IS NOT NULL
  AND phone IN (%(phone)s, ltrim(%(phone)s, '+'))
ORDER BY first_name, last_name NULLS FIRST, id
LIMIT %(limit)s;

-- name: searches_since
-- A staff member's searches after `since`, newest first, at most `limit` of them (the rate
-- limit; audit_log_actor_id_at_idx finds them).
SELECT at
FROM audit_log
WHERE actor_id = %(actor_id)s AND action = %(action)s AND at > %(since)s
ORDER BY at DESC
LIMIT %(limit)s;
