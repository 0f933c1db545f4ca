-- Queries of the outbound limits shared by every instance (see sql/0031_shared_limits.sql).

-- name: take
-- Take a slot of the global window and a token of the chat's bucket (granted, seconds until
-- the slot), or neither (not granted, seconds to wait); one statement per Bot API call.
SELECT granted, wait
FROM outbound_take(%(chat_id)s, %(capacity)s, %(window)s, %(margin)s, %(chat_rate)s,
                   %(chat_burst)s, %(max_ahead)s);

-- name: pause
-- Telegram answered 429: pause the chat, and everyone with `everyone`, for `seconds`.
SELECT outbound_pause(%(chat_id)s, %(seconds)s, %(everyone)s);
