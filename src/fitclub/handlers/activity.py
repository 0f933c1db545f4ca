"""/activity and the menu's "Activity": the last weeks as a chart, with the numbers as caption.

The chart is a photo, and Telegram cannot edit a text message into a photo (nor back): from
the menu, the menu message is deleted and the chart sent in its place, and the chart's Menu
button deletes the chart and sends the menu. Either way one screen is left on display and a
press sends one new message. With no visit yet there is no chart: a text screen, edited in
place like the other menu screens.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.callbacks import ACTIVITY_MENU
from fitclub.screens import activity as screens
from fitclub.screens import menu as menu_screens
from fitclub.services import activity


def send_activity(ctx, deps, call: types.CallbackQuery | None = None) -> None:
    """Show the member's activity: a chart photo, or a text screen when they have no visits.

    From a button press (call), the pressed message is replaced by the screen.
    """
    tx = ctx.texts
    stats = activity.of_member(ctx.conn, ctx.member.id, ctx.now(), deps.settings.club_timezone,
                               tx.first_week_day)
    if stats.total == 0:
        ui.show(ctx, screens.empty(tx), call)
        return
    if call is not None:
        ctx.answer_callback(call.id)
        if call.message is not None and getattr(call.message, "message_id", None):
            ctx.delete(call.message.message_id)
    screen = screens.summary(tx, stats)
    ctx.send_photo(screens.chart(tx, stats), caption=screen.text, filename="activity.png",
                   reply_markup=screen.markup)


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /activity and the chart's Menu button."""

    @bot.message_handler(commands=["activity"], chat_types=["private"])
    def show_activity(message: types.Message) -> None:
        ctx = deps.context()
        if ui.member_or_refuse(ctx) is None:
            return
        send_activity(ctx, deps)

    @bot.callback_query_handler(func=ACTIVITY_MENU.matches())
    def back_to_menu(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = ui.member_or_refuse(ctx, call)
        if member is None:
            return
        ctx.answer_callback(call.id)
        if call.message is not None and getattr(call.message, "message_id", None):
            ctx.delete(call.message.message_id)
        screen = menu_screens.home(ctx.texts, member)
        ctx.reply(screen.text, reply_markup=screen.markup)
