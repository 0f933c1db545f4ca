-- Per-chat flood control: a token bucket row per chat.

-- name: take
-- Take a token from the chat's bucket (refilled at rate, capped at burst) in one statement:
-- whether the update may run, and whether the one "slow down" warning is due now.
WITH old AS (
    SELECT least(%(burst)s::float8, tokens
                 + extract(epoch FROM clock_timestamp() - updated_at)::float8 * %(rate)s)
               AS tokens,
           warned
    FROM chat_flood WHERE chat_id = %(chat_id)s FOR UPDATE
), bucket AS (
    SELECT coalesce((SELECT tokens FROM old), %(burst)s::float8) AS tokens,
           coalesce((SELECT warned FROM old), false) AS warned
), put AS (
    INSERT INTO chat_flood (chat_id, tokens, updated_at, warned)
    SELECT %(chat_id)s, CASE WHEN tokens >= 1 THEN tokens - 1 ELSE tokens END,
           clock_timestamp(), tokens < 1
    FROM bucket
    ON CONFLICT (chat_id) DO UPDATE
    SET tokens = EXCLUDED.tokens, updated_at = EXCLUDED.updated_at, warned = EXCLUDED.warned
)
SELECT tokens >= 1 AS allowed, tokens < 1 AND NOT warned AS must_warn FROM bucket;
