-- Conversation state of multi-step flows (fitclub.flows).

-- name: get
-- A conversation's state and data.
SELECT state, data FROM conversation_state
WHERE bot_id = %(bot_id)s AND chat_id = %(chat_id)s AND user_id = %(user_id)s
  AND thread_key = %(thread_key)s;

-- name: delete
-- Leave the conversation (state and data gone).
DELETE FROM conversation_state
WHERE bot_id = %(bot_id)s AND chat_id = %(chat_id)s AND user_id = %(user_id)s
  AND thread_key = %(thread_key)s;

-- name: put
-- Enter a state with its data (both replaced).
INSERT INTO conversation_state (bot_id, chat_id, user_id, thread_key, state, data)
VALUES (%(bot_id)s, %(chat_id)s, %(user_id)s, %(thread_key)s, %(state)s, %(data)s)
ON CONFLICT (bot_id, chat_id, user_id, thread_key) DO UPDATE
SET state = EXCLUDED.state, data = EXCLUDED.data, updated_at = now();

-- name: forget_user
-- Every conversation of a user (their data was erased).
DELETE FROM conversation_state WHERE user_id = %(user_id)s;
