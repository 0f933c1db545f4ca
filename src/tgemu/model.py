"""The records a bot's world is made of: users, group and channel chats, updates, messages."""

import collections
import dataclasses
import threading
import time

from tgemu.config import TokenBucket
from tgemu.errors import bad_request

# The sender Telegram puts in `from` of an anonymous group administrator's message.
GROUP_ANONYMOUS_BOT = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
GROUP_KINDS = ("group", "supergroup")


@dataclasses.dataclass
class SimUserData:
    """A simulated Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone_number: str | None = None
    type = "private"  # the kind of the private chat with this user

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


@dataclasses.dataclass
class GroupData:
    """A group, supergroup or channel: its members are simulated users (bots are per Bot)."""

    id: int
    type: str  # "group", "supergroup" or "channel"
    title: str
    username: str | None = None
    # user id -> "creator", "administrator" or "member"; the first member is the creator.
    members: dict[int, str] = dataclasses.field(default_factory=dict)
    last_bot_id: int | None = None  # the last bot that sent a message here (privacy mode)

    def as_chat(self) -> dict:
        out = {"id": self.id, "title": self.title}
        if self.username:
            out["username"] = self.username
        out["type"] = self.type
        return out

    @property
    def label(self) -> str:
        """How Telegram names this kind of chat in its errors: "the group chat" etc."""
        return f"{self.type} chat"


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
        "redelivered",
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
        self.redelivered = False  # queued again by Emulator.redeliver with its old update_id


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
    """One bot's view of a chat: the private chat with a user, or a group or channel.

    `peer` is the SimUserData of a private chat or the GroupData of a group or channel.
    """

    def __init__(self, bot, peer):
        self.peer = peer
        self.id = peer.id
        self.type = peer.type
        self.user = peer if peer.type == "private" else None
        self.started = False  # private: the user has written to the bot at least once
        self.blocked = False  # private: the user blocked the bot
        self.status = "left"  # groups and channels: the bot's own membership
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
        self.minute_bucket: TokenBucket | None = None  # groups: Telegram's 20 messages/minute

    @property
    def private(self) -> bool:
        return self.user is not None

    def as_chat(self) -> dict:
        return self.peer.as_chat()

    def changed(self):
        self.version += 1
        self.cv.notify_all()


class Described:
    """A result that Telegram answers with a description, e.g. "Webhook was set"."""

    __slots__ = ("description", "result")

    def __init__(self, result, description):
        self.result = result
        self.description = description


def to_int(value, error: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(error) from None


def to_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
