"""Class types (admins): the list, checks for each field, create, edit, delete an unused one.

Every change writes its audit row in the caller's transaction. Checks return a `Checked`:
the clean value, or a `Problem` (a code the screens turn into one line, and the limit).

A type's name and description may be given in both of the bot's languages: as typed first (in
`lang`, the admin's language then) and in the other (`name_tr`, `description_tr`). A name is not
another type's name in either language; members see the texts in their language, else in the
other (`Localized`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import psycopg2.errors

from fitclub.db import audit, rows
from fitclub.locales import DEFAULT, Localized, other_language

NAME_MAX = 64
DESCRIPTION_MAX = 500
DURATION_MIN, DURATION_MAX = 5, 480
CAPACITY_MIN, CAPACITY_MAX = 1, 500
FIELDS = ("name", "desc", "dur", "cap")


class ClassType(NamedTuple):
    """A class type with how many classes it has (all, and still to come)."""

    id: int
    name: Localized  # as typed, with its translation
    description: Localized  # '' when none
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
    """A value typed for one field of a type (`type_id`'s own name is not taken); "name_tr"
    and "desc_tr" are the name and description in the other language."""
    if field in ("name", "name_tr"):
        return check_name(conn, text, exclude_id=type_id)
    if field in ("desc", "desc_tr"):
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
    """A created or changed type's id, or the problem that stopped it (None: no such type)
    and, creating, the step it concerns ("name", or "name_tr" for the translation)."""

    type_id: int | None
    problem: Problem | None = None
    field: str | None = None


def create(conn, actor_id: int, name: str, description: str, duration: int,
           capacity: int, *, lang: str = DEFAULT, name_tr: str | None = None,
           description_tr: str | None = None) -> Saved:
    """A new class type, its name and description typed in `lang`, optionally also in the
    other language (the names are checked again: another admin may have taken one)."""
    for field, given in (("name", name), ("name_tr", name_tr)):
        checked = check_name(conn, given) if given is not None else Checked(None)
        if checked.problem is not None:
            return Saved(None, checked.problem, field)
    params = {"name": _text(name), "description": description, "duration": duration,
              "capacity": capacity}
    translated = {"lang": lang, "name_tr": _text(name_tr) or None,
                  "description_tr": description_tr or None}
    try:
        with rows.savepoint(conn, "class_types"):
            type_id = rows.scalar(conn, "class_types.insert", {**params, **translated})
    except psycopg2.errors.UniqueViolation as taken:
        # Only the other language's index (class_types_name_<lang>_key) holds the translation.
        translated_taken = (taken.diag.constraint_name
                            == f"class_types_name_{other_language(lang)}_key")
        return Saved(None, Problem("taken"), "name_tr" if translated_taken else "name")
    other = other_language(lang)
    for field, value in (("name", translated["name_tr"]),
                         ("description", translated["description_tr"])):
        if value:
            params[f"{field}_{other}"] = value
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


class _Texts(NamedTuple):
    lang: str
    name: str
    name_tr: str | None
    description: str
    description_tr: str | None


def set_text(conn, actor_id: int, type_id: int, field: str, lang: str,
             value: str | None) -> Saved:
    """Give the type's name or description ("name", "desc") in `lang`, already checked, or
    remove it (None, or '' for a description). A name is kept in one language at least:
    removing the name as typed first keeps the translation (and its description) as typed
    first. Problem("last") when the name to remove is the only one."""
    locked = rows.one(conn, "class_types.lock_texts", {"id": type_id}, _Texts)
    if locked is None:
        return Saved(None)
    first, second = locked.lang, other_language(locked.lang)
    texts = {"name": {first: locked.name, second: locked.name_tr},
             "desc": {first: locked.description or None, second: locked.description_tr}}
    old = texts[field][lang]
    value = value or None
    if old == value:
        return Saved(type_id)
    if field == "name" and value is not None:
        checked = check_name(conn, value, exclude_id=type_id)
        if checked.problem is not None:
            return Saved(type_id, checked.problem)
    texts[field][lang] = value
    if not texts["name"][first]:
        first, second = second, first
    if not texts["name"][first]:
        return Saved(type_id, Problem("last"))
    params = {"id": type_id, "lang": first, "name": texts["name"][first],
              "name_tr": texts["name"][second], "description": texts["desc"][first] or "",
              "description_tr": texts["desc"][second]}
    try:
        with rows.savepoint(conn, "class_types"):
            rows.execute(conn, "class_types.set_texts", params)
    except psycopg2.errors.UniqueViolation:
        return Saved(type_id, Problem("taken"))
    column = {"name": "name", "desc": "description"}[field]
    audit.record(conn, actor_id=actor_id, action="class_type.changed", entity="class_type",
                 entity_id=type_id, details={"field": f"{column}_{lang}", "from": old or "",
                                             "to": value or ""})
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
                 entity_id=type_id, details={"name": str(Localized.from_db(name))})
    return True
