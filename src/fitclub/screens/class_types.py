"""Class types for admins: the list, a type's card, the steps of creating and editing one."""

from __future__ import annotations

from typing import Any

from fitclub.callbacks import (
    STAFF,
    TYPE_DELETE,
    TYPE_EDIT,
    TYPE_FLOW,
    TYPE_NEW,
    TYPE_OPEN,
    TYPE_SKIP,
    TYPE_TRANSLATE,
    TYPE_VALUE,
)
from fitclub.locales import Raw, Texts, esc, other_language
from fitclub.screens import Screen, inline
from fitclub.screens.staff import back_row
from fitclub.services.class_types import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    DESCRIPTION_MAX,
    DURATION_MAX,
    DURATION_MIN,
    FIELDS,
    NAME_MAX,
    ClassType,
    Problem,
)

#: Durations and capacities offered as buttons (any other is typed).
DURATIONS = (45, 60, 90)
CAPACITIES = (10, 15, 20)
#: The prompt of each step (creating) or field (editing).
PROMPTS = {"name": "ctype_ask_name", "name_tr": "ctype_ask_name_tr", "desc": "ctype_ask_desc",
           "desc_tr": "ctype_ask_desc_tr", "dur": "ctype_ask_dur", "cap": "ctype_ask_cap"}
#: Creating a type asks for each in this order ("name_tr", "desc_tr": in the language the admin
#: does not read the bot in, optional; "desc_tr" only after a description).
STEPS = ("name", "name_tr", "desc", "desc_tr", *FIELDS[2:])
PROBLEMS = {"empty": "ctype_bad_empty", "long": "ctype_bad_long", "taken": "ctype_bad_taken",
            "number": "ctype_bad_number", "range": "ctype_bad_range", "last": "ctype_bad_last"}


def problem(tx: Texts, found: Problem) -> Raw:
    """One line saying why a value was refused."""
    return tx(PROBLEMS[found.code], low=found.low or 0, high=found.high or 0)


def _summary(tx: Texts, name: str, description: str | None, duration: int | None,
             capacity: int | None) -> list[str]:
    """A type's fields; those not given yet (None) are left out."""
    lines = [tx("ctype_card_title", name=name)]
    if description is not None:
        lines.append(tx("ctype_card_desc", text=description) if description
                     else tx("ctype_card_no_desc"))
    if duration is not None:
        lines.append(tx.plural("ctype_card_duration", duration))
    if capacity is not None:
        lines.append(tx.plural("ctype_card_capacity", capacity))
    return lines


def translations(tx: Texts, kind: ClassType) -> list[str]:
    """The name and description in the other language (or that they are not given), and a
    line when the type has no name in the admin's own language yet."""
    other = other_language(tx.lang)
    name, description = kind.name.given_in(other), kind.description.given_in(other)
    lines = [tx("ctype_card_name_tr", text=name) if name else tx("ctype_card_no_name_tr"),
             tx("ctype_card_desc_tr", text=description) if description
             else tx("ctype_card_no_desc_tr")]
    if kind.name.given_in(tx.lang) is None:
        lines.append(tx("ctype_card_no_own_name"))
    return lines


def type_list(tx: Texts, types: list[ClassType], note: str | None = None) -> Screen:
    """Every class type with its defaults, a button each, New type and back to staff."""
    lines = [note, ""] if note else []
    lines.append(tx("ctype_list_title"))
    lines.append("")
    for kind in types:
        lines.append(tx("ctype_list_line", name=kind.name,
                        duration=Raw(tx.plural("ctype_minutes", kind.default_duration_minutes)),
                        capacity=Raw(tx.plural("ctype_places", kind.default_capacity)),
                        upcoming=Raw(_upcoming(tx, kind.upcoming))))
    if not types:
        lines.append(tx("ctype_list_empty"))
    buttons = [(esc(tx.content(kind.name)), TYPE_OPEN(type_id=kind.id)) for kind in types]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(tx("ctype_new_button"), TYPE_NEW())])
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def _upcoming(tx: Texts, n: int) -> str:
    """'3 classes to come', or 'no classes to come' (never '0 classes')."""
    return tx.plural("ctype_upcoming", n) if n else tx("ctype_no_upcoming")


def _classes(tx: Texts, kind: ClassType) -> str:
    """A type's classes on its card: none yet, none to come (of how many), or both counts."""
    if not kind.classes:
        return tx("ctype_card_no_classes")
    if not kind.upcoming:
        return tx("ctype_card_none_to_come", total=kind.classes)
    return tx("ctype_card_classes", upcoming=Raw(_upcoming(tx, kind.upcoming)),
              total=kind.classes)


def card(tx: Texts, kind: ClassType, note: str | None = None) -> Screen:
    """A type's card: its fields and how many classes it has, with Edit buttons."""
    lines = [note, ""] if note else []
    summary = _summary(tx, kind.name, kind.description.given_in(tx.lang) or "",
                       kind.default_duration_minutes, kind.default_capacity)
    lines += [*summary[:2], *translations(tx, kind), *summary[2:]]
    lines.append(_classes(tx, kind))
    rows = [[(tx("ctype_edit_name"), TYPE_EDIT(type_id=kind.id, field="name")),
             (tx("ctype_edit_desc"), TYPE_EDIT(type_id=kind.id, field="desc"))],
            [(tx("ctype_edit_name_tr"), TYPE_TRANSLATE(type_id=kind.id, field="name")),
             (tx("ctype_edit_desc_tr"), TYPE_TRANSLATE(type_id=kind.id, field="desc"))],
            [(tx("ctype_edit_dur"), TYPE_EDIT(type_id=kind.id, field="dur")),
             (tx("ctype_edit_cap"), TYPE_EDIT(type_id=kind.id, field="cap"))]]
    if kind.classes == 0:
        rows.append([(tx("ctype_delete"), TYPE_DELETE(type_id=kind.id, step="ask"))])
    rows.append([(tx("ctype_back_to_list"), STAFF(section="types"))])
    return Screen("\n".join(lines), inline(rows))


def _translation_rows(tx: Texts, step: str,
                      kind: ClassType | None) -> list[list[tuple[str, str]]]:
    """Skip a translation step (creating), or remove the translation (editing `kind`) while
    the type keeps a name."""
    if kind is None:
        return [[(tx("ctype_skip_button"), TYPE_SKIP(step=step))]]
    text = kind.name if step == "name_tr" else kind.description
    keeps_name = step == "desc_tr" or kind.name.given_in(tx.lang) is not None
    if text.given_in(other_language(tx.lang)) is None or not keeps_name:
        return []
    return [[(tx(f"ctype_remove_{step}"), TYPE_SKIP(step=step))]]


def _value_rows(tx: Texts, step: str, kind: ClassType | None = None
                ) -> list[list[tuple[str, str]]]:
    """The buttons that answer a step without typing."""
    if step in ("name_tr", "desc_tr"):
        return _translation_rows(tx, step, kind)
    if step == "desc":
        return [[(tx("ctype_no_desc_button"), TYPE_VALUE(step="desc", value=0))]]
    if step == "dur":
        return [[(tx.plural("ctype_minutes", n), TYPE_VALUE(step="dur", value=n))
                 for n in DURATIONS]]
    if step == "cap":
        return [[(tx.plural("ctype_places", n), TYPE_VALUE(step="cap", value=n))
                 for n in CAPACITIES]]
    return []


def _limits(step: str) -> dict[str, Any]:
    return {"name": {"high": NAME_MAX}, "name_tr": {"high": NAME_MAX},
            "desc": {"high": DESCRIPTION_MAX}, "desc_tr": {"high": DESCRIPTION_MAX},
            "dur": {"low": DURATION_MIN, "high": DURATION_MAX},
            "cap": {"low": CAPACITY_MIN, "high": CAPACITY_MAX}}[step]


def ask(tx: Texts, step: str, data: dict[str, Any], note: str | None = None) -> Screen:
    """A step of creating a type: what was given so far, the question, its buttons, Cancel."""
    lines = [note, ""] if note else []
    lines.append(tx("ctype_new_title", n=STEPS.index(step) + 1, total=len(STEPS)))
    if data.get("name"):
        lines += ["", *_summary(tx, data["name"], data.get("desc"), data.get("dur"),
                                data.get("cap"))]
    lines += ["", tx(PROMPTS[step], **_limits(step))]
    rows = _value_rows(tx, step)
    rows.append([(tx("ctype_cancel"), TYPE_FLOW(answer="cancel"))])
    return Screen("\n".join(lines), inline(rows))


def confirm(tx: Texts, data: dict[str, Any], note: str | None = None) -> Screen:
    """The new type in full, with Save and Cancel."""
    lines = [note, ""] if note else []
    summary = _summary(tx, data["name"], data.get("desc") or "", data["dur"], data["cap"])
    name_tr, desc_tr = data.get("name_tr"), data.get("desc_tr")
    lines += [tx("ctype_confirm_title"), "", *summary[:2],
              tx("ctype_card_name_tr", text=name_tr) if name_tr else tx("ctype_card_no_name_tr"),
              tx("ctype_card_desc_tr", text=desc_tr) if desc_tr else tx("ctype_card_no_desc_tr"),
              *summary[2:]]
    rows = [[(tx("ctype_save"), TYPE_FLOW(answer="save")),
             (tx("ctype_cancel"), TYPE_FLOW(answer="cancel"))]]
    return Screen("\n".join(lines), inline(rows))


def edit(tx: Texts, kind: ClassType, field: str, note: str | None = None) -> Screen:
    """Editing one field of a type: its current value, the question, buttons, Cancel."""
    lines = [note, ""] if note else []
    lines += [tx("ctype_edit_title", name=kind.name), "", tx(PROMPTS[field], **_limits(field))]
    if field in ("name_tr", "desc_tr"):
        text = (kind.name if field == "name_tr" else kind.description).given_in(
            other_language(tx.lang))
        lines.append(tx("ctype_now", text=text) if text else tx(
            "ctype_card_no_name_tr" if field == "name_tr" else "ctype_card_no_desc_tr"))
    rows = _value_rows(tx, field, kind)
    rows.append([(tx("ctype_cancel"), TYPE_FLOW(answer="cancel"))])
    return Screen("\n".join(lines), inline(rows))


def delete(tx: Texts, kind: ClassType) -> Screen:
    """Are you sure? Delete a type that has no classes."""
    rows = [[(tx("ctype_delete_yes"), TYPE_DELETE(type_id=kind.id, step="yes")),
             (tx("ctype_delete_no"), TYPE_OPEN(type_id=kind.id))]]
    return Screen(tx("ctype_delete_ask", name=kind.name), inline(rows))
