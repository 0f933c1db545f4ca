"""The bot's own membership in chats: blocked or unblocked by a user; added to a group."""

from __future__ import annotations

import logging

import telebot
from telebot import types

from fitclub.db import rows
from fitclub.locales import Texts

log = logging.getLogger(__name__)

JOINED = ("member", "administrator", "restricted")


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the my_chat_member handler."""

    @bot.my_chat_member_handler()
    def membership_changed(update: types.ChatMemberUpdated) -> None:
        ctx = deps.context()
        chat = update.chat
        status = update.new_chat_member.status
        if chat.type == "private":
            query = "members.mark_blocked" if status == "kicked" else "members.clear_blocked"
            rows.execute(ctx.conn, query, {"telegram_id": update.from_user.id})
            return
        if status not in JOINED or update.old_chat_member.status in JOINED:
            return  # removed, or a change of rights while already in: nothing to say
        # Added to a group, supergroup or channel: the bot works in private chats only.
        # Say so once where a message can be read (not in a channel) and leave.
        log.info("added to %s %s; leaving", chat.type, chat.id)
        if chat.type in ("group", "supergroup"):
            adder = update.from_user
            tx = Texts(adder.language_code if adder else None)
            ctx.reply(tx("group_goodbye", bot=deps.bot_username() or "FitClubBot"),
                      chat_id=chat.id)
        ctx.enqueue("leaveChat", {"chat_id": chat.id}, chat_id=chat.id)
