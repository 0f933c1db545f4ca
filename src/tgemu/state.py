"""One bot's world: its updates, chats, messages, callback queries and commands.

Every Bot API method of the emulator is a method of Bot named api_<lowercased method>; they
live in one mixin per concern (updates.py, messages.py, commands.py, groups.py,
payments.py). All state of a
bot is guarded by its one lock; each chat has a condition on that lock so waiters (tests, the
web chat, the load driver) wake only for their own chat.
"""

import collections
import secrets
import threading
import time

from tgemu.commands import CommandsMixin
from tgemu.config import TokenBucket, retry_after_seconds
from tgemu.errors import bad_request, forbidden, too_many_requests
from tgemu.groups import GroupsMixin
from tgemu.markup import callback_buttons
from tgemu.messages import MessagesMixin
from tgemu.model import Chat, Described, Msg, SimUserData, UpdateRec
from tgemu.payments import PaymentsMixin
from tgemu.updates import DEFAULT_UPDATE_TYPES, UpdatesMixin

__all__ = ["DEFAULT_UPDATE_TYPES", "Bot", "Chat", "Described", "SimUserData"]


class Bot(UpdatesMixin, MessagesMixin, CommandsMixin, GroupsMixin, PaymentsMixin):
    """State and Bot API methods of one bot token."""

    def __init__(
        self,
        emu,
        token: str,
        username: str | None = None,
        first_name: str | None = None,
        privacy_mode: bool = True,
    ):
        self.emu = emu
        self.privacy_mode = privacy_mode  # Telegram's group privacy mode, on for a new bot
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
        self.invoices: dict[tuple[int, int], dict] = {}  # (chat id, message id) -> details
        self.checkouts: dict = {}  # pre_checkout_query id -> payments.Checkout
        self.redeliveries = 0  # redelivered updates (old ids) still pending
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
        if isinstance(raw, str) and raw.startswith("@"):
            data = self.emu.group_by_username(raw[1:])
            if data is None:
                raise bad_request("chat not found")
            return self._group_target(data, sending)
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat_id < 0:
            data = self.emu.group_data(chat_id)
            if data is None:
                raise bad_request("chat not found")
            return self._group_target(data, sending)
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
        minute_bucket = None
        if not chat.private and cfg.per_group_per_minute:
            if chat.minute_bucket is None:
                per_minute = cfg.per_group_per_minute
                chat.minute_bucket = TokenBucket(per_minute / 60.0, per_minute)
            minute_bucket = chat.minute_bucket
            wait = minute_bucket.take(now)
            if wait:
                self.counts["rate_limited"] += 1
                raise too_many_requests(retry_after_seconds(wait))
        if cfg.per_chat_rate:
            if chat.bucket is None:
                chat.bucket = TokenBucket(cfg.per_chat_rate, cfg.per_chat_burst)
            chat_bucket = chat.bucket
            wait = chat_bucket.take(now)
            if wait:
                if minute_bucket is not None:
                    minute_bucket.tokens += 1.0
                self.counts["rate_limited"] += 1
                raise too_many_requests(retry_after_seconds(wait))
        if cfg.global_rate:
            if self.global_bucket is None:
                self.global_bucket = TokenBucket(
                    cfg.global_rate, cfg.global_burst or cfg.global_rate
                )
            wait = self.global_bucket.take(now)
            if wait:
                for bucket in (chat_bucket, minute_bucket):
                    if bucket is not None:
                        bucket.tokens += 1.0  # this send did not happen: give it back
                self.counts["rate_limited"] += 1
                raise too_many_requests(retry_after_seconds(wait))

    def reset_limits(self):
        with self.lock:
            self.global_bucket = None
            for chat in self.chats.values():
                chat.bucket = None
                chat.minute_bucket = None

    def _answer_from_chat(self, chat: Chat):
        """A send or edit to a chat answers that chat's oldest unanswered delivered update."""
        now = time.monotonic()
        while chat.unanswered:
            rec = self.records.get(chat.unanswered.popleft())
            if rec is not None and rec.answered is None:
                rec.answered = now
                self.counts["updates_answered"] += 1
                return

    # --- simple methods --------------------------------------------------------------------

    def api_getme(self, p):
        return {
            **self.user_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def api_getchat(self, p):
        with self.lock:
            chat = self._target_chat(p, sending=False)
            if not chat.private:
                return self.group_info(chat)
            return {**chat.as_chat(), "accent_color_id": 0, "max_reaction_count": 11}

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

    def user_press(self, chat: Chat, message_id: int, data: str, presser=None) -> int | None:
        """A button press by the chat's user, or in a group by presser (a SimUserData)."""
        presser = presser or chat.user
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted or not msg.from_bot:
            raise LookupError(f"no message {message_id} from the bot in chat {chat.id}")
        if data not in callback_buttons(msg.data.get("reply_markup")):
            raise LookupError(
                f"message {message_id} has no inline button with callback_data {data!r}"
            )
        if chat.blocked:
            raise RuntimeError(f"user {chat.id} has blocked the bot; unblock first")
        if not chat.private and chat.status not in ("member", "administrator"):
            raise RuntimeError(f"bot {self.username} is not a member of chat {chat.id}")
        qid = str(secrets.randbits(62))
        query = {
            "id": qid,
            "from": presser.as_user(),
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
                "user_id": presser.id,
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
