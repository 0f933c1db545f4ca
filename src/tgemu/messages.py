"""Messages the bot sends: sending, editing, deleting, callback answers, chat actions."""

import time

from tgemu.errors import bad_request
from tgemu.markup import load_json, parse_reply_markup
from tgemu.model import Chat, Msg, to_bool, to_int
from tgemu.textparse import parse_text

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class MessagesMixin:
    """The sending half of Bot."""

    def _reply_to(self, chat: Chat, p) -> dict | None:
        mid = p.get("reply_to_message_id")
        allow_missing = to_bool(p.get("allow_sending_without_reply"))
        params = p.get("reply_parameters")
        if params:
            params = load_json(params, "can't parse reply parameters JSON object")
            if isinstance(params, dict):
                mid = params.get("message_id")
                allow_missing = bool(params.get("allow_sending_without_reply"))
        if mid in (None, ""):
            return None
        msg = chat.messages.get(to_int(mid, "message to be replied not found"))
        if msg is None or msg.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return msg.data

    def _new_bot_message(
        self, chat: Chat, content: dict, markup: dict | None, files: dict | None = None
    ) -> dict:
        mid = chat.next_message_id
        chat.next_message_id += 1
        if chat.type == "channel":
            # A channel's messages are signed by the channel itself, not by the bot.
            msg = {"message_id": mid, "sender_chat": chat.as_chat()}
        else:
            msg = {"message_id": mid, "from": self.user_dict()}
            if not chat.private:
                chat.peer.last_bot_id = self.id
        msg.update({"chat": chat.as_chat(), "date": int(time.time()), **content})
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and "remove_keyboard" in markup:
            chat.reply_keyboard = None
        chat.messages[mid] = Msg(mid, True, msg)
        event = {
            "kind": "message",
            "from": "bot",
            "message_id": mid,
            "time": time.time(),
            "text": msg.get("text"),
            "caption": msg.get("caption"),
            "entities": msg.get("entities") or msg.get("caption_entities") or [],
            "reply_markup": markup,
            "message": msg,
        }
        if files:
            event.update(files)
        chat.events.append(event)
        chat.sent.append(msg)
        self.counts["sent_messages"] += 1
        self._answer_from_chat(chat)
        chat.changed()
        return msg

    def _caption(self, p) -> dict:
        if p.get("caption") in (None, ""):
            return {}
        caption, entities = parse_text(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        out = {"caption": caption}
        if entities:
            out["caption_entities"] = entities
        return out

    def _input_file(self, p, field: str):
        upload = p.file(field)
        if upload is not None:
            name, data, ctype = upload
            if not data:
                raise bad_request("file must be non-empty")
            return self.emu.files.add(field, data, name, ctype)
        ref = p.get(field)
        if ref in (None, ""):
            raise bad_request(f"there is no {field} in the request")
        ref = str(ref)
        known = self.emu.files.get(ref)
        if known is not None:
            return known
        if ref.startswith(("http://", "https://")):
            name = ref.rsplit("/", 1)[-1] or None
            return self.emu.files.add(field, None, name, None, url=ref)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def api_sendchataction(self, p):
        with self.lock:
            self._target_chat(p)
            if p.get("action") not in CHAT_ACTIONS:
                raise bad_request("wrong parameter action in request")
            self.counts["chat_actions"] += 1
            return True

    # --- sending ---------------------------------------------------------------------------

    def api_sendmessage(self, p):
        with self.lock:
            chat = self._target_chat(p)
            text, entities = parse_text(p.get("text"), p.get("parse_mode"), p.get("entities"))
            markup = parse_reply_markup(p.get("reply_markup"))
            reply_to = self._reply_to(chat, p)
            self._rate_limit(chat)
            content = {"text": text}
            if entities:
                content["entities"] = entities
            if reply_to:
                content["reply_to_message"] = reply_to
            return self._new_bot_message(chat, content, markup)

    def api_sendphoto(self, p):
        return self._send_file(p, "photo")

    def api_senddocument(self, p):
        return self._send_file(p, "document")

    def _send_file(self, p, field):
        with self.lock:
            chat = self._target_chat(p)
            rec = self._input_file(p, field)
            content = self._caption(p)
            markup = parse_reply_markup(p.get("reply_markup"))
            reply_to = self._reply_to(chat, p)
            self._rate_limit(chat)
            if field == "photo":
                content["photo"] = rec.photo_sizes()
            else:
                content["document"] = rec.document()
            if reply_to:
                content["reply_to_message"] = reply_to
            info = {
                "file_id": rec.file_id,
                "file_name": rec.file_name,
                "mime_type": rec.mime_type,
                "url": rec.url,
                "bytes": rec.data,
            }
            return self._new_bot_message(chat, content, markup, {field: info})

    # --- editing ---------------------------------------------------------------------------

    def _editable(self, p) -> tuple[Chat, Msg]:
        if p.get("inline_message_id"):
            raise bad_request("message to edit not found")
        chat = self._target_chat(p)
        if p.get("message_id") in (None, ""):
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(to_int(p.get("message_id"), "message to edit not found"))
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _inline_markup(self, p) -> dict | None:
        markup = parse_reply_markup(p.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        if markup is not None and not markup["inline_keyboard"]:
            return None
        return markup

    def _apply_edit(self, chat: Chat, msg: Msg, changes: dict, markup: dict | None) -> dict:
        old = msg.data
        new = {k: v for k, v in old.items() if k not in ("entities", "caption_entities")}
        new.update(changes)
        if markup:
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        comparable = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(old.get(k) == new.get(k) for k in comparable):
            raise bad_request(NOT_MODIFIED)
        self._rate_limit(chat)
        new["edit_date"] = int(time.time())
        msg.data = new
        msg.edited = True
        chat.events.append(
            {
                "kind": "edit",
                "from": "bot",
                "message_id": msg.message_id,
                "time": time.time(),
                "text": new.get("text"),
                "caption": new.get("caption"),
                "entities": new.get("entities") or new.get("caption_entities") or [],
                "reply_markup": markup,
                "message": new,
            }
        )
        self.counts["edits"] += 1
        self._answer_from_chat(chat)
        chat.changed()
        return new

    def api_editmessagetext(self, p):
        with self.lock:
            chat, msg = self._editable(p)
            if "text" not in msg.data:
                raise bad_request("there is no text in the message to edit")
            text, entities = parse_text(p.get("text"), p.get("parse_mode"), p.get("entities"))
            markup = self._inline_markup(p)
            changes = {"text": text}
            if entities:
                changes["entities"] = entities
            return self._apply_edit(chat, msg, changes, markup)

    def api_editmessagecaption(self, p):
        with self.lock:
            chat, msg = self._editable(p)
            if "text" in msg.data:
                raise bad_request("there is no caption in the message to edit")
            changes = self._caption(p)
            markup = self._inline_markup(p)
            if "caption" not in changes:
                changes = {}
            return self._apply_edit(chat, msg, changes, markup)

    def api_editmessagereplymarkup(self, p):
        with self.lock:
            chat, msg = self._editable(p)
            markup = self._inline_markup(p)
            keep = {k: msg.data[k] for k in ("entities", "caption_entities") if k in msg.data}
            return self._apply_edit(chat, msg, keep, markup)

    def api_deletemessage(self, p):
        with self.lock:
            chat = self._target_chat(p, sending=False)
            if p.get("message_id") in (None, ""):
                raise bad_request("message identifier is not specified")
            msg = chat.messages.get(to_int(p.get("message_id"), "message to delete not found"))
            if msg is None or msg.deleted:
                raise bad_request("message to delete not found")
            msg.deleted = True
            chat.events.append(
                {"kind": "delete", "from": "bot", "message_id": msg.message_id, "time": time.time()}
            )
            self.counts["deleted_messages"] += 1
            chat.changed()
            return True

    def api_answercallbackquery(self, p):
        qid = str(p.get("callback_query_id") or "")
        text = str(p.get("text") or "")
        with self.lock:
            query = self.queries.get(qid)
            now = time.monotonic()
            if (
                query is None
                or query["answered"]
                or now - query["created"] > self.emu.config.callback_query_timeout
            ):
                raise bad_request(QUERY_TOO_OLD)
            if len(text) > 200:
                raise bad_request("MESSAGE_TOO_LONG")
            query["answered"] = True
            chat = self.chats[query["chat_id"]]
            rec = self.records.get(query["update_id"])
            if rec is not None and rec.answered is None and rec.available is not None:
                rec.answered = now
                self.counts["updates_answered"] += 1
                if rec.update_id in chat.unanswered:
                    chat.unanswered.remove(rec.update_id)
            chat.events.append(
                {
                    "kind": "callback_answer",
                    "from": "bot",
                    "callback_query_id": qid,
                    "message_id": query["message_id"],
                    "text": text,
                    "show_alert": to_bool(p.get("show_alert")),
                    "url": p.get("url"),
                    "time": time.time(),
                }
            )
            self.counts["callback_answers"] += 1
            chat.changed()
            return True
