"""/card and the menu's "My card": a QR code for the door and a 6-digit code, refreshable.

Telegram's editMessageMedia would swap the picture in place, but the emulator the tests run
against lacks it, so Refresh deletes the shown card and sends a new one: still one card on
screen, one new message per press.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.callbacks import CARD_REFRESH
from fitclub.screens import card as screens
from fitclub.services import card


def send_card(ctx, deps) -> None:
    """Issue a card for the context's member and send it as a photo."""
    settings = deps.settings
    issued = card.issue(ctx.conn, ctx.member.id, ctx.now(), settings.card_secret,
                        settings.card_token_minutes)
    png = card.qr_png(card.deep_link(deps.bot_username(), issued.token))
    screen = screens.card(ctx.texts, ctx.member.first_name, issued)
    ctx.send_photo(png, caption=screen.text, filename="card.png", reply_markup=screen.markup)


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /card and the Refresh button."""

    @bot.message_handler(commands=["card"], chat_types=["private"])
    def show_card(message: types.Message) -> None:
        ctx = deps.context()
        if ui.member_or_refuse(ctx) is None:
            return
        send_card(ctx, deps)

    @bot.callback_query_handler(func=CARD_REFRESH.matches())
    def refresh(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        if ui.member_or_refuse(ctx, call) is None:
            return
        ctx.answer_callback(call.id, ctx.texts("card_refreshed"))
        if call.message is not None and getattr(call.message, "message_id", None):
            ctx.delete(call.message.message_id)
        send_card(ctx, deps)
