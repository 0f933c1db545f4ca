"""Class types (admins): the list, checks for each field, create, edit, delete an unused one.

Every change writes its audit row in the caller's transaction. Checks return a `Checked`:
the clean value, or a `Problem` (a code the screens turn into one line, and the limit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import psycopg2.errors

from fitclub.db import audit, rows

NAME_MAX = 64
DESCRIPTION_MAX = 500
DURATION_MIN, DURATION_MAX = 5, 480
CAPACITY_MIN, CAPACITY_MAX = 1, 500
FIELDS = ("name", "desc", "dur", "cap")


class ClassType(NamedTuple):
    """A class type with how many classes it has (all, and still to come)."""

    id: int
    name: str
    description: str
    default_duration_minutes: int
    default_capacity: int
    classes: int
    upcoming: int


class Problem(NamedTuple):
    """Why a value was refused: a code (empty, long, taken, number, range...) and a limit."""

    code: str
    low: int | None = None
    high: int | None = None


class Checked(NamedTuple):
    """A value that passed its check, or the problem with it."""

    value: Any = None
    problem: Problem | None = None


def _text(text: str | None) -> str:
    return " ".join((text or "").split())


def check_name(conn, text: str | None, exclude_id: int | None = None) -> Checked:
    """A type's name: 1-64 characters, not another type's (whatever the letter case)."""
    name = _text(text)
    if not name:
        return Checked(problem=Problem("empty"))
    if len(name) > NAME_MAX:
        return Checked(problem=Problem("long", high=NAME_MAX))
    if rows.scalar(conn, "class_types.name_taken", {"name": name, "exclude_id": exclude_id}):
        return Checked(problem=Problem("taken"))
    return Checked(name)


def check_description(text: str | None) -> Checked:
    """A description: up to 500 characters, line breaks kept ("-" means none)."""
    description = "\n".join(" ".join(line.split()) for line in (text or "").strip().splitlines())
    if description == "-":
        description = ""
    if len(description) > DESCRIPTION_MAX:
        return Checked(problem=Problem("long", high=DESCRIPTION_MAX))
    return Checked(description)


def whole_number(text: str | None, low: int, high: int) -> Checked:
    """A whole number typed by a person, within [low, high]."""
    raw = (text or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return Checked(problem=Problem("number", low, high))
    value = int(raw)
    if not low <= value <= high:
        return Checked(problem=Problem("range", low, high))
    return Checked(value)


def check_duration(text: str | None) -> Checked:
    """Minutes a class lasts."""
    return whole_number(text, DURATION_MIN, DURATION_MAX)


def check_capacity(text: str | None) -> Checked:
    """Places in a class."""
    return whole_number(text, CAPACITY_MIN, CAPACITY_MAX)


def check(conn, field: str, text: str | None, type_id: int | None = None) -> Checked:
    """A value typed for one field of a type (`type_id`'s own name is not taken)."""
    if field == "name":
        return check_name(conn, text, exclude_id=type_id)
    if field == "desc":
        return check_description(text)
    if field == "dur":
        return check_duration(text)
    return check_capacity(text)


def all_types(conn, now: datetime) -> list[ClassType]:
    """Every class type, by name."""
    return rows.many(conn, "class_types.all", {"now": now}, ClassType)


def get(conn, type_id: int, now: datetime) -> ClassType | None:
    """One class type, or None."""
    return rows.one(conn, "class_types.one", {"id": type_id, "now": now}, ClassType)


class Saved(NamedTuple):
    """A created or changed type's id, or the problem that stopped it (None: no such type)."""

    type_id: int | None
    problem: Problem | None = None


def create(conn, actor_id: int, name: str, description: str, duration: int,
           capacity: int) -> Saved:
    """A new class type (the name is checked again: another admin may have taken it)."""
    checked = check_name(conn, name)
    if checked.problem is not None:
        return Saved(None, checked.problem)
    params = {"name": checked.value, "description": description, "duration": duration,
              "capacity": capacity}
    try:
        with rows.savepoint(conn, "class_types"):
            type_id = rows.scalar(conn, "class_types.insert", params)
    except psycopg2.errors.UniqueViolation:
        return Saved(None, Problem("taken"))
    audit.record(conn, actor_id=actor_id, action="class_type.created", entity="class_type",
                 entity_id=type_id, details=params)
    return Saved(type_id)


def update(conn, actor_id: int, type_id: int, field: str, value: Any) -> Saved:
    """Change one field of a type (name, desc, dur or cap), already checked by its check."""
    if field not in FIELDS:
        raise ValueError(f"no such field {field!r}")
    params: dict[str, Any] = {"id": type_id, "name": None, "description": None,
                              "duration": None, "capacity": None}
    column = {"name": "name", "desc": "description", "dur": "duration", "cap": "capacity"}[field]
    params[column] = value
    if field == "name":
        checked = check_name(conn, value, exclude_id=type_id)
        if checked.problem is not None:
            return Saved(type_id, checked.problem)
        params["name"] = checked.value
    try:
        with rows.savepoint(conn, "class_types"):
            before = rows.one(conn, "class_types.update", params, _Before)
    except psycopg2.errors.UniqueViolation:
        return Saved(type_id, Problem("taken"))
    if before is None:
        return Saved(None)
    old = {"name": before.name, "desc": before.description,
           "dur": before.default_duration_minutes, "cap": before.default_capacity}[field]
    audit.record(conn, actor_id=actor_id, action="class_type.changed", entity="class_type",
                 entity_id=type_id, details={"field": column, "from": old,
                                             "to": params[column]})
    return Saved(type_id)


class _Before(NamedTuple):
    name: str
    description: str
    default_duration_minutes: int
    default_capacity: int


def delete(conn, actor_id: int, type_id: int) -> bool:
    """Delete a type that never had a class; False when it has classes or is gone."""
    name = rows.scalar(conn, "class_types.delete_unused", {"id": type_id})
    if name is None:
        return False
    audit.record(conn, actor_id=actor_id, action="class_type.deleted", entity="class_type",
                 entity_id=type_id, details={"name": name})
    return True
