"""The bot's own membership in chats: blocked or unblocked by a user; added to a group."""

from __future__ import annotations

import logging

import telebot
from telebot import types

from fitclub.access import anyone
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.locales import Texts
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.services import account

log = logging.getLogger(__name__)

JOINED = ("member", "administrator", "restricted")


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the my_chat_member handler."""
    routes = Routes(bot, deps)
    routes.my_chat_member(membership_changed)


@anyone
def membership_changed(deps: Deps, ctx: UpdateContext, member: Member | None,
                       update: types.ChatMemberUpdated) -> None:
    chat = update.chat
    status = update.new_chat_member.status
    if chat.type == "private":
        account.set_blocked(ctx.conn, update.from_user.id, status == "kicked")
        return
    if status not in JOINED or update.old_chat_member.status in JOINED:
        return  # removed, or a change of rights while already in: nothing to say
    # Added to a group, supergroup or channel: the bot works in private chats only.
    # Say so once where a message can be read (not in a channel) and leave.
    log.info("added to a %s (update %s); leaving", chat.type, ctx.update_id)
    if chat.type in ("group", "supergroup"):
        adder = update.from_user
        # The adder's Telegram language, not a stored choice: the whole group reads this.
        tx = Texts(adder.language_code if adder else None)
        ctx.reply(tx("group_goodbye", bot=deps.bot_username() or "FitClubBot"),
                  chat_id=chat.id)
    ctx.enqueue("leaveChat", {"chat_id": chat.id}, chat_id=chat.id)
