"""/start registers the member (or greets them again); /help lists the commands."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub.db.queries import Q
from fitclub.locales import language_of, t


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /start and /help."""

    @bot.message_handler(commands=["start"], chat_types=["private"])
    def start(message: types.Message) -> None:
        ctx = deps.context()
        user = message.from_user
        with ctx.cursor() as cur:
            cur.execute(Q["members.upsert_from_telegram"], {
                "telegram_id": user.id,
                "first_name": (user.first_name or "").strip() or "—",
                "last_name": user.last_name,
                "language": language_of(user.language_code),
                "admin_ids": list(deps.settings.admin_telegram_ids),
            })
            _member_id, lang, _role, created = cur.fetchone()
        key = "welcome" if created else "welcome_back"
        ctx.reply(t(lang, key, name=user.first_name or ""))

    @bot.message_handler(commands=["help"])
    def help_(message: types.Message) -> None:
        deps.context().reply(t(language_of(message.from_user.language_code), "help"))
