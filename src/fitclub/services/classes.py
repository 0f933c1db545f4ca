"""Classes as admins run them: the timetable, change capacity, move and cancel a class.

Each change takes the class row first (`classes.lock`, as every booking change does), so it
is decided one transaction at a time with members' bookings; it writes its audit row in the
caller's transaction, returns who is affected and records a notice for each of them
(fitclub.runtime.notices). Planning new classes is in `class_planner`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.locales import Localized
from fitclub.runtime import jobs, notices
from fitclub.services import admin_input, booking
from fitclub.services.booking import OfferNotice, Rules, day_bounds
from fitclub.services.class_types import CAPACITY_MAX, Checked, Problem

DAYS_AHEAD = 14  # the date buttons: today and the next 13 days
DAYS_TYPED = 366  # a class may be planned or moved this far ahead (the timetable pages as far)
_TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


class AdminClass(NamedTuple):
    """A class as admins see it."""

    id: int
    starts_at: datetime
    duration_minutes: int
    status: str  # scheduled, cancelled, completed
    name: Localized
    trainer: str
    room: str
    capacity: int
    booked: int  # seats taken by bookings
    held: int  # places held for the waitlist by open offers
    waiting: int  # people on the waitlist
    series_id: int | None
    trainer_id: int

    @property
    def taken(self) -> int:
        """Places nobody else may book: booked plus held."""
        return self.booked + self.held


class Day(NamedTuple):
    """A day of the admin timetable: its classes (every status) and the days it pages between."""

    on: date
    classes: list[AdminClass]
    first: date  # today
    last: date


class Attendee(NamedTuple):
    """Someone to tell about a class: their chat, language, place, a visit coming back, and
    whether they have checked in for it (their visit stays used)."""

    telegram_id: int
    language: str
    status: str  # booked (checked in or not) or waitlisted
    visit_back: bool
    checked_in: bool


@notices.kind
class ClassMoved(NamedTuple):
    """A notice: the class the attendee booked or waits for has moved."""

    attendee: Attendee
    class_id: int
    name: str
    old_start: datetime
    new_start: datetime


@notices.kind
class ClassCancelled(NamedTuple):
    """A notice: the class the attendee booked or waits for is cancelled."""

    attendee: Attendee
    name: str
    starts_at: datetime


class Outcome(Enum):
    """What became of an admin's change."""

    DONE = "done"
    SAME = "same"  # nothing to change
    GONE = "gone"  # no such class
    CANCELLED = "cancelled"  # the class was cancelled before
    STARTED = "started"  # the class has started (or is completed)
    BELOW = "below"  # capacity under the places taken
    PAST = "past"  # a new time that has passed
    FAR = "far"  # a new time more than DAYS_TYPED days ahead


class _Count(NamedTuple):
    n: int


class _Id(NamedTuple):
    id: int


class _Retimed(NamedTuple):
    id: int
    expires_at: datetime


# -- typed dates and times -------------------------------------------------------------------

def check_time(text: str | None) -> Checked:
    """A time of day typed as HH:MM (or H.MM)."""
    found = _TIME.match(text or "")
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        return Checked(problem=Problem("time"))
    return Checked(time(int(found[1]), int(found[2])))


def last_day(today: date) -> date:
    """The last day a class may be planned on or moved to."""
    return today + timedelta(days=DAYS_TYPED)


def within_reach(on: date, today: date) -> bool:
    """Whether a class may be planned on or moved to this day (today up to `last_day`)."""
    return today <= on <= last_day(today)


def check_day(text: str | None, today: date) -> Checked:
    """A date typed as DD.MM (the next such day from today) or DD.MM.YYYY (any form
    `admin_input.read_day` takes); a day not in the calendar (31.02) is "nodate"."""
    typed = admin_input.read_day(text, today)
    if typed.problem == admin_input.NO_SUCH_DATE:
        return Checked(problem=Problem("nodate"))
    if typed.problem:
        return Checked(problem=Problem("date"))
    day = typed.value
    if day < today:
        return Checked(problem=Problem("past"))
    if day > last_day(today):
        return Checked(problem=Problem("far", high=DAYS_TYPED))
    return Checked(day)


def local_start(day: date, at: time, tz: tzinfo) -> datetime | None:
    """The UTC moment of a local date and time, None when the clocks skip it (a DST gap);
    a time the clocks repeat is its first occurrence."""
    moment = datetime.combine(day, at, tz)
    back = moment.astimezone(UTC).astimezone(tz)
    if (back.date(), back.time()) != (day, at):
        return None
    return moment.astimezone(UTC)


def new_start(on: date, at: time, now: datetime, tz: tzinfo) -> Checked:
    """The moment a class would start at a local date and time, or why it cannot: the clocks
    skip that time ('gap', with the day) or it has passed ('past')."""
    moment = local_start(on, at, tz)
    if moment is None:
        return Checked(problem=Problem("gap", low=on.toordinal()))
    if moment <= now:
        return Checked(problem=Problem("past"))
    return Checked(moment)


def days(today: date) -> list[date]:
    """The days offered as buttons where a date is chosen."""
    return [today + timedelta(days=i) for i in range(DAYS_AHEAD)]


# -- the timetable -------------------------------------------------------------------------

def day(conn, now: datetime, rules: Rules, on: date | None = None) -> Day:
    """A day of the admin timetable: `on`, or today when `on` is None or out of reach."""
    today = booking.class_day(now, rules)
    on = on if on is not None and within_reach(on, today) else today
    start, end = day_bounds(on, rules)
    found = rows.many(conn, "classes.admin_view", {"class_id": None, "start": start,
                                                   "end": end}, AdminClass)
    return Day(on, found, today, last_day(today))


def get(conn, class_id: int) -> AdminClass | None:
    """One class, or None."""
    return rows.one(conn, "classes.admin_view", {"class_id": class_id, "start": None,
                                                 "end": None}, AdminClass)


def audience(conn, class_id: int) -> list[Attendee]:
    """Who would be told about a change to the class (booked first, then the line)."""
    return rows.many(conn, "classes.audience", {"class_id": class_id}, Attendee)


def closed(cls: booking.LockedClass | AdminClass | None, now: datetime) -> Outcome | None:
    """Why a class can no longer be changed (gone, cancelled, started), or None."""
    if cls is None:
        return Outcome.GONE
    if cls.status == "cancelled":
        return Outcome.CANCELLED
    if cls.status != "scheduled" or now >= cls.starts_at:
        return Outcome.STARTED
    return None


# -- capacity --------------------------------------------------------------------------------

class CapacityChange(NamedTuple):
    """The outcome, the places taken (for a refusal) and the offers made to the line."""

    outcome: Outcome
    taken: int = 0
    offers: tuple[OfferNotice, ...] = ()


def set_capacity(conn, actor_id: int, class_id: int, capacity: int, now: datetime,
                 rules: Rules) -> CapacityChange:
    """Change the places of a class: never under those booked or held; new places are
    offered to the waitlist at once."""
    cls = booking.lock_class(conn, class_id)
    refused = closed(cls, now)
    if refused is not None:
        return CapacityChange(refused)
    taken = cls.booked_count + cls.held
    if capacity < taken:
        return CapacityChange(Outcome.BELOW, taken)
    if capacity == cls.capacity:
        return CapacityChange(Outcome.SAME, taken)
    if not 1 <= capacity <= CAPACITY_MAX:
        raise ValueError(f"capacity out of range: {capacity}")
    rows.execute(conn, "classes.set_capacity", {"class_id": class_id, "capacity": capacity})
    offers = booking.offer_places(conn, class_id, now, rules)
    audit.record(conn, actor_id=actor_id, action="class.capacity", entity="class",
                 entity_id=class_id, details={"from": cls.capacity, "to": capacity,
                                              "offered": len(offers)})
    return CapacityChange(Outcome.DONE, taken, offers)


# -- moving ------------------------------------------------------------------------------------

class Moved(NamedTuple):
    """The outcome, the class's name, old and new start, and who was told."""

    outcome: Outcome
    name: str = ""
    old_start: datetime | None = None
    new_start: datetime | None = None
    attendees: tuple[Attendee, ...] = ()


def move(conn, actor_id: int, class_id: int, new_start: datetime, now: datetime,
         rules: Rules) -> Moved:
    """Move a class that has not started to a time still to come, at most DAYS_TYPED days
    ahead (checked here too: the confirm button carries the new date).

    Bookings and waitlist places stay; reminders follow by themselves (their dedup key holds
    the class's start); an open offer is never held past the new booking close.
    """
    cls = booking.lock_class(conn, class_id)
    refused = closed(cls, now)
    if refused is not None:
        return Moved(refused)
    if new_start <= now:
        return Moved(Outcome.PAST, cls.name, cls.starts_at, new_start)
    if booking.class_day(new_start, rules) > last_day(booking.class_day(now, rules)):
        return Moved(Outcome.FAR, cls.name, cls.starts_at, new_start)
    if new_start == cls.starts_at:
        return Moved(Outcome.SAME, cls.name, cls.starts_at, new_start)
    rows.execute(conn, "classes.move", {"class_id": class_id, "starts_at": new_start})
    retimed = rows.many(conn, "classes.retime_offers", {
        "class_id": class_id, "closes_at": booking.closes_at(new_start, rules)}, _Retimed)
    for offer in retimed:
        jobs.reschedule(conn, booking.OFFER_JOB, f"offer:{offer.id}", offer.expires_at)
    attendees = tuple(audience(conn, class_id))
    audit.record(conn, actor_id=actor_id, action="class.moved", entity="class",
                 entity_id=class_id, details={"from": cls.starts_at.isoformat(),
                                              "to": new_start.isoformat(),
                                              "told": len(attendees),
                                              "offers_retimed": len(retimed)})
    notices.record(conn, *(ClassMoved(a, class_id, cls.name, cls.starts_at, new_start)
                           for a in attendees))
    return Moved(Outcome.DONE, cls.name, cls.starts_at, new_start, attendees)


# -- cancelling --------------------------------------------------------------------------------

class Cancelled(NamedTuple):
    """The outcome, the class, who was told, visits given back and offers withdrawn."""

    outcome: Outcome
    name: str = ""
    starts_at: datetime | None = None
    attendees: tuple[Attendee, ...] = ()
    visits_returned: int = 0
    offers_withdrawn: int = 0


def cancel(conn, actor_id: int, class_id: int, now: datetime) -> Cancelled:
    """Cancel a class that has not started: every booking and waitlist place ends, reserved
    visits go back (not of members who checked in already: they came in), open offers are
    withdrawn; each booked or waitlisted member is told once."""
    cls = booking.lock_class(conn, class_id)
    refused = closed(cls, now)
    if refused is not None:
        return Cancelled(refused)
    attendees = tuple(audience(conn, class_id))
    returned = sum(r.n for r in rows.many(conn, "classes.give_back_visits",
                                          {"class_id": class_id}, _Count))
    withdrawn = rows.many(conn, "classes.withdraw_offers", {"class_id": class_id, "now": now},
                          _Id)
    for offer in withdrawn:
        jobs.cancel(conn, booking.OFFER_JOB, f"offer:{offer.id}")
    rows.execute(conn, "classes.cancel_bookings", {"class_id": class_id, "now": now})
    rows.execute(conn, "classes.cancel", {"class_id": class_id})
    audit.record(conn, actor_id=actor_id, action="class.cancelled", entity="class",
                 entity_id=class_id, details={
                     "starts_at": cls.starts_at.isoformat(),
                     "booked": sum(a.status == "booked" for a in attendees),
                     "waitlisted": sum(a.status == "waitlisted" for a in attendees),
                     "checked_in": sum(a.checked_in for a in attendees),
                     "visits_returned": returned, "offers_withdrawn": len(withdrawn)})
    notices.record(conn, *(ClassCancelled(a, cls.name, cls.starts_at) for a in attendees))
    return Cancelled(Outcome.DONE, cls.name, cls.starts_at, attendees, returned,
                     len(withdrawn))

