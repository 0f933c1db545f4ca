"""Plans as admins manage them: the fields' rules, create, edit, archive, delete if never sold.

A plan that was sold is never deleted (memberships keep pointing at it); it is archived
instead (`is_active = false`): members no longer see it, admins can put it back on sale.
Editing a plan changes what is sold from then on; memberships already sold keep their dates
and visits, but the freeze allowance is read from the plan, so it follows an edit.

A plan's name may be given in both of the bot's languages: `name` as typed first (in `lang`,
the admin's language then) and `name_tr` in the other. A name is not another plan's name in
either language; members see the name in their language, else in the other (`Localized`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, NamedTuple

import psycopg2.errors
from babel.numbers import get_currency_precision

from fitclub.db import audit, rows
from fitclub.locales import DEFAULT, Localized, club, other_language

MAX_NAME = 40
MAX_PRICE_MAJOR = 1_000_000
MAX_DAYS = 3650
MAX_VISITS = 1000
MAX_FREEZE_DAYS = 365
#: The fields an admin edits one at a time, in the order the create flow asks for them.
FIELDS = ("name", "price", "days", "visits", "freeze")


class PlanRow(NamedTuple):
    """A plan with its sales."""

    id: int
    name: Localized  # as typed, with its translation
    price_minor: int
    duration_days: int
    visit_count: int | None  # None: unlimited
    freeze_days: int
    is_active: bool
    sold: int  # memberships ever sold
    current: int  # of which active or frozen


class Draft(NamedTuple):
    """A plan's fields as an admin gave them."""

    name: str
    price_minor: int
    duration_days: int
    visit_count: int | None
    freeze_days: int
    lang: str = DEFAULT  # the language the name was typed in
    name_tr: str | None = None  # the name in the other language, if given

    def audited(self) -> dict[str, Any]:
        """What the audit log keeps of a new plan (the translation as name_<its language>)."""
        fields = self._asdict()
        fields.pop("lang")
        translation = fields.pop("name_tr")
        if translation:
            fields[f"name_{other_language(self.lang)}"] = translation
        return fields


class Checked(NamedTuple):
    """A typed value: the value when good, else the catalog key of the problem (and a limit)."""

    value: Any = None
    problem: str | None = None
    limit: int | None = None


class Outcome(Enum):
    """What became of a change."""

    DONE = "done"
    SAME = "same"  # nothing to change (archived twice)
    NAME_TAKEN = "name_taken"
    SOLD = "sold"  # a sold plan is not deleted
    LAST_NAME = "last_name"  # the name in one language is all it has: not removed
    UNAVAILABLE = "unavailable"  # no such plan (deleted, forged id)


class Change(NamedTuple):
    """The outcome and the plan as it is now (None when gone)."""

    outcome: Outcome
    plan: PlanRow | None = None
    name: Localized | str | None = None


def currency_digits() -> int:
    """Digits after the point in the club's currency (2 for EUR and RUB, 0 for JPY)."""
    return get_currency_precision(club().currency)


def _whole(text: str, low: int, high: int, problem: str) -> Checked:
    cleaned = re.sub(r"[\s\u00a0]", "", text or "")
    if not re.fullmatch(r"\d{1,7}", cleaned):
        return Checked(problem=problem, limit=high)
    value = int(cleaned)
    if not low <= value <= high:
        return Checked(problem=problem, limit=high)
    return Checked(value)


def check_name(text: str) -> Checked:
    """A plan's name: 1-40 characters on one line."""
    name = " ".join((text or "").split())
    if not name or len(name) > MAX_NAME:
        return Checked(problem="pl_bad_name", limit=MAX_NAME)
    return Checked(name)


def check_price(text: str, digits: int | None = None) -> Checked:
    """A price typed as '49', '49.90' or '49,90' (spaces allowed), in minor units."""
    digits = currency_digits() if digits is None else digits
    cleaned = re.sub(r"[\s\u00a0]", "", text or "").replace(",", ".")
    if not re.fullmatch(rf"\d{{1,9}}(\.\d{{1,{max(digits, 1)}}})?", cleaned) or (
            digits == 0 and "." in cleaned):
        return Checked(problem="pl_bad_price", limit=MAX_PRICE_MAJOR)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return Checked(problem="pl_bad_price", limit=MAX_PRICE_MAJOR)
    if amount > MAX_PRICE_MAJOR:
        return Checked(problem="pl_bad_price", limit=MAX_PRICE_MAJOR)
    return Checked(int(amount.scaleb(digits)))


def check_days(text: str) -> Checked:
    """The plan's length: 1-3650 days."""
    return _whole(text, 1, MAX_DAYS, "pl_bad_days")


def check_visits(text: str) -> Checked:
    """Visits: 1-1000 (unlimited is a button, not a number)."""
    return _whole(text, 1, MAX_VISITS, "pl_bad_visits")


def check_freeze(text: str) -> Checked:
    """Freeze days allowed: 0-365."""
    return _whole(text, 0, MAX_FREEZE_DAYS, "pl_bad_freeze")


CHECKS = {"name": check_name, "price": check_price, "days": check_days,
          "visits": check_visits, "freeze": check_freeze}
#: A field's column in Draft.
COLUMNS = {"name": "name", "price": "price_minor", "days": "duration_days",
           "visits": "visit_count", "freeze": "freeze_days"}


def all_plans(conn) -> list[PlanRow]:
    """Every plan, on sale first, cheapest first."""
    return rows.many(conn, "plans.all", {"plan_id": None}, PlanRow)


def get(conn, plan_id: int) -> PlanRow | None:
    """One plan, or None."""
    return rows.one(conn, "plans.all", {"plan_id": plan_id}, PlanRow)


def name_taken(conn, name: str, plan_id: int | None = None) -> bool:
    """Whether another plan already has this name, in either language (any case)."""
    return bool(rows.scalar(conn, "plans.name_taken", {"name": name, "plan_id": plan_id}))


def create(conn, actor_id: int, draft: Draft) -> Change:
    """Put a new plan on sale (refused when the name or its translation is taken, also by
    another admin's plan created at the same moment)."""
    for name in (draft.name, draft.name_tr):
        if name and name_taken(conn, name):
            return Change(Outcome.NAME_TAKEN, name=name)
    try:
        with rows.savepoint(conn, "plans"):
            plan_id = rows.scalar(conn, "plans.insert", draft._asdict())
    except psycopg2.errors.UniqueViolation:
        return Change(Outcome.NAME_TAKEN, name=draft.name)
    audit.record(conn, actor_id=actor_id, action="plan.created", entity="plan",
                 entity_id=plan_id, details=draft.audited())
    return Change(Outcome.DONE, get(conn, plan_id))


class _Locked(NamedTuple):
    id: int
    name: str
    price_minor: int
    duration_days: int
    visit_count: int | None
    freeze_days: int
    is_active: bool
    lang: str
    name_tr: str | None


def update(conn, actor_id: int, plan_id: int, field: str, value: Any) -> Change:
    """Change one field of a plan (value already checked)."""
    locked = rows.one(conn, "plans.lock", {"plan_id": plan_id}, _Locked)
    if locked is None:
        return Change(Outcome.UNAVAILABLE)
    column = COLUMNS[field]
    if field == "name" and name_taken(conn, value, plan_id):
        return Change(Outcome.NAME_TAKEN, get(conn, plan_id), name=value)
    old = getattr(locked, column)
    if old == value:
        return Change(Outcome.SAME, get(conn, plan_id))
    fields = {**locked._asdict(), column: value}
    fields.pop("id")
    fields.pop("is_active")
    return _write(conn, actor_id, plan_id, fields, {"field": column, "old": old, "new": value},
                  value)


def rename(conn, actor_id: int, plan_id: int, lang: str, value: str | None) -> Change:
    """Give the plan's name in `lang` (value already checked), or remove it (None) while it
    has a name in the other language. Removing the name as typed first keeps the translation
    as the plan's name."""
    locked = rows.one(conn, "plans.lock", {"plan_id": plan_id}, _Locked)
    if locked is None:
        return Change(Outcome.UNAVAILABLE)
    names = {locked.lang: locked.name, other_language(locked.lang): locked.name_tr}
    old = names[lang]
    if old == value:
        return Change(Outcome.SAME, get(conn, plan_id))
    if value is not None and name_taken(conn, value, plan_id):
        return Change(Outcome.NAME_TAKEN, get(conn, plan_id), name=value)
    names[lang] = value
    first = locked.lang if names[locked.lang] else other_language(locked.lang)
    if not names[first]:
        return Change(Outcome.LAST_NAME, get(conn, plan_id))
    fields = {**locked._asdict(), "lang": first, "name": names[first],
              "name_tr": names[other_language(first)]}
    fields.pop("id")
    fields.pop("is_active")
    return _write(conn, actor_id, plan_id, fields,
                  {"field": f"name_{lang}", "old": old, "new": value}, value)


def _write(conn, actor_id: int, plan_id: int, fields: dict[str, Any], details: dict[str, Any],
           value: Any) -> Change:
    """Write a plan's fields and audit the change."""
    try:
        with rows.savepoint(conn, "plans"):
            rows.execute(conn, "plans.update", {"plan_id": plan_id, **fields})
    except psycopg2.errors.UniqueViolation:
        return Change(Outcome.NAME_TAKEN, get(conn, plan_id), name=value)
    audit.record(conn, actor_id=actor_id, action="plan.updated", entity="plan",
                 entity_id=plan_id, details=details)
    return Change(Outcome.DONE, get(conn, plan_id))


def set_on_sale(conn, actor_id: int, plan_id: int, on: bool) -> Change:
    """Archive a plan (members no longer see it) or put it back on sale."""
    if rows.scalar(conn, "plans.set_on_sale", {"plan_id": plan_id, "on": on}) is None:
        plan = get(conn, plan_id)
        return Change(Outcome.SAME if plan else Outcome.UNAVAILABLE, plan)
    audit.record(conn, actor_id=actor_id, action="plan.on_sale" if on else "plan.archived",
                 entity="plan", entity_id=plan_id)
    return Change(Outcome.DONE, get(conn, plan_id))


def delete(conn, actor_id: int, plan_id: int) -> Change:
    """Delete a plan that was never sold; a sold one is refused (archive it instead)."""
    rows.execute(conn, "plans.lock", {"plan_id": plan_id})
    name = Localized.from_db(rows.scalar(conn, "plans.delete_unsold", {"plan_id": plan_id}))
    if name is None:
        plan = get(conn, plan_id)
        return Change(Outcome.SOLD if plan else Outcome.UNAVAILABLE, plan)
    audit.record(conn, actor_id=actor_id, action="plan.deleted", entity="plan",
                 entity_id=plan_id, details={"name": str(name)})
    return Change(Outcome.DONE, name=name)
