"""The emulator: bots by token, simulated users, limits and faults, and the HTTP server."""

import itertools
import logging
import random
import re
import threading
import time

from tgemu.config import Config
from tgemu.errors import NOT_FOUND, UNAUTHORIZED, ApiError, too_many_requests
from tgemu.files import FileStore
from tgemu.model import GroupData, SimUserData
from tgemu.observe import ObservationsMixin, percentiles
from tgemu.state import Bot, Described
from tgemu.users import Channel, Group, SimUser
from tgemu.webhook import Webhook

__all__ = ["Channel", "DropConnection", "Emulator", "Group", "Params", "SimUser", "percentiles"]
log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{35}$")
METHODS = {name[4:]: getattr(Bot, name) for name in dir(Bot) if name.startswith("api_")}
CANONICAL = {
    m.lower(): m
    for m in (
        "getMe",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "sendMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
        "sendPhoto",
        "sendDocument",
        "sendChatAction",
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "getChat",
        "getChatMember",
        "leaveChat",
        "getFile",
        "sendInvoice",
        "answerPreCheckoutQuery",
    )
}
INTERNAL_ERROR = {"ok": False, "error_code": 500, "description": "Internal Server Error"}


class DropConnection(Exception):
    """An injected fault: the server must close the connection without answering."""


class Params:
    """Bot API call parameters merged from the query string, the body and uploaded files."""

    __slots__ = ("files", "values")

    def __init__(self, values: dict | None = None, files: dict | None = None):
        self.values = values or {}
        self.files = files or {}

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    def file(self, name: str):
        """(file_name, bytes, content_type) of an upload, or None."""
        return self.files.get(name)


class Emulator(ObservationsMixin):
    """A Telegram Bot API emulator on 127.0.0.1; see src/tgemu/README.md."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        global_rate: float | None = 30.0,
        per_chat_rate: float | None = 1.0,
        per_chat_burst: float = 3,
        **settings,
    ):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("tgemu listens on the loopback interface only")
        self.config = Config().updated(
            global_rate=global_rate,
            per_chat_rate=per_chat_rate,
            per_chat_burst=per_chat_burst,
            **settings,
        )
        self.host = host
        self.port = port
        self.files = FileStore()
        self.stopping = False
        self._lock = threading.Lock()
        self._bots: dict[str, Bot] = {}
        self._users: dict[int, SimUserData] = {}
        self._user_ids = itertools.count(1_000_001)
        self._groups: dict[int, GroupData] = {}
        # Telegram's shapes: basic groups -4xxxxxxxxx, supergroups and channels -100xxxxxxxxxx.
        self._group_ids = itertools.count(4_000_000_001)
        self._supergroup_ids = itertools.count(2_000_000_001)
        self._dice = random.Random(self.config.seed)
        self._server = None
        self._thread = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Emulator":
        """Start serving; port 0 picks a free port (read it from .port or .base_url)."""
        from tgemu.server import make_server

        if self._server is not None:
            return self
        self.stopping = False
        self._server = make_server(self, self.host, self.port)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="tgemu-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop the server, wake every waiter, stop webhook pushes, close open connections."""
        self.stopping = True
        with self._lock:
            bots = list(self._bots.values())
        hooks = []
        for bot in bots:
            with bot.lock:
                bot.updates_cv.notify_all()
                for chat in bot.chats.values():
                    chat.cv.notify_all()
                if bot.webhook is not None:
                    hooks.append(bot.webhook)
        for hook in hooks:
            hook.stop(wait=2.0)
        if self._server is not None:
            self._server.shutdown()
            self._server.close_all()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The value for pyTelegramBotAPI's apihelper.API_URL."""
        return self.base_url + "/bot{0}/{1}"

    # --- bots and users --------------------------------------------------------------------

    def add_bot(
        self,
        token: str,
        username: str | None = None,
        first_name: str | None = None,
        privacy_mode: bool | None = None,
    ) -> Bot:
        """Register a bot (any well-formed token also registers itself on first call).

        privacy_mode (default on, as for a new Telegram bot) limits which group messages reach it.
        """
        if not TOKEN_RE.match(token):
            raise ValueError("malformed bot token; expected <digits>:<35 characters>")
        with self._lock:
            bot = self._bots.get(token)
            if bot is None:
                bot = self._bots[token] = Bot(self, token, username, first_name)
            else:
                bot.username = username or bot.username
                bot.first_name = first_name or bot.first_name
            if privacy_mode is not None:
                bot.privacy_mode = bool(privacy_mode)
            return bot

    def bot(self, token: str) -> Bot:
        with self._lock:
            bot = self._bots.get(token)
        return bot if bot is not None else self.add_bot(token)

    def bots(self) -> list[Bot]:
        with self._lock:
            return list(self._bots.values())

    def open_chats(self, token: str, users: list[SimUser]) -> None:
        """These users have started the bot (a bot may only write to those), as if each had
        sent it a message, but without an update each: for seeding thousands of members."""
        bot = self.bot(token)
        with bot.lock:
            for user in users:
                bot.chat(user.data).started = True

    def create_user(
        self,
        first_name: str = "User",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> "SimUser":
        """A new simulated user (ids are unique; pass user_id to choose one)."""
        with self._lock:
            uid = user_id if user_id is not None else next(self._user_ids)
            while user_id is None and uid in self._users:
                uid = next(self._user_ids)
            if uid in self._users:
                raise ValueError(f"user {uid} already exists")
            data = SimUserData(
                int(uid),
                first_name,
                last_name,
                username,
                language_code,
                phone_number or f"+1555{uid % 10_000_000:07d}",
            )
            self._users[data.id] = data
        return SimUser(self, data)

    def user(self, user_id: int) -> "SimUser":
        with self._lock:
            data = self._users.get(int(user_id))
        if data is None:
            raise KeyError(f"no simulated user {user_id}")
        return SimUser(self, data)

    def users(self) -> list["SimUser"]:
        with self._lock:
            return [SimUser(self, d) for d in self._users.values()]

    def has_user(self, user_id: int) -> bool:
        with self._lock:
            return user_id in self._users

    def user_data(self, user_id: int) -> SimUserData | None:
        with self._lock:
            return self._users.get(user_id)

    def ensure_user(self, raw: dict) -> SimUserData:
        """The user with raw["id"], registered from a User or Chat object when unknown."""
        with self._lock:
            data = self._users.get(raw["id"])
            if data is None:
                data = SimUserData(
                    raw["id"],
                    str(raw.get("first_name") or "User"),
                    raw.get("last_name"),
                    raw.get("username"),
                    raw.get("language_code"),
                    f"+1555{raw['id'] % 10_000_000:07d}",
                )
                self._users[data.id] = data
            return data

    # --- groups and channels -----------------------------------------------------------------

    def create_group(
        self,
        title: str,
        members=(),
        supergroup: bool = False,
        username: str | None = None,
        chat_id: int | None = None,
    ) -> Group:
        """A group (id -4xxxxxxxxx) or supergroup (-100xxxxxxxxxx) of simulated users.

        The first member is its creator. The bot is not in it until group.add_bot().
        """
        kind = "supergroup" if supergroup else "group"
        data = self._new_chat(kind, title, username, chat_id)
        for n, user in enumerate(members):
            self.set_member(data, user.id, "creator" if n == 0 else "member")
        return Group(self, data)

    def create_channel(
        self, title: str, owner=None, username: str | None = None, chat_id: int | None = None
    ) -> Channel:
        """A channel (id -100xxxxxxxxxx); owner (a SimUser) is who adds the bot."""
        data = self._new_chat("channel", title, username, chat_id)
        if owner is not None:
            self.set_member(data, owner.id, "creator")
        return Channel(self, data)

    def _new_chat(self, kind, title, username, chat_id) -> GroupData:
        with self._lock:
            if chat_id is None:
                if kind == "group":
                    chat_id = -next(self._group_ids)
                else:
                    chat_id = -(10**12 + next(self._supergroup_ids))
                while chat_id in self._groups:
                    chat_id -= 1
            if chat_id >= 0 or chat_id in self._groups:
                raise ValueError(f"chat id {chat_id} is taken or not negative")
            data = self._groups[chat_id] = GroupData(chat_id, kind, title, username)
            return data

    def set_member(self, data: GroupData, user_id: int, status: str | None):
        """Set a user's membership in a group or channel (None removes them)."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(f"no simulated user {user_id}")
            if status is None:
                data.members.pop(user_id, None)
            else:
                data.members[user_id] = status

    def group(self, chat_id: int) -> Group:
        """The Group or Channel with this id; KeyError when unknown."""
        data = self.group_data(int(chat_id))
        if data is None:
            raise KeyError(f"no group or channel {chat_id}")
        return Channel(self, data) if data.type == "channel" else Group(self, data)

    def groups(self) -> list[Group]:
        with self._lock:
            datas = list(self._groups.values())
        return [Channel(self, d) if d.type == "channel" else Group(self, d) for d in datas]

    def group_data(self, chat_id: int) -> GroupData | None:
        with self._lock:
            return self._groups.get(chat_id)

    def group_by_username(self, username: str) -> GroupData | None:
        name = username.lower()
        with self._lock:
            for data in self._groups.values():
                if data.username and data.username.lower() == name:
                    return data
        return None

    def ensure_group(self, raw: dict) -> GroupData:
        """The group or channel with raw["id"], registered from a Chat object when unknown."""
        with self._lock:
            data = self._groups.get(raw["id"])
            if data is None:
                data = GroupData(
                    raw["id"], raw["type"], str(raw.get("title") or ""), raw.get("username")
                )
                self._groups[data.id] = data
            return data

    # --- raw updates and commands --------------------------------------------------------

    def inject_update(self, token: str, update: dict) -> int | None:
        """Deliver a raw Update JSON as it is; returns the update_id it got.

        update_id is always replaced by the bot's next one (a given one is ignored), so offsets
        stay in order. allowed_updates filters by the top-level kind as for any update (None
        is returned then); kinds tgemu does not know always pass.
        """
        bot = self.bot(token)
        with bot.lock:
            return bot.inject(update)

    def set_next_update_id(self, token: str, update_id: int) -> None:
        """The bot's next update gets this id, as when Telegram, after a week without updates,
        picks the next id at random (possibly one the bot saw before). Updates still queued
        keep theirs."""
        if isinstance(update_id, bool) or not isinstance(update_id, int) or update_id < 1:
            raise ValueError("update_id must be a positive integer")
        bot = self.bot(token)
        with bot.lock:
            bot.next_update_id = update_id

    def redeliver(self, token: str, update_id: int, same_id: bool = True) -> int:
        """Deliver an update the bot was given once more, as Telegram redelivers (a webhook
        answer that never came, an unconfirmed getUpdates batch): the same payload with the same
        update_id, delivered even though the bot's offset has passed it. same_id=False gives it
        the bot's next id instead. Returns the update_id it is delivered with."""
        bot = self.bot(token)
        with bot.lock:
            return bot.redeliver(int(update_id), same_id=bool(same_id))

    # --- payments ------------------------------------------------------------------------------

    def pay(
        self, token: str, user_id: int, message_id: int, *, decline: bool = False, tip: int = 0
    ) -> dict:
        """The user pays the bot's invoice `message_id` in their chat: the bot gets a
        pre_checkout_query and has config.pre_checkout_timeout (10 s) to answer it; on ok the
        provider charges (declining when decline=True or the invoice's provider token ends in
        ":DECLINE") and the bot gets a message with successful_payment. Blocks until then.

        Returns a dict: status ("paid", "refused", "declined", "timeout"), answered, ok,
        error_message, answer_seconds, timed_out, declined, pre_checkout_query_id,
        pre_checkout_update_id, currency, total_amount (tip included), successful_payment,
        successful_payment_update_id, successful_payment_message_id. LookupError when there is
        no such invoice; RuntimeError when it is paid already or the user blocked the bot.
        """
        user = self.user(user_id).data
        bot = self.bot(token)
        with bot.lock:
            return bot.user_pay(bot.chat(user), int(message_id), bool(decline), int(tip))

    def checkouts(self, token: str) -> list[dict]:
        """Every checkout of the bot, oldest first: query id, user, invoice, answered, ok,
        error_message, answer_seconds (from sending the pre_checkout_query to the answer),
        timed_out."""
        bot = self.bot(token)
        with bot.lock:
            return [c.as_dict() for c in bot.checkouts.values()]

    def checkout_percentiles(self, token: str) -> dict:
        """count, mean, p50, p90, p95, p99, max of the answered checkouts' answer times (s)."""
        times = [c["answer_seconds"] for c in self.checkouts(token) if c["answered"]]
        return percentiles(times)

    def commands_for(
        self,
        token: str,
        chat_id: int,
        language_code: str | None = None,
        user_id: int | None = None,
    ) -> list[dict]:
        """The commands Telegram would show in a chat's menu, by its documented lookup order.

        A private chat's id is its user's; language_code defaults to that user's. In a group,
        user_id picks the member (chat_member and administrator scopes).
        """
        chat_id = int(chat_id)
        if user_id is None and chat_id > 0:
            user_id = chat_id
        if language_code is None and user_id is not None:
            user = self.user_data(int(user_id))
            language_code = user.language_code if user is not None else None
        bot = self.bot(token)
        with bot.lock:
            return bot.commands_for(chat_id, language_code, user_id)

    def make_webhook(self, bot, url, secret, max_connections) -> Webhook:
        return Webhook(self, bot, url, secret, max_connections)

    # --- configuration -----------------------------------------------------------------------

    def configure(self, **changes) -> dict:
        """Change limits and faults at runtime; returns the new settings as a dict."""
        new = self.config.updated(**changes)
        self.config = new
        if "seed" in changes:
            self._dice = random.Random(new.seed)
        limits = {
            "global_rate",
            "global_burst",
            "per_chat_rate",
            "per_chat_burst",
            "per_group_per_minute",
        }
        if changes.keys() & limits:
            for bot in self.bots():
                bot.reset_limits()
        return new.as_dict()

    # --- the Bot API -------------------------------------------------------------------------

    def call(self, token: str, method: str, params: Params) -> tuple[int, dict]:  # noqa: PLR0911, PLR0912 - one branch per fault kind
        """Run one Bot API call; returns (HTTP status, JSON body). May raise DropConnection."""
        if not TOKEN_RE.match(token):
            return 401, UNAUTHORIZED.body()
        low = method.lower()
        func = METHODS.get(low)
        if func is None:
            return 404, NOT_FOUND.body()
        bot = self.bot(token)
        name = CANONICAL.get(low, method)
        cfg = self.config
        fault = None
        if cfg.fault_rate and cfg.faults_apply_to(low) and self._dice.random() < cfg.fault_rate:
            fault = self._dice.choice(cfg.fault_kinds)
        with bot.lock:
            bot.calls[name] += 1
            if fault:
                bot.faults[fault] += 1
        if fault == "drop":
            raise DropConnection
        if fault == "5xx":
            return 500, INTERNAL_ERROR
        if fault == "429":
            return 429, too_many_requests(cfg.fault_retry_after).body()
        if fault == "slow":
            time.sleep(cfg.slow_seconds)
        try:
            result = func(bot, params)
        except ApiError as exc:
            with bot.lock:
                bot.errors[exc.description] += 1
            if fault == "lost":
                raise DropConnection from None
            return exc.code, exc.body()
        except Exception:
            log.exception("tgemu failed on %s", name)
            return 500, INTERNAL_ERROR
        if fault == "lost":
            # Done, but the answer never arrives: the case where a client's retry duplicates.
            raise DropConnection
        if isinstance(result, Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}
