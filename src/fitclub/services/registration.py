"""Registration: what a valid name and phone are, and recording a new member."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from fitclub.db import audit, rows

NAME_MAX = 64
_PHONE = re.compile(r"^\+?[0-9]{5,15}$")
# Bidi overrides and isolates, zero-width spaces: they would reverse or hide what follows the
# name in the messages it appears in (the zero-width joiner of emoji stays).
_INVISIBLE = frozenset("\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                       "\u2066\u2067\u2068\u2069\u2060\ufeff")


class NameCheck(NamedTuple):
    """A cleaned name, or the reason it was refused (a catalog key) and its length."""

    name: str | None
    problem: str | None = None
    length: int = 0


def has_letter(text: str) -> bool:
    """Whether the text has a letter of any script (Unicode category L*: 'Анна', 'José',
    '李雷'); emoji, digits and punctuation alone are no name."""
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def check_name(text: str | None) -> NameCheck:
    """1-64 characters after trimming, without control characters, at least one of them a
    letter. Every name a person is registered under passes here (a typed one, and Telegram's
    name before it is offered as the default)."""
    if text is None:
        return NameCheck(None, "reg_name_not_text")
    # Control and format characters (newlines, zero-width joiners aside) cannot be a name;
    # spaces are collapsed so "Anna   Petrova" reads as typed once.
    cleaned = "".join(ch for ch in text if unicodedata.category(ch) != "Cc"
                      and ch not in _INVISIBLE)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        return NameCheck(None, "reg_name_empty")
    if len(cleaned) > NAME_MAX:
        return NameCheck(None, "reg_name_too_long", len(cleaned))
    if not has_letter(cleaned):
        return NameCheck(None, "reg_name_no_letter")
    return NameCheck(cleaned)


def normalize_phone(raw: str | None) -> str | None:
    """A phone as stored ('+' and digits), or None when it cannot be one."""
    if not raw:
        return None
    digits = re.sub(r"[\s()\-.]", "", raw)
    if not digits.startswith("+"):
        digits = "+" + digits
    return digits if _PHONE.match(digits) else None


def complete(conn, *, telegram_id: int, name: str, phone: str, username: str | None,
             language: str, admin_ids: tuple[int, ...]) -> int:
    """Record the member (or finish a staff-created row); returns their id."""
    member_id = rows.scalar(conn, "members.register", {
        "telegram_id": telegram_id, "first_name": name, "phone": phone,
        "username": username, "language": language, "admin_ids": list(admin_ids)})
    audit.record(conn, actor_id=member_id, action="member.registered", entity="member",
                 entity_id=member_id)
    return member_id
