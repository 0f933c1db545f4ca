"""Attendance: the classes a trainer teaches, their rosters, attended/no-show marks, no-shows.

When a place may be marked:
- attended from `checkin_window_minutes` before the start (when the door check-in opens),
- no-show from the start,
- either one, and changed back and forth, until `mark_hours` after the class ends;
- members still unmarked `grace_minutes` after the end are recorded as no-shows by the
  no-show sweep (jobs/noshow.py), which a trainer may still correct within the window.

Marking attended records the class visit (method 'class'); the visit was already taken from
the balance when the place was booked, so the balance does not change. Marking a no-show
removes that class visit again.

A member checked in at the door for the class (services/checkin.py counts a door visit for a
booked class starting within its window, and marks the place attended) came: they cannot be
marked a no-show, by a trainer or by the sweep (CHECKED_IN says when they came in), and the
sweep records a place still unmarked with such a check-in as attended. A roster offers only
the marks that can be made now (`offered`).

A trainer sees and marks only their own classes; an admin may act on any class. Both are
checked in the SQL that reads the id.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.locales import Localized
from fitclub.runtime import notices
from fitclub.services.booking import class_day, day_bounds

LIST_DAYS = 7  # today and the next six, as the members' timetable shows
MARK_HOURS = 24.0  # marks may change until this long after a class ends
CHECKIN_WINDOW_MINUTES = 30.0  # attended may be marked this long before the start
NO_SHOW_GRACE_MINUTES = 30.0
SWEEP_LIMIT = 100  # classes handled per sweep; the rest on the next one


class Rules(NamedTuple):
    """When marks may be made, and when unmarked places become no-shows."""

    timezone: tzinfo
    checkin_window_minutes: float = CHECKIN_WINDOW_MINUTES
    mark_hours: float = MARK_HOURS
    grace_minutes: float = NO_SHOW_GRACE_MINUTES


class Mark(Enum):
    """What a trainer records for a booked place."""

    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Outcome(Enum):
    """What became of a mark."""

    MARKED = "marked"
    UNCHANGED = "unchanged"  # it was marked so already (a double tap)
    TOO_EARLY = "too_early"  # before the mark opens (see `opens_at`)
    CLOSED = "closed"  # the marking window has passed
    CANCELLED = "cancelled"  # the class was cancelled
    CHECKED_IN = "checked_in"  # a no-show for a member checked in at the door (`checked_in_at`)
    UNAVAILABLE = "unavailable"  # no such place in a class of this actor (forged, stale, gone)


class TaughtClass(NamedTuple):
    """A class in a trainer's list."""

    id: int
    starts_at: datetime
    duration_minutes: int
    status: str
    name: Localized
    room: str
    capacity: int
    booked: int
    waiting: int


class RosterClass(NamedTuple):
    """The class a roster is of."""

    id: int
    starts_at: datetime
    duration_minutes: int
    status: str
    name: Localized
    room: str
    capacity: int
    booked: int
    trainer: str

    @property
    def ends_at(self) -> datetime:
        """When the class ends."""
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class Place(NamedTuple):
    """A booked place and its mark (booked = not marked yet)."""

    booking_id: int
    member_id: int
    name: str | None  # None for an erased member
    status: str  # booked, attended, no_show
    checked_in_at: datetime | None  # the visit recorded for the class, if any
    door_at: datetime | None = None  # checked in at the door for the class: no mark changes


class Waiting(NamedTuple):
    """Someone on the waitlist, in the order served."""

    booking_id: int
    name: str | None
    offered: bool  # a freed place is held for them right now


class CheckIn(NamedTuple):
    """A visit recorded for the class."""

    member_id: int
    name: str | None
    checked_in_at: datetime
    method: str  # qr, manual (at the door), class (marked by staff)


class Window(NamedTuple):
    """When marks open and close for a class."""

    attended_from: datetime
    no_show_from: datetime
    no_shows_at: datetime  # unmarked places become no-shows (the sweep)
    until: datetime


class Roster(NamedTuple):
    """A class with its booked places, waitlist and check-ins."""

    cls: RosterClass
    places: list[Place]
    waiting: list[Waiting]
    checked_in: list[CheckIn]
    window: Window


class MarkResult(NamedTuple):
    """The outcome of a mark, the class it was in, and whom it was about."""

    outcome: Outcome
    class_id: int | None = None
    name: str | None = None
    opens_at: datetime | None = None  # TOO_EARLY: when this mark opens
    closed_at: datetime | None = None  # CLOSED: when marking closed
    checked_in_at: datetime | None = None  # CHECKED_IN: when they came in at the door


class _Class(NamedTuple):
    id: int
    starts_at: datetime
    duration_minutes: int
    status: str


class _Booking(NamedTuple):
    id: int
    member_id: int
    membership_id: int | None
    status: str
    name: str | None


def window(starts_at: datetime, duration_minutes: int, rules: Rules) -> Window:
    """When each mark opens and closes for a class starting at starts_at."""
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    return Window(starts_at - timedelta(minutes=rules.checkin_window_minutes), starts_at,
                  ends_at + timedelta(minutes=rules.grace_minutes),
                  ends_at + timedelta(hours=rules.mark_hours))


def taught(conn, trainer_id: int, now: datetime, rules: Rules) -> list[TaughtClass]:
    """The member's classes from today to the sixth day after, plus earlier ones whose marks
    may still change (yesterday evening's class the morning after)."""
    today = class_day(now, rules)
    today_start, _ = day_bounds(today, rules)
    _, until = day_bounds(today + timedelta(days=LIST_DAYS - 1), rules)
    open_after = now - timedelta(hours=rules.mark_hours)
    # No class lasts a day: anything still markable started after this.
    since = min(today_start, open_after - timedelta(days=1))
    return rows.many(conn, "attendance.taught", {
        "trainer_id": trainer_id, "since": since, "until": until, "today": today_start,
        "open_after": open_after}, TaughtClass)


def roster(conn, actor_id: int, class_id: int, rules: Rules) -> Roster | None:
    """The roster of a class this actor may see (their own, any for an admin), else None."""
    cls = rows.one(conn, "attendance.class_for", {"class_id": class_id, "actor_id": actor_id},
                   RosterClass)
    if cls is None:
        return None
    params = {"class_id": class_id}
    return Roster(cls, rows.many(conn, "attendance.booked", params, Place),
                  rows.many(conn, "attendance.waiting", params, Waiting),
                  rows.many(conn, "attendance.checked_in", params, CheckIn),
                  window(cls.starts_at, cls.duration_minutes, rules))


def _refused(class_id: int, class_status: str, times: Window, place: Place,
             what: Mark, now: datetime) -> MarkResult | None:
    """Why this mark of a place changes nothing now (a MarkResult), or None when it may be
    made."""
    if class_status == "cancelled":
        return MarkResult(Outcome.CANCELLED, class_id, place.name)
    if what is Mark.NO_SHOW and place.door_at is not None:
        return MarkResult(Outcome.CHECKED_IN, class_id, place.name, checked_in_at=place.door_at)
    opens = times.attended_from if what is Mark.ATTENDED else times.no_show_from
    if now < opens:
        return MarkResult(Outcome.TOO_EARLY, class_id, place.name, opens_at=opens)
    if now > times.until:
        return MarkResult(Outcome.CLOSED, class_id, place.name, closed_at=times.until)
    if place.status == what.value:
        return MarkResult(Outcome.UNCHANGED, class_id, place.name)
    return None


def offered(found: Roster, place: Place, now: datetime) -> list[Mark]:
    """The marks that would change this place now (what a roster offers as buttons): none
    before the marks open or after they close, in a cancelled class, or for a member checked
    in at the door (the door is their mark; an unmarked place of theirs the sweep records as
    attended); not the mark the place already has."""
    if place.door_at is not None:
        return []
    return [what for what in Mark
            if _refused(found.cls.id, found.cls.status, found.window, place, what, now) is None]


def mark(conn, actor_id: int, class_id: int, booking_id: int, what: Mark, now: datetime,
         rules: Rules) -> MarkResult:
    """Mark a booked place of a class attended or no-show (audited); toggling is allowed in
    the window, a no-show for a member checked in at the door never (CHECKED_IN). UNAVAILABLE
    names the class when only the place is gone."""
    # The class row first, as every booking change does, then the booking itself.
    cls = rows.one(conn, "attendance.class_to_mark",
                   {"class_id": class_id, "actor_id": actor_id}, _Class)
    if cls is None:
        return MarkResult(Outcome.UNAVAILABLE)
    locked = rows.one(conn, "attendance.booking_for_update",
                      {"booking_id": booking_id, "class_id": class_id}, _Booking)
    if locked is None or locked.status not in ("booked", "attended", "no_show"):
        return MarkResult(Outcome.UNAVAILABLE, cls.id)
    # The door check-in after the locks, in a statement of its own: one committed while this
    # waited for them is seen (see attendance.booking_for_update).
    place = Place(locked.id, locked.member_id, locked.name, locked.status, None,
                  rows.scalar(conn, "attendance.door_check_in",
                              {"class_id": class_id, "member_id": locked.member_id}))
    refused = _refused(cls.id, cls.status, window(cls.starts_at, cls.duration_minutes, rules),
                       place, what, now)
    if refused is not None:
        return refused
    rows.execute(conn, "attendance.set_status", {"booking_id": place.booking_id,
                                                  "status": what.value})
    visit = {"member_id": place.member_id, "class_id": class_id}
    if what is Mark.ATTENDED:
        rows.execute(conn, "attendance.add_class_visit", {
            **visit, "membership_id": locked.membership_id, "now": now, "actor_id": actor_id})
    else:
        rows.execute(conn, "attendance.remove_class_visit", visit)
    audit.record(conn, actor_id=actor_id, action=f"attendance.{what.value}", entity="booking",
                 entity_id=place.booking_id, details={"class_id": class_id,
                                                      "member_id": place.member_id,
                                                      "from": place.status})
    return MarkResult(Outcome.MARKED, class_id, place.name)


# -- the no-show sweep --------------------------------------------------------------------------


class NoShow(NamedTuple):
    """A place the sweep recorded as a no-show."""

    booking_id: int
    name: str | None


class _Trainer(NamedTuple):
    telegram_id: int
    language: str
    class_name: Localized
    starts_at: datetime
    duration_minutes: int


@notices.kind
class NoShowsRecorded(NamedTuple):
    """A notice to the class's trainer: the sweep recorded its unmarked places as no-shows
    (the marks may still be changed until `until`)."""

    telegram_id: int
    language: str
    class_id: int
    class_name: str
    starts_at: datetime
    until: datetime
    marked: tuple[NoShow, ...]


class NoShows(NamedTuple):
    """What the sweep recorded for one class, and the notice to its trainer (None: nothing
    recorded, or a trainer who cannot be reached)."""

    class_id: int
    marked: list[NoShow]
    notice: NoShowsRecorded | None


class _ClassId(NamedTuple):
    id: int


def due_classes(conn, now: datetime, rules: Rules, limit: int = SWEEP_LIMIT) -> list[int]:
    """Classes that ended `grace_minutes` ago or more and still hold unmarked places."""
    ended_by = now - timedelta(minutes=rules.grace_minutes)
    return [r[0] for r in rows.many(conn, "attendance.due_no_shows",
                                    {"ended_by": ended_by, "limit": limit}, _ClassId)]


def record_no_shows(conn, class_id: int, now: datetime, rules: Rules) -> NoShows:
    """Record every still unmarked place of a class that is due as a no-show (audited, actor
    None), in one statement under the class row's lock, and tell its trainer; a second call
    records nothing. A member checked in at the door for the class is never a no-show: their
    place, if still unmarked, is recorded as attended (and not in the trainer's summary)."""
    cls = rows.one(conn, "attendance.lock_class", {"class_id": class_id}, _Class)
    if (cls is None or cls.status == "cancelled"
            or now < window(cls.starts_at, cls.duration_minutes, rules).no_shows_at):
        return NoShows(class_id, [], None)  # moved later or cancelled since it was found
    marked = rows.many(conn, "attendance.record_no_shows", {"class_id": class_id}, NoShow)
    trainer = (rows.one(conn, "attendance.trainer_notice", {"class_id": class_id}, _Trainer)
               if marked else None)
    notice = None
    if trainer is not None:
        until = window(trainer.starts_at, trainer.duration_minutes, rules).until
        notice = NoShowsRecorded(trainer.telegram_id, trainer.language, class_id,
                                 trainer.class_name, trainer.starts_at, until, tuple(marked))
        notices.record(conn, notice)
    return NoShows(class_id, marked, notice)
