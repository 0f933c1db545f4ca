"""The audit log as admins read it: staff actions, newest first, paged, by or on one member.

The log also records what members do for themselves (registering, booking, requesting a
plan) and what the system does (offers, erasure); those are not staff actions and are left
out here: entries without an actor, and the members' own actions listed in MEMBER_ACTIONS.
A member's denied attempt at a staff action (`denied`) is shown: it is a security event.

Each entry comes with the names it can be shown by (screens/audit_log.py makes it a sentence):
who did it, the member it was about, and the class, plan, class type and trainer it names (read
now; None when the row is gone or the entry names none).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from fitclub.db import members, rows
from fitclub.db.members import Member
from fitclub.locales import Localized

PAGE_SIZE = 10
#: What members do for themselves (services/registration, memberships, booking).
MEMBER_ACTIONS = ("member.registered", "plan.requested", "plan.withdrawn", "booking.booked",
                  "booking.waitlisted", "booking.cancelled", "waitlist.left", "waitlist.accepted",
                  "waitlist.declined", "waitlist.refused")


class Entry(NamedTuple):
    """One staff action, with who took it and the member it was about (if any)."""

    id: int
    at: datetime
    action: str
    entity: str
    entity_id: int | None
    details: dict[str, Any]
    actor_id: int
    actor_first_name: str | None  # None: the actor has since erased their data
    actor_last_name: str | None
    subject_id: int | None
    subject_first_name: str | None
    subject_last_name: str | None
    class_name: Localized | None  # the class type's name of the class it names
    class_starts_at: datetime | None
    plan_name: Localized | None
    type_name: Localized | None  # the class type it names
    trainer_first_name: str | None
    trainer_last_name: str | None

    @property
    def actor_name(self) -> str | None:
        """The actor's name, None when erased."""
        return _name(self.actor_first_name, self.actor_last_name)

    @property
    def subject_name(self) -> str | None:
        """The subject member's name, None when there is none or they were erased."""
        return _name(self.subject_first_name, self.subject_last_name)

    @property
    def trainer_name(self) -> str | None:
        """The trainer it names (a class scheduled for them), None when none or erased."""
        return _name(self.trainer_first_name, self.trainer_last_name)


class Page(NamedTuple):
    """A page of the log: its entries, its number (0 = newest), whether older ones follow,
    and the member it is filtered by (None: everyone)."""

    entries: tuple[Entry, ...]
    number: int
    has_older: bool
    member: Member | None


def _name(first: str | None, last: str | None) -> str | None:
    if first is None:
        return None
    return f"{first} {last}" if last else first


def page(conn, number: int, member: Member | None = None,
         size: int = PAGE_SIZE) -> Page:
    """Page `number` (0 = the newest) of staff actions, all or by or on `member`."""
    found = rows.many(conn, "audit_log.page", {
        "member_actions": list(MEMBER_ACTIONS), "member_id": member.id if member else None,
        "limit": size + 1, "offset": number * size}, Entry)
    return Page(tuple(found[:size]), number, len(found) > size, member)


def filter_member(conn, member_id: int) -> Member | None:
    """The member a log may be filtered by: anyone not erased (None otherwise)."""
    return members.by_id(conn, member_id)

