"""My bookings, waitlist offers, booking refusals and the .ics of a class."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import icalendar

from fitclub.callbacks import CANCEL_BOOKING, CLASS, LEAVE_WAITLIST, OFFER
from fitclub.locales import Texts, club
from fitclub.screens import Screen, inline
from fitclub.screens.menu import back_to_menu
from fitclub.services.booking import OfferNotice, Refusal
from fitclub.services.timetable import ClassView, MyBookings

PRODID = "-//FitClub//bot//EN"  # iCalendar's product id: an identifier, not text to read


def refusal(tx: Texts, reason: Refusal, position: int | None = None) -> str:
    """Why a booking was refused, in one line."""
    return tx(f"refusal_{reason.value}", n=position or 0)


def my_bookings(tx: Texts, mine: MyBookings) -> Screen:
    """Upcoming bookings and waitlist places with their buttons, and the last five visits."""
    items, visits = mine
    lines = [tx("bookings_title"), ""]
    rows = []
    for item in items:
        when = tx.datetime(item.starts_at)
        short = tx.date(item.starts_at, "day") + " " + tx.time(item.starts_at)
        if item.status == "booked":
            lines.append(tx("bookings_booked_line", when=when, name=item.name))
            rows.append([(tx("button_cancel_item", when=short, name=item.name)[:60],
                          CANCEL_BOOKING(class_id=item.class_id, back="b"))])
        else:
            lines.append(tx("bookings_waitlist_line", when=when, name=item.name,
                            n=item.position or 0))
            if item.offer_expires_at is not None:
                lines.append(tx("bookings_offer_line", until=tx.time(item.offer_expires_at)))
            rows.append([(tx("button_leave_item", when=short, name=item.name)[:60],
                          LEAVE_WAITLIST(class_id=item.class_id, back="b"))])
    if not items:
        lines.append(tx("bookings_none"))
    lines += ["", tx("bookings_visits_title")]
    lines += [tx("bookings_visit_line", when=tx.datetime(v.checked_in_at),
                 name=v.class_name or tx("bookings_visit_open")) for v in visits]
    if not visits:
        lines.append(tx("bookings_no_visits"))
    rows.append(back_to_menu(tx))
    return Screen("\n".join(lines), inline(rows))


def offer(tx: Texts, notice: OfferNotice) -> Screen:
    """The one message an offered member gets: Accept or Decline."""
    text = tx("offer_text", name=notice.class_name, when=tx.datetime(notice.starts_at),
              until=tx.time(notice.expires_at))
    return Screen(text, inline([
        [(tx("offer_accept"), OFFER(offer_id=notice.offer_id, answer="yes")),
         (tx("offer_decline"), OFFER(offer_id=notice.offer_id, answer="no"))],
        [(tx("button_back"), CLASS(class_id=notice.class_id, back="b"))]]))


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
    event.add("summary", cls.name)
    event.add("description", html.unescape(tx("calendar_description", trainer=cls.trainer)))
    if cls.room:
        event.add("location", cls.room)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
