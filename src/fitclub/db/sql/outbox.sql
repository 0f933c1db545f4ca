-- Queries of the transactional outbox (see sql/0003_runtime.sql).

-- name: enqueue
-- Queue one Bot API call in the caller's transaction.
INSERT INTO outbox (chat_id, method, params, file_field, file_name, file_bytes, priority,
                    update_id)
VALUES (%(chat_id)s, %(method)s, %(params)s, %(file_field)s, %(file_name)s, %(file_bytes)s,
        %(priority)s, %(update_id)s)
RETURNING id;

-- name: claim
-- Take the next deliverable rows: due, by priority then age, and only the oldest undelivered
-- row of each chat (so one chat's messages keep their order across senders and instances);
-- says for each whether its recipient has blocked the bot.
UPDATE outbox o
SET status = 'sending', lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
FROM (
    SELECT c.id
    FROM outbox c
    WHERE c.status = 'pending' AND c.not_before <= clock_timestamp()
      AND NOT EXISTS (
          SELECT 1 FROM outbox p
          WHERE p.chat_id = c.chat_id AND p.status IN ('pending', 'sending') AND p.id < c.id)
    ORDER BY c.priority, c.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) picked
WHERE o.id = picked.id
RETURNING o.id, o.chat_id, o.method, o.params, o.file_field, o.file_name, o.file_bytes,
          o.priority, o.attempts, o.update_id,
          (SELECT i.received_at FROM inbox i WHERE i.update_id = o.update_id),
          -- The recipient is known to have blocked the bot: the sender drops the row unsent.
          EXISTS (SELECT 1 FROM members m
                  WHERE m.telegram_id = o.chat_id AND m.blocked_at IS NOT NULL) AS blocked;

-- name: mark_sent
-- Record delivered rows in one statement (execute_values template: id, message id).
UPDATE outbox o
SET status = 'sent', sent_at = clock_timestamp(), lease_until = NULL,
    result_message_id = v.message_id, error = NULL
FROM (VALUES %s) AS v (id, message_id)
WHERE o.id = v.id AND o.status = 'sending';

-- name: requeue
-- Put a claimed row back, due after a delay (429, a failed try, an expiring claim).
UPDATE outbox
SET status = 'pending', lease_until = NULL, attempts = attempts + %(attempted)s,
    not_before = clock_timestamp() + make_interval(secs => %(delay)s), error = %(error)s
WHERE id = %(id)s AND status = 'sending';

-- name: requeue_many
-- Hand back claimed rows unsent, due now (shutdown).
UPDATE outbox SET status = 'pending', lease_until = NULL, not_before = clock_timestamp()
WHERE id = ANY(%(ids)s) AND status = 'sending';

-- name: mark_failed
-- Give up on a row with Telegram's reason.
UPDATE outbox
SET status = %(status)s, lease_until = NULL, error = %(error)s, attempts = attempts + 1
WHERE id = %(id)s AND status = 'sending';

-- name: drop_chat
-- The user blocked the bot: nothing more goes to that chat.
UPDATE outbox
SET status = 'dropped', lease_until = NULL, error = 'bot was blocked by the user'
WHERE chat_id = %(chat_id)s AND status = 'pending';

-- name: release_expired
-- Rows claimed by a sender that died come back after their lease.
UPDATE outbox SET status = 'pending', lease_until = NULL
WHERE status = 'sending' AND lease_until < clock_timestamp();

-- name: backlog
-- Calls waiting to be delivered.
SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending');
