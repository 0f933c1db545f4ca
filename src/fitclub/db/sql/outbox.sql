-- Queries of the transactional outbox (see sql/0003_runtime.sql).

-- name: enqueue
-- Queue one Bot API call in the caller's transaction. With a process given (a worker's update,
-- runtime/context.py), a row to a chat with nothing else unsent is claimed for that process at
-- once, as outbox.mark_and_claim would claim it, so the worker hands it to its sender after the
-- commit without a claim round trip; returns its id, its claim token (null when not claimed)
-- and whether the recipient has blocked the bot. The function outbox_enqueue
-- (sql/0034_runtime_functions.sql), planned once per connection.
SELECT * FROM outbox_enqueue(%(chat_id)s, %(method)s, %(params)s, %(file_field)s,
                             %(file_name)s, %(file_bytes)s, %(priority)s, %(update_id)s,
                             %(process)s, %(lease)s);

-- name: mark_and_claim
-- One round trip of the sender: record delivered rows (each only while its claim token still
-- holds, typed arrays so any mix of results fits), then claim the heads of idle chats. A
-- chat's head is its first pending row by (priority, id), so a reply overtakes a queued
-- reminder or announcement; a chat with a row in flight waits (rows marked by this very
-- statement no longer count as in flight). Only the first `window` due rows by (priority,
-- id) are looked at, two index probes each, so the cost does not grow with the queue even
-- when most of it belongs to chats with a row in flight; claim_sweep looks further. The
-- function outbox_mark_and_claim (sql/0034_runtime_functions.sql), planned once per
-- connection.
SELECT * FROM outbox_mark_and_claim(%(done_ids)s::bigint[], %(done_tokens)s::bigint[],
                                    %(done_message_ids)s::bigint[], %(limit)s, %(lease)s,
                                    %(process)s, %(window)s);

-- name: claim_sweep
-- mark_and_claim without its window, run every few seconds: a head queued behind more than a
-- window of rows of busy chats is reached too. (As there, an answer to a button press in
-- flight holds its chat up for nothing.) It walks outbox_pending until the limit is
-- met, so it costs the whole queue only when few heads are claimable.
WITH marked AS (
    UPDATE outbox o
    SET status = 'sent', sent_at = clock_timestamp(), lease_until = NULL, claimed_by = NULL,
        claim_token = NULL, result_message_id = d.message_id, error = NULL, file_bytes = NULL
    FROM unnest(%(done_ids)s::bigint[], %(done_tokens)s::bigint[],
                %(done_message_ids)s::bigint[]) AS d (id, token, message_id)
    WHERE o.id = d.id AND o.claim_token = d.token AND o.status = 'sending'
    RETURNING o.id
), picked AS (
    SELECT c.id
    FROM outbox c
    WHERE c.status = 'pending' AND c.not_before <= clock_timestamp()
      AND NOT EXISTS (SELECT 1 FROM outbox h
                      WHERE h.chat_id = c.chat_id AND h.status = 'pending'
                        AND (h.priority, h.id) < (c.priority, c.id))
      AND NOT EXISTS (SELECT 1 FROM outbox s
                      WHERE s.chat_id = c.chat_id AND s.status = 'sending'
                        AND s.method <> 'answerCallbackQuery'
                        AND s.id NOT IN (SELECT id FROM marked))
    ORDER BY c.priority, c.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox o
SET status = 'sending', claimed_by = %(process)s, claim_token = nextval('outbox_claim_token'),
    lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
FROM picked
WHERE o.id = picked.id
RETURNING o.id, o.claim_token, o.chat_id, o.method, o.params, o.file_field, o.file_name,
          o.file_bytes, o.priority, o.attempts, o.update_id,
          (SELECT i.received_at FROM inbox i WHERE i.update_id = o.update_id),
          -- The recipient is known to have blocked the bot: the sender drops the row unsent.
          EXISTS (SELECT 1 FROM members m
                  WHERE m.telegram_id = o.chat_id AND m.blocked_at IS NOT NULL) AS blocked;

-- name: mark_sent
-- Record delivered rows alone (typed arrays: id, claim token, message id or null), each only
-- while its claim token still holds.
UPDATE outbox o
SET status = 'sent', sent_at = clock_timestamp(), lease_until = NULL, claimed_by = NULL,
    claim_token = NULL, result_message_id = d.message_id, error = NULL, file_bytes = NULL
FROM unnest(%(done_ids)s::bigint[], %(done_tokens)s::bigint[],
            %(done_message_ids)s::bigint[]) AS d (id, token, message_id)
WHERE o.id = d.id AND o.claim_token = d.token AND o.status = 'sending';

-- name: requeue
-- Put a claimed row back, due after a delay (429, a failed try, an expiring claim), if the
-- claim is still ours.
UPDATE outbox
SET status = 'pending', lease_until = NULL, claimed_by = NULL, claim_token = NULL,
    attempts = attempts + %(attempted)s,
    not_before = clock_timestamp() + make_interval(secs => %(delay)s), error = %(error)s
WHERE id = %(id)s AND claim_token = %(token)s AND status = 'sending';

-- name: mark_failed
-- Give up on a row with Telegram's reason, if the claim is still ours. Its file's bytes go
-- (failed or dropped, nothing will send them again; sql/0026_retention.sql).
UPDATE outbox
SET status = %(status)s, lease_until = NULL, claimed_by = NULL, claim_token = NULL,
    error = %(error)s, attempts = attempts + 1, file_bytes = NULL
WHERE id = %(id)s AND claim_token = %(token)s AND status = 'sending';

-- name: drop_chat
-- The user blocked the bot: nothing more goes to that chat.
UPDATE outbox
SET status = 'dropped', lease_until = NULL, error = 'bot was blocked by the user',
    file_bytes = NULL
WHERE chat_id = %(chat_id)s AND status = 'pending';

-- name: heartbeat
-- This process is alive: says whether it had to be registered again (others had given it up,
-- so its claims are gone), how many claims were released and how many other processes are
-- registered (alone, a sender keeps the limits in memory: runtime/sender.py). Processes silent for `stale`
-- seconds are forgotten; their claims, claims of processes no longer registered and claims
-- past their lease go back to pending.
WITH beat AS (
    INSERT INTO bot_processes (id, hostname, pid_namespace, pid)
    VALUES (%(process)s, %(hostname)s, %(pid_namespace)s, %(pid)s)
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp()
    RETURNING (xmax = 0) AS registered
), gone AS (
    DELETE FROM bot_processes
    WHERE heartbeat_at < clock_timestamp() - make_interval(secs => %(stale)s)
      AND id <> %(process)s
    RETURNING id
), released AS (
    UPDATE outbox o
    SET status = 'pending', lease_until = NULL, claimed_by = NULL, claim_token = NULL
    WHERE o.status = 'sending'
      AND (o.lease_until < clock_timestamp()
           OR o.claimed_by IS NULL
           OR o.claimed_by IN (SELECT id FROM gone)
           OR (o.claimed_by <> %(process)s
               AND NOT EXISTS (SELECT 1 FROM bot_processes p WHERE p.id = o.claimed_by)))
    RETURNING 1
)
SELECT (SELECT registered FROM beat) AS registered, (SELECT count(*) FROM released) AS released,
       (SELECT count(*) FROM bot_processes p
        WHERE p.id <> %(process)s AND p.id NOT IN (SELECT id FROM gone)) AS others;

-- name: release_own_claims
-- Hand back every claim of this process (it was given up as dead while its rows were out).
UPDATE outbox
SET status = 'pending', lease_until = NULL, claimed_by = NULL, claim_token = NULL
WHERE status = 'sending' AND claimed_by = %(process)s;

-- name: count_others
-- Other processes registered and not silent too long (between heartbeats, runtime/processes.py).
SELECT count(*) FROM bot_processes
WHERE id <> %(process)s
  AND heartbeat_at >= clock_timestamp() - make_interval(secs => %(stale)s);

-- name: processes_here
-- Other processes registered from this host and pid namespace (the caller checks their pids).
SELECT id, pid FROM bot_processes
WHERE hostname = %(hostname)s AND pid_namespace = %(pid_namespace)s AND id <> %(process)s;

-- name: forget_processes
-- Processes known to be gone (or stopping cleanly): unregister them and hand back their
-- claims, due now.
WITH gone AS (
    DELETE FROM bot_processes WHERE id = ANY(%(processes)s::uuid[])
)
UPDATE outbox
SET status = 'pending', lease_until = NULL, claimed_by = NULL, claim_token = NULL,
    not_before = least(not_before, clock_timestamp())
WHERE status = 'sending' AND claimed_by = ANY(%(processes)s::uuid[]);

-- name: oldest_reply_age
-- Seconds the oldest waiting reply (priority 0) has waited, null when none waits (walks only
-- the waiting replies, through outbox_pending).
SELECT extract(epoch FROM clock_timestamp() - min(created_at))::float8
FROM outbox
WHERE status = 'pending' AND priority = 0;

-- name: backlog
-- Calls waiting to be delivered: one count per status, each from its partial index alone (an
-- IN list matches neither, and read the whole outbox: 35 ms at the 100,000 rows a club of
-- 20,000 keeps for a week, bench/hot_queries.py).
SELECT (SELECT count(*) FROM outbox WHERE status = 'pending')
     + (SELECT count(*) FROM outbox WHERE status = 'sending');

-- name: message_ids
-- The Telegram message ids of sent rows of a chat (rows not sent yet are left out).
SELECT result_message_id FROM outbox
WHERE id = ANY(%(ids)s) AND chat_id = %(chat_id)s AND result_message_id IS NOT NULL;
