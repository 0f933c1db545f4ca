-- Queries of the per-chat command lists (see sql/0023_command_lists.sql and fitclub/commands.py).

-- name: remember
-- The list just queued for a chat, and its outbox row.
INSERT INTO command_lists (chat_id, fingerprint, outbox_id)
VALUES (%(chat_id)s, %(fingerprint)s, %(outbox_id)s)
ON CONFLICT (chat_id) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, outbox_id = EXCLUDED.outbox_id, queued_at = now();

-- name: forget
-- The chat's own list was removed (its member erased their data).
DELETE FROM command_lists WHERE chat_id = %(chat_id)s;

-- name: forget_all
-- Telegram knows none of the stored lists (a new bot, or the demo's new emulator).
DELETE FROM command_lists;

-- name: supersede
-- A newer list for this chat is being queued: its older command calls not yet sent are dropped,
-- so a list queued at start-up (low priority) cannot land after a role or language change.
UPDATE outbox SET status = 'dropped', error = 'superseded by a newer command list'
WHERE chat_id = %(chat_id)s AND status = 'pending'
  AND method IN ('setMyCommands', 'deleteMyCommands');

-- name: out_of_date
-- Members after a place (staff first, then members, each by id) who can be written to and
-- whose chat's list is not the one their role and language have in this version (`wanted`:
-- role, language, fingerprint), or was refused by Telegram or dropped unsent (they had
-- blocked the bot). "chat not found" (an imported member who never opened the chat) is not
-- tried again at every start: their /start sets it (needs_set). Locked: a role or
-- language change of one of them waits for this batch, or the batch for it.
SELECT m.id, m.telegram_id, m.role, m.language
FROM members m
JOIN unnest(%(roles)s::text[], %(languages)s::text[], %(fingerprints)s::text[])
     AS wanted (role, language, fingerprint)
  ON wanted.role = m.role AND wanted.language = m.language
LEFT JOIN command_lists c ON c.chat_id = m.telegram_id
WHERE (m.role = 'member', m.id) > (%(after_member)s, %(after_id)s)
  AND m.registered_at IS NOT NULL AND m.deleted_at IS NULL
  AND m.telegram_id IS NOT NULL AND m.blocked_at IS NULL
  AND (c.fingerprint IS DISTINCT FROM wanted.fingerprint
       OR EXISTS (SELECT 1 FROM outbox o
                  WHERE o.id = c.outbox_id AND (o.status = 'dropped' OR (
                      o.status = 'failed' AND coalesce(o.error, '') NOT ILIKE '%%chat not found%%'))))
ORDER BY m.role = 'member', m.id
LIMIT %(limit)s
FOR UPDATE OF m;

-- name: count_out_of_date
-- How many members' lists are out of date (for the start-up log line).
SELECT count(*)
FROM members m
JOIN unnest(%(roles)s::text[], %(languages)s::text[], %(fingerprints)s::text[])
     AS wanted (role, language, fingerprint)
  ON wanted.role = m.role AND wanted.language = m.language
LEFT JOIN command_lists c ON c.chat_id = m.telegram_id
WHERE m.registered_at IS NOT NULL AND m.deleted_at IS NULL
  AND m.telegram_id IS NOT NULL AND m.blocked_at IS NULL
  AND (c.fingerprint IS DISTINCT FROM wanted.fingerprint
       OR EXISTS (SELECT 1 FROM outbox o
                  WHERE o.id = c.outbox_id AND (o.status = 'dropped' OR (
                      o.status = 'failed' AND coalesce(o.error, '') NOT ILIKE '%%chat not found%%'))));

-- name: outbox_busy
-- What the start-up sync waits for: an announcement being sent (it uses the outbound rate),
-- and how many of the sync's own lists are still waiting in the outbox.
SELECT EXISTS (SELECT 1 FROM announcements WHERE status = 'sending') AS announcing,
       (SELECT count(*) FROM outbox
        WHERE status = 'pending' AND priority = %(priority)s
          AND method = 'setMyCommands') AS waiting;

-- name: sync_lock
-- One instance at a time queues a batch: another waits and then sees what this one stored.
SELECT pg_advisory_xact_lock(%(key)s);

-- name: needs_set
-- Whether a chat's own list must be queued: none stored, another fingerprint, or the last one
-- refused or dropped (a member who had never opened the chat when it was tried).
SELECT NOT EXISTS (
    SELECT 1 FROM command_lists c
    LEFT JOIN outbox o ON o.id = c.outbox_id
    WHERE c.chat_id = %(chat_id)s AND c.fingerprint = %(fingerprint)s
      AND (o.id IS NULL OR o.status NOT IN ('failed', 'dropped')));
