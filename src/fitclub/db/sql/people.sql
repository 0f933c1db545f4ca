-- People: staff find a person by name, phone or username.

-- name: search
-- Live, registered people whose name, phone digits or username match; best matches first
-- (username or phone exact, then names starting with the text, then containing it).
SELECT id, telegram_id, first_name, last_name, phone, username, language, role,
       registered_at, reminders_enabled, blocked_at
FROM members
WHERE deleted_at IS NULL AND registered_at IS NOT NULL
  AND (   (first_name || coalesce(' ' || last_name, '')) ILIKE '%%' || %(text)s || '%%'
       OR (%(username)s <> '' AND lower(username) = %(username)s)
       OR (%(digits)s <> '' AND length(%(digits)s) >= 4
           AND regexp_replace(coalesce(phone, ''), '\D', '', 'g')
               LIKE '%%' || %(digits)s || '%%'))
ORDER BY (coalesce(lower(username), '') = %(username)s
          OR (%(digits)s <> ''
              AND regexp_replace(coalesce(phone, ''), '\D', '', 'g') = %(digits)s)) DESC,
         (first_name || coalesce(' ' || last_name, '')) ILIKE %(text)s || '%%' DESC,
         first_name, last_name NULLS FIRST, id
LIMIT %(limit)s;
