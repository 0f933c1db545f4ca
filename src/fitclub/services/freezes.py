"""Freezes of a membership: set up by an admin, begun and ended by jobs, ended early by an
admin, or stopped when the membership is cancelled.

A freeze is a row of membership_freezes (both days inclusive) counted against the plan's
freeze days. While it runs the membership is 'frozen'; when it ends (the `freeze_end` job
after its last day, or an admin's early unfreeze) the membership is active again and its end
date moves by the days actually frozen. A freeze from a later date leaves the membership
active until the `freeze_start` job on its first day. Booked classes on the frozen days are
cancelled when the freeze is set up, their visits given back.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.runtime import jobs
from fitclub.services import booking, timetable
from fitclub.services.booking import Rules
from fitclub.services.membership_change import (
    AdminMembership,
    Outcome,
    Refusal,
    Result,
    cancel_bookings,
    done,
    locked,
    refused,
)

FREEZE_START_JOB = "freeze_start"
FREEZE_END_JOB = "freeze_end"


def _midnight(day: date, rules: Rules) -> datetime:
    return booking.day_bounds(day, rules)[0]


def _key(freeze_id: int) -> str:
    return f"freeze:{freeze_id}"


def first_day(found: AdminMembership, today: date) -> date:
    """The earliest day a freeze may start: today, or the membership's first day."""
    return max(today, found.starts_on)


def refusal(found: AdminMembership, days: int, start: date, today: date) -> Refusal | None:
    """Why this membership cannot be frozen for `days` from `start`, or None."""
    if not found.current:
        return Refusal.NOT_CURRENT
    if found.freeze_id is not None:
        return Refusal.FREEZE_OPEN
    if found.freeze_left <= 0:  # none left, or the plan allows no freezing at all
        return Refusal.NO_ALLOWANCE if found.freeze_allowance else Refusal.FREEZE_NOT_ALLOWED
    if days < 1 or days > found.freeze_left:
        return Refusal.OVER_ALLOWANCE
    if not first_day(found, today) <= start <= found.ends_on:
        return Refusal.BAD_START
    return None


def freeze(conn, actor_id: int, membership_id: int, days: int, start: date, now: datetime,
           rules: Rules) -> Result:
    """Freeze a current membership for `days` from `start` (today up to its end date), within
    the plan's remaining freeze days; booked classes on those days are cancelled."""
    today = timetable.today(now, rules)
    found = locked(conn, membership_id, today)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    why = refusal(found, days, start, today)
    if why is not None:
        return refused(why, found, left=found.freeze_left, asked=days)
    until = start + timedelta(days=days - 1)
    freeze_id = rows.scalar(conn, "freezes.insert", {
        "membership_id": membership_id, "frozen_from": start, "frozen_until": until,
        "created_by": actor_id})
    if start <= today:
        rows.execute(conn, "membership_admin.set_status",
                     {"membership_id": membership_id, "status": "frozen"})
    else:
        jobs.schedule(conn, FREEZE_START_JOB, {"freeze_id": freeze_id},
                      _midnight(start, rules), key=_key(freeze_id))
    jobs.schedule(conn, FREEZE_END_JOB, {"freeze_id": freeze_id},
                  _midnight(until + timedelta(days=1), rules), key=_key(freeze_id))
    offers, cancelled = cancel_bookings(conn, found.member_id, _midnight(start, rules),
                                        _midnight(until + timedelta(days=1), rules), now,
                                        rules)
    audit.record(conn, actor_id=actor_id, action="membership.frozen", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "freeze_id": freeze_id, "days": days,
                          "from": start.isoformat(), "until": until.isoformat(),
                          "classes_cancelled": cancelled})
    return done(conn, "frozen", membership_id, found.member_id, today, offers,
                days=days, bookings_cancelled=len(cancelled))


def _close(conn, found: AdminMembership, today: date, *, thaw: bool) -> int:
    """End the open freeze on the last day it froze (before today at the latest), or drop it
    when it froze no day; with thaw, the membership is active again and its end moves by
    those days. The days frozen."""
    last = min(found.frozen_until, today - timedelta(days=1))
    if last < found.frozen_from:
        rows.execute(conn, "freezes.drop", {"freeze_id": found.freeze_id})
        frozen = 0
    else:
        frozen = rows.scalar(conn, "freezes.end",
                             {"freeze_id": found.freeze_id, "frozen_until": last})
    if thaw:
        rows.execute(conn, "freezes.thaw", {"membership_id": found.id, "days": frozen})
    return frozen


def _call_off_jobs(conn, freeze_id: int) -> None:
    for kind in (FREEZE_START_JOB, FREEZE_END_JOB):
        jobs.cancel(conn, kind, _key(freeze_id))


def unfreeze(conn, actor_id: int, membership_id: int, now: datetime, rules: Rules) -> Result:
    """End a freeze early (or call off a planned one): only the days actually frozen count,
    against the allowance and on the end date."""
    today = timetable.today(now, rules)
    found = locked(conn, membership_id, today)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    if found.freeze_id is None or found.status not in ("active", "frozen"):
        return refused(Refusal.NO_FREEZE, found)
    planned = found.frozen_from > today
    frozen = _close(conn, found, today, thaw=True)
    _call_off_jobs(conn, found.freeze_id)
    audit.record(conn, actor_id=actor_id, action="membership.unfrozen", entity="membership",
                 entity_id=membership_id,
                 details={"member_id": found.member_id, "freeze_id": found.freeze_id,
                          "days_frozen": frozen, "early": True, "planned": planned})
    return done(conn, "freeze_cancelled" if planned else "unfrozen", membership_id,
                found.member_id, today, days=frozen)


def stop(conn, found: AdminMembership, today: date) -> None:
    """The open freeze of a membership being cancelled ends where it is (the end date stays)."""
    _close(conn, found, today, thaw=False)
    _call_off_jobs(conn, found.freeze_id)


class _Freeze(NamedTuple):
    id: int
    membership_id: int
    frozen_from: date
    frozen_until: date
    membership_status: str


def begin(conn, freeze_id: int, now: datetime, rules: Rules) -> Outcome:
    """The first day of a planned freeze: the membership is frozen (the freeze_start job).
    REFUSED before that day, UNAVAILABLE when the freeze is gone or the membership not active.
    """
    today = timetable.today(now, rules)
    found = rows.one(conn, "freezes.lock", {"freeze_id": freeze_id}, _Freeze)
    if found is None or found.membership_status != "active":
        return Outcome.UNAVAILABLE
    if found.frozen_from > today:
        return Outcome.REFUSED
    rows.execute(conn, "membership_admin.set_status",
                 {"membership_id": found.membership_id, "status": "frozen"})
    audit.record(conn, actor_id=None, action="membership.freeze_started", entity="membership",
                 entity_id=found.membership_id, details={"freeze_id": freeze_id})
    return Outcome.DONE


def finish(conn, freeze_id: int, now: datetime, rules: Rules) -> Result:
    """After a freeze's last day (the freeze_end job): active again, the end date moved by
    the days frozen. REFUSED while its last day has not passed, UNAVAILABLE when it already
    ended. A member who erased their data meanwhile still has the freeze closed (their
    membership stays), but nobody is told (no notice, no membership in the result)."""
    today = timetable.today(now, rules)
    found = rows.one(conn, "freezes.lock", {"freeze_id": freeze_id}, _Freeze)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    if found.frozen_until >= today:
        return Result(Outcome.REFUSED)
    membership = locked(conn, found.membership_id, today, erased_too=True)
    frozen = _close(conn, membership, today,
                    thaw=found.membership_status in ("active", "frozen"))
    audit.record(conn, actor_id=None, action="membership.unfrozen", entity="membership",
                 entity_id=found.membership_id,
                 details={"member_id": membership.member_id, "freeze_id": freeze_id,
                          "days_frozen": frozen, "early": False})
    return done(conn, "unfrozen", found.membership_id, membership.member_id, today,
                days=frozen)
