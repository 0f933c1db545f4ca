"""Telegram tells us when a user blocks or unblocks the bot; record it on the member."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub.db.queries import Q


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the my_chat_member handler."""

    @bot.my_chat_member_handler()
    def membership_changed(update: types.ChatMemberUpdated) -> None:
        if update.chat.type != "private":
            return
        status = update.new_chat_member.status
        query = "members.mark_blocked" if status == "kicked" else "members.clear_blocked"
        with deps.context().cursor() as cur:
            cur.execute(Q[query], {"telegram_id": update.from_user.id})
