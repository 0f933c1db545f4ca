-- Queries of the durable inbox (see sql/0003_runtime.sql).

-- name: insert_many
-- Store a batch of updates (execute_values template); returns the rows stored.
-- A redelivered update is ignored: Telegram redelivers only within 24 hours. But after a week
-- without updates Telegram starts its ids again (at random), so a stored row with the same id
-- that was processed more than 24 hours ago is another update: the new one takes its place,
-- pending, and the old row's replies (outbox.update_id) are unlinked from it, so nothing of the
-- old update is taken for the new one's (its replies' age, an erasure's "because of them").
WITH stored AS (
    INSERT INTO inbox AS i (update_id, chat_id, kind, payload)
    VALUES %s
    ON CONFLICT (update_id) DO UPDATE
    SET chat_id = EXCLUDED.chat_id, kind = EXCLUDED.kind, payload = EXCLUDED.payload,
        received_at = clock_timestamp(), status = 'pending', attempts = 0, not_before = NULL,
        processed_at = NULL, error = NULL, scrub_when_done = false, forget_chat = false
    WHERE i.status <> 'pending' AND i.received_at < clock_timestamp() - interval '24 hours'
    RETURNING i.update_id, i.chat_id, i.xmax::text <> '0' AS reused
), unlinked AS (
    -- The EXISTS is a one-time filter: outbox is not even read unless an id was reused.
    UPDATE outbox SET update_id = NULL
    WHERE EXISTS (SELECT 1 FROM stored WHERE reused)
      AND update_id IN (SELECT update_id FROM stored WHERE reused)
)
SELECT update_id, chat_id FROM stored;

-- name: pending_by_chat
-- How many updates each chat has waiting, to fill the chat queue (start-up and resync).
-- Pre-checkout queries are the checkout lane's (runtime/checkout.py), never a worker's.
SELECT chat_id, count(*) FROM inbox
WHERE status = 'pending' AND kind <> 'pre_checkout_query'
GROUP BY chat_id;

-- name: begin
-- A worker's first statement for a chat: take the chat for this transaction, read its oldest
-- pending update, take a token of its flood bucket (messages, button presses and edits, never a
-- payment: the money has moved) and mark the update processed: done, or skipped by flood
-- control. If the handler then fails, the whole transaction goes and the update is pending
-- again (runtime/dispatcher.py). One round trip also brings what nearly every handler reads
-- first: the member behind the update and their conversation state (fitclub.flows).
-- No row when the chat is another worker's; a row of nulls but `locked` when nothing is
-- pending. An update that must still wait (`wait` > 0) is neither counted nor marked. An
-- update of a chat being forgotten (its person erased their data) is not counted: marking it
-- takes the chat's flood row away (inbox_erasure_done, sql/0028_erasure_fixes.sql). The
-- statement is the function inbox_begin (sql/0034_runtime_functions.sql), planned once per
-- connection.
SELECT * FROM inbox_begin(%(namespace)s, %(chat_id)s, %(rate)s, %(burst)s);

-- name: lock_chat
-- Take the chat for this transaction; false when another worker or instance has it.
SELECT pg_try_advisory_xact_lock(%(namespace)s, mod(%(chat_id)s::bigint, 2147483647)::integer);

-- name: head_of_chat
-- The oldest pending update of a chat: the only one that may run now, and the seconds it
-- must still wait (measured on the database's clock, the one that set not_before). A
-- pre-checkout query is the checkout lane's: it neither runs here nor holds the chat up.
SELECT update_id, kind, payload, attempts,
       greatest(0, extract(epoch FROM not_before - clock_timestamp()))::float8 AS wait
FROM inbox
WHERE chat_id = %(chat_id)s AND status = 'pending' AND kind <> 'pre_checkout_query'
ORDER BY update_id
LIMIT 1
FOR UPDATE;

-- name: finish
-- Mark an update processed (done, skipped or failed) in the transaction of its effects. A
-- skipped update (flood control, a command for another bot, a kind the library cannot read)
-- keeps only its id: the id still tells a redelivery apart, and a flood of them stores next
-- to nothing until retention deletes the rows (src/fitclub/services/retention.py).
UPDATE inbox
SET status = %(status)s, processed_at = clock_timestamp(), error = %(error)s,
    attempts = attempts + %(attempted)s, not_before = NULL,
    payload = CASE WHEN %(status)s = 'skipped' THEN jsonb_build_object('update_id', update_id)
                   ELSE payload END
WHERE update_id = %(update_id)s;

-- name: postpone
-- Count a failed attempt and hold the update (and so its chat) until not_before.
UPDATE inbox
SET attempts = attempts + 1, error = %(error)s,
    not_before = clock_timestamp() + make_interval(secs => %(delay)s)
WHERE update_id = %(update_id)s
RETURNING attempts;

-- name: insert_unstorable
-- Record an update PostgreSQL cannot store as it came (kept as failed, so it is acknowledged).
INSERT INTO inbox (update_id, chat_id, kind, payload, status, processed_at, error)
VALUES (%(update_id)s, %(chat_id)s, %(kind)s, %(payload)s, 'failed', clock_timestamp(),
        %(error)s)
ON CONFLICT (update_id) DO NOTHING;

-- name: give_up
-- Mark a chat's head failed after its passes kept failing outside the handler.
UPDATE inbox
SET status = 'failed', processed_at = clock_timestamp(), error = %(error)s
WHERE update_id = (SELECT update_id FROM inbox WHERE chat_id = %(chat_id)s
                   AND status = 'pending' AND kind <> 'pre_checkout_query'
                   ORDER BY update_id LIMIT 1)
RETURNING update_id;

-- name: newest
-- The highest stored update id and how many seconds ago it arrived.
SELECT update_id, extract(epoch FROM clock_timestamp() - received_at)::float8
FROM inbox ORDER BY update_id DESC LIMIT 1;
