-- The runtime's three hottest statements as PL/pgSQL functions (issue 20). A plain statement
-- is planned again at every call; these three cost more to plan than to run (about 0.3, 0.1
-- and 0.35 ms of planning against 0.15, 0.08 and 0.05 ms of running, measured on the bench
-- machine), and they run once or more for every update. A PL/pgSQL function keeps the plans of
-- its statements for the life of the server connection, so each connection plans them once
-- (PgBouncer's transaction pooling keeps server connections too). The statements are the ones
-- that were in src/fitclub/db/sql/inbox.sql and outbox.sql (their comments there say what they
-- do); the named queries now call these.

-- inbox.begin: take the chat, its head, the flood token and the mark; read ahead the member,
-- the conversation state and the chat's "/" list (what /start checks, fitclub.commands).
CREATE FUNCTION inbox_begin(p_namespace integer, p_chat_id bigint, p_rate double precision,
                            p_burst double precision)
RETURNS TABLE (locked boolean, update_id bigint, kind text, payload jsonb, attempts integer,
               wait double precision, received_at timestamptz, allowed boolean,
               must_warn boolean, user_id bigint, member_id bigint, telegram_id bigint,
               first_name text, last_name text, phone text, username text, language text,
               role text, registered_at timestamptz, reminders_enabled boolean,
               blocked_at timestamptz, flow_state text, flow_data jsonb,
               list_fingerprint text, list_settled boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH got AS (
        SELECT pg_try_advisory_xact_lock(p_namespace, mod(p_chat_id::bigint, 2147483647)::integer)
               AS locked
    ), head AS (
        SELECT i.update_id, i.kind, i.payload, i.attempts, i.received_at,
               greatest(0, extract(epoch FROM i.not_before - clock_timestamp()))::float8 AS wait,
               -- An update of a chat being forgotten (its person erased their data) is not
               -- counted: marking it takes the chat's flood row away (inbox_erasure_done,
               -- sql/0028_erasure_fixes.sql), which must not meet this statement's own write.
               NOT i.forget_chat
               AND i.kind IN ('message', 'callback_query', 'edited_message')
               AND NOT (i.kind = 'message' AND jsonb_typeof(i.payload -> 'message') = 'object'
                        AND i.payload -> 'message' ? 'successful_payment') AS floods,
               -- The user: `from`, else `user` (raw_updates.user_of; the caller checks they agree).
               coalesce(CASE WHEN jsonb_typeof(i.payload -> i.kind -> 'from') = 'object'
                             THEN i.payload -> i.kind -> 'from' -> 'id' END,
                        CASE WHEN jsonb_typeof(i.payload -> i.kind -> 'user') = 'object'
                             THEN i.payload -> i.kind -> 'user' -> 'id' END) #>> '{}' AS user_text
        FROM inbox i
        WHERE (SELECT locked FROM got)
          AND i.chat_id = p_chat_id AND i.status = 'pending' AND i.kind <> 'pre_checkout_query'
        ORDER BY i.update_id
        LIMIT 1
        FOR UPDATE
    ), due AS (
        SELECT h.*, CASE WHEN h.user_text ~ '^-?[0-9]{1,18}$' THEN h.user_text::bigint END AS user_id
        FROM head h WHERE h.wait <= 0
    ), old AS (
        SELECT least(p_burst::float8, f.tokens
                     + extract(epoch FROM clock_timestamp() - f.updated_at)::float8 * p_rate)
                   AS tokens,
               f.warned
        FROM chat_flood f
        WHERE f.chat_id = p_chat_id AND EXISTS (SELECT 1 FROM due WHERE floods)
        FOR UPDATE
    ), bucket AS (
        SELECT coalesce((SELECT tokens FROM old), p_burst::float8) AS tokens,
               coalesce((SELECT warned FROM old), false) AS warned
        FROM due WHERE floods
    ), put AS (
        INSERT INTO chat_flood (chat_id, tokens, updated_at, warned)
        SELECT p_chat_id, CASE WHEN tokens >= 1 THEN tokens - 1 ELSE tokens END,
               clock_timestamp(), tokens < 1
        FROM bucket
        ON CONFLICT (chat_id) DO UPDATE
        SET tokens = EXCLUDED.tokens, updated_at = EXCLUDED.updated_at, warned = EXCLUDED.warned
    ), verdict AS (
        SELECT d.update_id, coalesce((SELECT tokens >= 1 FROM bucket), true) AS allowed,
               coalesce((SELECT tokens < 1 AND NOT warned FROM bucket), false) AS must_warn
        FROM due d
    ), marked AS (
        -- As inbox.finish: a skipped update keeps only its id.
        UPDATE inbox i
        SET status = CASE WHEN v.allowed THEN 'done' ELSE 'skipped' END,
            processed_at = clock_timestamp(), not_before = NULL,
            error = CASE WHEN v.allowed THEN NULL ELSE 'flood control' END,
            payload = CASE WHEN v.allowed THEN i.payload
                           ELSE jsonb_build_object('update_id', i.update_id) END
        FROM verdict v
        WHERE i.update_id = v.update_id
    )
    SELECT g.locked, h.update_id, h.kind, h.payload, h.attempts, h.wait, h.received_at,
           v.allowed, v.must_warn, d.user_id,
           m.id, m.telegram_id, m.first_name, m.last_name, m.phone, m.username, m.language,
           m.role, m.registered_at, m.reminders_enabled, m.blocked_at,
           s.state, s.data, cl.fingerprint, cl.settled
    FROM got g
    LEFT JOIN head h ON true
    LEFT JOIN due d ON true
    LEFT JOIN verdict v ON true
    -- As members.by_telegram_id and state.get (fitclub.flows: bot 0, no thread).
    LEFT JOIN members m ON m.telegram_id = d.user_id AND m.deleted_at IS NULL
    LEFT JOIN conversation_state s
           ON s.bot_id = 0 AND s.chat_id = p_chat_id AND s.user_id = coalesce(d.user_id, 0)
          AND s.thread_key = '' AND d.update_id IS NOT NULL
    -- As command_lists.needs_set: the chat's "/" list and whether it went out (or may yet).
    LEFT JOIN LATERAL (
        SELECT c.fingerprint, o.id IS NULL OR o.status NOT IN ('failed', 'dropped') AS settled
        FROM command_lists c LEFT JOIN outbox o ON o.id = c.outbox_id
        WHERE c.chat_id = p_chat_id) cl ON d.update_id IS NOT NULL
    WHERE g.locked;
END
$$;

-- outbox.enqueue: queue one Bot API call, claimed for p_process at once when its chat has
-- nothing else unsent that would go first (an answer to a button press in flight does not count: it puts no
-- message in the chat and goes apart, so a press's answer and its screen go out together).
CREATE FUNCTION outbox_enqueue(p_chat_id bigint, p_method text, p_params jsonb,
                               p_file_field text, p_file_name text, p_file_bytes bytea,
                               p_priority integer, p_update_id bigint, p_process uuid,
                               p_lease double precision)
RETURNS TABLE (id bigint, claim_token bigint, blocked boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH c AS MATERIALIZED (  -- decided once, not once per column that asks
        SELECT p_process::uuid IS NOT NULL
               -- Only rows that go first count: a reply overtakes a queued announcement
               -- (the claim's order: priority, then id).
               AND NOT EXISTS (SELECT 1 FROM outbox o
                               WHERE o.chat_id = p_chat_id AND o.status = 'pending'
                                 AND o.priority <= p_priority)
               -- An answer to a button press in flight holds nothing up (no message: the
               -- sender sends those apart, runtime/sender.py).
               AND NOT EXISTS (SELECT 1 FROM outbox o
                               WHERE o.chat_id = p_chat_id AND o.status = 'sending'
                                 AND o.method <> 'answerCallbackQuery') AS claim
    )
    INSERT INTO outbox (chat_id, method, params, file_field, file_name, file_bytes, priority,
                        update_id, status, claimed_by, claim_token, lease_until)
    SELECT p_chat_id, p_method, p_params, p_file_field, p_file_name, p_file_bytes,
           p_priority, p_update_id,
           CASE WHEN c.claim THEN 'sending' ELSE 'pending' END,
           CASE WHEN c.claim THEN p_process::uuid END,
           CASE WHEN c.claim THEN nextval('outbox_claim_token') END,
           CASE WHEN c.claim THEN clock_timestamp() + make_interval(secs => p_lease) END
    FROM c
    RETURNING id, claim_token,
              claim_token IS NOT NULL
              AND EXISTS (SELECT 1 FROM members m
                          WHERE m.telegram_id = chat_id AND m.blocked_at IS NOT NULL) AS blocked;
END
$$;

-- outbox.mark_and_claim: record delivered rows, claim the heads of idle chats (a chat whose
-- only row in flight is an answer to a button press is idle).
CREATE FUNCTION outbox_mark_and_claim(p_done_ids bigint[], p_done_tokens bigint[],
                                      p_done_message_ids bigint[], p_limit integer,
                                      p_lease double precision, p_process uuid,
                                      p_window integer)
RETURNS TABLE (id bigint, claim_token bigint, chat_id bigint, method text, params jsonb,
               file_field text, file_name text, file_bytes bytea, priority smallint,
               attempts integer, update_id bigint, received_at timestamptz, blocked boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH marked AS (
        UPDATE outbox o
        SET status = 'sent', sent_at = clock_timestamp(), lease_until = NULL, claimed_by = NULL,
            claim_token = NULL, result_message_id = d.message_id, error = NULL, file_bytes = NULL
        FROM unnest(p_done_ids::bigint[], p_done_tokens::bigint[],
                    p_done_message_ids::bigint[]) AS d (id, token, message_id)
        WHERE o.id = d.id AND o.claim_token = d.token AND o.status = 'sending'
        RETURNING o.id
    ), picked AS (
        SELECT c.id
        FROM (SELECT w.id, w.priority FROM outbox w
              WHERE w.status = 'pending' AND w.not_before <= clock_timestamp()
              ORDER BY w.priority, w.id
              LIMIT p_window) w
        JOIN outbox c ON c.id = w.id
        WHERE c.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM outbox h
                          WHERE h.chat_id = c.chat_id AND h.status = 'pending'
                            AND (h.priority, h.id) < (c.priority, c.id))
          AND NOT EXISTS (SELECT 1 FROM outbox s
                          WHERE s.chat_id = c.chat_id AND s.status = 'sending'
                            AND s.method <> 'answerCallbackQuery'
                            AND s.id NOT IN (SELECT id FROM marked))
        ORDER BY w.priority, w.id
        LIMIT p_limit
        FOR UPDATE OF c SKIP LOCKED
    )
    UPDATE outbox o
    SET status = 'sending', claimed_by = p_process, claim_token = nextval('outbox_claim_token'),
        lease_until = clock_timestamp() + make_interval(secs => p_lease)
    FROM picked
    WHERE o.id = picked.id
    RETURNING o.id, o.claim_token, o.chat_id, o.method, o.params, o.file_field, o.file_name,
              o.file_bytes, o.priority, o.attempts, o.update_id,
              (SELECT i.received_at FROM inbox i WHERE i.update_id = o.update_id),
              -- The recipient is known to have blocked the bot: the sender drops the row unsent.
              EXISTS (SELECT 1 FROM members m
                      WHERE m.telegram_id = o.chat_id AND m.blocked_at IS NOT NULL) AS blocked;
END
$$;
