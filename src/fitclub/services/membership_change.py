"""What every change admins make to a membership shares: the membership as admins see it,
locked for the change, and the change's result with the notice for the member.

The changes themselves are in services.membership_admin (grant, extend, cancel, adjust) and
services.freezes. Each runs in the caller's transaction and writes its audit row there; one
that is done returns a Result with a MembershipNotice for the member, also recorded for
delivery (fitclub.runtime.notices), so the member is told whoever made the change.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import NamedTuple

from fitclub.db import rows
from fitclub.db.members import Member, by_id
from fitclub.locales import Localized
from fitclub.runtime import notices
from fitclub.services import booking
from fitclub.services.booking import OfferNotice, Rules


class AdminMembership(NamedTuple):
    """A membership with its plan, freeze allowance and open freeze."""

    id: int
    member_id: int
    plan_id: int
    plan_name: Localized
    status: str  # active, frozen, expired (also an active one past its end), cancelled
    starts_on: date
    ends_on: date
    upcoming: bool  # its first day is after today
    visits_left: int | None  # None: unlimited
    freeze_allowance: int  # the plan's freeze days (0: no freezing)
    freeze_used: int  # days of every freeze, an open one at its planned length
    freeze_id: int | None  # the freeze planned or running
    frozen_from: date | None
    frozen_until: date | None

    @property
    def current(self) -> bool:
        """Active (not past its end) or frozen."""
        return self.status in ("active", "frozen")

    @property
    def state(self) -> str:
        """The status as people read it: 'upcoming' for an active one not started yet."""
        return "upcoming" if self.status == "active" and self.upcoming else self.status

    @property
    def freeze_left(self) -> int:
        """Freeze days still allowed."""
        return max(0, self.freeze_allowance - self.freeze_used)


class Outcome(Enum):
    """What became of a change."""

    DONE = "done"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"  # no such member, membership, plan or request (gone, forged)


class Refusal(Enum):
    """Why a change was refused; screens map each to one line (mbr_refused_<value>)."""

    HAS_CURRENT = "has_current"
    NOT_CURRENT = "not_current"
    PLAN_OFF_SALE = "plan_off_sale"
    BAD_START = "bad_start"
    FREEZE_OPEN = "freeze_open"
    NO_FREEZE = "no_freeze"
    FREEZE_NOT_ALLOWED = "freeze_not_allowed"  # the plan allows no freezing
    NO_ALLOWANCE = "no_allowance"
    OVER_ALLOWANCE = "over_allowance"
    UNLIMITED = "unlimited"
    BELOW_ZERO = "below_zero"


@notices.kind
class MembershipNotice(NamedTuple):
    """A notice to the member: their membership changed (what, and how it is now)."""

    telegram_id: int
    language: str
    kind: str  # granted, extended, frozen, unfrozen, freeze_cancelled, cancelled, adjusted
    membership: AdminMembership
    days: int = 0  # days frozen (unfrozen) or to freeze (frozen)
    delta: int = 0  # visits added (negative: taken)
    reason: str = ""
    bookings_cancelled: int = 0


class Result(NamedTuple):
    """A change's outcome, why it was refused (with the numbers), and what to tell whom."""

    outcome: Outcome
    reason: Refusal | None = None
    membership: AdminMembership | None = None
    notice: MembershipNotice | None = None
    offers: tuple[OfferNotice, ...] = ()
    member_id: int | None = None
    left: int = 0  # freeze days or visits left, for a refusal
    asked: int = 0  # what the admin asked for, for a refusal


def membership_of(conn, member_id: int, today: date) -> AdminMembership | None:
    """The member's current membership, else their latest, else None."""
    return rows.one(conn, "membership_admin.of_member",
                    {"member_id": member_id, "today": today}, AdminMembership)


def locked(conn, membership_id: int, today: date, *,
           erased_too: bool = False) -> AdminMembership | None:
    """A live member's membership (or, erased_too, an erased one's), locked for this
    transaction, or None."""
    return rows.one(conn, "membership_admin.lock",
                    {"membership_id": membership_id, "today": today,
                     "erased_too": erased_too}, AdminMembership)


def with_member(conn, membership_id: int, today: date
                ) -> tuple[Member, AdminMembership] | tuple[None, None]:
    """(member, membership) of a live member's membership, locked; else (None, None)."""
    found = locked(conn, membership_id, today)
    member = by_id(conn, found.member_id) if found is not None else None
    return (member, found) if member is not None else (None, None)


def _notice(conn, member_id: int, kind: str, membership_id: int, today: date,
            **extra) -> MembershipNotice | None:
    """The notice for the member, if the bot can write to them."""
    member = by_id(conn, member_id)
    if member is None or member.telegram_id is None or member.blocked_at is not None:
        return None
    notice = MembershipNotice(member.telegram_id, member.language, kind,
                              locked(conn, membership_id, today), **extra)
    notices.record(conn, notice)
    return notice


def done(conn, kind: str, membership_id: int, member_id: int, today: date,
         offers: tuple[OfferNotice, ...] = (), *, notify: bool = True, **extra) -> Result:
    """A change made: the membership as it is now, and the member's notice (`kind`; none when
    not notify: the caller tells the member itself)."""
    return Result(Outcome.DONE, membership=locked(conn, membership_id, today),
                  notice=(_notice(conn, member_id, kind, membership_id, today, **extra)
                          if notify else None),
                  offers=offers, member_id=member_id)


def refused(reason: Refusal, membership: AdminMembership | None = None, *, left: int = 0,
            asked: int = 0) -> Result:
    """A change refused, with the numbers a screen says why with."""
    return Result(Outcome.REFUSED, reason, membership,
                  member_id=membership.member_id if membership else None, left=left,
                  asked=asked)


def lock_current(conn, membership_id: int, today: date
                 ) -> tuple[AdminMembership | None, Result | None]:
    """The membership locked for a change, and the answer when it cannot change: gone
    (UNAVAILABLE) or not current (refused); None when it can."""
    found = locked(conn, membership_id, today)
    if found is None:
        return None, Result(Outcome.UNAVAILABLE)
    if not found.current:
        return found, refused(Refusal.NOT_CURRENT, found)
    return found, None


class _ClassId(NamedTuple):
    class_id: int


def cancel_bookings(conn, member_id: int, start: datetime, end: datetime, now: datetime,
                    rules: Rules) -> tuple[tuple[OfferNotice, ...], list[int]]:
    """Cancel the member's booked classes in [start, end) with their visits given back (the
    club's decision, never a late cancellation); the offers of the freed places."""
    offers: list[OfferNotice] = []
    cancelled = []
    timely = rules._replace(cancel_window_hours=0)
    for (class_id,) in rows.many(conn, "membership_admin.booked_between",
                                 {"member_id": member_id, "start": start, "end": end,
                                  "now": now}, _ClassId):
        result = booking.cancel_booking(conn, member_id, class_id, now, timely)
        if result.outcome is booking.Outcome.CANCELLED:
            cancelled.append(class_id)
            offers += result.offers
    return tuple(offers), cancelled
