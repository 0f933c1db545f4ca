-- Queries of the checkout lane (src/fitclub/runtime/checkout.py): pre-checkout queries
-- stored in inbox, answered outside the chat queue.

-- name: claim
-- A stored pre-checkout query still to answer, locked for this transaction (none when
-- another holds it or it is answered), and its age in seconds on the database's clock.
SELECT payload, extract(epoch FROM clock_timestamp() - received_at)::float8 AS age
FROM inbox
WHERE update_id = %(update_id)s AND status = 'pending' AND kind = 'pre_checkout_query'
FOR UPDATE SKIP LOCKED;

-- name: pending
-- Pre-checkout queries still waiting (after a restart, say), oldest first.
SELECT update_id, payload
FROM inbox
WHERE status = 'pending' AND kind = 'pre_checkout_query'
ORDER BY update_id
LIMIT 500;

-- name: finish
-- Record how a pre-checkout query ended, unless that is recorded already: done (answered;
-- error holds a refusal's reason), skipped (too old to answer; only its id is kept, as for
-- any skipped update) or failed (Telegram refused the answer).
UPDATE inbox
SET status = %(status)s, processed_at = clock_timestamp(), error = %(error)s,
    payload = CASE WHEN %(status)s = 'skipped' THEN jsonb_build_object('update_id', update_id)
                   ELSE payload END
WHERE update_id = %(update_id)s AND status = 'pending';
