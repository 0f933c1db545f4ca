"""Test rows from one place: members, plans, memberships, class types, classes, bookings, visits,
payments.

Each function inserts rows with sensible defaults, takes keyword overrides for what a test
cares about, and returns the new id (a list of ids for the bulk `members` and `memberships`).
`db` is an open psycopg2 connection (the caller commits, as with the `db` fixture) or a
database URL (the row is committed on a connection of its own, as `tests.helpers.query` does).

Times may be given relative to the database's clock, as the tests' SQL did: True is now(), a
timedelta counts from now(), an int number of days counts from current_date.

A new required column is one edit: give it a value where its table's rows are built below
(`_members_row`, `_memberships_row`, or the function named after the table).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import connection

from tests.helpers import query

Db = connection | str
Moment = bool | datetime | timedelta | None
Day = int | date | str

_NOW = sql.SQL("now()")
# The defaults for "the club's only plan / class type", as most tests have just one.
_ONLY_PLAN = sql.SQL("(SELECT id FROM membership_plans)")
_ONLY_CLASS_TYPE = sql.SQL("(SELECT id FROM class_types)")
_NEXT_TELEGRAM_ID = sql.SQL("(SELECT coalesce(max(telegram_id), 0) + 1 FROM members)")


def _moment(value: Moment) -> Any:
    """A timestamp: True is now(), a timedelta counts from now(), False or None is NULL."""
    if value is True:
        return _NOW
    if value is False or value is None:
        return None
    if isinstance(value, timedelta):
        return sql.SQL("now() + {}").format(sql.Literal(value))
    return value


def _day(value: Day) -> Any:
    """A date: an int counts days from current_date; a date (or 'YYYY-MM-DD') is itself."""
    if isinstance(value, int):
        return sql.SQL("current_date + {}").format(sql.Literal(value))
    return value


def _insert(db: Db, table: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (all with the same columns) in one statement; their ids in order."""
    if not rows:
        return []
    columns = list(rows[0])
    params: list[Any] = []
    values = []
    for row in rows:
        cells = []
        for column in columns:
            if isinstance(row[column], sql.Composable):
                cells.append(row[column])
            else:
                cells.append(sql.Placeholder())
                params.append(row[column])
        values.append(sql.SQL("({})").format(sql.SQL(", ").join(cells)))
    statement = sql.SQL("INSERT INTO {} ({}) VALUES {} RETURNING id").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(values))
    if isinstance(db, str):
        return [row[0] for row in query(db, statement, params)]
    with db.cursor() as cur:
        cur.execute(statement, params)
        return [row[0] for row in cur.fetchall()]


def _members_row(telegram_id: int | None = None, first_name: str = "Anna", *,
                 last_name: str | None = None, phone: str | None = None,
                 username: str | None = None, language: str = "en", role: str = "member",
                 reminders_enabled: bool = True, registered: Moment = True,
                 blocked: Moment = False, erased: bool = False) -> dict[str, Any]:
    if erased:  # "delete my data": the row stays, nothing in it identifies anyone
        telegram_id = first_name = last_name = phone = username = None
    elif telegram_id is None:
        telegram_id = _NEXT_TELEGRAM_ID
    return {"telegram_id": telegram_id, "first_name": first_name, "last_name": last_name,
            "phone": phone, "username": username, "language": language, "role": role,
            "reminders_enabled": reminders_enabled, "registered_at": _moment(registered),
            "blocked_at": _moment(blocked), "deleted_at": _NOW if erased else None}


def member(db: Db, telegram_id: int | None = None, first_name: str = "Anna",
           **overrides: Any) -> int:
    """A registered member (role member, English); its id.

    Overrides: last_name, phone, username, language, role ('trainer', 'admin'),
    reminders_enabled; registered and blocked (a moment, or False: never); erased=True for a
    person who asked to be deleted. telegram_id defaults to one more than the largest so far.
    """
    return _insert(db, "members", [_members_row(telegram_id, first_name, **overrides)])[0]


def members(db: Db, rows: Iterable[Mapping[str, Any]], **shared: Any) -> list[int]:
    """Many members in one statement (load tests): each row's overrides on top of `shared`."""
    return _insert(db, "members", [_members_row(**{**shared, **row}) for row in rows])


def plan(db: Db, name: str = "Ten", *, price_minor: int = 100, duration_days: int = 30,
         visit_count: int | None = 10, freeze_days: int = 0, is_active: bool = True,
         **translated: Any) -> int:
    """A plan on sale, 10 visits in 30 days; its id. visit_count=None is unlimited.
    Translated: lang (of the name, 'en' by default) and name_tr (the name in the other)."""
    return _insert(db, "membership_plans", [{
        "name": name, "price_minor": price_minor, "duration_days": duration_days,
        "visit_count": visit_count, "freeze_days": freeze_days, "is_active": is_active,
        **translated}])[0]


def _memberships_row(member_id: int, plan_id: int | None = None, *, starts_on: Day = 0,
                     ends_on: Day = 29, visits_left: int | None = 10,
                     status: str = "active") -> dict[str, Any]:
    return {"member_id": member_id, "plan_id": _ONLY_PLAN if plan_id is None else plan_id,
            "starts_on": _day(starts_on), "ends_on": _day(ends_on), "visits_left": visits_left,
            "status": status}


def membership(db: Db, member_id: int, plan_id: int | None = None, **overrides: Any) -> int:
    """An active membership from today for 30 days with 10 visits left; its id.

    plan_id defaults to the only plan there is. Overrides: starts_on, ends_on (a date, or days
    from today), visits_left (None: unlimited), status.
    """
    return _insert(db, "memberships", [_memberships_row(member_id, plan_id, **overrides)])[0]


def memberships(db: Db, member_ids: Iterable[int], plan_id: int | None = None,
                **overrides: Any) -> list[int]:
    """The same membership for each member, in one statement."""
    return _insert(db, "memberships", [_memberships_row(member_id, plan_id, **overrides)
                                       for member_id in member_ids])


def class_type(db: Db, name: str = "Yoga", *, description: str = "",
               default_duration_minutes: int = 60, default_capacity: int = 10,
               **translated: Any) -> int:
    """A class type (an hour, ten places); its id. Translated: lang (of the name and
    description, 'en' by default), name_tr and description_tr (in the other language)."""
    return _insert(db, "class_types", [{
        "name": name, "description": description,
        "default_duration_minutes": default_duration_minutes,
        "default_capacity": default_capacity, **translated}])[0]


def class_(db: Db, trainer_id: int, starts_at: Moment = timedelta(days=1), *,
           class_type_id: int | None = None, duration_minutes: int = 60, capacity: int = 10,
           status: str = "scheduled", room: str = "") -> int:
    """A scheduled class of an hour with ten places, tomorrow at this time; its id.

    starts_at is a datetime or a timedelta from now(); class_type_id defaults to the only
    class type there is.
    """
    return _insert(db, "classes", [{
        "class_type_id": _ONLY_CLASS_TYPE if class_type_id is None else class_type_id,
        "trainer_id": trainer_id, "starts_at": _moment(starts_at),
        "duration_minutes": duration_minutes, "capacity": capacity, "status": status,
        "room": room}])[0]


def booking(db: Db, class_id: int, member_id: int, *, status: str = "booked",
            membership_id: int | None = None, visit_reserved: bool = False,
            created_at: Moment = None) -> int:
    """A place in a class (booked, waitlisted, attended, no_show, cancelled); its id.

    membership_id and visit_reserved: the visit a booking holds. created_at (its place in the
    waitlist) defaults to now().
    """
    return _insert(db, "bookings", [{
        "class_id": class_id, "member_id": member_id, "status": status,
        "membership_id": membership_id, "visit_reserved": visit_reserved,
        "created_at": sql.DEFAULT if created_at is None else _moment(created_at)}])[0]


def visit(db: Db, member_id: int, *, method: str = "qr", checked_in_at: Moment = True,
          class_id: int | None = None, membership_id: int | None = None,
          checked_in_by: int | None = None) -> int:
    """A check-in (by QR code, now unless checked_in_at says when); its id."""
    return _insert(db, "visits", [{
        "member_id": member_id, "membership_id": membership_id, "class_id": class_id,
        "checked_in_at": _moment(checked_in_at), "checked_in_by": checked_in_by,
        "method": method}])[0]


def payment(db: Db, member_id: int | None, plan_id: int | None, *, amount_minor: int = 4900,
            currency: str = "EUR", paid_at: Moment = True, status: str = "granted",
            problem: str | None = None, membership_id: int | None = None,
            effect: str | None = None, days_added: int | None = None,
            ends_on_before: Day = None, refunded_at: Moment = False,
            refunded_by: int | None = None, charge_id: str | None = None) -> int:
    """A payment Telegram reported (granted by default, now unless paid_at says when), without
    an order; its id. status 'needs_refund' needs a problem ('plan_gone'...), 'refunded' a
    refunded_at moment. effect ('granted', 'extended') and days_added, ends_on_before: what it
    did to membership_id."""
    number = uuid.uuid4().hex[:16]
    return _insert(db, "payments", [{
        "member_id": member_id, "plan_id": plan_id, "amount_minor": amount_minor,
        "currency": currency, "paid_at": _moment(paid_at), "status": status,
        "problem": problem, "membership_id": membership_id, "effect": effect,
        "days_added": days_added,
        "ends_on_before": None if ends_on_before is None else _day(ends_on_before),
        "refunded_at": _moment(refunded_at), "refunded_by": refunded_by,
        "telegram_payment_charge_id": charge_id or f"tg-charge-{number}",
        "provider_payment_charge_id": f"provider-charge-{number}"}])[0]
