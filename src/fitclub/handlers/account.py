"""/language and /privacy (what the bot stores, and "delete my data")."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import access, commands, ui
from fitclub.callbacks import LANGUAGE, PRIVACY
from fitclub.screens import Screen
from fitclub.screens import account as screens
from fitclub.screens import menu as menu_screens
from fitclub.services import club, privacy


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /language, /privacy and their buttons."""

    registered = access.registered

    @bot.message_handler(commands=["language"], chat_types=["private"])
    def choose_language(message: types.Message) -> None:
        ctx = deps.context()
        screen = screens.language(ctx.texts)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=LANGUAGE.matches())
    def set_language(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        lang = LANGUAGE.parse(call.data)["lang"]
        # Before registration the choice follows Telegram's language; say how to start.
        member = access.member_or_refuse(ctx, call)
        if member is None:
            return
        ui.change_language(ctx, member, lang)
        ui.show(ctx, menu_screens.home(ctx.texts, ctx.member), call,
                toast=ctx.texts("language_set"))

    @bot.message_handler(commands=["privacy"], chat_types=["private"])
    def show_privacy(message: types.Message) -> None:
        ctx = deps.context()
        member = access.member_or_refuse(ctx)
        if member is None:
            return
        screen = screens.privacy(ctx.texts, member)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=PRIVACY.matches())
    def privacy_step(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = registered(ctx)
        if member is None:
            ui.stale(ctx, call)
            return
        step = PRIVACY.parse(call.data)["step"]
        if step == "ask":
            ui.show(ctx, screens.privacy_confirm(ctx.texts), call)
        elif step == "no":
            ui.show(ctx, screens.privacy(ctx.texts, member), call)
        else:
            tx = ctx.texts  # keep the language: the member row is about to lose it
            # Places the erasure frees are offered to the next in line (told by the service).
            privacy.erase_member(ctx.conn, member.id, member.telegram_id, ctx.now(),
                                 club.of(deps.settings).booking, update_id=ctx.update_id)
            ctx.forget_member()
            ui.show(ctx, Screen(tx("privacy_deleted")), call)
            commands.set_for_member(ctx, None)
