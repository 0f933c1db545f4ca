"""One bot's world: its updates, chats, messages, callback queries and commands.

Every Bot API method of the emulator is a method of Bot named api_<lowercased method>. All state
of a bot is guarded by its one lock; each chat has a condition on that lock so waiters (tests,
the web chat, the load driver) wake only for their own chat.
"""

import collections
import dataclasses
import secrets
import threading
import time

from tgemu.config import TokenBucket, retry_after_seconds
from tgemu.errors import (
    CONFLICT_OTHER_POLL,
    CONFLICT_WEBHOOK,
    bad_request,
    forbidden,
    too_many_requests,
)
from tgemu.markup import (
    callback_buttons,
    load_json,
    parse_commands,
    parse_reply_markup,
    parse_scope,
)
from tgemu.textparse import parse_text

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction_count",
        "purchased_paid_media",
        "removed_chat_boost",
        "chat_boost",
    }
)
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
# Telegram's default excludes these three; everything else arrives unless filtered.
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclasses.dataclass
class SimUserData:
    """A simulated Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone_number: str | None = None

    def as_user(self) -> dict:
        out = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out

    def as_chat(self) -> dict:
        out = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        out["type"] = "private"
        return out


class UpdateRec:
    """An update and its timeline: created, made available to the bot, answered."""

    __slots__ = (
        "answered",
        "attempts",
        "available",
        "chat_id",
        "created",
        "expects_answer",
        "inflight",
        "next_attempt",
        "payload",
        "type",
        "update_id",
    )

    def __init__(self, update_id, kind, payload, chat_id, expects_answer):
        self.update_id = update_id
        self.type = kind
        self.payload = payload
        self.chat_id = chat_id
        self.expects_answer = expects_answer
        self.created = time.monotonic()
        self.available = None
        self.answered = None
        self.attempts = 0
        self.next_attempt = 0.0
        self.inflight = False


class Msg:
    """A message in a chat; data is replaced, never mutated, so snapshots stay valid."""

    __slots__ = ("data", "deleted", "edited", "from_bot", "message_id")

    def __init__(self, message_id, from_bot, data):
        self.message_id = message_id
        self.from_bot = from_bot
        self.data = data
        self.deleted = False
        self.edited = False


class Chat:
    """The private chat between one simulated user and one bot."""

    def __init__(self, bot: "Bot", user: SimUserData):
        self.user = user
        self.id = user.id
        self.started = False  # the user has written to the bot at least once
        self.blocked = False
        self.cv = threading.Condition(bot.lock)
        self.next_message_id = 1
        self.messages: dict[int, Msg] = {}
        self.events: list[dict] = []
        self.sent: list[dict] = []  # bot messages as sent, read by wait_for_messages
        self.read_cursor = 0
        self.reply_keyboard: dict | None = None
        self.version = 0
        self.unanswered: collections.deque[int] = collections.deque()
        self.bucket: TokenBucket | None = None

    def changed(self):
        self.version += 1
        self.cv.notify_all()


class Bot:
    """State and Bot API methods of one bot token."""

    def __init__(self, emu, token: str, username: str | None = None, first_name: str | None = None):
        self.emu = emu
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = username or f"tgemu_{self.id}_bot"
        self.first_name = first_name or "tgemu bot"
        self.lock = threading.Lock()
        self.updates_cv = threading.Condition(self.lock)
        self.pending: collections.deque[UpdateRec] = collections.deque()
        self.records: dict[int, UpdateRec] = {}
        self.next_update_id = 1
        self.allowed_updates: list[str] | None = None
        self.poll_gen = 0
        self.polls_in_flight = 0
        self.webhook = None
        self.chats: dict[int, Chat] = {}
        self.queries: dict[str, dict] = {}
        self.commands: dict[tuple, list[dict]] = {}
        self.global_bucket: TokenBucket | None = None
        self.calls: collections.Counter = collections.Counter()
        self.errors: collections.Counter = collections.Counter()
        self.faults: collections.Counter = collections.Counter()
        self.counts: collections.Counter = collections.Counter()

    # --- helpers ------------------------------------------------------------------------------

    def user_dict(self) -> dict:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def chat(self, user: SimUserData) -> Chat:
        """The chat with this user, created on first use. Call with the lock held."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = Chat(self, user)
        return chat

    def _target_chat(self, p, *, sending=True) -> Chat:
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None or not chat.started:
            if chat is not None or self.emu.has_user(chat_id):
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if sending and chat.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def _rate_limit(self, chat: Chat):
        """Flood control: per chat first, then the bot's global bucket; 429 when empty."""
        cfg = self.emu.config
        now = time.monotonic()
        chat_bucket = None
        if cfg.per_chat_rate:
            if chat.bucket is None:
                chat.bucket = TokenBucket(cfg.per_chat_rate, cfg.per_chat_burst)
            chat_bucket = chat.bucket
            wait = chat_bucket.take(now)
            if wait:
                self.counts["rate_limited"] += 1
                raise too_many_requests(retry_after_seconds(wait))
        if cfg.global_rate:
            if self.global_bucket is None:
                self.global_bucket = TokenBucket(
                    cfg.global_rate, cfg.global_burst or cfg.global_rate
                )
            wait = self.global_bucket.take(now)
            if wait:
                if chat_bucket is not None:
                    chat_bucket.tokens += 1.0  # this send did not happen: give it back
                self.counts["rate_limited"] += 1
                raise too_many_requests(retry_after_seconds(wait))

    def reset_limits(self):
        with self.lock:
            self.global_bucket = None
            for chat in self.chats.values():
                chat.bucket = None

    def _answer_from_chat(self, chat: Chat):
        """A send or edit to a chat answers that chat's oldest unanswered delivered update."""
        now = time.monotonic()
        while chat.unanswered:
            rec = self.records.get(chat.unanswered.popleft())
            if rec is not None and rec.answered is None:
                rec.answered = now
                self.counts["updates_answered"] += 1
                return

    def _reply_to(self, chat: Chat, p) -> dict | None:
        mid = p.get("reply_to_message_id")
        allow_missing = _to_bool(p.get("allow_sending_without_reply"))
        params = p.get("reply_parameters")
        if params:
            params = load_json(params, "can't parse reply parameters JSON object")
            if isinstance(params, dict):
                mid = params.get("message_id")
                allow_missing = bool(params.get("allow_sending_without_reply"))
        if mid in (None, ""):
            return None
        msg = chat.messages.get(_to_int(mid, "message to be replied not found"))
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
        msg = {
            "message_id": mid,
            "from": self.user_dict(),
            "chat": chat.user.as_chat(),
            "date": int(time.time()),
            **content,
        }
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

    # --- updates -------------------------------------------------------------------------------

    def allows(self, kind: str) -> bool:
        allowed = self.allowed_updates
        if not allowed:
            return kind not in _DEFAULT_EXCLUDED
        return kind in allowed

    def push_update(self, chat: Chat, kind: str, obj: dict, expects_answer=True) -> int | None:
        """Queue an update from a user; None when allowed_updates filters it out. Lock held."""
        self.counts["updates"] += 1
        if not self.allows(kind):
            self.counts["updates_filtered"] += 1
            return None
        uid = self.next_update_id
        self.next_update_id += 1
        rec = UpdateRec(uid, kind, {"update_id": uid, kind: obj}, chat.id, expects_answer)
        self.pending.append(rec)
        self.records[uid] = rec
        self.updates_cv.notify_all()
        return uid

    def _mark_available(self, rec: UpdateRec):
        if rec.available is None:
            rec.available = time.monotonic()
            self.counts["updates_delivered"] += 1
            if rec.expects_answer:
                chat = self.chats.get(rec.chat_id)
                if chat is not None:
                    chat.unanswered.append(rec.update_id)

    def _confirm(self, offset: int):
        if offset > 0:
            while self.pending and self.pending[0].update_id < offset:
                self.pending.popleft()
        elif offset < 0:
            while len(self.pending) > -offset:
                self.pending.popleft()

    def api_getupdates(self, p):
        offset = _to_int(p.get("offset") or 0, "invalid offset specified")
        limit = min(100, max(1, _to_int(p.get("limit") or 100, "invalid limit specified")))
        timeout = max(0.0, float(_to_int(p.get("timeout") or 0, "invalid timeout specified")))
        allowed = p.get("allowed_updates")
        with self.lock:
            if self.webhook is not None:
                raise CONFLICT_WEBHOOK
            if allowed is not None and allowed != "":
                value = load_json(allowed, "can't parse allowed updates JSON object")
                self.allowed_updates = [str(v) for v in value] if isinstance(value, list) else None
            # A newer getUpdates terminates the one in flight, as Telegram does.
            self.poll_gen += 1
            my_gen = self.poll_gen
            self.updates_cv.notify_all()
            self._confirm(offset)
            deadline = time.monotonic() + timeout
            self.polls_in_flight += 1
            try:
                while True:
                    if self.emu.stopping:
                        return []
                    if my_gen != self.poll_gen:
                        raise CONFLICT_OTHER_POLL
                    if self.webhook is not None:
                        raise CONFLICT_WEBHOOK
                    if self.pending:
                        batch = []
                        for rec in self.pending:
                            if len(batch) >= limit:
                                break
                            self._mark_available(rec)
                            batch.append(rec.payload)
                        return batch
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    self.updates_cv.wait(remaining)
            finally:
                self.polls_in_flight -= 1

    def api_setwebhook(self, p):
        url = str(p.get("url") or "")
        if not url:
            return self._delete_webhook(p, "Webhook is already deleted", "Webhook was deleted")
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        max_conn = _to_int(p.get("max_connections") or 40, "invalid max_connections specified")
        max_conn = min(100, max(1, max_conn))
        secret = p.get("secret_token")
        if secret and not all(c.isalnum() or c in "_-" for c in str(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get("allowed_updates")
        with self.lock:
            if _to_bool(p.get("drop_pending_updates")):
                self.pending.clear()
            if allowed is not None and allowed != "":
                value = load_json(allowed, "can't parse allowed updates JSON object")
                self.allowed_updates = [str(v) for v in value] if isinstance(value, list) else None
            old = self.webhook
            same = (
                old is not None
                and old.url == url
                and old.secret == (secret or None)
                and old.max_connections == max_conn
            )
            if same:
                return Described(True, "Webhook is already set")
            self.webhook = self.emu.make_webhook(self, url, secret or None, max_conn)
            self.updates_cv.notify_all()
        if old is not None:
            old.stop()
        self.webhook.start()
        return Described(True, "Webhook was set")

    def api_deletewebhook(self, p):
        return self._delete_webhook(p, "Webhook is already deleted", "Webhook was deleted")

    def _delete_webhook(self, p, already, done):
        with self.lock:
            if _to_bool(p.get("drop_pending_updates")):
                self.pending.clear()
            old = self.webhook
            self.webhook = None
            self.updates_cv.notify_all()
        if old is None:
            return Described(True, already)
        old.stop()
        return Described(True, done)

    def api_getwebhookinfo(self, p):
        with self.lock:
            info = {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self.pending),
            }
            hook = self.webhook
            if hook is not None:
                info.update(
                    {
                        "url": hook.url,
                        "max_connections": hook.max_connections,
                        "ip_address": "127.0.0.1",
                    }
                )
                if hook.last_error_date:
                    info["last_error_date"] = hook.last_error_date
                    info["last_error_message"] = hook.last_error_message
            if self.allowed_updates:
                info["allowed_updates"] = list(self.allowed_updates)
            return info

    # --- simple methods --------------------------------------------------------------------

    def api_getme(self, p):
        return {
            **self.user_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def api_getchat(self, p):
        with self.lock:
            chat = self._target_chat(p, sending=False)
            return {**chat.user.as_chat(), "accent_color_id": 0, "max_reaction_count": 11}

    def api_getfile(self, p):
        rec = self.emu.files.get(str(p.get("file_id") or ""))
        if rec is None or rec.data is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "file_size": rec.size,
            "file_path": rec.file_path,
        }

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
        msg = chat.messages.get(_to_int(p.get("message_id"), "message to edit not found"))
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
            msg = chat.messages.get(_to_int(p.get("message_id"), "message to delete not found"))
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
                    "show_alert": _to_bool(p.get("show_alert")),
                    "url": p.get("url"),
                    "time": time.time(),
                }
            )
            self.counts["callback_answers"] += 1
            chat.changed()
            return True

    # --- commands --------------------------------------------------------------------------

    def api_setmycommands(self, p):
        commands = parse_commands(p.get("commands") if p.get("commands") is not None else "[]")
        key = (parse_scope(p.get("scope")), str(p.get("language_code") or ""))
        with self.lock:
            if commands:
                self.commands[key] = commands
            else:
                self.commands.pop(key, None)
            return True

    def api_getmycommands(self, p):
        key = (parse_scope(p.get("scope")), str(p.get("language_code") or ""))
        with self.lock:
            return list(self.commands.get(key, []))

    def api_deletemycommands(self, p):
        key = (parse_scope(p.get("scope")), str(p.get("language_code") or ""))
        with self.lock:
            self.commands.pop(key, None)
            return True

    def menu_for(self, user: SimUserData) -> list[dict]:
        """The command menu Telegram would show this user in the private chat. Lock held."""
        lang = user.language_code or ""
        cid = str(user.id)
        for scope in (("chat", cid), ("all_private_chats",), ("default",)):
            for key in ((scope, lang), (scope, "")):
                if key in self.commands:
                    return self.commands[key]
        return []

    # --- what users do (called by the emulator with the lock held) ----------------------

    def user_message(self, chat: Chat, content: dict) -> int | None:
        if chat.blocked:
            raise RuntimeError(f"user {chat.id} has blocked the bot; unblock first")
        chat.started = True
        mid = chat.next_message_id
        chat.next_message_id += 1
        msg = {
            "message_id": mid,
            "from": chat.user.as_user(),
            "chat": chat.user.as_chat(),
            "date": int(time.time()),
            **content,
        }
        chat.messages[mid] = Msg(mid, False, msg)
        text = content.get("text")
        kb = chat.reply_keyboard
        if (
            text is not None
            and kb
            and kb.get("one_time_keyboard")
            and any(b["text"] == text for row in kb["keyboard"] for b in row)
        ):
            chat.reply_keyboard = None
        chat.events.append(
            {
                "kind": "message",
                "from": "user",
                "message_id": mid,
                "time": time.time(),
                "message": msg,
                "text": text,
            }
        )
        chat.changed()
        return self.push_update(chat, "message", msg)

    def user_press(self, chat: Chat, message_id: int, data: str) -> int | None:
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted or not msg.from_bot:
            raise LookupError(f"no message {message_id} from the bot in chat {chat.id}")
        if data not in callback_buttons(msg.data.get("reply_markup")):
            raise LookupError(
                f"message {message_id} has no inline button with callback_data {data!r}"
            )
        if chat.blocked:
            raise RuntimeError(f"user {chat.id} has blocked the bot; unblock first")
        qid = str(secrets.randbits(62))
        query = {
            "id": qid,
            "from": chat.user.as_user(),
            "message": msg.data,
            "chat_instance": str(self.id * 1_000_003 + chat.id),
            "data": data,
        }
        uid = self.push_update(chat, "callback_query", query)
        self.queries[qid] = {
            "created": time.monotonic(),
            "answered": False,
            "update_id": uid,
            "chat_id": chat.id,
            "message_id": message_id,
        }
        chat.events.append(
            {
                "kind": "callback",
                "from": "user",
                "message_id": message_id,
                "data": data,
                "callback_query_id": qid,
                "time": time.time(),
            }
        )
        chat.changed()
        return uid

    def user_block(self, chat: Chat, blocked: bool) -> int | None:
        if chat.blocked == blocked:
            return None
        chat.blocked = blocked
        chat.events.append(
            {"kind": "block" if blocked else "unblock", "from": "user", "time": time.time()}
        )
        chat.changed()
        if not chat.started:
            return None
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        bot_user = self.user_dict()
        member = {
            "chat": chat.user.as_chat(),
            "from": chat.user.as_user(),
            "date": int(time.time()),
            "old_chat_member": {"user": bot_user, "status": old},
            "new_chat_member": {"user": bot_user, "status": new},
        }
        if blocked:
            member["new_chat_member"]["until_date"] = 0
        return self.push_update(chat, "my_chat_member", member, expects_answer=False)


class Described:
    """A result that Telegram answers with a description, e.g. "Webhook was set"."""

    __slots__ = ("description", "result")

    def __init__(self, result, description):
        self.result = result
        self.description = description


def _to_int(value, error: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(error) from None


def _to_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
