-- Erasure that leaves nothing (issue 17): "Delete my data" removes what identifies the person
-- from every table (fitclub/services/privacy.py, fitclub/db/sql/erasure.sql).
--
-- The stored updates and sent messages of the erased person's chat lose their content and
-- their chat id, so the chat id columns may be empty (a row kept only as a figure).
ALTER TABLE inbox ALTER COLUMN chat_id DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN chat_id DROP NOT NULL;

-- A message still on its way when its person was erased (the confirmation "your data were
-- erased", the removal of their "/" menu) says what must go once it is delivered or given up:
-- forget_chat, every finished update and message of its chat (content and chat id);
-- scrub_when_done, its own content only (a message about the person to someone else, or a
-- stored update of someone else that names them, still waiting to be processed).
ALTER TABLE outbox ADD COLUMN forget_chat boolean NOT NULL DEFAULT false;
ALTER TABLE outbox ADD COLUMN scrub_when_done boolean NOT NULL DEFAULT false;
ALTER TABLE inbox ADD COLUMN scrub_when_done boolean NOT NULL DEFAULT false;

-- Whether a text holds one of an erased person's identifiers: `pattern` is one regular
-- expression (matched without regard to ASCII case) with every form of their names, phone
-- (also its digits with separators between them: '+1 555 100-0001'), username and Telegram id
-- (as a whole number) as alternatives, so each text is read once (privacy.Terms); '' for none.
CREATE FUNCTION erasure_holds(s text, pattern text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT s IS NOT NULL AND pattern <> '' AND s ~* pattern
$$;

-- A JSON value with every string that holds an identifier (erasure_holds) replaced by '…',
-- every number equal to the Telegram id `tg_id` made null, and the string values of
-- `free_keys` (free text about the person, such as a reason) replaced whatever they say.
-- Keys and the shape stay, so an audit entry still renders ("… deleted member …").
CREATE FUNCTION erasure_scrub(j jsonb, pattern text, tg_id bigint,
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
                    k, erasure_scrub(v, pattern, tg_id, free_keys));
            END IF;
        END LOOP;
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(erasure_scrub(e, pattern, tg_id, free_keys) ORDER BY n),
                        '[]'::jsonb)
        INTO result
        FROM jsonb_array_elements(j) WITH ORDINALITY AS a (e, n);
        RETURN result;
    WHEN 'string' THEN
        IF erasure_holds(j #>> '{}', pattern) THEN
            RETURN to_jsonb('…'::text);
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

-- Run in the statement that finishes a flagged message (the sender's mark: sent, failed or
-- dropped), so a crash cannot leave it half done.
CREATE FUNCTION outbox_erasure_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.forget_chat AND NEW.chat_id IS NOT NULL THEN
        UPDATE inbox
        SET payload = jsonb_build_object('update_id', update_id), error = NULL, chat_id = NULL
        WHERE chat_id = NEW.chat_id AND status <> 'pending';
        UPDATE outbox
        SET params = '{}'::jsonb, file_field = NULL, file_name = NULL, file_bytes = NULL,
            error = NULL, chat_id = NULL
        WHERE chat_id = NEW.chat_id AND status NOT IN ('pending', 'sending');
    ELSE
        UPDATE outbox
        SET params = jsonb_build_object('chat_id', chat_id), file_field = NULL,
            file_name = NULL, file_bytes = NULL, error = NULL
        WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_erasure_done
AFTER UPDATE OF status ON outbox
FOR EACH ROW
WHEN ((NEW.forget_chat OR NEW.scrub_when_done)
      AND OLD.status IN ('pending', 'sending') AND NEW.status NOT IN ('pending', 'sending'))
EXECUTE FUNCTION outbox_erasure_done();

-- A stored update naming an erased person that was still waiting loses its content once
-- processed (in the transaction that marks it).
CREATE FUNCTION inbox_erasure_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.payload := jsonb_build_object('update_id', NEW.update_id);
    NEW.error := NULL;
    RETURN NEW;
END
$$;

CREATE TRIGGER inbox_erasure_done
BEFORE UPDATE OF status ON inbox
FOR EACH ROW
WHEN (NEW.scrub_when_done AND OLD.status = 'pending' AND NEW.status <> 'pending')
EXECUTE FUNCTION inbox_erasure_done();
