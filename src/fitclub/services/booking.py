"""Booking rules: book, cancel, the waitlist and its timed offers, in one place.

Every change to a class's bookings first takes the class row (`lock_class`), so capacity,
held offers and waitlist order are decided one transaction at a time, in commit order; the
CHECK on classes.booked_count stays as the last line of defence. Functions return what
happened plus the offers made, each also recorded as a notice (fitclub.runtime.notices).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.locales import Localized
from fitclub.runtime import jobs, notices

OFFER_JOB = "offer_expiry"


class Rules(NamedTuple):
    """The club's booking settings."""

    timezone: tzinfo
    closes_minutes: float = 0  # booking closes this long before the start
    cancel_window_hours: float = 3  # cancelling at least this long before gives the visit back
    offer_minutes: float = 30  # how long a freed place is held for the first in line


class Refusal(Enum):
    """Why a booking (or an accepted offer) was refused; screens map each to one line."""

    NO_MEMBERSHIP = "no_membership"
    FROZEN = "frozen"  # on the class day (Result.on: the freeze's last day, if known)
    NOT_STARTED = "not_started"  # the membership starts after the class day (on: its first day)
    ENDS_BEFORE = "ends_before"  # it ends before the class day (on: its last day)
    ENDED = "ended"  # it has already ended (on: its last day)
    NO_VISITS = "no_visits"
    ALREADY_BOOKED = "already_booked"
    ALREADY_WAITLISTED = "already_waitlisted"
    FULL = "full"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Outcome(Enum):
    """What became of a request."""

    BOOKED = "booked"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"  # a timely cancellation: the visit came back
    LATE = "late"  # a late cancellation: recorded, the visit is kept
    LEFT = "left"  # left the waitlist
    DECLINED = "declined"
    CHANGED = "changed"  # a cancellation's terms are no longer those the member confirmed
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"  # no such class/booking/offer for this member (forged, stale)


@notices.kind
class OfferNotice(NamedTuple):
    """A notice to the first in line: a place is held for them (which class, until when)."""

    offer_id: int
    telegram_id: int | None
    language: str
    class_id: int
    class_name: Localized
    starts_at: datetime
    expires_at: datetime


@notices.kind
class OfferExpired(NamedTuple):
    """A notice: the member's offer ran out unanswered."""

    offer: OfferNotice


class Result(NamedTuple):
    """The outcome of a booking change, why it was refused, the place in line, offers made;
    for a refusal by the membership's dates, the date that decides it and the class day."""

    outcome: Outcome
    reason: Refusal | None = None
    position: int | None = None
    offers: tuple[OfferNotice, ...] = ()
    class_id: int | None = None
    on: date | None = None
    day: date | None = None


class LockedClass(NamedTuple):
    """A class row taken for a change of its places (`lock_class`)."""

    id: int
    starts_at: datetime
    status: str
    capacity: int
    booked_count: int
    held: int
    name: Localized


class _Booking(NamedTuple):
    id: int
    status: str
    membership_id: int | None
    visit_reserved: bool


class _Membership(NamedTuple):
    id: int
    status: str
    starts_on: date
    ends_on: date
    visits_left: int | None
    frozen_on_day: bool
    frozen_until: date | None  # the last day of the freeze covering the class day
    freeze_open: bool


class _Why(NamedTuple):
    """Why the membership cannot pay for a class: the refusal, and the date it names."""

    reason: Refusal
    on: date | None = None


class _Offer(NamedTuple):
    id: int
    booking_id: int
    class_id: int
    member_id: int
    status: str
    expires_at: datetime


class _Line(NamedTuple):
    id: int
    member_id: int


def closes_at(starts_at: datetime, rules: Rules) -> datetime:
    """When booking a class closes."""
    return starts_at - timedelta(minutes=rules.closes_minutes)


def class_day(starts_at: datetime, rules: Rules) -> date:
    """The club's calendar day of a moment."""
    return starts_at.astimezone(rules.timezone).date()


def free_cancel_until(starts_at: datetime, rules: Rules) -> datetime:
    """The last moment a cancellation gives the visit back: the window before the start."""
    return starts_at - timedelta(hours=rules.cancel_window_hours)


def cancel_is_free(starts_at: datetime, now: datetime, rules: Rules) -> bool:
    """Whether cancelling now gives the visit back (exactly the window before still does)."""
    return now <= free_cancel_until(starts_at, rules)


class Terms(Enum):
    """What cancelling a booking costs now: what its confirmation says and the member agrees to."""

    FREE = "free"  # early enough: the visit comes back
    LATE = "late"  # within the window before the start: the visit is used
    UNCOUNTED = "none"  # the booking holds no visit (unlimited visits): nothing is used


def _terms(starts_at: datetime, mine: _Booking, now: datetime, rules: Rules) -> Terms:
    if not mine.visit_reserved or mine.membership_id is None:
        return Terms.UNCOUNTED
    return Terms.FREE if cancel_is_free(starts_at, now, rules) else Terms.LATE


def day_bounds(day: date, rules: Rules) -> tuple[datetime, datetime]:
    """[start, end) of a club calendar day, in UTC (23 or 25 hours long on a DST change)."""
    start = datetime.combine(day, datetime.min.time(), rules.timezone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), rules.timezone)
    return start.astimezone(UTC), end.astimezone(UTC)


def lock_class(conn, class_id: int) -> LockedClass | None:
    """Take the class row (None when there is no such class)."""
    return rows.one(conn, "classes.lock", {"class_id": class_id}, LockedClass)


def _mine(conn, class_id: int, member_id: int) -> _Booking | None:
    return rows.one(conn, "bookings.of_member",
                    {"class_id": class_id, "member_id": member_id}, _Booking)


def _membership(conn, member_id: int, cls: LockedClass, now: datetime, rules: Rules, *,
                lock: bool = True) -> tuple[_Membership | None, _Why | None]:
    """The membership that would pay for cls (locked, unless only read), or why there is none."""
    day = class_day(cls.starts_at, rules)
    query = "bookings.membership_for_update" if lock else "bookings.membership_on_day"
    found = rows.one(conn, query, {"member_id": member_id, "day": day}, _Membership)
    if found is None:
        return None, _Why(Refusal.NO_MEMBERSHIP)
    # A freeze refuses the days it covers; a class after it may be booked. A frozen status
    # without an open freeze (no dates known) refuses every day.
    if found.frozen_on_day or (found.status == "frozen" and not found.freeze_open):
        return None, _Why(Refusal.FROZEN, found.frozen_until)
    if day < found.starts_on:
        return None, _Why(Refusal.NOT_STARTED, found.starts_on)
    if day > found.ends_on:
        ended = found.ends_on < class_day(now, rules)
        return None, _Why(Refusal.ENDED if ended else Refusal.ENDS_BEFORE, found.ends_on)
    if found.visits_left is not None and found.visits_left <= 0:
        return None, _Why(Refusal.NO_VISITS)
    return found, None


def _refusal(why: _Why, cls: LockedClass, rules: Rules) -> Result:
    """A booking refused by the membership: the reason, its date and the class day."""
    return Result(Outcome.REFUSED, why.reason, class_id=cls.id, on=why.on,
                  day=class_day(cls.starts_at, rules) if why.on else None)


def membership_refusal(conn, member_id: int, cls, now: datetime, rules: Rules) -> Result | None:
    """Why the member's membership cannot pay for a class (anything with `id` and
    `starts_at`), as booking it would answer now, or None when it can. Only read, nothing
    locked: the class details offer no Book then and say why; book() decides again."""
    _, why = _membership(conn, member_id, cls, now, rules, lock=False)
    return None if why is None else _refusal(why, cls, rules)


def _position(conn, booking_id: int) -> int:
    return rows.scalar(conn, "bookings.position", {"booking_id": booking_id})


def _reserve(conn, membership: _Membership) -> bool:
    """Take one visit from a counted membership; whether one was taken."""
    rows.execute(conn, "bookings.take_visit", {"membership_id": membership.id})
    return membership.visits_left is not None


def _refused(conn, cls: LockedClass | None, mine: _Booking | None, member_id: int,
             now: datetime, rules: Rules) -> tuple[Result | None, _Membership | None]:
    """Why booking cls is refused (a Result), else the membership that pays for it."""
    if cls is None:
        return Result(Outcome.UNAVAILABLE), None
    reason = position = None
    if mine is not None and mine.status in ("booked", "attended", "no_show"):
        reason = Refusal.ALREADY_BOOKED
    elif mine is not None and mine.status == "waitlisted":
        reason, position = Refusal.ALREADY_WAITLISTED, _position(conn, mine.id)
    elif cls.status == "cancelled":
        reason = Refusal.CANCELLED
    elif cls.status != "scheduled" or now >= closes_at(cls.starts_at, rules):
        reason = Refusal.CLOSED  # a completed class, or booking has closed
    if reason is not None:
        return Result(Outcome.REFUSED, reason, position, class_id=cls.id), None
    membership, why = _membership(conn, member_id, cls, now, rules)
    if why is not None:
        return _refusal(why, cls, rules), None
    return None, membership


def book(conn, member_id: int, class_id: int, now: datetime, rules: Rules, *,
         waitlist_if_full: bool = False) -> Result:
    """Book a place (reserving a visit), or with waitlist_if_full queue for a full class."""
    cls = lock_class(conn, class_id)
    mine = _mine(conn, class_id, member_id) if cls is not None else None
    refused, membership = _refused(conn, cls, mine, member_id, now, rules)
    if refused is not None:
        return refused
    full = cls.booked_count + cls.held >= cls.capacity
    if full and not waitlist_if_full:
        return Result(Outcome.REFUSED, Refusal.FULL, class_id=class_id)
    status = "waitlisted" if full else "booked"
    reserved = not full and _reserve(conn, membership)
    params = {"class_id": class_id, "member_id": member_id, "status": status,
              "membership_id": None if full else membership.id, "visit_reserved": reserved}
    if mine is None:
        booking_id = rows.scalar(conn, "bookings.insert", params)
    else:
        booking_id = mine.id
        rows.execute(conn, "bookings.renew", {**params, "booking_id": booking_id})
    audit.record(conn, actor_id=member_id, action=f"booking.{status}", entity="booking",
                 entity_id=booking_id, details={"class_id": class_id})
    if full:
        return Result(Outcome.WAITLISTED, Refusal.FULL, _position(conn, booking_id),
                      class_id=class_id)
    return Result(Outcome.BOOKED, class_id=class_id)


def cancel_terms(conn, member_id: int, class_id: int, now: datetime,
                 rules: Rules) -> Terms | None:
    """What cancelling the member's booking of a class would cost now (None: not booked, or
    the class has started and cannot be cancelled). Only read, for the question: the class row
    is not taken, as cancel_booking(agreed=...) decides again under it."""
    starts_at = rows.scalar(conn, "bookings.class_start", {"class_id": class_id})
    mine = _mine(conn, class_id, member_id) if starts_at is not None else None
    if mine is None or mine.status != "booked" or now >= starts_at:
        return None
    return _terms(starts_at, mine, now, rules)


def cancel_booking(conn, member_id: int, class_id: int, now: datetime, rules: Rules, *,
                   agreed: Terms | None = None) -> Result:
    """Cancel a booking: the visit comes back if early enough; the place goes to the line.

    With `agreed` (the terms the member confirmed), terms that differ now cancel nothing:
    the result is CHANGED, decided under the class lock like the cancellation itself.
    """
    cls = lock_class(conn, class_id)
    mine = _mine(conn, class_id, member_id) if cls is not None else None
    if mine is None or mine.status != "booked":
        return Result(Outcome.UNAVAILABLE)
    if now >= cls.starts_at:
        return Result(Outcome.REFUSED, Refusal.CLOSED, class_id=class_id)
    if agreed is not None and _terms(cls.starts_at, mine, now, rules) is not agreed:
        return Result(Outcome.CHANGED, class_id=class_id)
    late = not cancel_is_free(cls.starts_at, now, rules)
    rows.execute(conn, "bookings.cancel", {"booking_id": mine.id, "now": now, "late": late})
    if not late and mine.visit_reserved and mine.membership_id is not None:
        rows.execute(conn, "bookings.give_back_visit", {"membership_id": mine.membership_id})
    audit.record(conn, actor_id=member_id, action="booking.cancelled", entity="booking",
                 entity_id=mine.id, details={"class_id": class_id, "late": late})
    offers = offer_places(conn, class_id, now, rules)
    return Result(Outcome.LATE if late else Outcome.CANCELLED, offers=offers, class_id=class_id)


def leave_waitlist(conn, member_id: int, class_id: int, now: datetime, rules: Rules) -> Result:
    """Leave the line; a place held for the member passes to the next one."""
    cls = lock_class(conn, class_id)
    mine = _mine(conn, class_id, member_id) if cls is not None else None
    if mine is None or mine.status != "waitlisted":
        return Result(Outcome.UNAVAILABLE)
    offers: tuple[OfferNotice, ...] = ()
    held = rows.one(conn, "bookings.open_offer_of_booking", {"booking_id": mine.id}, _Offer)
    rows.execute(conn, "bookings.cancel", {"booking_id": mine.id, "now": now, "late": False})
    if held is not None:
        _resolve(conn, held, "withdrawn", now)
        offers = offer_places(conn, class_id, now, rules)
    audit.record(conn, actor_id=member_id, action="waitlist.left", entity="booking",
                 entity_id=mine.id, details={"class_id": class_id})
    return Result(Outcome.LEFT, offers=offers, class_id=class_id)


def offer_places(conn, class_id: int, now: datetime, rules: Rules) -> tuple[OfferNotice, ...]:
    """Offer every free place of a class to the next in line (the class must be locked).

    Call after anything that frees a place (a cancellation, a raised capacity). An offer is
    held until WAITLIST_OFFER_MINUTES from now, never past the booking close; none is made
    once booking has closed. Each offer is recorded as a notice for its member.
    """
    cls = lock_class(conn, class_id)
    if cls is None or cls.status != "scheduled":
        return ()
    expires_at = min(now + timedelta(minutes=rules.offer_minutes), closes_at(cls.starts_at, rules))
    if expires_at <= now:
        return ()
    made = []
    for _ in range(cls.capacity - cls.booked_count - cls.held):
        nxt = rows.one(conn, "bookings.next_in_line", {"class_id": class_id}, _Line)
        if nxt is None:
            break
        offer_id = rows.scalar(conn, "bookings.insert_offer", {
            "booking_id": nxt.id, "class_id": class_id, "member_id": nxt.member_id,
            "now": now, "expires_at": expires_at})
        jobs.schedule(conn, OFFER_JOB, {"offer_id": offer_id}, expires_at,
                      key=f"offer:{offer_id}")
        audit.record(conn, actor_id=None, action="waitlist.offered", entity="waitlist_offer",
                     entity_id=offer_id, details={"class_id": class_id,
                                                  "member_id": nxt.member_id})
        made.append(rows.one(conn, "bookings.offer_notice", {"offer_id": offer_id},
                             OfferNotice))
    notices.record(conn, *made)
    return tuple(made)


def _resolve(conn, offer: _Offer, status: str, now: datetime) -> None:
    rows.execute(conn, "bookings.resolve_offer",
                 {"offer_id": offer.id, "status": status, "now": now})
    if status != "expired":  # the expiry job itself is running: it finishes as done
        jobs.cancel(conn, OFFER_JOB, f"offer:{offer.id}")


def _open_offer(conn, offer_id: int, member_id: int | None,
                now: datetime | None) -> tuple[LockedClass | None, _Offer | None]:
    """The class (locked) and the offer if it is still open (and, with now, unexpired)."""
    found = rows.one(conn, "bookings.offer_of",
                     {"offer_id": offer_id, "member_id": member_id}, _Offer)
    if found is None:
        return None, None
    # Then the class, then the offer again: every booking change of a class queues on the
    # class row, so the offer's state is read again once that lock is held.
    cls = lock_class(conn, found.class_id)
    offer = rows.one(conn, "bookings.offer_for_update",
                     {"offer_id": offer_id, "member_id": member_id}, _Offer)
    if offer is None or offer.status != "open" or (now is not None and offer.expires_at <= now):
        return cls, None
    return cls, offer


def accept_offer(conn, member_id: int, offer_id: int, now: datetime, rules: Rules) -> Result:
    """Take a held place; a membership that no longer allows it says why and passes it on."""
    cls, offer = _open_offer(conn, offer_id, member_id, now)
    if offer is None:
        return Result(Outcome.UNAVAILABLE, class_id=cls.id if cls else None)
    membership, why = _membership(conn, member_id, cls, now, rules)
    if cls.status == "cancelled":
        why = _Why(Refusal.CANCELLED)  # an offer left open on a class cancelled since
    elif why is None and now >= closes_at(cls.starts_at, rules):
        why = _Why(Refusal.CLOSED)
    if why is not None:
        _resolve(conn, offer, "refused", now)
        rows.execute(conn, "bookings.cancel",
                     {"booking_id": offer.booking_id, "now": now, "late": False})
        audit.record(conn, actor_id=member_id, action="waitlist.refused",
                     entity="waitlist_offer", entity_id=offer.id,
                     details={"reason": why.reason.value})
        return _refusal(why, cls, rules)._replace(
            offers=offer_places(conn, cls.id, now, rules))
    _resolve(conn, offer, "accepted", now)
    rows.execute(conn, "bookings.promote", {"booking_id": offer.booking_id,
                                            "membership_id": membership.id,
                                            "visit_reserved": _reserve(conn, membership)})
    audit.record(conn, actor_id=member_id, action="waitlist.accepted", entity="waitlist_offer",
                 entity_id=offer.id, details={"class_id": cls.id})
    return Result(Outcome.BOOKED, class_id=cls.id)


def decline_offer(conn, member_id: int, offer_id: int, now: datetime, rules: Rules) -> Result:
    """Turn a held place down: the member leaves the line and the place passes on."""
    cls, offer = _open_offer(conn, offer_id, member_id, None)
    if offer is None:
        return Result(Outcome.UNAVAILABLE, class_id=cls.id if cls else None)
    _resolve(conn, offer, "declined", now)
    rows.execute(conn, "bookings.cancel",
                 {"booking_id": offer.booking_id, "now": now, "late": False})
    audit.record(conn, actor_id=member_id, action="waitlist.declined", entity="waitlist_offer",
                 entity_id=offer.id, details={"class_id": cls.id})
    return Result(Outcome.DECLINED, offers=offer_places(conn, cls.id, now, rules),
                  class_id=cls.id)


class Expiry(NamedTuple):
    """An expired offer (who had it), and the offers that replaced it."""

    expired: OfferNotice | None
    offers: tuple[OfferNotice, ...]


def expire_offer(conn, offer_id: int, now: datetime, rules: Rules) -> Expiry:
    """The offer's time ran out (the offer_expiry job): the member leaves the line, it passes on.

    A no-op for an offer already answered, so a late or repeated run changes nothing.
    """
    cls, offer = _open_offer(conn, offer_id, None, None)
    if offer is None:
        return Expiry(None, ())
    _resolve(conn, offer, "expired", now)
    rows.execute(conn, "bookings.cancel",
                 {"booking_id": offer.booking_id, "now": now, "late": False})
    audit.record(conn, actor_id=None, action="waitlist.expired", entity="waitlist_offer",
                 entity_id=offer.id, details={"class_id": cls.id})
    expired = rows.one(conn, "bookings.offer_notice", {"offer_id": offer.id}, OfferNotice)
    notices.record(conn, OfferExpired(expired))
    return Expiry(expired, offer_places(conn, cls.id, now, rules))
