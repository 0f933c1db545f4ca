"""/settings: language and reminders on or off, edited in place."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import commands, ui
from fitclub.callbacks import SETTINGS_LANGUAGE, SETTINGS_REMINDERS
from fitclub.db import rows
from fitclub.screens import settings as screens
from fitclub.services import reminders


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /settings and its buttons."""

    def registered(ctx):
        member = ctx.member
        return member if member is not None and member.registered_at is not None else None

    @bot.message_handler(commands=["settings"], chat_types=["private"])
    def show_settings(message: types.Message) -> None:
        ctx = deps.context()
        member = registered(ctx)
        if member is None:
            ctx.reply(ctx.texts("not_registered"))
            return
        screen = screens.settings(ctx.texts, member)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=SETTINGS_LANGUAGE.matches())
    def set_language(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = registered(ctx)
        if member is None:
            ctx.answer_callback(call.id, ctx.texts("not_registered"), show_alert=True)
            return
        lang = SETTINGS_LANGUAGE.parse(call.data)["lang"]
        changed = lang != member.language
        if changed:
            rows.execute(ctx.conn, "members.set_language", {"id": member.id, "language": lang})
            ctx.forget_member()
        ui.show(ctx, screens.settings(ctx.texts, ctx.member), call,
                toast=ctx.texts("language_set") if changed else None)
        if changed:
            commands.set_for_member(ctx, ctx.member)

    @bot.callback_query_handler(func=SETTINGS_REMINDERS.matches())
    def set_reminders(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = registered(ctx)
        if member is None:
            ctx.answer_callback(call.id, ctx.texts("not_registered"), show_alert=True)
            return
        on = SETTINGS_REMINDERS.parse(call.data)["on"] == "y"
        reminders.set_enabled(ctx.conn, member.id, on)
        ctx.forget_member()
        ui.show(ctx, screens.settings(ctx.texts, ctx.member), call,
                toast=ctx.texts("settings_reminders_on" if on else "settings_reminders_off"))
