-- Queries of the checkout lane (src/fitclub/runtime/checkout.py): pre-checkout queries
-- stored in inbox, answered outside the chat queue.

-- name: claim
-- Take a stored pre-checkout query still to answer for `seconds` (sql/0033_checkout_claim.sql):
-- none when it is answered, or another claim on it runs (`token` names this one, which takes
-- it again). Its payload, its age in seconds on the database's clock, and the language of the
-- live member who sent it (NULL when not a member).
UPDATE inbox i
SET answering_until = clock_timestamp() + make_interval(secs => %(seconds)s),
    answering_token = %(token)s
WHERE i.update_id = %(update_id)s AND i.status = 'pending' AND i.kind = 'pre_checkout_query'
  AND (i.answering_until IS NULL OR i.answering_until <= clock_timestamp()
       OR i.answering_token = %(token)s)
RETURNING i.payload, extract(epoch FROM clock_timestamp() - i.received_at)::float8 AS age,
          (SELECT m.language FROM members m
           WHERE m.telegram_id = %(telegram_id)s AND m.deleted_at IS NULL) AS language;

-- name: pending
-- Pre-checkout queries still waiting (after a restart, say), oldest first: those no lane
-- holds a claim on, stored at least `after` seconds ago (younger ones are in the hands of the
-- lane their intake gave them to).
SELECT update_id, payload
FROM inbox
WHERE status = 'pending' AND kind = 'pre_checkout_query'
  AND received_at <= clock_timestamp() - make_interval(secs => %(after)s)
  AND (answering_until IS NULL OR answering_until <= clock_timestamp())
ORDER BY update_id
LIMIT 500;

-- name: finish
-- Record how a pre-checkout query ended, unless that is recorded already: done (answered;
-- error holds a refusal's reason), skipped (too old to answer, or Telegram refused the
-- answer; only its id is kept, as for any skipped update) or failed (no answer came).
UPDATE inbox
SET status = %(status)s, processed_at = clock_timestamp(), error = %(error)s,
    answering_until = NULL, answering_token = NULL,
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
        answering_until = NULL, answering_token = NULL,
        payload = CASE WHEN o.status = 'skipped'
                       THEN jsonb_build_object('update_id', i.update_id) ELSE i.payload END
    FROM outcome o
    WHERE i.update_id = o.update_id AND i.status = 'pending'
)
SELECT i.update_id FROM inbox i JOIN outcome o ON o.update_id = i.update_id;
