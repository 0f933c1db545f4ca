"""Planning classes (admins): one class, or a weekly series, from a draft gathered step by step.

A `Draft` is what the admin has chosen so far; it is kept as plain JSON between steps
(`to_data`/`from_data`). `preview` resolves it (names, every start in UTC, the trainer's
overlapping classes) for the confirmation screen, and `create` writes every class of it
in the caller's transaction, or none. Overlaps with the trainer's other classes are a
warning, not a refusal: a trainer may cover back-to-back or shared sessions.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from fitclub.db import audit, rows
from fitclub.locales import Localized
from fitclub.services import class_types
from fitclub.services.class_types import ClassType, Problem
from fitclub.services.classes import check_day, check_time, local_start

MAX_WEEKS = 12
ROOM_MAX = 64
ROOMS_OFFERED = 4
TRAINERS_SHOWN = 30


class Draft(NamedTuple):
    """A class (or weekly series) being planned: what has been chosen so far."""

    type_id: int | None = None
    trainer_id: int | None = None
    day: date | None = None  # the date, or a series' first day
    weekdays: tuple[int, ...] = ()  # ISO weekdays of a weekly series
    weeks: int = 0  # a series' number of weeks; 0 for one class
    at: time | None = None
    duration: int | None = None
    capacity: int | None = None
    room: str | None = None  # None until asked; "" for no room

    @property
    def weekly(self) -> bool:
        """A weekly series rather than one class."""
        return self.weeks > 0

    def to_data(self) -> dict[str, Any]:
        """As JSON for the flow's state."""
        return {"type_id": self.type_id, "trainer_id": self.trainer_id,
                "day": self.day.isoformat() if self.day else None,
                "weekdays": list(self.weekdays), "weeks": self.weeks,
                "at": self.at.strftime("%H:%M") if self.at else None,
                "duration": self.duration, "capacity": self.capacity, "room": self.room}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        """Back from the flow's state (unknown keys ignored)."""
        return cls(type_id=data.get("type_id"), trainer_id=data.get("trainer_id"),
                   day=date.fromisoformat(data["day"]) if data.get("day") else None,
                   weekdays=tuple(sorted(set(data.get("weekdays") or ()))),
                   weeks=int(data.get("weeks") or 0),
                   at=time.fromisoformat(data["at"]) if data.get("at") else None,
                   duration=data.get("duration"), capacity=data.get("capacity"),
                   room=data.get("room"))


class Trainer(NamedTuple):
    """Someone who may lead a class."""

    id: int
    name: str


class Chosen(NamedTuple):
    """The class type and the trainer a draft names (None: not chosen yet, or gone since)."""

    kind: ClassType | None
    trainer: Trainer | None


class Overlap(NamedTuple):
    """One of the trainer's classes at the same time, and how many such there are."""

    id: int
    starts_at: datetime
    name: Localized
    total: int


class Preview(NamedTuple):
    """A draft resolved: names, every start (UTC), overlaps, or the problem with it."""

    draft: Draft
    type_name: str | None
    trainer_name: str | None
    starts: tuple[datetime, ...]
    overlaps: tuple[Overlap, ...]
    problem: Problem | None


class Created(NamedTuple):
    """The classes created and the draft resolved, or the problem that stopped them."""

    class_ids: tuple[int, ...]
    preview: Preview
    problem: Problem | None = None


def occurrences(first: date, weekdays: tuple[int, ...], weeks: int) -> list[date]:
    """The dates of a draft: the one day (no weeks), or the chosen weekdays in `weeks` weeks
    from it."""
    if weeks <= 0:
        return [first]
    span = [first + timedelta(days=i) for i in range(7 * weeks)]
    return [d for d in span if d.isoweekday() in weekdays]


def starts(draft: Draft, tz: tzinfo) -> tuple[tuple[datetime, ...], Problem | None]:
    """Every start of a draft in UTC, or the problem: no weekday chosen, a time the clocks
    skip on one of its days ('gap', with that day)."""
    if draft.weekly and draft.weeks > MAX_WEEKS:
        return (), Problem("weeks", 1, MAX_WEEKS)
    if draft.weekly and not draft.weekdays:
        return (), Problem("weekdays")
    found = []
    for day in occurrences(draft.day, draft.weekdays, draft.weeks):
        moment = local_start(day, draft.at, tz)
        if moment is None:
            return (), Problem("gap", low=day.toordinal())
        found.append(moment)
    return tuple(found), None


def future_starts(draft: Draft, now: datetime,
                  tz: tzinfo) -> tuple[tuple[datetime, ...], Problem | None]:
    """Every start of a draft in UTC, or the problem: as `starts`, or the first start has
    passed ('past')."""
    moments, problem = starts(draft, tz)
    if problem is None and moments[0] <= now:
        problem = Problem("past")
    return moments, problem


def check_room(text: str | None) -> str | None:
    """A typed room name (spaces tidied), or None when longer than 64 characters or empty."""
    room = " ".join((text or "").split())
    return room if 0 < len(room) <= ROOM_MAX else None


def with_value(draft: Draft, step: str, text: str, now: datetime,
               tz: tzinfo) -> Draft | Problem:
    """The draft with a value typed (or a button's value) at a step, or the problem with it:
    a date ('date', club calendar), a time ('time': not passed, not skipped by the clocks on
    any day of the draft), a duration ('dur'), a capacity ('cap') or a room ('room')."""
    if step == "date":  # a series keeps its weekdays and weeks
        checked = check_day(text, now.astimezone(tz).date())
        return checked.problem or draft._replace(day=checked.value)
    if step == "time":
        checked = check_time(text)
        if checked.problem is not None:
            return checked.problem
        timed = draft._replace(at=checked.value)
        return future_starts(timed, now, tz)[1] or timed
    if step == "dur":
        checked = class_types.check_duration(text)
        return checked.problem or draft._replace(duration=checked.value)
    if step == "cap":
        checked = class_types.check_capacity(text)
        return checked.problem or draft._replace(capacity=checked.value)
    room = check_room(text)
    return Problem("room", high=ROOM_MAX) if room is None else draft._replace(room=room)


def trainers(conn) -> list[Trainer]:
    """Who may lead a class: trainers first, then admins."""
    return rows.many(conn, "classes.trainers", {"limit": TRAINERS_SHOWN}, Trainer)


def trainer(conn, member_id: int) -> Trainer | None:
    """Someone who may lead a class, by id (None for anyone else)."""
    return rows.one(conn, "classes.trainer", {"id": member_id}, Trainer)


class _Room(NamedTuple):
    room: str


def recent_rooms(conn) -> list[str]:
    """Rooms of the latest classes, offered as buttons."""
    return [r.room for r in rows.many(conn, "classes.recent_rooms", {"limit": ROOMS_OFFERED},
                                      _Room)]


def overlaps(conn, trainer_id: int, moments: tuple[datetime, ...], duration: int,
             exclude_id: int | None = None) -> tuple[Overlap, ...]:
    """The trainer's classes to come (not cancelled) overlapping any of these starts (the
    first five)."""
    if not moments:
        return ()
    return tuple(rows.many(conn, "classes.trainer_overlaps", {
        "trainer_id": trainer_id, "starts": list(moments), "duration": duration,
        "exclude_id": exclude_id}, Overlap))


def chosen(conn, draft: Draft, now: datetime) -> Chosen:
    """The class type and the trainer the draft names, as they are now."""
    return Chosen(class_types.get(conn, draft.type_id, now) if draft.type_id else None,
                  trainer(conn, draft.trainer_id) if draft.trainer_id else None)


def preview(conn, draft: Draft, now: datetime, tz: tzinfo) -> Preview:
    """A complete draft resolved for its confirmation screen (the problem if it cannot be)."""
    kind, who = chosen(conn, draft, now)
    type_name = kind.name if kind else None
    if type_name is None or who is None:
        return Preview(draft, type_name, who.name if who else None, (), (), Problem("gone"))
    moments, problem = future_starts(draft, now, tz)
    found = () if problem else overlaps(conn, who.id, moments, draft.duration)
    return Preview(draft, type_name, who.name, moments, found, problem)


class _ClassId(NamedTuple):
    id: int


def create(conn, actor_id: int, draft: Draft, now: datetime, tz: tzinfo) -> Created:
    """Create every class of a complete draft in one go, or none (with the problem)."""
    found = preview(conn, draft, now, tz)
    if found.problem is not None:
        return Created((), found, found.problem)
    series_id = None
    if draft.weekly:
        series_id = rows.scalar(conn, "classes.insert_series", {
            "weekdays": list(draft.weekdays), "weeks": draft.weeks, "actor_id": actor_id})
    created = rows.many(conn, "classes.insert_many", {
        "type_id": draft.type_id, "trainer_id": draft.trainer_id, "starts": list(found.starts),
        "duration": draft.duration, "capacity": draft.capacity, "room": draft.room or "",
        "series_id": series_id}, _ClassId)
    if len(created) != len(found.starts):
        raise RuntimeError("classes.insert_many wrote fewer classes than asked")
    for row, moment in zip(created, found.starts, strict=True):
        audit.record(conn, actor_id=actor_id, action="class.scheduled", entity="class",
                     entity_id=row.id, details={
                         "type_id": draft.type_id, "trainer_id": draft.trainer_id,
                         "starts_at": moment.isoformat(), "duration": draft.duration,
                         "capacity": draft.capacity, "room": draft.room or "",
                         "series_id": series_id})
    return Created(tuple(r.id for r in created), found)
