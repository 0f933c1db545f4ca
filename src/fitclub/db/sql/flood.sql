-- Per-chat flood control: a token bucket row per chat.

-- name: get
-- The chat's bucket, locked for this transaction.
SELECT tokens, extract(epoch FROM clock_timestamp() - updated_at)::float8, warned
FROM chat_flood WHERE chat_id = %(chat_id)s FOR UPDATE;

-- name: put
-- Store the chat's bucket.
INSERT INTO chat_flood (chat_id, tokens, updated_at, warned)
VALUES (%(chat_id)s, %(tokens)s, clock_timestamp(), %(warned)s)
ON CONFLICT (chat_id) DO UPDATE
SET tokens = EXCLUDED.tokens, updated_at = EXCLUDED.updated_at, warned = EXCLUDED.warned;
