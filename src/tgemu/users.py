"""What simulated people do: SimUser in private chats, Group and Channel handles in groups."""

import re
import time

from tgemu.model import GroupData, SimUserData
from tgemu.textparse import utf16_len

_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def text_content(text: str) -> dict:
    """A text message's content, with bot_command entities as Telegram's clients mark them."""
    content = {"text": text}
    entities = [
        {
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group(0)),
            "type": "bot_command",
        }
        for m in _COMMAND_RE.finditer(text)
    ]
    if entities:
        content["entities"] = entities
    return content


class _ChatReader:
    """Reading what a bot sent in one chat: SimUser's private chat, or a group or channel."""

    emu = None

    def _chat(self, bot):
        raise NotImplementedError

    def wait_for_messages(self, token: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """The next `count` bot messages not yet returned by a wait; raises TimeoutError."""
        bot = self.emu.bot(token)
        deadline = time.monotonic() + timeout
        with bot.lock:
            chat = self._chat(bot)
            while len(chat.sent) - chat.read_cursor < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.emu.stopping:
                    got = len(chat.sent) - chat.read_cursor
                    raise TimeoutError(
                        f"{self!r}: {got} of {count} bot message(s) within {timeout}s"
                    )
                chat.cv.wait(remaining)
            out = chat.sent[chat.read_cursor : chat.read_cursor + count]
            chat.read_cursor += count
            return list(out)

    def read_messages(self, token: str) -> list[dict]:
        """Every bot message not yet returned by a wait or read, without waiting."""
        bot = self.emu.bot(token)
        with bot.lock:
            chat = self._chat(bot)
            out = chat.sent[chat.read_cursor :]
            chat.read_cursor = len(chat.sent)
            return list(out)

    def skip_messages(self, token: str) -> int:
        """Mark every bot message so far as read by wait_for_messages; returns how many."""
        bot = self.emu.bot(token)
        with bot.lock:
            chat = self._chat(bot)
            skipped = len(chat.sent) - chat.read_cursor
            chat.read_cursor = len(chat.sent)
            return skipped

    def current_message(self, token: str, message_id: int) -> dict | None:
        """A message as it is now (after edits); None if deleted or unknown."""
        bot = self.emu.bot(token)
        with bot.lock:
            msg = self._chat(bot).messages.get(int(message_id))
            return None if msg is None or msg.deleted else msg.data


class SimUser(_ChatReader):
    """A simulated Telegram user; every action names the bot by its token."""

    def __init__(self, emu, data: SimUserData):
        self.emu = emu
        self.data = data

    def __repr__(self):
        return f"SimUser(id={self.id}, first_name={self.data.first_name!r})"

    @property
    def id(self) -> int:
        return self.data.id

    def _chat(self, bot):
        return bot.chat(self.data)

    def _act(self, token, action):
        bot = self.emu.bot(token)
        with bot.lock:
            return action(bot, bot.chat(self.data))

    def send_text(self, token: str, text: str) -> int | None:
        """Send a text (commands get their bot_command entity); returns the update_id."""
        content = text_content(text)
        return self._act(token, lambda bot, chat: bot.user_message(chat, content))

    def send_contact(
        self, token: str, phone: str | None = None, first_name: str | None = None
    ) -> int | None:
        """Share a contact; by default the user's own, as a request_contact button does."""
        contact = {
            "phone_number": phone or self.data.phone_number,
            "first_name": first_name or self.data.first_name,
        }
        if phone is None or phone == self.data.phone_number:
            contact["user_id"] = self.id
        return self._act(token, lambda bot, chat: bot.user_message(chat, {"contact": contact}))

    def send_location(self, token: str, latitude: float, longitude: float) -> int | None:
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._act(token, lambda bot, chat: bot.user_message(chat, {"location": location}))

    def send_photo(self, token: str, data: bytes, caption: str | None = None) -> int | None:
        rec = self.emu.files.add("photo", bytes(data), None, None)
        content = {"photo": rec.photo_sizes()}
        if caption:
            content["caption"] = caption
        return self._act(token, lambda bot, chat: bot.user_message(chat, content))

    def send_document(
        self,
        token: str,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> int | None:
        rec = self.emu.files.add("document", bytes(data), file_name, mime_type)
        content = {"document": rec.document()}
        if caption:
            content["caption"] = caption
        return self._act(token, lambda bot, chat: bot.user_message(chat, content))

    def press_button(self, token: str, message_id: int, callback_data: str) -> int | None:
        """Press an inline button; raises LookupError unless the bot's message shows it."""
        return self._act(
            token, lambda bot, chat: bot.user_press(chat, int(message_id), callback_data)
        )

    def pay(self, token: str, message_id: int, *, decline: bool = False, tip: int = 0) -> dict:
        """Pay the bot's invoice message_id: the whole checkout (see Emulator.pay)."""
        return self.emu.pay(token, self.id, message_id, decline=decline, tip=tip)

    def block(self, token: str) -> int | None:
        """Block the bot (it gets a my_chat_member update and 403 on sends)."""
        return self._act(token, lambda bot, chat: bot.user_block(chat, True))

    def unblock(self, token: str) -> int | None:
        return self._act(token, lambda bot, chat: bot.user_block(chat, False))

    def send_text_to(self, token: str, chat_id: int, text: str) -> int | None:
        """Send a text to the bot's private chat (chat_id = own id) or to a group one is in."""
        if int(chat_id) == self.id:
            return self.send_text(token, text)
        return self.emu.group(chat_id).send_text(token, self, text)


class Group(_ChatReader):
    """A group or supergroup with simulated members; every action names the bot by its token.

    Message ids and the transcript are per bot: each bot sees its own copy of the group.
    """

    def __init__(self, emu, data: GroupData):
        self.emu = emu
        self.data = data

    def __repr__(self):
        return f"{type(self).__name__}(id={self.id}, title={self.data.title!r})"

    @property
    def id(self) -> int:
        return self.data.id

    @property
    def title(self) -> str:
        return self.data.title

    @property
    def type(self) -> str:
        return self.data.type

    def _chat(self, bot):
        return bot.group_chat(self.data)

    def _act(self, token, action):
        bot = self.emu.bot(token)
        with bot.lock:
            return action(bot, bot.group_chat(self.data))

    def _by(self, by) -> dict:
        """The user dict of who acts: `by` (a SimUser) or the chat's creator."""
        if by is not None:
            return by.data.as_user()
        creator = next(iter(self.data.members), None)
        if creator is None:
            raise ValueError(f"{self!r} has no members; pass by=")
        return self.emu.user_data(creator).as_user()

    def members(self) -> list:
        """The simulated users in this chat, creator first."""
        return [self.emu.user(uid) for uid in list(self.data.members)]

    def member_status(self, user) -> str:
        """Their status here: "creator", "administrator", "member" or "left"."""
        return self.data.members.get(user.id, "left")

    def add_member(self, user, status: str = "member"):
        """Add a simulated user (silently: no update is sent for other members)."""
        if status not in ("creator", "administrator", "member"):
            raise ValueError(f"unknown member status {status!r}")
        self.emu.set_member(self.data, user.id, status)

    def remove_member(self, user):
        self.emu.set_member(self.data, user.id, None)

    def add_bot(self, token: str, by=None, administrator: bool = False) -> int | None:
        """Add the bot: it gets my_chat_member (left -> member or administrator) and, in a
        group or supergroup, the `new_chat_members` service message. Returns the first's
        update_id (None if filtered or nothing changed)."""
        status = "administrator" if administrator else "member"
        by_user = self._by(by)
        return self._act(token, lambda bot, chat: bot.set_status(chat, status, by_user))

    def promote_bot(self, token: str, by=None) -> int | None:
        """Make the bot an administrator (my_chat_member member -> administrator)."""
        return self.add_bot(token, by, administrator=True)

    def remove_bot(self, token: str, by=None) -> int | None:
        """Remove the bot: my_chat_member -> "left" in a group, "kicked" in a supergroup or
        channel (Telegram bans on removal there)."""
        status = "left" if self.data.type == "group" else "kicked"
        by_user = self._by(by)
        return self._act(token, lambda bot, chat: bot.set_status(chat, status, by_user))

    def bot_status(self, token: str) -> str:
        """The bot's membership here: "left", "member", "administrator" or "kicked"."""
        return self._act(token, lambda bot, chat: chat.status)

    def _content(self, user, text, reply_to):
        if user is not None and user.id not in self.data.members:
            raise LookupError(f"{user!r} is not a member of {self!r}")
        content = text_content(text)
        if reply_to is not None:
            content["reply_to_message_id"] = int(reply_to)
        return content

    def send_text(self, token: str, user, text: str, reply_to: int | None = None) -> int | None:
        """A member writes; returns the update_id, None when privacy mode hides it from the bot
        (or allowed_updates filters it)."""
        content = self._content(user, text, reply_to)
        sender = user.data.as_user()
        return self._act(token, lambda bot, chat: bot.member_message(chat, sender, content))

    def send_anonymous(self, token: str, text: str, reply_to: int | None = None) -> int | None:
        """An anonymous administrator writes: `from` is GroupAnonymousBot, `sender_chat` the
        group, as the Bot API shows it."""
        content = self._content(None, text, reply_to)
        return self._act(
            token, lambda bot, chat: bot.member_message(chat, None, content, anonymous=True)
        )

    def press_button(self, token: str, user, message_id: int, callback_data: str) -> int | None:
        """A member presses an inline button of the bot's message here."""
        if user.id not in self.data.members:
            raise LookupError(f"{user!r} is not a member of {self!r}")
        return self._act(
            token,
            lambda bot, chat: bot.user_press(chat, int(message_id), callback_data, user.data),
        )

    def transcript(self, token: str, include_user: bool = False) -> list[dict]:
        return self.emu.transcript(token, self.id, include_user=include_user)


class Channel(Group):
    """A channel: the bot joins as an administrator and gets channel_post updates."""

    def add_bot(self, token: str, by=None, administrator: bool = True) -> int | None:
        """Add the bot as an administrator (bots join channels only so): my_chat_member."""
        return super().add_bot(token, by, administrator=True)

    def post(self, token: str, text: str, author_signature: str | None = None) -> int | None:
        """Publish a post; the bot gets channel_post (no `from`, `sender_chat` = the channel).
        Returns the update_id."""
        content = text_content(text)
        return self._act(token, lambda bot, chat: bot.channel_post(chat, content, author_signature))

    def edit_post(self, token: str, message_id: int, text: str) -> int | None:
        """Edit a post; the bot gets edited_channel_post."""
        content = text_content(text)
        return self._act(
            token, lambda bot, chat: bot.edit_channel_post(chat, int(message_id), content)
        )

    def last_post_id(self, token: str) -> int | None:
        """The message_id of the newest post in the bot's view of the channel."""

        def newest(bot, chat):
            ids = [m.message_id for m in chat.messages.values() if not m.from_bot]
            return max(ids) if ids else None

        return self._act(token, newest)
