"""Check-in at the door: staff scan a member's card, type its code, or find them by name.

`check_in` is the one place a visit is recorded, in the caller's transaction: the rows of the
classes the member booked around now are locked first (as every booking change and a
trainer's mark take them, so a ❌ pressed meanwhile waits and then sees this visit), then the
member's current membership row, so two scans of one member at once go one after the other
and the second finds the first's visit (CHECKIN_DEDUP_MINUTES). A visit is taken from
the balance unless a class the member booked starts within CHECKIN_WINDOW_MINUTES of now
(before or after): then that booking is marked attended and the visit it reserved is used
(if a visit is already recorded for that class, e.g. the trainer marked the member attended
first, the member counts as checked in). Every refusal records nothing and says why. A member
checked in who can be reached is told (the `CheckedIn` notice).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, tzinfo
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Member
from fitclub.locales import Localized
from fitclub.runtime import notices
from fitclub.services import card
from fitclub.services.card import Invalid
from fitclub.services.memberships import MembershipView, membership_of

log = logging.getLogger(__name__)

STAFF_ROLES = ("trainer", "admin")


class Rules(NamedTuple):
    """The club's check-in settings and the card's key."""

    timezone: tzinfo
    window_minutes: float = 30
    dedup_minutes: float = 10
    card_secret: str = ""
    card_minutes: int = 5


class Outcome(Enum):
    """What became of a check-in."""

    CHECKED_IN = "checked_in"
    ALREADY = "already"  # checked in within the dedup window: nothing recorded
    REFUSED = "refused"  # the membership does not allow it (see Refusal)
    INVALID = "invalid"  # the card's token was refused (see card.Invalid)
    UNKNOWN_CODE = "unknown_code"  # no valid card shows this code
    GONE = "gone"  # no such live, registered member (erased, or a forged id)
    NOT_STAFF = "not_staff"  # the scanner is not a trainer or an admin


class Refusal(Enum):
    """Why the membership does not allow a visit right now."""

    NO_MEMBERSHIP = "no_membership"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    FROZEN = "frozen"
    CANCELLED = "cancelled"
    NO_VISITS = "no_visits"


class Person(NamedTuple):
    """The member at the door."""

    id: int
    name: str
    telegram_id: int | None
    language: str
    blocked: bool


@notices.kind
class CheckedIn(NamedTuple):
    """A notice to the member: they were checked in (the class it counted for, the balance)."""

    person: Person
    visits_left: int | None  # None when unlimited
    class_name: str | None
    class_starts_at: datetime | None


class Result(NamedTuple):
    """A check-in's outcome, what the staff are told, and the member's notice (if any)."""

    outcome: Outcome
    person: Person | None = None
    refusal: Refusal | None = None
    invalid: Invalid | None = None
    at: datetime | None = None  # this visit, or (ALREADY) the one before
    visits_left: int | None = None  # after this visit; None when unlimited
    class_name: str | None = None  # the booked class this visit attended
    class_starts_at: datetime | None = None
    on: date | None = None  # when the membership ended, starts, or is frozen until
    visit_id: int | None = None
    notice: CheckedIn | None = None


class _Membership(NamedTuple):
    id: int
    status: str
    starts_on: date
    ends_on: date
    visits_left: int | None
    frozen_until: date | None


class _ClassId(NamedTuple):
    id: int


class _Booking(NamedTuple):
    id: int
    status: str
    class_id: int
    class_name: Localized
    starts_at: datetime
    visit_at: datetime | None


def is_staff(member: Member | None) -> bool:
    """A registered trainer or admin (the role as read from the database for this update)."""
    return (member is not None and member.registered_at is not None
            and member.role in STAFF_ROLES)


def person(conn, member_id: int) -> Person | None:
    """A live, registered member, or None."""
    return rows.one(conn, "checkin.person", {"member_id": member_id}, Person)


def preview(conn, member_id: int, today: date) -> tuple[Person, MembershipView | None] | None:
    """The member and their membership, for the staff's confirm step; None when gone."""
    found = person(conn, member_id)
    return None if found is None else (found, membership_of(conn, member_id, today))


def scan(conn, scanner: Member | None, token: str, now: datetime, rules: Rules) -> Result:
    """A card's link opened by `scanner`: staff check the member in, anyone else is refused
    (logged and audited) and nothing else is looked at."""
    if not is_staff(scanner):
        attempt = {"what": "checkin.scan", "role": scanner.role if scanner else None,
                   "telegram_id": scanner.telegram_id if scanner else None}
        log.warning("refused a card scan to member %s (role %s)",
                    scanner.id if scanner else None, attempt["role"])
        audit.record(conn, actor_id=scanner.id if scanner else None, action="denied",
                     entity="staff_action", details=attempt)
        return Result(Outcome.NOT_STAFF)
    checked = card.check(conn, token, now, rules.card_secret, rules.card_minutes)
    if checked.problem is not None:
        log.info("card scan by member %s refused: %s", scanner.id, checked.problem.value)
        used = card.spent(conn, token) if checked.problem is Invalid.USED else None
        return Result(Outcome.INVALID, invalid=checked.problem, at=used.at if used else None)
    return _once(conn, checked.member_id, token, now, rules,
                 check_in(conn, scanner.id, checked.member_id, now, rules, method="qr"))


def _once(conn, member_id: int, token: str, now: datetime, rules: Rules,
          result: Result) -> Result:
    """A card that checked its member in checks nobody in again."""
    if result.outcome is Outcome.CHECKED_IN:
        card.mark_used(conn, member_id, token, now, rules.card_minutes)
    return result


def by_code(conn, staff_id: int, code: str, now: datetime, rules: Rules) -> Result:
    """Check in the member whose valid card shows this 6-digit code (spaces allowed)."""
    holder = card.by_code(conn, "".join(code.split()), now)
    if holder is None:
        return Result(Outcome.UNKNOWN_CODE)
    if holder.revoked_at is not None:
        log.info("card code typed by member %s refused: replaced", staff_id)
        return Result(Outcome.INVALID, invalid=Invalid.REPLACED)
    spent = card.spent(conn, holder.token)
    if spent is not None:
        log.info("card code typed by member %s refused: %s", staff_id, spent.problem.value)
        return Result(Outcome.INVALID, invalid=spent.problem, at=spent.at)
    return _once(conn, holder.member_id, holder.token, now, rules,
                 check_in(conn, staff_id, holder.member_id, now, rules, method="code"))


def looks_like_code(text: str) -> bool:
    """Six digits, perhaps written '123 456'."""
    digits = "".join(text.split())
    return len(digits) == 6 and digits.isascii() and digits.isdigit()


def _without_current(conn, member_id: int, today: date) -> tuple[Refusal, date | None]:
    """Why a member with no current membership is refused: what became of their last one."""
    latest = membership_of(conn, member_id, today)
    if latest is not None and latest.status == "cancelled":
        return Refusal.CANCELLED, None
    if latest is not None and latest.status == "expired":
        return Refusal.EXPIRED, latest.ends_on
    return Refusal.NO_MEMBERSHIP, None


def _refusal(conn, member_id: int, current: _Membership | None,
             today: date) -> tuple[Refusal, date | None] | None:
    """Why the membership allows no visit today (visits left aside), or None."""
    if current is None:
        return _without_current(conn, member_id, today)
    # Frozen before the end date: a running freeze moves ends_on only when it thaws, so a
    # membership frozen past its old end is frozen, not expired.
    if current.status == "frozen" or current.frozen_until is not None:
        return Refusal.FROZEN, current.frozen_until
    if current.ends_on < today:
        return Refusal.EXPIRED, current.ends_on
    if current.starts_on > today:
        return Refusal.NOT_STARTED, current.starts_on
    return None


def check_in(conn, staff_id: int, member_id: int, now: datetime, rules: Rules, *,
             method: str) -> Result:
    """Record the member's visit now, by `staff_id`, if the rules allow it (see the module).

    `method` is how the member was found at the door: 'qr' (their card scanned), 'code' (the
    card's 6-digit code typed), 'manual' (found by name); the visit and its audit row say so.
    """
    found = person(conn, member_id)
    if found is None:
        return Result(Outcome.GONE)
    today = now.astimezone(rules.timezone).date()
    window = timedelta(minutes=rules.window_minutes)
    around = {"member_id": member_id, "from": now - window, "until": now + window}
    # The booked classes' rows first, as every booking change and a trainer's mark take them.
    classes = [r.id for r in rows.many(conn, "checkin.classes_in_window", around, _ClassId)]
    current = rows.one(conn, "checkin.membership_for_update",
                       {"member_id": member_id, "today": today}, _Membership)
    earlier = rows.scalar(conn, "checkin.latest_visit", {
        "member_id": member_id, "since": now - timedelta(minutes=rules.dedup_minutes)})
    if earlier is not None:
        return Result(Outcome.ALREADY, found, at=earlier)
    refused = _refusal(conn, member_id, current, today)
    if refused is not None:
        return Result(Outcome.REFUSED, found, refusal=refused[0], on=refused[1])
    booked = rows.one(conn, "checkin.booking_in_window",
                      {**around, "now": now, "classes": classes}, _Booking)
    if booked is not None and booked.visit_at is not None:
        return Result(Outcome.ALREADY, found, at=booked.visit_at)
    return _record(conn, staff_id, found, current, booked, now, method)


def _record(conn, staff_id: int, found: Person, current: _Membership, booked: _Booking | None,
            now: datetime, method: str) -> Result:
    """The visit: the booking's reserved one, else one from the balance; recorded, audited."""
    member_id = found.id
    visits_left = current.visits_left
    if booked is None:
        if visits_left is not None and visits_left <= 0:
            return Result(Outcome.REFUSED, found, refusal=Refusal.NO_VISITS)
        if visits_left is not None:
            visits_left = rows.scalar(conn, "checkin.take_visit",
                                      {"membership_id": current.id})
    else:
        rows.execute(conn, "checkin.attend", {"booking_id": booked.id})
    visit_id = rows.scalar(conn, "checkin.record_visit", {
        "member_id": member_id, "membership_id": current.id,
        "class_id": booked.class_id if booked else None, "now": now, "staff_id": staff_id,
        "method": method})
    if visit_id is None:
        # Only a class visit can clash, and it used the visit its booking reserved: nothing
        # was taken, and the attended mark it set was already there.
        return Result(Outcome.ALREADY, found, at=rows.scalar(conn, "checkin.class_visit", {
            "member_id": member_id, "class_id": booked.class_id}))
    audit.record(conn, actor_id=staff_id, action="checkin", entity="visit", entity_id=visit_id,
                 details={"member_id": member_id, "method": method,
                          "class_id": booked.class_id if booked else None,
                          "booking_id": booked.id if booked else None,
                          "visits_left": visits_left})
    class_name = booked.class_name if booked else None
    class_starts_at = booked.starts_at if booked else None
    notice = None
    if found.telegram_id is not None and not found.blocked:
        notice = CheckedIn(found, visits_left, class_name, class_starts_at)
        notices.record(conn, notice)
    return Result(Outcome.CHECKED_IN, found, at=now, visits_left=visits_left,
                  class_name=class_name, class_starts_at=class_starts_at, visit_id=visit_id,
                  notice=notice)
