-- migrate: no-transaction
-- Erasure fixes (issue 17 review): identifiers matched as whole words with only the matched
-- span replaced in other people's records, the traces of updates she sent before the
-- confirmation went, and the indexes the erasure and the pictures walk
-- (fitclub/services/privacy.py, fitclub/db/sql/erasure.sql).
-- No transaction, so that the indexes are built CONCURRENTLY and applying this file to a live
-- database never blocks writes. Every statement may run again: if a build is interrupted
-- PostgreSQL leaves an INVALID index behind that IF NOT EXISTS would skip, so drop it (DROP
-- INDEX CONCURRENTLY name) before running this file again. Keep semicolons, quotes and
-- apostrophes out of comments: the migrator splits this file into statements.

-- A stored update of the erased person still waiting when she was erased (a second press of
-- Yes, delete, a sticker sent meanwhile): once processed it loses its chat id too, takes its
-- chat flood and command list rows with it, and its replies to her chat are flagged
-- forget_chat. A constant default: no table rewrite.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS forget_chat boolean NOT NULL DEFAULT false;

-- Whether a text holds an identifier: first matched against quick (the identifiers without
-- word boundaries, about ten times quicker), then, only if it matches, against pattern (the
-- same, each a whole word or number). Both empty: no identifier to look for.
CREATE OR REPLACE FUNCTION erasure_finds(s text, quick text, pattern text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s IS NULL OR pattern = '' THEN false
                WHEN s ~* quick THEN s ~* pattern
                ELSE false END
$$;

-- A text with every span matching pattern replaced by an ellipsis (pattern empty: unchanged).
CREATE OR REPLACE FUNCTION erasure_redact(s text, pattern text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s IS NULL OR pattern = '' THEN s
                ELSE regexp_replace(s, pattern, '…', 'gi') END
$$;

-- As erasure_scrub, but a string keeps its text with only the matching spans replaced: for
-- the records of other people (audit details, conversations) that name the erased person.
CREATE OR REPLACE FUNCTION erasure_redact_json(j jsonb, pattern text, tg_id bigint,
                                               free_keys text[] DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k text;
    v jsonb;
    result jsonb;
BEGIN
    CASE jsonb_typeof(j)
    WHEN 'object' THEN
        result := '{}'::jsonb;
        FOR k, v IN SELECT e.key, e.value FROM jsonb_each(j) e LOOP
            IF k = ANY (free_keys) AND jsonb_typeof(v) = 'string' THEN
                result := result || jsonb_build_object(k, '…');
            ELSE
                result := result || jsonb_build_object(
                    k, erasure_redact_json(v, pattern, tg_id, free_keys));
            END IF;
        END LOOP;
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(erasure_redact_json(e, pattern, tg_id, free_keys)
                                  ORDER BY n), '[]'::jsonb)
        INTO result
        FROM jsonb_array_elements(j) WITH ORDINALITY AS a (e, n);
        RETURN result;
    WHEN 'string' THEN
        IF erasure_holds(j #>> '{}', pattern) THEN
            RETURN to_jsonb(erasure_redact(j #>> '{}', pattern));
        END IF;
        RETURN j;
    WHEN 'number' THEN
        IF tg_id IS NOT NULL AND j = to_jsonb(tg_id) THEN
            RETURN 'null'::jsonb;
        END IF;
        RETURN j;
    ELSE
        RETURN j;
    END CASE;
END
$$;

-- The confirmation (or anything else flagged forget_chat) delivered or given up: the chat
-- finished updates and messages lose content and chat id, its flood and command list rows
-- go, and what is still waiting in it (an update she sent meanwhile, a reply not yet sent)
-- is flagged to do the same once it is processed or sent.
CREATE OR REPLACE FUNCTION outbox_erasure_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.forget_chat AND NEW.chat_id IS NOT NULL THEN
        UPDATE inbox
        SET payload = jsonb_build_object('update_id', update_id), error = NULL, chat_id = NULL
        WHERE chat_id = NEW.chat_id AND status <> 'pending';
        UPDATE inbox SET scrub_when_done = true, forget_chat = true
        WHERE chat_id = NEW.chat_id AND status = 'pending' AND NOT forget_chat;
        UPDATE outbox SET forget_chat = true
        WHERE chat_id = NEW.chat_id AND status IN ('pending', 'sending') AND NOT forget_chat;
        UPDATE outbox
        SET params = '{}'::jsonb, file_field = NULL, file_name = NULL, file_bytes = NULL,
            error = NULL, chat_id = NULL
        WHERE chat_id = NEW.chat_id AND status NOT IN ('pending', 'sending');
        DELETE FROM chat_flood WHERE chat_id = NEW.chat_id;
        DELETE FROM command_lists WHERE chat_id = NEW.chat_id;
    ELSIF NOT NEW.forget_chat THEN
        UPDATE outbox
        SET params = jsonb_build_object('chat_id', chat_id), file_field = NULL,
            file_name = NULL, file_bytes = NULL, error = NULL
        WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- A stored update naming an erased person that was still waiting loses its content once
-- processed (in the transaction that marks it). One of her own chat (forget_chat) loses its
-- chat id too, its flood and command list rows go (flood control counted it), and its
-- replies to her chat are flagged forget_chat.
CREATE OR REPLACE FUNCTION inbox_erasure_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.payload := jsonb_build_object('update_id', NEW.update_id);
    NEW.error := NULL;
    IF NEW.forget_chat AND OLD.chat_id IS NOT NULL THEN
        NEW.chat_id := NULL;
        UPDATE outbox SET forget_chat = true
        WHERE chat_id = OLD.chat_id AND status IN ('pending', 'sending')
          AND update_id = NEW.update_id AND NOT forget_chat;
        DELETE FROM chat_flood WHERE chat_id = OLD.chat_id;
        DELETE FROM command_lists WHERE chat_id = OLD.chat_id;
    END IF;
    RETURN NEW;
END
$$;

-- The erasure and the triggers above find a chat finished updates and messages by chat id
-- (only waiting ones were indexed by it): an index scan, not a read of the whole table.
CREATE INDEX CONCURRENTLY IF NOT EXISTS inbox_processed_by_chat
    ON inbox (chat_id) WHERE status <> 'pending';

CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_finished_by_chat
    ON outbox (chat_id) WHERE status NOT IN ('pending', 'sending');

-- pictures.state asks whether a photo for an update is queued already: photos by update.
CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_photo_by_update
    ON outbox (update_id) WHERE method = 'sendPhoto';
