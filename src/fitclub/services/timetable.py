"""What members see of the timetable: a day's classes, one class, their bookings and visits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

from fitclub.db import rows
from fitclub.locales import Localized
from fitclub.services.booking import (
    Result,
    Rules,
    class_day,
    closes_at,
    day_bounds,
    membership_refusal,
)

DAYS_AHEAD = 7
#: A class's deep link is "/start c_<id>".
LINK_PREFIX = "c_"


class ClassView(NamedTuple):
    """A class as one member sees it."""

    id: int
    starts_at: datetime
    duration_minutes: int
    status: str  # scheduled, cancelled, completed
    name: Localized
    description: Localized
    room: str
    trainer: str
    capacity: int
    taken: int  # booked places plus places held by open offers
    waiting: int  # people on the waitlist
    my_status: str | None  # the member's booking: booked, waitlisted, cancelled... or None

    @property
    def left(self) -> int:
        """Places anyone may still book."""
        return max(0, self.capacity - self.taken)

    @property
    def ends_at(self) -> datetime:
        """When the class ends."""
        return self.starts_at + timedelta(minutes=self.duration_minutes)


BOOKED = ("booked", "waitlisted", "attended", "no_show")  # a member's place, or a visit


class ClassDetails(NamedTuple):
    """A class with the member's place in line, open offer and whether booking is open."""

    cls: ClassView
    position: int | None
    offer_id: int | None
    open: bool  # booking has not closed
    started: bool
    # Why the member's membership cannot pay for this class (booking would refuse it), when
    # they could book it otherwise: the details then offer no Book and say this instead.
    refused: Result | None = None


class MyBooking(NamedTuple):
    """An upcoming booking or waitlist place of the member."""

    class_id: int
    starts_at: datetime
    name: Localized
    status: str  # booked or waitlisted
    position: int | None
    offer_id: int | None
    offer_expires_at: datetime | None


class Visit(NamedTuple):
    """A past visit."""

    checked_in_at: datetime
    class_name: Localized | None


def days(today: date) -> list[date]:
    """The days the timetable shows: today and the next six."""
    return [today + timedelta(days=i) for i in range(DAYS_AHEAD)]


def day(conn, member_id: int, on: date, rules: Rules) -> list[ClassView]:
    """The classes of a club calendar day, for this member."""
    start, end = day_bounds(on, rules)
    return rows.many(conn, "classes.view", {"member_id": member_id, "class_id": None,
                                            "start": start, "end": end}, ClassView)


def details(conn, member_id: int, class_id: int, now: datetime,
            rules: Rules) -> ClassDetails | None:
    """One class for this member, or None when there is no such class."""
    cls = rows.one(conn, "classes.view", {"member_id": member_id, "class_id": class_id,
                                          "start": None, "end": None}, ClassView)
    if cls is None:
        return None
    position = offer_id = None
    if cls.my_status == "waitlisted":
        mine = next((b for b in upcoming(conn, member_id, now) if b.class_id == class_id), None)
        if mine is not None:
            position, offer_id = mine.position, mine.offer_id
    is_open = now < closes_at(cls.starts_at, rules)
    refused = None
    if cls.status == "scheduled" and is_open and cls.my_status not in BOOKED:
        refused = membership_refusal(conn, member_id, cls, now, rules)
    return ClassDetails(cls, position, offer_id, is_open, now >= cls.starts_at, refused)


class Linked(NamedTuple):
    """Where a shared class link leads: the class to show, else why there is none to show
    ("missing": no such class; "cancelled"; "over": it has ended), with the class if any."""

    details: ClassDetails | None
    gone: str | None = None
    cls: ClassView | None = None


def linked(conn, member_id: int, class_id: int | None, now: datetime, rules: Rules) -> Linked:
    """A class a deep link points at: its details while it is on or to come; a link to a
    class that does not exist, was cancelled or has ended leads nowhere, and says which."""
    found = details(conn, member_id, class_id, now, rules) if class_id is not None else None
    if found is None:
        return Linked(None, "missing")
    if found.cls.status == "cancelled":
        return Linked(None, "cancelled", found.cls)
    if found.cls.ends_at <= now:
        return Linked(None, "over", found.cls)
    return Linked(found)


def upcoming(conn, member_id: int, now: datetime) -> list[MyBooking]:
    """The member's bookings and waitlist places of classes still to come."""
    return rows.many(conn, "bookings.upcoming_for_member",
                     {"member_id": member_id, "now": now}, MyBooking)


def last_visits(conn, member_id: int) -> list[Visit]:
    """The member's last five visits."""
    return rows.many(conn, "bookings.last_visits", {"member_id": member_id}, Visit)


class MyBookings(NamedTuple):
    """What My bookings shows: places in classes to come, and the last visits."""

    items: list[MyBooking]
    visits: list[Visit]


def my_bookings(conn, member_id: int, now: datetime) -> MyBookings:
    """The member's upcoming bookings and waitlist places, and their last five visits."""
    return MyBookings(upcoming(conn, member_id, now), last_visits(conn, member_id))


def today(now: datetime, rules: Rules) -> date:
    """The club's calendar day now."""
    return class_day(now, rules)
