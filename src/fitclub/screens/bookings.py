"""My bookings, waitlist offers, booking refusals and the .ics of a class."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime

import icalendar

from fitclub.callbacks import CANCEL_ASK, CANCEL_YES, CLASS, LEAVE, MENU, OFFER
from fitclub.locales import Texts, club
from fitclub.screens import Screen, inline, person
from fitclub.screens.menu import back_to_menu
from fitclub.services.booking import OfferNotice, Refusal, Terms
from fitclub.services.timetable import ClassDetails, ClassView, MyBookings

PRODID = "-//FitClub//bot//EN"  # iCalendar's product id: an identifier, not text to read


def refusal(tx: Texts, reason: Refusal, position: int | None = None, on: date | None = None,
            day: date | None = None) -> str:
    """Why a booking was refused, in one line; a refusal by the membership's dates names the
    date that decides it (`on`) and the class day."""
    if on is not None and day is not None:
        return tx(f"refusal_{reason.value}_on", date=tx.date(on, "long"),
                  day=tx.date(day, "short"))
    return tx(f"refusal_{reason.value}", n=position or 0, membership=tx("menu_membership"))


def my_bookings(tx: Texts, mine: MyBookings, note: str | None = None) -> Screen:
    """Upcoming bookings and waitlist places with their buttons, and the last five visits;
    `note` is the one-line result of what the member just did, above the list."""
    items, visits = mine
    lines = [note, ""] if note else []
    lines += [tx("bookings_title"), ""]
    rows = []
    for item in items:
        when = tx.datetime(item.starts_at)
        short = tx.date(item.starts_at, "short") + " " + tx.time(item.starts_at)
        if item.status == "booked":
            lines.append(tx("bookings_booked_line", when=when, name=item.name))
            rows.append([(tx("button_cancel_item", when=short, name=item.name)[:60],
                          CANCEL_ASK(class_id=item.class_id, at="b"))])
        else:
            lines.append(tx("bookings_waitlist_line", when=when, name=item.name,
                            n=item.position or 0))
            if item.offer_expires_at is not None:
                lines.append(tx("bookings_offer_line", until=tx.time(item.offer_expires_at)))
            rows.append([(tx("button_leave_item", when=short, name=item.name)[:60],
                          LEAVE(class_id=item.class_id, at="b"))])
    if not items:
        lines.append(tx("bookings_none", schedule=tx("menu_schedule")))
    lines += ["", tx("bookings_visits_title")]
    lines += [tx("bookings_visit_line", when=tx.datetime(v.checked_in_at),
                 name=v.class_name or tx("bookings_visit_open")) for v in visits]
    if not visits:
        lines.append(tx("bookings_no_visits"))
    rows.append([(tx("menu_schedule"), MENU(screen="schedule")), *back_to_menu(tx)])
    return Screen("\n".join(lines), inline(rows))


def pressed_on(at: str, class_id: int) -> str:
    """The button data that shows again the screen a booking's Cancel or Leave was pressed on
    (`callbacks.BOOKING_AT`): My bookings, or the class's details with their own Back."""
    if at == "b":
        return MENU(screen="bookings")
    return CLASS(class_id=class_id, back="s" if at == "s" else "b")


def cancel_confirmation(tx: Texts, cls: ClassView, terms: Terms, at: str, *,
                        free_until: datetime, window_hours: float,
                        changed: bool = False) -> Screen:
    """Cancel this booking? Whether the visit comes back; Yes (on these terms) or Keep it.
    `changed`: the terms are not those the member had been shown (say so first)."""
    lines = [tx("cancel_terms_changed")] if changed else []
    lines.append(tx("cancel_ask", name=cls.name, when=tx.datetime(cls.starts_at)))
    lines.append(tx(f"cancel_ask_{terms.value}", until=tx.datetime(free_until),
                    hours=f"{window_hours:g}"))
    return Screen("\n".join(lines), inline([[
        (tx("button_cancel_yes"), CANCEL_YES(class_id=cls.id, at=at, terms=terms.value)),
        (tx("button_cancel_keep"), pressed_on(at, cls.id))]]))


def cancelled(tx: Texts, cls: ClassView, terms: Terms, window_hours: float) -> str:
    """The one line after a cancellation: whether the visit came back."""
    return tx(f"cancelled_{terms.value}", name=cls.name, when=tx.datetime(cls.starts_at),
              hours=f"{window_hours:g}")


def offer(tx: Texts, notice: OfferNotice) -> Screen:
    """The one message an offered member gets: Accept or Decline."""
    text = tx("offer_text", name=notice.class_name, when=tx.datetime(notice.starts_at),
              until=tx.time(notice.expires_at))
    return Screen(text, inline([
        [(tx("offer_accept"), OFFER(offer_id=notice.offer_id, answer="yes")),
         (tx("offer_decline"), OFFER(offer_id=notice.offer_id, answer="no"))],
        [(tx("button_back"), CLASS(class_id=notice.class_id, back="b"))]]))


def offer_gone(tx: Texts, found: ClassDetails) -> Screen:
    """An offer message whose place is no longer held: booked (taken on the class's screen)
    or gone; only Back to the class."""
    cls = found.cls
    text = (tx("offer_accepted", name=cls.name, when=tx.datetime(cls.starts_at))
            if cls.my_status == "booked" else tx("offer_gone"))
    return Screen(text, inline([[(tx("button_back"), CLASS(class_id=cls.id, back="b"))]]))


def offer_expired(tx: Texts, notice: OfferNotice) -> Screen:
    """To the member whose offer ran out: the place went to the next in line."""
    return Screen(tx("offer_expired", name=notice.class_name,
                     when=tx.datetime(notice.starts_at)))


def calendar(tx: Texts, cls: ClassView, now: datetime, domain: str = "fitclub") -> bytes:
    """The class as an iCalendar event, in the club's time zone (with its VTIMEZONE)."""
    tz = club().timezone
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", f"class-{cls.id}@{domain}")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", cls.starts_at.astimezone(tz))
    event.add("dtend", cls.ends_at.astimezone(tz))
    event.add("summary", tx.content(cls.name))
    event.add("description", html.unescape(tx("calendar_description",
                                                trainer=person(tx, cls.trainer))))
    if cls.room:
        event.add("location", cls.room)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
