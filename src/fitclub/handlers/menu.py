"""The main menu (edited in place as the member moves between screens) and /help."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.callbacks import MENU
from fitclub.handlers.activity import send_activity
from fitclub.handlers.card import send_card
from fitclub.screens import bookings as booking_screens
from fitclub.screens import membership as membership_screens
from fitclub.screens import menu as screens
from fitclub.screens import timetable as schedule_screens
from fitclub.services import booking, memberships, timetable


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /help and the menu buttons."""

    @bot.message_handler(commands=["help"], chat_types=["private"])
    def help_(message: types.Message) -> None:
        ctx = deps.context()
        screen = screens.help_screen(ctx.texts, ctx.member)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=MENU.matches())
    def navigate(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = ui.member_or_refuse(ctx, call)
        if member is None:
            return
        target = MENU.parse(call.data)["screen"]
        tx = ctx.texts
        if target == "home":
            screen = screens.home(tx, member)
        elif target == "help":
            screen = screens.help_screen(tx, member)
        elif target == "membership":
            today = tx.local(ctx.now()).date()
            screen = membership_screens.membership(
                tx, memberships.membership_of(ctx.conn, member.id, today),
                memberships.plans_on_sale(ctx.conn))
        elif target == "schedule":
            rules = booking.rules_from(deps.settings)
            today = timetable.today(ctx.now(), rules)
            screen = schedule_screens.day(tx, today,
                                          timetable.day(ctx.conn, member.id, today, rules),
                                          timetable.days(today))
        elif target == "bookings":
            screen = booking_screens.my_bookings(
                tx, timetable.upcoming(ctx.conn, member.id, ctx.now()),
                timetable.last_visits(ctx.conn, member.id))
        elif target == "card":
            # A photo cannot replace a text message in place: the card comes as a new message.
            ctx.answer_callback(call.id)
            send_card(ctx, deps)
            return
        elif target == "activity":
            # A chart (a photo) replaces the menu message; without visits, text in place.
            send_activity(ctx, deps, call)
            return
        ui.show(ctx, screen, call)
