"""/schedule: the week one day at a time, class details, booking, cancelling, the waitlist."""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import ui
from fitclub.callbacks import BOOK, CALENDAR, CANCEL_BOOKING, CLASS, LEAVE_WAITLIST, TIMETABLE
from fitclub.jobs.offers import announce
from fitclub.screens import bookings as booking_screens
from fitclub.screens import timetable as screens
from fitclub.services import booking, timetable
from fitclub.services.booking import Outcome


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /schedule and the class buttons."""
    private = {"chat_types": ["private"]}
    bot.register_message_handler(partial(show_schedule, deps), commands=["schedule"], **private)
    bot.register_callback_query_handler(partial(page, deps), func=TIMETABLE.matches())
    bot.register_callback_query_handler(partial(open_class, deps), func=CLASS.matches())
    bot.register_callback_query_handler(partial(book, deps), func=BOOK.matches())
    bot.register_callback_query_handler(partial(cancel, deps), func=CANCEL_BOOKING.matches())
    bot.register_callback_query_handler(partial(leave, deps), func=LEAVE_WAITLIST.matches())
    bot.register_callback_query_handler(partial(calendar, deps), func=CALENDAR.matches())


def rules(deps):
    """The club's booking rules."""
    return booking.rules_from(deps.settings)


def day_screen(deps, ctx, on=None):
    """One day of the schedule (today when `on` is outside the week shown)."""
    today = timetable.today(ctx.now(), rules(deps))
    shown = timetable.days(today)
    on = on if on in shown else today
    return screens.day(ctx.texts, on, timetable.day(ctx.conn, ctx.member.id, on, rules(deps)),
                       shown)


def class_screen(deps, ctx, class_id, back):
    """A class's details, or None when there is no such class."""
    found = timetable.details(ctx.conn, ctx.member.id, class_id, ctx.now(), rules(deps))
    if found is None:
        return None
    return screens.details(ctx.texts, found,
                           screens.share_link(deps.bot_username(), class_id), back)


def after(deps, ctx, call, values, toast):
    """Show the class again (or My bookings) with a toast."""
    if values["back"] == "b":
        screen = booking_screens.my_bookings(
            ctx.texts, timetable.upcoming(ctx.conn, ctx.member.id, ctx.now()),
            timetable.last_visits(ctx.conn, ctx.member.id))
    else:
        screen = class_screen(deps, ctx, values["class_id"], "s")
    ui.show(ctx, screen, call, toast=toast)


def show_schedule(deps, message: types.Message) -> None:
    ctx = deps.context()
    if ui.member_or_refuse(ctx) is not None:
        screen = day_screen(deps, ctx)
        ctx.reply(screen.text, reply_markup=screen.markup)


def page(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if ui.member_or_refuse(ctx, call) is not None:
        ui.show(ctx, day_screen(deps, ctx, TIMETABLE.parse(call.data)["day"]), call)


def open_class(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if ui.member_or_refuse(ctx, call) is None:
        return
    values = CLASS.parse(call.data)
    screen = class_screen(deps, ctx, values["class_id"], values["back"])
    if screen is None:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx))
        return
    ui.show(ctx, screen, call)


def book(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if ui.member_or_refuse(ctx, call) is None:
        return
    values = BOOK.parse(call.data)
    result = booking.book(ctx.conn, ctx.member.id, values["class_id"], ctx.now(), rules(deps),
                          waitlist_if_full=True)
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx))
        return
    if result.outcome is Outcome.BOOKED:
        toast = ctx.texts("booked_toast")
    elif result.outcome is Outcome.WAITLISTED:
        toast = ctx.texts("waitlisted_toast", n=result.position)
    else:
        toast = booking_screens.refusal(ctx.texts, result.reason, result.position)
    ui.show(ctx, class_screen(deps, ctx, values["class_id"], values["back"]), call, toast=toast)


def cancel(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if ui.member_or_refuse(ctx, call) is None:
        return
    values = CANCEL_BOOKING.parse(call.data)
    result = booking.cancel_booking(ctx.conn, ctx.member.id, values["class_id"], ctx.now(),
                                    rules(deps))
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx))
        return
    announce(ctx, result.offers)
    if result.outcome is Outcome.REFUSED:
        toast = booking_screens.refusal(ctx.texts, result.reason)
    elif result.outcome is Outcome.LATE:
        toast = ctx.texts("late_cancel_toast", hours=f"{rules(deps).cancel_window_hours:g}")
    else:
        toast = ctx.texts("cancelled_toast")
    after(deps, ctx, call, values, toast)


def leave(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if ui.member_or_refuse(ctx, call) is None:
        return
    values = LEAVE_WAITLIST.parse(call.data)
    result = booking.leave_waitlist(ctx.conn, ctx.member.id, values["class_id"], ctx.now(),
                                    rules(deps))
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx))
        return
    announce(ctx, result.offers)
    after(deps, ctx, call, values, ctx.texts("left_waitlist_toast"))


def calendar(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if ui.member_or_refuse(ctx, call) is None:
        return
    class_id = CALENDAR.parse(call.data)["class_id"]
    found = timetable.details(ctx.conn, ctx.member.id, class_id, ctx.now(), rules(deps))
    if found is None or found.cls.my_status != "booked":
        ui.stale(ctx, call)
        return
    tx = ctx.texts
    ctx.answer_callback(call.id)
    ctx.send_document(booking_screens.calendar(tx, found.cls, ctx.now()),
                      filename=f"class-{class_id}.ics",
                      caption=tx("calendar_caption", name=found.cls.name,
                                 when=tx.datetime(found.cls.starts_at)))
