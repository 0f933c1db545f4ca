"""/bookings and the menu's My bookings: upcoming bookings and waitlist places, last visits;
answers to waitlist offers."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import MENU, OFFER
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import bookings as screens
from fitclub.services import booking, timetable
from fitclub.services.booking import Outcome


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /bookings, the menu's My bookings and the offer buttons."""
    routes = Routes(bot, deps)
    routes.command("bookings", show_bookings)
    routes.button(MENU.matches(screen="bookings"), show_bookings)
    routes.button(OFFER, answer_offer)


def _screen(ctx: UpdateContext, member: Member) -> Screen:
    return screens.my_bookings(ctx.texts, timetable.my_bookings(ctx.conn, member.id, ctx.now()))


@member_only
def show_bookings(deps: Deps, ctx: UpdateContext, member: Member,
                  update: types.Message | types.CallbackQuery) -> None:
    ui.show(ctx, _screen(ctx, member), update)


@member_only
def answer_offer(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    """Accept or decline a held place (a place passed on is offered by the service)."""
    values = OFFER.parse(call.data)
    rules = deps.club.booking
    act = booking.accept_offer if values["answer"] == "yes" else booking.decline_offer
    result = act(ctx.conn, member.id, values["offer_id"], ctx.now(), rules)
    if result.outcome is Outcome.UNAVAILABLE:
        # The member's own offer gone (answered elsewhere, expired): the message says so and
        # keeps only Back; a press naming an offer that is not theirs changes nothing.
        found = (None if result.class_id is None else
                 timetable.details(ctx.conn, member.id, result.class_id, ctx.now(), rules))
        ui.stale(ctx, call, refresh=found and screens.offer_gone(ctx.texts, found))
        return
    tx = ctx.texts
    if result.outcome is Outcome.BOOKED:
        found = timetable.details(ctx.conn, member.id, result.class_id, ctx.now(), rules)
        text = tx("offer_accepted", name=found.cls.name, when=tx.datetime(found.cls.starts_at))
    elif result.outcome is Outcome.REFUSED:
        text = tx("offer_refused", reason=screens.refusal(tx, result.reason, on=result.on,
                                                          day=result.day))
    else:
        text = tx("offer_declined")
    # The offer message becomes its answer: no new message, no stale buttons left.
    ui.show(ctx, Screen(text, None), call)
