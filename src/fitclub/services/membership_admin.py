"""Memberships as admins sell and change them: grant, extend, cancel, and adjust visits.

Freezes are in services.freezes, the member card and notes in services.member_card, and what
these share (the membership as admins see it, a change's result and the member's notice) in
services.membership_change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.services import freezes, plans, timetable
from fitclub.services.booking import Rules
from fitclub.services.membership_change import (
    Outcome,
    Refusal,
    Result,
    cancel_bookings,
    done,
    lock_current,
    membership_of,
    refused,
)
from fitclub.services.plans import PlanRow

#: How far ahead a membership may be set to start.
MAX_START_AHEAD_DAYS = 365
_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


class _Id(NamedTuple):
    id: int


def plans_on_sale(conn) -> list[PlanRow]:
    """The plans an admin may grant or extend by."""
    return [p for p in plans.all_plans(conn) if p.is_active]


def start_allowed(start: date, today: date) -> bool:
    """A new membership starts today or within a year."""
    return today <= start <= today + timedelta(days=MAX_START_AHEAD_DAYS)


def grant(conn, actor_id: int, member_id: int, plan_id: int, starts_on: date, now: datetime,
          rules: Rules, *, notify: bool = True) -> Result:
    """Sell a plan on sale to a member without a current membership, from starts_on; the
    member's open requests for a plan close. notify=False: the caller tells the member itself
    (a payment's notice)."""
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
        return refused(Refusal.HAS_CURRENT, membership_of(conn, member_id, today))
    membership_id = rows.scalar(conn, "membership_admin.insert", {
        "member_id": member_id, "plan_id": plan_id, "starts_on": starts_on})
    closed = [r.id for r in rows.many(conn, "plan_requests.close_on_grant",
                                      {"member_id": member_id, "plan_id": plan_id}, _Id)]
    audit.record(conn, actor_id=actor_id, action="membership.granted", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": member_id, "plan_id": plan_id,
                          "starts_on": starts_on.isoformat(), "requests_closed": closed})
    return done(conn, "granted", membership_id, member_id, today, notify=notify)


def extend(conn, actor_id: int, membership_id: int, plan_id: int, expected_end: date,
           now: datetime, rules: Rules, *, notify: bool = True) -> Result:
    """Add a plan's days to a current membership's end and its visits to the balance.

    `expected_end` is the end date the admin saw: a second press of the same button finds
    it moved and changes nothing (UNAVAILABLE).
    """
    today = timetable.today(now, rules)
    found, answer = lock_current(conn, membership_id, today)
    if answer is not None:
        return answer
    plan = plans.get(conn, plan_id)
    if plan is None or found.ends_on != expected_end:
        return Result(Outcome.UNAVAILABLE, membership=found, member_id=found.member_id)
    if not plan.is_active:
        return refused(Refusal.PLAN_OFF_SALE, found)
    rows.execute(conn, "membership_admin.extend", {
        "membership_id": membership_id, "days": plan.duration_days,
        "visits": plan.visit_count, "expected_end": expected_end})
    audit.record(conn, actor_id=actor_id, action="membership.extended", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "plan_id": plan_id,
                          "days": plan.duration_days, "visits": plan.visit_count,
                          "ends_on_before": found.ends_on.isoformat()})
    return done(conn, "extended", membership_id, found.member_id, today,
                days=plan.duration_days, delta=plan.visit_count or 0, notify=notify)


def cancel(conn, actor_id: int, membership_id: int, now: datetime, rules: Rules) -> Result:
    """Cancel a current membership: an open freeze ends where it is (the end date stays),
    booked classes to come are cancelled."""
    today = timetable.today(now, rules)
    found, answer = lock_current(conn, membership_id, today)
    if answer is not None:
        return answer
    if found.freeze_id is not None:
        freezes.stop(conn, found, today)
    rows.execute(conn, "membership_admin.set_status",
                 {"membership_id": membership_id, "status": "cancelled"})
    offers, cancelled = cancel_bookings(conn, found.member_id, now, _FOREVER, now, rules)
    audit.record(conn, actor_id=actor_id, action="membership.cancelled", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "plan_id": found.plan_id,
                          "classes_cancelled": cancelled})
    return done(conn, "cancelled", membership_id, found.member_id, today, offers,
                bookings_cancelled=len(cancelled))


def adjust(conn, actor_id: int, membership_id: int, delta: int, reason: str, now: datetime,
           rules: Rules) -> Result:
    """Add or take visits of a current, counted membership, never below zero, with a reason."""
    today = timetable.today(now, rules)
    found, answer = lock_current(conn, membership_id, today)
    if answer is not None:
        return answer
    if found.visits_left is None:
        return refused(Refusal.UNLIMITED, found)
    if found.visits_left + delta < 0:
        return refused(Refusal.BELOW_ZERO, found, left=found.visits_left, asked=-delta)
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
    return done(conn, "adjusted", membership_id, found.member_id, today, delta=delta,
                reason=reason)
