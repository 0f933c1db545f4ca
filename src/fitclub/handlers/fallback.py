"""The catch-all: anything no other module handled gets a clear answer, never silence.

This module must be registered last (see `fitclub.handlers.MODULES`): pyTelegramBotAPI runs
the first handler whose filters match, and these match everything. Messages are answered in
private chats only (`Routes`); in a group, chatter not meant for the bot stays unanswered.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub.access import anyone
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext

ALL_CONTENT = [
    "audio", "photo", "voice", "video", "document", "location", "contact", "sticker",
    "video_note", "animation", "venue", "dice", "poll", "story", "game", "invoice",
]


def _is_command(message: types.Message) -> bool:
    return (message.text or "").startswith("/")


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the catch-all handlers (must be the last module)."""
    routes = Routes(bot, deps)
    # A command no module took comes before the plain-text answer, which would take it too.
    routes.message(unknown_command, when=_is_command)
    routes.message(unknown_text)
    routes.message(unsupported, content_types=ALL_CONTENT)
    routes.button(lambda call: True, stale_button)


@anyone
def unknown_command(deps: Deps, ctx: UpdateContext, member: Member | None,
                    message: types.Message) -> None:
    command = message.text.split()[0][:64]
    ctx.reply(ctx.texts("unknown_command", command=command))


@anyone
def unknown_text(deps: Deps, ctx: UpdateContext, member: Member | None,
                 message: types.Message) -> None:
    ctx.reply(ctx.texts("unknown_text" if member is not None else "not_registered"))


@anyone
def unsupported(deps: Deps, ctx: UpdateContext, member: Member | None,
                message: types.Message) -> None:
    ctx.reply(ctx.texts("unsupported_content"))


@anyone
def stale_button(deps: Deps, ctx: UpdateContext, member: Member | None,
                 call: types.CallbackQuery) -> None:
    """Forged, stale or from an older version of the bot: stop the spinner, say so."""
    ctx.answer_callback(call.id, ctx.texts("stale_button"))
