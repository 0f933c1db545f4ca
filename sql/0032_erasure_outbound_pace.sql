-- The erasure forgets the chat pacing row too (issue 19): outbound_chat_pace
-- (sql/0031_shared_limits.sql) is keyed by chat id, and a private chat id is the member
-- Telegram id. Each sender takes a pacing token just before every Bot API call, the erasure
-- confirmation included, so the row the erasure deleted (fitclub/db/sql/erasure.sql,
-- delete_chat_rows) is made again by that very send: the triggers below delete it when the
-- confirmation (or anything else flagged forget_chat) is delivered or given up, beside the
-- chat flood and command list rows. Both functions are those of sql/0028_erasure_fixes.sql
-- with that one line added. Keep semicolons, quotes and apostrophes out of comments.

-- The confirmation (or anything else flagged forget_chat) delivered or given up: the chat
-- finished updates and messages lose content and chat id, its flood, command list and pacing
-- rows go, and what is still waiting in it (an update she sent meanwhile, a reply not yet
-- sent) is flagged to do the same once it is processed or sent.
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
        DELETE FROM outbound_chat_pace WHERE chat_id = NEW.chat_id;
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
-- chat id too, its flood, command list and pacing rows go (flood control counted it), and
-- its replies to her chat are flagged forget_chat.
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
        DELETE FROM outbound_chat_pace WHERE chat_id = OLD.chat_id;
    END IF;
    RETURN NEW;
END
$$;
