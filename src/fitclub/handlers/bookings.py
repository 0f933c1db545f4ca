"""/bookings: upcoming bookings and waitlist places, last visits; answers to waitlist offers."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.callbacks import OFFER
from fitclub.jobs.offers import announce
from fitclub.screens import Screen
from fitclub.screens import bookings as screens
from fitclub.services import booking, timetable
from fitclub.services.booking import Outcome


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /bookings and the offer buttons."""

    def bookings_screen(ctx) -> Screen:
        return screens.my_bookings(ctx.texts, timetable.upcoming(ctx.conn, ctx.member.id,
                                                                 ctx.now()),
                                   timetable.last_visits(ctx.conn, ctx.member.id))

    @bot.message_handler(commands=["bookings"], chat_types=["private"])
    def show_bookings(message: types.Message) -> None:
        ctx = deps.context()
        member = ui.member_or_refuse(ctx)
        if member is None:
            return
        screen = bookings_screen(ctx)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=OFFER.matches())
    def answer_offer(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = ui.member_or_refuse(ctx, call)
        if member is None:
            return
        values = OFFER.parse(call.data)
        rules = booking.rules_from(deps.settings)
        act = booking.accept_offer if values["answer"] == "yes" else booking.decline_offer
        result = act(ctx.conn, member.id, values["offer_id"], ctx.now(), rules)
        if result.outcome is Outcome.UNAVAILABLE:
            ui.stale(ctx, call, refresh=bookings_screen(ctx))
            return
        announce(ctx, result.offers)
        tx = ctx.texts
        if result.outcome is Outcome.BOOKED:
            found = timetable.details(ctx.conn, member.id, result.class_id, ctx.now(), rules)
            text = tx("offer_accepted", name=found.cls.name,
                      when=tx.datetime(found.cls.starts_at))
        elif result.outcome is Outcome.REFUSED:
            text = tx("offer_refused", reason=screens.refusal(tx, result.reason))
        else:
            text = tx("offer_declined")
        # The offer message becomes its answer: no new message, no stale buttons left.
        ui.show(ctx, Screen(text, None), call)
