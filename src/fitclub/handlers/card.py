"""/card and the menu's "My card": a QR code for the door and a 6-digit code, refreshable.

Telegram's editMessageMedia would swap the picture in place, but the emulator the tests run
against lacks it, so Refresh deletes the shown card and sends a new one: still one card on
screen, one new message per press. A photo cannot replace the menu's text message in place
either: from the menu, the card comes as a new message.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub.access import member_only
from fitclub.callbacks import CARD_REFRESH, MENU
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import card as screens
from fitclub.services import card


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /card, the menu's My card and the Refresh button."""
    routes = Routes(bot, deps)
    routes.command("card", show_card)
    routes.button(MENU.matches(screen="card"), from_menu)
    routes.button(CARD_REFRESH, refresh)


def send_card(deps: Deps, ctx: UpdateContext, member: Member) -> None:
    """Issue a card for the member and send it as a photo."""
    rules = deps.club.checkin
    issued = card.issue(ctx.conn, member.id, ctx.now(), rules.card_secret, rules.card_minutes)
    png = card.qr_png(card.deep_link(deps.bot_username(), issued.token))
    screen = screens.card(ctx.texts, member.first_name, issued)
    ctx.send_photo(png, caption=screen.text, filename="card.png", reply_markup=screen.markup)


@member_only
def show_card(deps: Deps, ctx: UpdateContext, member: Member, message: types.Message) -> None:
    send_card(deps, ctx, member)


@member_only
def from_menu(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    ctx.answer_callback(call.id)
    send_card(deps, ctx, member)


@member_only
def refresh(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    ctx.answer_callback(call.id, ctx.texts("card_refreshed"))
    if call.message is not None and getattr(call.message, "message_id", None):
        ctx.delete(call.message.message_id)
    send_card(deps, ctx, member)
