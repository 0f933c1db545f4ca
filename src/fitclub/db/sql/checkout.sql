-- Queries of the checkout lane (src/fitclub/runtime/checkout.py): pre-checkout queries
-- stored in inbox, answered outside the chat queue.

-- name: claim
-- A stored pre-checkout query still to answer (none when it is answered), its age in seconds
-- on the database's clock, and the language of the live member who sent it (NULL when not a
-- member).
SELECT i.payload, extract(epoch FROM clock_timestamp() - i.received_at)::float8 AS age,
       (SELECT m.language FROM members m
        WHERE m.telegram_id = %(telegram_id)s AND m.deleted_at IS NULL) AS language
FROM inbox i
WHERE i.update_id = %(update_id)s AND i.status = 'pending' AND i.kind = 'pre_checkout_query';

-- name: pending
-- Pre-checkout queries still waiting (after a restart, say), oldest first.
SELECT update_id, payload
FROM inbox
WHERE status = 'pending' AND kind = 'pre_checkout_query'
ORDER BY update_id
LIMIT 500;

-- name: finish
-- Record how a pre-checkout query ended, unless that is recorded already: done (answered;
-- error holds a refusal's reason), skipped (too old to answer, or Telegram refused the
-- answer; only its id is kept, as for any skipped update) or failed (no answer came).
UPDATE inbox
SET status = %(status)s, processed_at = clock_timestamp(), error = %(error)s,
    payload = CASE WHEN %(status)s = 'skipped' THEN jsonb_build_object('update_id', update_id)
                   ELSE payload END
WHERE update_id = %(update_id)s AND status = 'pending';

-- name: finish_many
-- Record how pre-checkout queries ended (as `finish`, those still pending), and name every
-- one of them that is stored, recorded now or before: the lane forgets those. One not stored
-- yet (in a batch the database refused) is named only once the poller has stored it.
WITH outcome AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(statuses)s::text[], %(errors)s::text[])
        AS o(update_id, status, error)
), recorded AS (
    UPDATE inbox i
    SET status = o.status, processed_at = clock_timestamp(), error = o.error,
        payload = CASE WHEN o.status = 'skipped'
                       THEN jsonb_build_object('update_id', i.update_id) ELSE i.payload END
    FROM outcome o
    WHERE i.update_id = o.update_id AND i.status = 'pending'
)
SELECT i.update_id FROM inbox i JOIN outcome o ON o.update_id = i.update_id;
