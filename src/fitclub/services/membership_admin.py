"""Memberships as admins manage them: the member card, grant, extend, freeze and unfreeze,
cancel, adjust visits, notes, and members' requests for a plan.

Every function runs in the caller's transaction and writes its audit row there. A change
returns a Result with a MembershipNotice for the member, also recorded for delivery
(fitclub.runtime.notices), so the member is told whoever made the change.

Freezes: a freeze is a row of membership_freezes (both days inclusive) counted against the
plan's freeze days. While it runs the membership is 'frozen'; when it ends (the `freeze_end`
job after its last day, or an admin's early unfreeze) the membership is active again and its
end date moves by the days actually frozen. A freeze from a later date leaves the membership
active until the `freeze_start` job on its first day. Booked classes on the frozen days are
cancelled when the freeze is set up, their visits given back.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Member, by_id
from fitclub.runtime import jobs, notices
from fitclub.services import booking, plans, timetable
from fitclub.services.booking import OfferNotice, Rules
from fitclub.services.timetable import MyBooking, Visit

FREEZE_START_JOB = "freeze_start"
FREEZE_END_JOB = "freeze_end"
#: How far ahead a membership may be set to start.
MAX_START_AHEAD_DAYS = 365
MAX_DELTA = 1000
MIN_REASON, MAX_REASON = 3, 200
MAX_NOTE = 500
NOTES_SHOWN = 3
BOOKINGS_SHOWN = 5
_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


class AdminMembership(NamedTuple):
    """A membership with its plan, freeze allowance and open freeze."""

    id: int
    member_id: int
    plan_id: int
    plan_name: str
    status: str  # active, frozen, expired (also an active one past its end), cancelled
    starts_on: date
    ends_on: date
    visits_left: int | None  # None: unlimited
    freeze_allowance: int
    freeze_used: int  # days of every freeze, an open one at its planned length
    freeze_id: int | None  # the freeze planned or running
    frozen_from: date | None
    frozen_until: date | None

    @property
    def current(self) -> bool:
        """Active (not past its end) or frozen."""
        return self.status in ("active", "frozen")

    @property
    def freeze_left(self) -> int:
        """Freeze days still allowed."""
        return max(0, self.freeze_allowance - self.freeze_used)


class Note(NamedTuple):
    """An admin's note on a member."""

    created_at: datetime
    author: str | None
    body: str


class Card(NamedTuple):
    """What an admin sees of a member."""

    member: Member
    membership: AdminMembership | None
    visits: list[Visit]
    bookings: list[MyBooking]
    notes: list[Note]


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
    NO_ALLOWANCE = "no_allowance"
    OVER_ALLOWANCE = "over_allowance"
    UNLIMITED = "unlimited"
    BELOW_ZERO = "below_zero"


class MembershipNotice(NamedTuple):
    """What to tell the member about a change of their membership."""

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


class _Id(NamedTuple):
    id: int


class Checked(NamedTuple):
    """A typed value, else the catalog key of its problem."""

    value: object = None
    problem: str | None = None


# -- typed input --------------------------------------------------------------------------------

_DATE_FORMATS = (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{1,2})[./](\d{1,2})[./](\d{4})",
                 r"(\d{1,2})[./](\d{1,2})")


def parse_day(text: str, today: date) -> date | None:
    """A typed date: 2026-05-01, 01.05.2026, 1/5/2026, or 01.05 (its next occurrence)."""
    text = (text or "").strip()
    for n, pattern in enumerate(_DATE_FORMATS):
        found = re.fullmatch(pattern, text)
        if found is None:
            continue
        numbers = [int(g) for g in found.groups()]
        try:
            if n == 0:
                return date(numbers[0], numbers[1], numbers[2])
            if n == 1:
                return date(numbers[2], numbers[1], numbers[0])
            day = date(today.year, numbers[1], numbers[0])
            return day if day >= today else date(today.year + 1, numbers[1], numbers[0])
        except ValueError:
            return None
    return None


def check_delta(text: str) -> Checked:
    """A change of visits: '+2', '-1' or '3' (not zero, at most 1000 either way)."""
    cleaned = re.sub(r"\s", "", text or "").replace("\u2212", "-")
    if not re.fullmatch(r"[+-]?\d{1,4}", cleaned):
        return Checked(problem="mbr_bad_delta")
    value = int(cleaned)
    if value == 0 or abs(value) > MAX_DELTA:
        return Checked(problem="mbr_bad_delta")
    return Checked(value)


def check_reason(text: str) -> Checked:
    """The reason for an adjustment: 3-200 characters."""
    reason = " ".join((text or "").split())
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        return Checked(problem="mbr_bad_reason")
    return Checked(reason)


def check_note(text: str) -> Checked:
    """A note: 1-500 characters (line breaks kept)."""
    note = "\n".join(line.strip() for line in (text or "").strip().splitlines()).strip()
    if not note or len(note) > MAX_NOTE:
        return Checked(problem="mbr_bad_note")
    return Checked(note)


def start_allowed(start: date, today: date) -> bool:
    """A new membership starts today or within a year."""
    return today <= start <= today + timedelta(days=MAX_START_AHEAD_DAYS)


# -- reading ---------------------------------------------------------------------------------

def membership_of(conn, member_id: int, today: date) -> AdminMembership | None:
    """The member's current membership, else their latest, else None."""
    return rows.one(conn, "membership_admin.of_member",
                    {"member_id": member_id, "today": today}, AdminMembership)


def card(conn, member_id: int, now: datetime, rules: Rules) -> Card | None:
    """A registered, live member's card; None when there is no such member."""
    member = by_id(conn, member_id)
    if member is None or member.registered_at is None:
        return None
    today = timetable.today(now, rules)
    return Card(member, membership_of(conn, member_id, today),
                timetable.last_visits(conn, member_id),
                timetable.upcoming(conn, member_id, now)[:BOOKINGS_SHOWN],
                rows.many(conn, "membership_admin.notes",
                          {"member_id": member_id, "limit": NOTES_SHOWN}, Note))


def locked(conn, membership_id: int, today: date, *,
           erased_too: bool = False) -> AdminMembership | None:
    """A live member's membership (or, erased_too, an erased one's), locked for this
    transaction, or None."""
    return rows.one(conn, "membership_admin.lock",
                    {"membership_id": membership_id, "today": today,
                     "erased_too": erased_too}, AdminMembership)


_lock = locked


def _notice(conn, member_id: int, kind: str, membership_id: int, today: date,
            **extra) -> MembershipNotice | None:
    """The notice for the member, if the bot can write to them."""
    member = by_id(conn, member_id)
    if member is None or member.telegram_id is None or member.blocked_at is not None:
        return None
    notice = MembershipNotice(member.telegram_id, member.language, kind,
                              _lock(conn, membership_id, today), **extra)
    notices.record(conn, notice)
    return notice


def _done(conn, kind: str, membership_id: int, member_id: int, today: date,
          offers: tuple[OfferNotice, ...] = (), **extra) -> Result:
    return Result(Outcome.DONE, membership=_lock(conn, membership_id, today),
                  notice=_notice(conn, member_id, kind, membership_id, today, **extra),
                  offers=offers, member_id=member_id)


def _refused(reason: Refusal, membership: AdminMembership | None = None, *, left: int = 0,
             asked: int = 0) -> Result:
    return Result(Outcome.REFUSED, reason, membership,
                  member_id=membership.member_id if membership else None, left=left,
                  asked=asked)


def _lock_current(conn, membership_id: int, today: date
                  ) -> tuple[AdminMembership | None, Result | None]:
    """The membership locked for a change, and the answer when it cannot change: gone
    (UNAVAILABLE) or not current (refused); None when it can."""
    found = _lock(conn, membership_id, today)
    if found is None:
        return None, Result(Outcome.UNAVAILABLE)
    if not found.current:
        return found, _refused(Refusal.NOT_CURRENT, found)
    return found, None


# -- grant and extend --------------------------------------------------------------------------

def grant(conn, actor_id: int, member_id: int, plan_id: int, starts_on: date, now: datetime,
          rules: Rules) -> Result:
    """Sell a plan on sale to a member without a current membership, from starts_on."""
    today = timetable.today(now, rules)
    if rows.scalar(conn, "membership_admin.lock_member", {"member_id": member_id}) is None:
        return Result(Outcome.UNAVAILABLE)
    plan = plans.get(conn, plan_id)
    if plan is None:
        return Result(Outcome.UNAVAILABLE, member_id=member_id)
    if not plan.is_active:
        return Result(Outcome.REFUSED, Refusal.PLAN_OFF_SALE, member_id=member_id)
    if not start_allowed(starts_on, today):
        return Result(Outcome.REFUSED, Refusal.BAD_START, member_id=member_id)
    rows.execute(conn, "membership_admin.expire_stale", {"member_id": member_id, "today": today})
    if rows.scalar(conn, "membership_admin.has_current", {"member_id": member_id}):
        return _refused(Refusal.HAS_CURRENT, membership_of(conn, member_id, today))
    membership_id = rows.scalar(conn, "membership_admin.insert", {
        "member_id": member_id, "plan_id": plan_id, "starts_on": starts_on})
    closed = [r.id for r in rows.many(conn, "membership_admin.close_requests",
                                      {"member_id": member_id, "plan_id": plan_id}, _Id)]
    audit.record(conn, actor_id=actor_id, action="membership.granted", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": member_id, "plan_id": plan_id,
                          "starts_on": starts_on.isoformat(), "requests_closed": closed})
    return _done(conn, "granted", membership_id, member_id, today)


def extend(conn, actor_id: int, membership_id: int, plan_id: int, expected_end: date,
           now: datetime, rules: Rules) -> Result:
    """Add a plan's days to a current membership's end and its visits to the balance.

    `expected_end` is the end date the admin saw: a second press of the same button finds
    it moved and changes nothing (UNAVAILABLE).
    """
    today = timetable.today(now, rules)
    found, answer = _lock_current(conn, membership_id, today)
    if answer is not None:
        return answer
    plan = plans.get(conn, plan_id)
    if plan is None or found.ends_on != expected_end:
        return Result(Outcome.UNAVAILABLE, membership=found, member_id=found.member_id)
    if not plan.is_active:
        return _refused(Refusal.PLAN_OFF_SALE, found)
    rows.execute(conn, "membership_admin.extend", {
        "membership_id": membership_id, "days": plan.duration_days,
        "visits": plan.visit_count, "expected_end": expected_end})
    audit.record(conn, actor_id=actor_id, action="membership.extended", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "plan_id": plan_id,
                          "days": plan.duration_days, "visits": plan.visit_count,
                          "ends_on_before": found.ends_on.isoformat()})
    return _done(conn, "extended", membership_id, found.member_id, today,
                 days=plan.duration_days, delta=plan.visit_count or 0)


# -- freezes -----------------------------------------------------------------------------------

def _midnight(day: date, rules: Rules) -> datetime:
    return booking.day_bounds(day, rules)[0]


def _freeze_key(freeze_id: int) -> str:
    return f"freeze:{freeze_id}"


def freeze_refusal(found: AdminMembership, days: int, start: date,
                   today: date) -> Refusal | None:
    """Why this membership cannot be frozen for `days` from `start`, or None."""
    if not found.current:
        return Refusal.NOT_CURRENT
    if found.freeze_id is not None:
        return Refusal.FREEZE_OPEN
    if found.freeze_left <= 0:
        return Refusal.NO_ALLOWANCE
    if days < 1 or days > found.freeze_left:
        return Refusal.OVER_ALLOWANCE
    if not first_freeze_day(found, today) <= start <= found.ends_on:
        return Refusal.BAD_START
    return None


def first_freeze_day(found: AdminMembership, today: date) -> date:
    """The earliest day a freeze may start: today, or the membership's first day."""
    return max(today, found.starts_on)


def freeze(conn, actor_id: int, membership_id: int, days: int, start: date, now: datetime,
           rules: Rules) -> Result:
    """Freeze a current membership for `days` from `start` (today up to its end date), within
    the plan's remaining freeze days; booked classes on those days are cancelled."""
    today = timetable.today(now, rules)
    found = _lock(conn, membership_id, today)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    refused = freeze_refusal(found, days, start, today)
    if refused is not None:
        return _refused(refused, found, left=found.freeze_left, asked=days)
    until = start + timedelta(days=days - 1)
    freeze_id = rows.scalar(conn, "membership_admin.insert_freeze", {
        "membership_id": membership_id, "frozen_from": start, "frozen_until": until,
        "created_by": actor_id})
    if start <= today:
        rows.execute(conn, "membership_admin.set_status",
                     {"membership_id": membership_id, "status": "frozen"})
    else:
        jobs.schedule(conn, FREEZE_START_JOB, {"freeze_id": freeze_id},
                      _midnight(start, rules), key=_freeze_key(freeze_id))
    jobs.schedule(conn, FREEZE_END_JOB, {"freeze_id": freeze_id},
                  _midnight(until + timedelta(days=1), rules), key=_freeze_key(freeze_id))
    offers, cancelled = _cancel_bookings(conn, found.member_id, _midnight(start, rules),
                                         _midnight(until + timedelta(days=1), rules), now,
                                         rules)
    audit.record(conn, actor_id=actor_id, action="membership.frozen", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "freeze_id": freeze_id, "days": days,
                          "from": start.isoformat(), "until": until.isoformat(),
                          "classes_cancelled": cancelled})
    return _done(conn, "frozen", membership_id, found.member_id, today, offers,
                 days=days, bookings_cancelled=len(cancelled))


class _ClassId(NamedTuple):
    class_id: int


def _cancel_bookings(conn, member_id: int, start: datetime, end: datetime, now: datetime,
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


def _close_freeze(conn, found: AdminMembership, today: date, *, thaw: bool) -> int:
    """End the open freeze on the last day it froze (before today at the latest), or drop it
    when it froze no day; with thaw, the membership is active again and its end moves by
    those days. The days frozen."""
    last = min(found.frozen_until, today - timedelta(days=1))
    if last < found.frozen_from:
        rows.execute(conn, "membership_admin.drop_freeze", {"freeze_id": found.freeze_id})
        frozen = 0
    else:
        frozen = rows.scalar(conn, "membership_admin.end_freeze",
                             {"freeze_id": found.freeze_id, "frozen_until": last})
    if thaw:
        rows.execute(conn, "membership_admin.thaw",
                     {"membership_id": found.id, "days": frozen})
    return frozen


def unfreeze(conn, actor_id: int, membership_id: int, now: datetime, rules: Rules) -> Result:
    """End a freeze early (or call off a planned one): only the days actually frozen count,
    against the allowance and on the end date."""
    today = timetable.today(now, rules)
    found = _lock(conn, membership_id, today)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    if found.freeze_id is None or found.status not in ("active", "frozen"):
        return _refused(Refusal.NO_FREEZE, found)
    planned = found.frozen_from > today
    frozen = _close_freeze(conn, found, today, thaw=True)
    for kind in (FREEZE_START_JOB, FREEZE_END_JOB):
        jobs.cancel(conn, kind, _freeze_key(found.freeze_id))
    audit.record(conn, actor_id=actor_id, action="membership.unfrozen", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "freeze_id": found.freeze_id,
                          "days_frozen": frozen, "early": True, "planned": planned})
    return _done(conn, "freeze_cancelled" if planned else "unfrozen", membership_id,
                 found.member_id, today, days=frozen)


class _Freeze(NamedTuple):
    id: int
    membership_id: int
    frozen_from: date
    frozen_until: date
    membership_status: str


def begin_freeze(conn, freeze_id: int, now: datetime, rules: Rules) -> Outcome:
    """The first day of a planned freeze: the membership is frozen (the freeze_start job).
    REFUSED before that day, UNAVAILABLE when the freeze is gone or the membership not active.
    """
    today = timetable.today(now, rules)
    found = rows.one(conn, "membership_admin.freeze", {"freeze_id": freeze_id}, _Freeze)
    if found is None or found.membership_status != "active":
        return Outcome.UNAVAILABLE
    if found.frozen_from > today:
        return Outcome.REFUSED
    rows.execute(conn, "membership_admin.set_status",
                 {"membership_id": found.membership_id, "status": "frozen"})
    audit.record(conn, actor_id=None, action="membership.freeze_started", entity="membership",
                 entity_id=found.membership_id, details={"freeze_id": freeze_id})
    return Outcome.DONE


def finish_freeze(conn, freeze_id: int, now: datetime, rules: Rules) -> Result:
    """After a freeze's last day (the freeze_end job): active again, the end date moved by
    the days frozen. REFUSED while its last day has not passed, UNAVAILABLE when it already
    ended. A member who erased their data meanwhile still has the freeze closed (their
    membership stays), but nobody is told (no notice, no membership in the result)."""
    today = timetable.today(now, rules)
    found = rows.one(conn, "membership_admin.freeze", {"freeze_id": freeze_id}, _Freeze)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    if found.frozen_until >= today:
        return Result(Outcome.REFUSED)
    membership = _lock(conn, found.membership_id, today, erased_too=True)
    frozen = _close_freeze(conn, membership, today,
                           thaw=found.membership_status in ("active", "frozen"))
    audit.record(conn, actor_id=None, action="membership.unfrozen", entity="membership",
                 entity_id=found.membership_id,
                 details={"member_id": membership.member_id, "freeze_id": freeze_id,
                          "days_frozen": frozen, "early": False})
    return _done(conn, "unfrozen", found.membership_id, membership.member_id, today,
                 days=frozen)


# -- cancel, adjust, notes ---------------------------------------------------------------------

def cancel(conn, actor_id: int, membership_id: int, now: datetime, rules: Rules) -> Result:
    """Cancel a current membership: an open freeze ends where it is (the end date stays),
    booked classes to come are cancelled."""
    today = timetable.today(now, rules)
    found, answer = _lock_current(conn, membership_id, today)
    if answer is not None:
        return answer
    if found.freeze_id is not None:
        _close_freeze(conn, found, today, thaw=False)
        for kind in (FREEZE_START_JOB, FREEZE_END_JOB):
            jobs.cancel(conn, kind, _freeze_key(found.freeze_id))
    rows.execute(conn, "membership_admin.set_status",
                 {"membership_id": membership_id, "status": "cancelled"})
    offers, cancelled = _cancel_bookings(conn, found.member_id, now, _FOREVER, now, rules)
    audit.record(conn, actor_id=actor_id, action="membership.cancelled", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "plan_id": found.plan_id,
                          "classes_cancelled": cancelled})
    return _done(conn, "cancelled", membership_id, found.member_id, today, offers,
                 bookings_cancelled=len(cancelled))


def adjust(conn, actor_id: int, membership_id: int, delta: int, reason: str, now: datetime,
           rules: Rules) -> Result:
    """Add or take visits of a current, counted membership, never below zero, with a reason."""
    today = timetable.today(now, rules)
    found, answer = _lock_current(conn, membership_id, today)
    if answer is not None:
        return answer
    if found.visits_left is None:
        return _refused(Refusal.UNLIMITED, found)
    if found.visits_left + delta < 0:
        return _refused(Refusal.BELOW_ZERO, found, left=found.visits_left, asked=-delta)
    after = rows.scalar(conn, "membership_admin.adjust",
                        {"membership_id": membership_id, "delta": delta})
    rows.execute(conn, "membership_admin.insert_adjustment", {
        "membership_id": membership_id, "actor_id": actor_id, "delta": delta,
        "visits_after": after, "reason": reason})
    audit.record(conn, actor_id=actor_id, action="membership.visits_adjusted",
                 entity="membership", entity_id=membership_id,
                 details={"member_id": found.member_id, "delta": delta,
                          "visits_before": found.visits_left, "visits_after": after,
                          "reason": reason})
    return _done(conn, "adjusted", membership_id, found.member_id, today, delta=delta,
                 reason=reason)


def add_note(conn, actor_id: int, member_id: int, body: str) -> bool:
    """Note something about a live member (staff only see it); False when they are gone."""
    note_id = rows.scalar(conn, "membership_admin.insert_note",
                          {"member_id": member_id, "author_id": actor_id, "body": body})
    if note_id is None:
        return False
    audit.record(conn, actor_id=actor_id, action="member.note_added", entity="member",
                 entity_id=member_id, details={"note_id": note_id})
    return True


# -- requests for a plan -----------------------------------------------------------------------

class PlanRequestView(NamedTuple):
    """An open request for a plan."""

    id: int
    member_id: int
    first_name: str
    last_name: str | None
    phone: str | None
    username: str | None
    plan_id: int
    plan_name: str
    plan_on_sale: bool
    created_at: datetime

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


class _Request(NamedTuple):
    id: int
    member_id: int
    plan_id: int


def open_requests(conn, limit: int = 8) -> tuple[list[PlanRequestView], int]:
    """The newest open requests, and how many are open in all."""
    return (rows.many(conn, "membership_admin.open_requests", {"limit": limit},
                      PlanRequestView),
            rows.scalar(conn, "membership_admin.count_open_requests", {}))


def grant_request(conn, actor_id: int, request_id: int, now: datetime, rules: Rules) -> Result:
    """Grant the requested plan from today; the request (and the member's others) close."""
    found = rows.one(conn, "membership_admin.lock_request", {"request_id": request_id},
                     _Request)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    result = grant(conn, actor_id, found.member_id, found.plan_id,
                   timetable.today(now, rules), now, rules)
    if result.outcome is Outcome.DONE:
        audit.record(conn, actor_id=actor_id, action="plan_request.granted",
                     entity="plan_request", entity_id=request_id,
                     details={"membership_id": result.membership.id})
    return result


def dismiss_request(conn, actor_id: int, request_id: int) -> bool:
    """Close an open request without granting it; False when it is not open."""
    found = rows.one(conn, "membership_admin.lock_request", {"request_id": request_id},
                     _Request)
    if found is None:
        return False
    rows.execute(conn, "membership_admin.close_request",
                 {"request_id": request_id, "status": "dismissed"})
    audit.record(conn, actor_id=actor_id, action="plan_request.dismissed",
                 entity="plan_request", entity_id=request_id,
                 details={"member_id": found.member_id, "plan_id": found.plan_id})
    return True
