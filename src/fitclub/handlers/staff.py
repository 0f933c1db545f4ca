"""/staff: the staff home. Each section is handled by its feature's module."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import access, ui
from fitclub.callbacks import STAFF
from fitclub.screens import staff as screens


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /staff and the staff home's Back button."""

    @bot.message_handler(commands=["staff"], chat_types=["private"])
    def staff_home(message: types.Message) -> None:
        ctx = deps.context()
        member = access.staff_or_refuse(ctx, what="staff.home")
        if member is None:
            return
        screen = screens.home(ctx.texts, member)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=STAFF.matches(section="home"))
    def staff_home_button(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = access.staff_or_refuse(ctx, call, what="staff.home")
        if member is None:
            return
        ui.show(ctx, screens.home(ctx.texts, member), call)
