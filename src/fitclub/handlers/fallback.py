"""The catch-all: anything no other module handled gets a clear answer, never silence."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub.locales import language_of, t

ALL_CONTENT = [
    "audio", "photo", "voice", "video", "document", "location", "contact", "sticker",
    "video_note", "animation", "venue", "dice", "poll",
]


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the catch-all handlers (must be the last module)."""

    # Only private chats: in a group, chatter not meant for the bot must stay unanswered.
    @bot.message_handler(func=lambda m: (m.text or "").startswith("/"), chat_types=["private"])
    def unknown_command(message: types.Message) -> None:
        command = message.text.split()[0][:64]
        deps.context().reply(t(language_of(message.from_user.language_code),
                               "unknown_command", command=command))

    @bot.message_handler(content_types=["text"], chat_types=["private"])
    def unknown_text(message: types.Message) -> None:
        deps.context().reply(t(language_of(message.from_user.language_code), "unknown_text"))

    @bot.message_handler(content_types=ALL_CONTENT, chat_types=["private"])
    def unsupported(message: types.Message) -> None:
        deps.context().reply(t(language_of(message.from_user.language_code),
                               "unsupported_content"))

    @bot.callback_query_handler(func=lambda call: True)
    def stale_button(call: types.CallbackQuery) -> None:
        # Forged, stale or from an older version of the bot: stop the spinner, say so.
        deps.context().answer_callback(call.id, t(language_of(call.from_user.language_code),
                                                  "stale_button"))
