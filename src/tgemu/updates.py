"""Updates: the queue, getUpdates, webhooks, allowed_updates and raw update injection."""

import time

from tgemu.errors import CONFLICT_OTHER_POLL, CONFLICT_WEBHOOK, bad_request
from tgemu.markup import load_json
from tgemu.model import Described, Msg, UpdateRec, to_bool, to_int

# Every update kind of the Bot API; a kind outside this set is "unknown" to tgemu.
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Telegram's default excludes these three; everything else arrives unless filtered.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
DEFAULT_UPDATE_TYPES = UPDATE_TYPES - DEFAULT_EXCLUDED
_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


class UpdatesMixin:
    """The update half of Bot: queueing, delivery and confirmation."""

    def allows(self, kind: str | None) -> bool:
        """allowed_updates applies to kinds tgemu knows; unknown kinds always pass."""
        if kind not in UPDATE_TYPES:
            return True
        allowed = self.allowed_updates
        if not allowed:
            return kind not in DEFAULT_EXCLUDED
        return kind in allowed

    def push_update(self, chat, kind: str, obj: dict, expects_answer=True) -> int | None:
        """Queue an update in a chat; None when allowed_updates filters it out. Lock held."""
        return self._queue(kind, {kind: obj}, None if chat is None else chat.id, expects_answer)

    def _queue(self, kind, body: dict, chat_id, expects_answer) -> int | None:
        self.counts["updates"] += 1
        if not self.allows(kind):
            self.counts["updates_filtered"] += 1
            return None
        uid = self.next_update_id
        self.next_update_id += 1
        rec = UpdateRec(uid, kind, {"update_id": uid, **body}, chat_id, expects_answer)
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
        if offset > 0 and self.redeliveries:
            # A redelivered update keeps its old id: it stays until the bot has been given it.
            kept = [
                r
                for r in self.pending
                if r.update_id >= offset or (r.redelivered and r.available is None)
            ]
            if len(kept) != len(self.pending):
                self.pending.clear()
                self.pending.extend(kept)
            self.redeliveries = sum(1 for r in kept if r.redelivered)
        elif offset > 0:
            while self.pending and self.pending[0].update_id < offset:
                self.pending.popleft()
        elif offset < 0:
            while len(self.pending) > -offset:
                self.pending.popleft()

    # --- raw injection ------------------------------------------------------------------------

    def inject(self, update: dict) -> int | None:
        """Queue a raw Update as it is, with this bot's next update_id. Lock held.

        What tgemu can read from a known shape is mirrored into its state (the user or group,
        the message, the callback query, the bot's membership) so the bot's answers work;
        anything else is delivered untouched and expects no answer.
        """
        if not isinstance(update, dict):
            raise TypeError("update must be a JSON object")
        body = {k: v for k, v in update.items() if k != "update_id"}
        kind = next(iter(body), None)
        chat, expects = self._mirror(kind, body.get(kind))
        return self._queue(kind, body, None if chat is None else chat.id, expects)

    def _mirror(self, kind, obj):
        """Reflect an injected update in tgemu's state; returns (chat or None, expects_answer)."""
        if not isinstance(obj, dict):
            return None, False
        message = obj.get("message") if kind == "callback_query" else obj
        raw_chat = message.get("chat") if isinstance(message, dict) else None
        chat = self._known_chat(raw_chat, obj.get("from"))
        if chat is None:
            return None, False
        if kind in _MESSAGE_KINDS:
            self._store_injected(chat, obj, edited=kind.startswith("edited_"))
            if not chat.private and chat.status in ("left", "kicked"):
                # Telegram shows a bot a group's messages only while it is in the group.
                chat.status = "administrator" if chat.type == "channel" else "member"
            if kind == "message" and chat.private:
                chat.started = True
                return chat, not chat.blocked
            return chat, False
        if kind == "callback_query" and isinstance(obj.get("id"), str):
            self.queries[obj["id"]] = {
                "created": time.monotonic(),
                "answered": False,
                "update_id": self.next_update_id,
                "chat_id": chat.id,
                "message_id": message.get("message_id"),
            }
            return chat, True
        if kind == "my_chat_member":
            new = (obj.get("new_chat_member") or {}).get("status")
            if chat.private:
                chat.started = True
                chat.blocked = new == "kicked"
            elif isinstance(new, str):
                chat.status = new
            chat.changed()
        return chat, False

    def _known_chat(self, raw_chat, sender):
        """The Chat an injected shape names, registering its user or group when new."""
        if not isinstance(raw_chat, dict) or not isinstance(raw_chat.get("id"), int):
            return None
        kind = raw_chat.get("type")
        if kind == "private":
            same = isinstance(sender, dict) and sender.get("id") == raw_chat["id"]
            person = sender if same else raw_chat
            return self.chat(self.emu.ensure_user(person))
        if kind in ("group", "supergroup", "channel"):
            return self.group_chat(self.emu.ensure_group(raw_chat))
        return None

    def _store_injected(self, chat, msg: dict, edited: bool):
        mid = msg.get("message_id")
        if not isinstance(mid, int) or mid <= 0:
            return
        chat.next_message_id = max(chat.next_message_id, mid + 1)
        old = chat.messages.get(mid)
        if edited and old is not None:
            old.data = msg
            old.edited = True
        elif not edited:
            chat.messages[mid] = Msg(mid, False, msg)
            chat.events.append(
                {
                    "kind": "message",
                    "from": "user",
                    "message_id": mid,
                    "time": time.time(),
                    "message": msg,
                    "text": msg.get("text"),
                    "injected": True,
                }
            )
        chat.changed()

    # --- getUpdates and webhooks -------------------------------------------------------------

    def _set_allowed(self, allowed):
        if allowed is not None and allowed != "":
            value = load_json(allowed, "can't parse allowed updates JSON object")
            self.allowed_updates = [str(v) for v in value] if isinstance(value, list) else None

    def api_getupdates(self, p):
        offset = to_int(p.get("offset") or 0, "invalid offset specified")
        limit = min(100, max(1, to_int(p.get("limit") or 100, "invalid limit specified")))
        timeout = max(0.0, float(to_int(p.get("timeout") or 0, "invalid timeout specified")))
        with self.lock:
            if self.webhook is not None:
                raise CONFLICT_WEBHOOK
            self._set_allowed(p.get("allowed_updates"))
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
        max_conn = to_int(p.get("max_connections") or 40, "invalid max_connections specified")
        max_conn = min(100, max(1, max_conn))
        secret = p.get("secret_token")
        if secret and not all(c.isalnum() or c in "_-" for c in str(secret)):
            raise bad_request("secret token contains unallowed characters")
        with self.lock:
            if to_bool(p.get("drop_pending_updates")):
                self.pending.clear()
            self._set_allowed(p.get("allowed_updates"))
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
            if to_bool(p.get("drop_pending_updates")):
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
