"""/schedule and the menu's Schedule: the week one day at a time, class details, booking,
cancelling (asked first, from the details or My bookings), the waitlist and its offers answered
on the details, and a class's calendar file."""

from __future__ import annotations

from datetime import date

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import (
    BOOK,
    CALENDAR,
    CANCEL_ASK,
    CANCEL_BOOKING,
    CANCEL_YES,
    CLASS,
    LEAVE,
    LEAVE_WAITLIST,
    MENU,
    OFFER_AT,
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
from fitclub.services.booking import Outcome, Terms
from fitclub.services.timetable import ClassDetails


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /schedule, the menu's Schedule and the class buttons."""
    routes = Routes(bot, deps)
    routes.command("schedule", show_timetable)
    routes.button(MENU.matches(screen="schedule"), page)
    routes.button(TIMETABLE, page)
    routes.button(CLASS, open_class)
    routes.button(BOOK, book)
    routes.button(CANCEL_ASK, ask_cancel)
    routes.button(CANCEL_YES, cancel)
    routes.button(LEAVE, leave)
    routes.button(OFFER_AT, answer_offer)
    # The Cancel and Leave buttons of messages sent before these asked first.
    routes.button(CANCEL_BOOKING, ask_cancel)
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
                 back: str, note: str | None = None) -> Screen | None:
    """A class's details (with a one-line note above), or None when there is no such class."""
    found = timetable.details(ctx.conn, member.id, class_id, ctx.now(), deps.club.booking)
    if found is None:
        return None
    return screens.details(ctx.texts, found,
                           screens.share_link(deps.bot_username(), class_id), back, note)


def bookings_screen(ctx: UpdateContext, member: Member, note: str | None = None) -> Screen:
    """My bookings as they are now, with a one-line note above."""
    return booking_screens.my_bookings(ctx.texts,
                                       timetable.my_bookings(ctx.conn, member.id, ctx.now()),
                                       note)


def back_screen(deps: Deps, ctx: UpdateContext, member: Member, back: str) -> Screen:
    """What a class button from a screen whose Back is `back` shows when the class is gone:
    My bookings ("b") or today's timetable ("s")."""
    return bookings_screen(ctx, member) if back == "b" else day_screen(deps, ctx, member)


def at_screen(deps: Deps, ctx: UpdateContext, member: Member, at: str, class_id: int,
              note: str | None = None) -> Screen:
    """The screen a booking's Cancel or Leave was pressed on (`callbacks.BOOKING_AT`), as it
    is now, with a one-line note: My bookings, or the class's details with their own Back."""
    if at == "b":
        return bookings_screen(ctx, member, note)
    back = "s" if at == "s" else "b"
    return (class_screen(deps, ctx, member, class_id, back, note)
            or back_screen(deps, ctx, member, back))


def _pressed_at(values: dict) -> str:
    """Where a Cancel or Leave was pressed; an older message's button names its Back."""
    return values["at"] if "at" in values else values["back"]


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
        ui.stale(ctx, call, refresh=back_screen(deps, ctx, member, values["back"]))
        return
    ui.show(ctx, screen, call)


@member_only
def book(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    values = BOOK.parse(call.data)
    result = booking.book(ctx.conn, member.id, values["class_id"], ctx.now(),
                          deps.club.booking, waitlist_if_full=True)
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=back_screen(deps, ctx, member, values["back"]))
        return
    if result.outcome is Outcome.BOOKED:
        toast = ctx.texts("booked_toast")
    elif result.outcome is Outcome.WAITLISTED:
        toast = ctx.texts("waitlisted_toast", n=result.position)
    else:
        toast = booking_screens.refusal(ctx.texts, result.reason, result.position,
                                        result.on, result.day)
    # A refusal is said on the class's screen too, not only in the pop-up.
    note = toast if result.outcome is Outcome.REFUSED else None
    ui.show(ctx, class_screen(deps, ctx, member, values["class_id"], values["back"], note),
            call, toast=toast)


def _confirmation(deps: Deps, ctx: UpdateContext, found: ClassDetails, terms: Terms, at: str,
                  changed: bool = False) -> Screen:
    rules = deps.club.booking
    return booking_screens.cancel_confirmation(
        ctx.texts, found.cls, terms, at,
        free_until=booking.free_cancel_until(found.cls.starts_at, rules),
        window_hours=rules.cancel_window_hours, changed=changed)


def _nothing_to_cancel(deps: Deps, ctx: UpdateContext, member: Member,
                       call: types.CallbackQuery, at: str, class_id: int,
                       found: ClassDetails | None) -> None:
    """A Cancel with no booking to cancel: the class has started (say so), or the booking is
    gone (an older button: no longer available). The screen it was pressed on, as it is now."""
    tx = ctx.texts
    if found is not None and found.cls.my_status == "booked" and found.started:
        note = tx("cancel_started", name=found.cls.name, when=tx.datetime(found.cls.starts_at))
        ui.show(ctx, at_screen(deps, ctx, member, at, class_id, note), call)
        return
    note = (tx("booking_gone", name=found.cls.name, when=tx.datetime(found.cls.starts_at))
            if found is not None else None)
    ui.stale(ctx, call, refresh=at_screen(deps, ctx, member, at, class_id, note))


@member_only
def ask_cancel(deps: Deps, ctx: UpdateContext, member: Member,
               call: types.CallbackQuery) -> None:
    """Cancel a booking? Say whether the visit comes back; nothing changes before Yes."""
    values = CANCEL_ASK.parse(call.data) or CANCEL_BOOKING.parse(call.data)
    class_id, at = values["class_id"], _pressed_at(values)
    rules, now = deps.club.booking, ctx.now()
    found = timetable.details(ctx.conn, member.id, class_id, now, rules)
    terms = booking.cancel_terms(ctx.conn, member.id, class_id, now, rules)
    if found is None or terms is None:
        _nothing_to_cancel(deps, ctx, member, call, at, class_id, found)
        return
    ui.show(ctx, _confirmation(deps, ctx, found, terms, at), call)


@member_only
def cancel(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Yes, cancel: on the terms the member saw; if they have changed meanwhile (the free
    window closed while they looked), the new terms are asked about instead."""
    values = CANCEL_YES.parse(call.data)
    class_id, at, agreed = values["class_id"], values["at"], Terms(values["terms"])
    rules, now = deps.club.booking, ctx.now()
    result = booking.cancel_booking(ctx.conn, member.id, class_id, now, rules, agreed=agreed)
    found = timetable.details(ctx.conn, member.id, class_id, now, rules)
    if result.outcome is Outcome.CHANGED:
        terms = booking.cancel_terms(ctx.conn, member.id, class_id, now, rules)
        ui.show(ctx, _confirmation(deps, ctx, found, terms, at, changed=True), call)
        return
    if result.outcome not in (Outcome.CANCELLED, Outcome.LATE):
        _nothing_to_cancel(deps, ctx, member, call, at, class_id, found)
        return
    note = booking_screens.cancelled(ctx.texts, found.cls, agreed, rules.cancel_window_hours)
    ui.show(ctx, at_screen(deps, ctx, member, at, class_id, note), call)


@member_only
def leave(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Leave the waitlist (nothing to lose: no question asked); the screen it was pressed on
    again, with the result, or, from an older button, why there is nothing to leave."""
    values = LEAVE.parse(call.data) or LEAVE_WAITLIST.parse(call.data)
    class_id, at = values["class_id"], _pressed_at(values)
    rules, now, tx = deps.club.booking, ctx.now(), ctx.texts
    result = booking.leave_waitlist(ctx.conn, member.id, class_id, now, rules)
    found = timetable.details(ctx.conn, member.id, class_id, now, rules)
    when = tx.datetime(found.cls.starts_at) if found is not None else ""
    if result.outcome is Outcome.UNAVAILABLE:
        note = tx("waitlist_gone", name=found.cls.name, when=when) if found else None
        ui.stale(ctx, call, refresh=at_screen(deps, ctx, member, at, class_id, note))
        return
    note = tx("left_waitlist", name=found.cls.name, when=when)
    ui.show(ctx, at_screen(deps, ctx, member, at, class_id, note), call)


@member_only
def answer_offer(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    """Take or turn down a place held for the member, on the class's details: the screen it
    was pressed on again, saying what became of it (an offer gone meanwhile: no longer
    available, and why)."""
    values = OFFER_AT.parse(call.data)
    at = values["at"]
    rules, now, tx = deps.club.booking, ctx.now(), ctx.texts
    act = booking.accept_offer if values["answer"] == "yes" else booking.decline_offer
    result = act(ctx.conn, member.id, values["offer_id"], now, rules)
    # The offer's own class, never the one the button names (a forged or mixed-up press);
    # no offer of this member's at all: nothing to show but that.
    class_id = result.class_id
    if class_id is None:
        ui.stale(ctx, call)
        return
    found = timetable.details(ctx.conn, member.id, class_id, now, rules)
    if result.outcome is Outcome.UNAVAILABLE:
        # Taken on the offer message meanwhile: the details say so; else the place is gone.
        booked = found is not None and found.cls.my_status == "booked"
        note = None if booked else tx("offer_gone")
        ui.stale(ctx, call, refresh=at_screen(deps, ctx, member, at, class_id, note))
        return
    if result.outcome is Outcome.BOOKED:
        note = tx("offer_accepted", name=found.cls.name, when=tx.datetime(found.cls.starts_at))
    elif result.outcome is Outcome.REFUSED:
        note = tx("offer_refused", reason=booking_screens.refusal(
            tx, result.reason, result.position, result.on, result.day))
    else:
        note = tx("offer_declined")
    ui.show(ctx, at_screen(deps, ctx, member, at, class_id, note), call)


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
