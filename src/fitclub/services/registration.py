"""Registration: what a valid name and phone are, and recording a new member."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from fitclub.db import audit, rows

NAME_MAX = 64
_PHONE = re.compile(r"^\+?[0-9]{5,15}$")
# Characters a name may not hold: they are invisible, blank-looking or change the direction of
# what follows, so a name made with them hides or reverses text in other people's messages
# and buttons. Beyond these, every format (Cf: U+200B-200F, U+202A-202E, U+2060-2064,
# U+2066-2069, U+061C, U+FEFF, tag characters U+E0000-E007F), control (Cc, apart from
# whitespace, which is collapsed), line/paragraph separator, private-use and surrogate
# character is refused; so is a variation selector that modifies nothing.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_COLLAPSED = frozenset("\t\n\r")  # controls that are whitespace in a typed name


def _is_variation_selector(ch: str) -> bool:
    return "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"


def has_invisible(text: str) -> bool:
    """Whether the text holds a character a name may not have (see above)."""
    before = ""
    for ch in text:
        if ch in _BLANK_LETTERS or (unicodedata.category(ch) in _REFUSED_CATEGORIES
                                    and ch not in _COLLAPSED):
            return True
        if _is_variation_selector(ch) and (not before or before.isspace()
                                           or _is_variation_selector(before)):
            return True
        before = ch
    return False


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
    """1-64 characters after NFKC normalisation and trimming, none of them invisible or
    direction-changing (refused, not silently dropped), at least one of them a letter. Every
    name a person is registered under passes here (a typed one, and Telegram's name before
    it is offered as the default)."""
    if text is None:
        return NameCheck(None, "reg_name_not_text")
    # NFKC first ("Ａｎｎａ" is "Anna", a halfwidth filler becomes U+3164 and is refused);
    # spaces are collapsed so "Anna   Petrova" reads as typed once.
    normalised = unicodedata.normalize("NFKC", text)
    if has_invisible(normalised):
        return NameCheck(None, "reg_name_invisible")
    cleaned = " ".join(normalised.split())
    if not cleaned:
        return NameCheck(None, "reg_name_empty")
    if len(cleaned) > NAME_MAX:
        return NameCheck(None, "reg_name_too_long", len(cleaned))
    if not has_letter(cleaned):
        return NameCheck(None, "reg_name_no_letter")
    return NameCheck(cleaned)


def normalize_phone(raw: str | None) -> str | None:
    """A phone as stored ('+' and digits), or None when it cannot be one. A leading '00' is
    the international prefix ('0049…' is '+49…'); a leading trunk '8' is not read as '+7'
    (it also starts other countries' codes)."""
    if not raw:
        return None
    digits = re.sub(r"[\s()\-.]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        digits = "+" + digits
    return digits if _PHONE.match(digits) else None


def complete(conn, *, telegram_id: int, name: str, phone: str, username: str | None,
             language: str, admin_ids: tuple[int, ...], notice: str) -> int:
    """Record the member (or finish a staff-created row), with the privacy notice they shared
    their number after (its text as shown); returns their id."""
    member_id = rows.scalar(conn, "members.register", {
        "telegram_id": telegram_id, "first_name": name, "phone": phone,
        "username": username, "language": language, "admin_ids": list(admin_ids),
        "notice": notice})
    audit.record(conn, actor_id=member_id, action="member.registered", entity="member",
                 entity_id=member_id)
    return member_id
