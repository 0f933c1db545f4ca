"""One way to register a feature's handlers: `Routes(bot, deps)`, then one line per command,
button or message, each handler guarded by a decorator from `fitclub.access`.

Commands and messages are for private chats: in a group, chatter not meant for the bot stays
unanswered. pyTelegramBotAPI runs the first handler whose filters match, in registration
order (see `fitclub.handlers.MODULES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import telebot
from telebot import types

from fitclub.access import Handler
from fitclub.callbacks import Action
from fitclub.deps import Deps

PRIVATE = ["private"]


class Routes:
    """Registers handlers on a bot, each called with the module's deps."""

    def __init__(self, bot: telebot.TeleBot, deps: Deps) -> None:
        self.bot = bot
        self.deps = deps

    def command(self, names: str | Sequence[str], handler: Handler) -> None:
        """`/name` (or any of several names) in a private chat."""
        commands = [names] if isinstance(names, str) else list(names)
        self.bot.register_message_handler(partial(handler, self.deps), commands=commands,
                                          chat_types=PRIVATE)

    def button(self, match: Action | Callable[[types.CallbackQuery], bool],
               handler: Handler) -> None:
        """A press of a button of this kind (`Action`), or one `match` accepts."""
        func = match.matches() if isinstance(match, Action) else match
        self.bot.register_callback_query_handler(partial(handler, self.deps), func=func)

    def message(self, handler: Handler, *, when: Callable[[Any], bool] | None = None,
                content_types: Sequence[str] = ("text",)) -> None:
        """A private message of these content types (that `when` accepts): flow steps and the
        catch-all."""
        self.bot.register_message_handler(partial(handler, self.deps), func=when,
                                          content_types=list(content_types),
                                          chat_types=PRIVATE)

    def my_chat_member(self, handler: Handler) -> None:
        """The bot's own membership in a chat changed (blocked, unblocked, added to a group)."""
        self.bot.register_my_chat_member_handler(partial(handler, self.deps))
