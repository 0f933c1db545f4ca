"""The catch-all: anything no other module handled gets a clear answer, never silence."""

from __future__ import annotations

import telebot
from telebot import types

ALL_CONTENT = [
    "audio", "photo", "voice", "video", "document", "location", "contact", "sticker",
    "video_note", "animation", "venue", "dice", "poll", "story", "game", "invoice",
]


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the catch-all handlers (must be the last module)."""

    # Only private chats: in a group, chatter not meant for the bot must stay unanswered.
    @bot.message_handler(func=lambda m: (m.text or "").startswith("/"), chat_types=["private"])
    def unknown_command(message: types.Message) -> None:
        ctx = deps.context()
        command = message.text.split()[0][:64]
        ctx.reply(ctx.texts("unknown_command", command=command))

    @bot.message_handler(content_types=["text"], chat_types=["private"])
    def unknown_text(message: types.Message) -> None:
        ctx = deps.context()
        member = ctx.member
        key = "unknown_text" if member and member.registered_at else "not_registered"
        ctx.reply(ctx.texts(key))

    @bot.message_handler(content_types=ALL_CONTENT, chat_types=["private"])
    def unsupported(message: types.Message) -> None:
        ctx = deps.context()
        ctx.reply(ctx.texts("unsupported_content"))

    @bot.callback_query_handler(func=lambda call: True)
    def stale_button(call: types.CallbackQuery) -> None:
        # Forged, stale or from an older version of the bot: stop the spinner, say so.
        ctx = deps.context()
        ctx.answer_callback(call.id, ctx.texts("stale_button"))
