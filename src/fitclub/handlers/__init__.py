"""Handler modules, registered in order on the bot by the app factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

import telebot

from fitclub.config import Settings
from fitclub.handlers import chat_member, fallback, start
from fitclub.runtime.context import UpdateContext


@dataclass(frozen=True)
class Deps:
    """What handlers may use: settings and the current update's context."""

    settings: Settings
    context: Callable[[], UpdateContext]


# pyTelegramBotAPI runs the first handler whose filters match, so order matters:
# feature modules first, the catch-all `fallback` always last.
MODULES: tuple[ModuleType, ...] = (
    start,
    chat_member,
    fallback,
)


def register_all(bot: telebot.TeleBot, deps: Deps,
                 modules: Sequence[ModuleType] = MODULES) -> None:
    """Register every module's handlers on bot, in order."""
    for module in modules:
        module.register(bot, deps)
