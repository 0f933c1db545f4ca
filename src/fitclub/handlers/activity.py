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
from fitclub.access import member_only
from fitclub.callbacks import ACTIVITY_MENU, MENU
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import activity as screens
from fitclub.screens import menu as menu_screens
from fitclub.services import activity


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /activity, the menu's Activity and the chart's Menu button."""
    routes = Routes(bot, deps)
    routes.command("activity", show_activity)
    routes.button(MENU.matches(screen="activity"), show_activity)
    routes.button(ACTIVITY_MENU, back_to_menu)


def _delete_pressed(ctx: UpdateContext, call: types.CallbackQuery) -> None:
    if call.message is not None and getattr(call.message, "message_id", None):
        ctx.delete(call.message.message_id)


@member_only
def show_activity(deps: Deps, ctx: UpdateContext, member: Member,
                  update: types.Message | types.CallbackQuery) -> None:
    """A chart photo, or a text screen when the member has no visits; from a button press,
    the pressed message is replaced by it."""
    call = ui.pressed(update)
    tx = ctx.texts
    stats = activity.of_member(ctx.conn, member.id, ctx.now(), deps.club.timezone,
                               tx.first_week_day)
    if stats.total == 0:
        ui.show(ctx, screens.empty(tx), call)
        return
    if call is not None:
        ctx.answer_callback(call.id)
        _delete_pressed(ctx, call)
    screen = screens.summary(tx, stats)
    ctx.send_photo(screens.chart(tx, stats), caption=screen.text, filename="activity.png",
                   reply_markup=screen.markup)


@member_only
def back_to_menu(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    ctx.answer_callback(call.id)
    _delete_pressed(ctx, call)
    ui.show(ctx, menu_screens.home(ctx.texts, member))
