"""/schedule and the menu's Schedule: the week one day at a time, class details, booking,
cancelling, the waitlist and a class's calendar file."""

from __future__ import annotations

from datetime import date

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import (
    BOOK,
    CALENDAR,
    CANCEL_BOOKING,
    CLASS,
    LEAVE_WAITLIST,
    MENU,
    TIMETABLE,
)
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import bookings as booking_screens
from fitclub.screens import timetable as screens
from fitclub.services import booking, timetable
from fitclub.services.booking import Outcome


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /schedule, the menu's Schedule and the class buttons."""
    routes = Routes(bot, deps)
    routes.command("schedule", show_timetable)
    routes.button(MENU.matches(screen="schedule"), page)
    routes.button(TIMETABLE, page)
    routes.button(CLASS, open_class)
    routes.button(BOOK, book)
    routes.button(CANCEL_BOOKING, cancel)
    routes.button(LEAVE_WAITLIST, leave)
    routes.button(CALENDAR, calendar)


def day_screen(deps: Deps, ctx: UpdateContext, member: Member,
               on: date | None = None) -> Screen:
    """One day of the timetable (today when `on` is outside the week shown)."""
    today = deps.club.today(ctx.now())
    shown = timetable.days(today)
    on = on if on in shown else today
    return screens.day(ctx.texts, on, timetable.day(ctx.conn, member.id, on, deps.club.booking),
                       shown)


def class_screen(deps: Deps, ctx: UpdateContext, member: Member, class_id: int,
                 back: str) -> Screen | None:
    """A class's details, or None when there is no such class."""
    found = timetable.details(ctx.conn, member.id, class_id, ctx.now(), deps.club.booking)
    if found is None:
        return None
    return screens.details(ctx.texts, found,
                           screens.share_link(deps.bot_username(), class_id), back)


def after(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery,
          values: dict, toast: str) -> None:
    """Show the class again (or My bookings) with a toast."""
    if values["back"] == "b":
        screen = booking_screens.my_bookings(ctx.texts,
                                             timetable.my_bookings(ctx.conn, member.id,
                                                                   ctx.now()))
    else:
        screen = class_screen(deps, ctx, member, values["class_id"], "s")
    ui.show(ctx, screen, call, toast=toast)


@member_only
def show_timetable(deps: Deps, ctx: UpdateContext, member: Member,
                  message: types.Message) -> None:
    ui.show(ctx, day_screen(deps, ctx, member))


@member_only
def page(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """A day of the week (the menu's Schedule opens today)."""
    values = TIMETABLE.parse(call.data) or {}
    ui.show(ctx, day_screen(deps, ctx, member, values.get("day")), call)


@member_only
def open_class(deps: Deps, ctx: UpdateContext, member: Member,
               call: types.CallbackQuery) -> None:
    values = CLASS.parse(call.data)
    screen = class_screen(deps, ctx, member, values["class_id"], values["back"])
    if screen is None:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx, member))
        return
    ui.show(ctx, screen, call)


@member_only
def book(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    values = BOOK.parse(call.data)
    result = booking.book(ctx.conn, member.id, values["class_id"], ctx.now(),
                          deps.club.booking, waitlist_if_full=True)
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx, member))
        return
    if result.outcome is Outcome.BOOKED:
        toast = ctx.texts("booked_toast")
    elif result.outcome is Outcome.WAITLISTED:
        toast = ctx.texts("waitlisted_toast", n=result.position)
    else:
        toast = booking_screens.refusal(ctx.texts, result.reason, result.position)
    ui.show(ctx, class_screen(deps, ctx, member, values["class_id"], values["back"]), call,
            toast=toast)


@member_only
def cancel(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    values = CANCEL_BOOKING.parse(call.data)
    rules = deps.club.booking
    result = booking.cancel_booking(ctx.conn, member.id, values["class_id"], ctx.now(), rules)
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx, member))
        return
    if result.outcome is Outcome.REFUSED:
        toast = booking_screens.refusal(ctx.texts, result.reason)
    elif result.outcome is Outcome.LATE:
        toast = ctx.texts("late_cancel_toast", hours=f"{rules.cancel_window_hours:g}")
    else:
        toast = ctx.texts("cancelled_toast")
    after(deps, ctx, member, call, values, toast)


@member_only
def leave(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    values = LEAVE_WAITLIST.parse(call.data)
    result = booking.leave_waitlist(ctx.conn, member.id, values["class_id"], ctx.now(),
                                    deps.club.booking)
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=day_screen(deps, ctx, member))
        return
    after(deps, ctx, member, call, values, ctx.texts("left_waitlist_toast"))


@member_only
def calendar(deps: Deps, ctx: UpdateContext, member: Member,
             call: types.CallbackQuery) -> None:
    class_id = CALENDAR.parse(call.data)["class_id"]
    found = timetable.details(ctx.conn, member.id, class_id, ctx.now(), deps.club.booking)
    if found is None or found.cls.my_status != "booked":
        ui.stale(ctx, call)
        return
    tx = ctx.texts
    ctx.answer_callback(call.id)
    ctx.send_document(booking_screens.calendar(tx, found.cls, ctx.now()),
                      filename=f"class-{class_id}.ics",
                      caption=tx("calendar_caption", name=found.cls.name,
                                 when=tx.datetime(found.cls.starts_at)))
