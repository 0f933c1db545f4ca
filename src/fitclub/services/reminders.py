"""Reminders: the member's switch, which reminders are due, and what each one says.

A sweep (jobs/reminders.py) finds due reminders in SQL and schedules one job per reminder
under a dedup key (the booking and its class's start; the membership and its end date; the
membership's last visit), so each is sent once however many sweeps and processes see it, and
a class moved to another time gets a reminder for its new time with no bookkeeping.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

from fitclub.db import rows
from fitclub.locales import Localized

CLASS_JOB = "class_reminder"
EXPIRY_JOB = "membership_expiry_notice"
LAST_VISIT_JOB = "last_visit_notice"
EXPIRY_NOTICE_DAYS = 3


def set_enabled(conn, member_id: int, enabled: bool) -> bool:
    """Turn a member's reminders on or off; False when there is no such live member."""
    return rows.execute(conn, "reminders.set_enabled", {"id": member_id,
                                                        "enabled": enabled}) == 1


class Due(NamedTuple):
    """A reminder to send: its job kind, payload and dedup key."""

    kind: str
    payload: dict
    key: str


class _DueClass(NamedTuple):
    booking_id: int
    starts_at: datetime


class _DueMembership(NamedTuple):
    membership_id: int
    ends_on: date


def due(conn, now: datetime, today: date, reminder_hours: float) -> list[Due]:
    """Every reminder due now (already sent ones included: their keys make them no-ops)."""
    found = [Due(CLASS_JOB, {"booking_id": r.booking_id},
                 f"{r.booking_id}@{int(r.starts_at.timestamp())}")
             for r in rows.many(conn, "reminders.due_classes",
                                {"now": now, "until": now + timedelta(hours=reminder_hours)},
                                _DueClass)]
    found += [Due(EXPIRY_JOB, {"membership_id": r.membership_id},
                  f"{r.membership_id}@{r.ends_on.isoformat()}")
              for r in rows.many(conn, "reminders.due_expiries",
                                 {"today": today,
                                  "last": today + timedelta(days=EXPIRY_NOTICE_DAYS)},
                                 _DueMembership)]
    found += [Due(LAST_VISIT_JOB, {"membership_id": r.membership_id}, str(r.membership_id))
              for r in rows.many(conn, "reminders.due_last_visits", {"today": today},
                                 _DueMembership)]
    return found


class ClassReminder(NamedTuple):
    """A class reminder's content (None from class_reminder when it no longer applies)."""

    telegram_id: int
    language: str
    class_id: int
    class_name: Localized
    starts_at: datetime
    room: str


class MembershipReminder(NamedTuple):
    """An expiry or last-visit reminder's content."""

    telegram_id: int
    language: str
    plan_name: Localized
    ends_on: date
    visits_left: int | None


def class_reminder(conn, booking_id: int, now: datetime) -> ClassReminder | None:
    """What to say about a booked place, or None (cancelled, started, reminders off...)."""
    return rows.one(conn, "reminders.class_reminder", {"booking_id": booking_id, "now": now},
                    ClassReminder)


def membership_reminder(conn, membership_id: int) -> MembershipReminder | None:
    """What to say about a membership, or None (no longer active, reminders off...)."""
    return rows.one(conn, "reminders.membership_reminder", {"membership_id": membership_id},
                    MembershipReminder)


def booked_start(conn, member_id: int, class_id: int) -> datetime | None:
    """The start of a class the member has a booked place in, else None."""
    return rows.scalar(conn, "reminders.my_booked_class",
                       {"member_id": member_id, "class_id": class_id})
