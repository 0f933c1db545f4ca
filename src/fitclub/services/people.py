"""Finding people: staff search members by name, username or whole phone number.

A phone matches only as the whole number, normalised the way registration stores it
(services.registration.normalize_phone: '+' and digits, spaces, dashes, dots and brackets
dropped, a leading international '00' read as '+'), so typing one digit more at a time never
narrows anything down. A text made of digits and phone punctuation only is a phone search and
nothing else; any other text matches part of a name (any case) or a username (with or without
'@') as before.

Every search a staff member makes (by name, username, phone, or a card's 6-digit code at the
door) counts against SEARCH_LIMIT searches per WINDOW, and is audited: one `people.search` row
with its kind, how many were found and their internal ids — never the text typed, which is a
name or a phone. The limit counts those rows (audit_log_actor_id_at_idx, on actor_id and at,
finds one person's recent rows), so no table of its own is kept.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Member
from fitclub.services import card
from fitclub.services.registration import normalize_phone

log = logging.getLogger(__name__)

MIN_QUERY = 2
MAX_QUERY = 64
LIMIT = 8
#: The searches of one staff member counted against SEARCH_LIMIT.
WINDOW = timedelta(minutes=10)
ACTION = "people.search"  # the audit rows counted (record writes them)
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-]*\d[\d\s().\-]*")


class Kind(Enum):
    """What a search looked for (its audit row says which)."""

    NAME = "name"  # part of a name, or a username typed without '@'
    USERNAME = "username"  # '@name'
    PHONE = "phone"  # a whole phone number
    CODE = "code"  # a card's 6-digit code at the door (services.checkin.by_code)


class Found(NamedTuple):
    """A search's answer: what it looked for, who was found, the phone number searched for
    (E.164, only a phone search that found someone), or when the searcher may search again."""

    kind: Kind
    members: list[Member]
    phone: str | None = None
    retry_at: datetime | None = None  # set: refused, too many searches (nothing searched)


def normalize(text: str) -> str | None:
    """The search text trimmed, or None when too short or too long to search by."""
    text = " ".join((text or "").split())
    return text if MIN_QUERY <= len(text) <= MAX_QUERY else None


def kind_of(text: str) -> Kind:
    """A phone when the text is digits and phone punctuation only; '@name' a username; any
    other text a name (which also matches a username typed without '@')."""
    text = text.strip()
    if _PHONE_LIKE.fullmatch(text):
        return Kind.PHONE
    return Kind.USERNAME if text.startswith("@") else Kind.NAME


def phone_of(text: str) -> str | None:
    """The whole number a phone search looks for, as registration stores phones; None when
    the text is no phone number."""
    return normalize_phone(text) if kind_of(text) is Kind.PHONE else None


def search(conn, text: str, limit: int = LIMIT) -> list[Member]:
    """Registered, live members matching `text`: part of the name (any case), the username
    with or without '@', or — when the text is a phone number — the whole number; best
    matches first. No limit and no audit: staff searches go through `find`.

    LIKE wildcards in the text match literally.
    """
    text = normalize(text)
    if text is None:
        return []
    if kind_of(text) is Kind.PHONE:
        phone = normalize_phone(text)
        if phone is None:
            return []
        return rows.many(conn, "people.by_phone", {"phone": phone, "limit": limit}, Member)
    literal = re.sub(r"([\\%_])", r"\\\1", text)
    return rows.many(conn, "people.search", {
        "text": literal, "username": text.removeprefix("@").lower(), "limit": limit}, Member)


def _minute_up(moment: datetime) -> datetime:
    """The next whole minute (the moment itself when whole): 'try again at' is never early."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def limited(conn, staff_id: int, now: datetime, per_window: int) -> datetime | None:
    """When `staff_id` may search again, if they made `per_window` searches in the WINDOW up
    to `now`; None when they may search now."""
    recent = rows.many(conn, "people.searches_since", {
        "actor_id": staff_id, "action": ACTION, "since": now - WINDOW, "limit": per_window},
        _At)
    if len(recent) < per_window:
        return None
    log.info("member %s refused a search: %s searches in %s minutes", staff_id, per_window,
             int(WINDOW.total_seconds() // 60))
    return _minute_up(recent[-1].at + WINDOW)


class _At(NamedTuple):
    at: datetime


def record(conn, staff_id: int, kind: Kind, member_ids: list[int]) -> None:
    """The search's audit row: its kind, how many were found and who (internal ids only)."""
    audit.record(conn, actor_id=staff_id, action="people.search", entity="member",
                 details={"kind": kind.value, "found": len(member_ids),
                          "member_ids": member_ids})


def find(conn, staff_id: int, text: str, now: datetime, per_window: int) -> Found:
    """A staff member's search: refused (with when to try again) past the limit, else the
    members found, audited (see the module)."""
    kind = kind_of(text)
    retry_at = limited(conn, staff_id, now, per_window)
    if retry_at is not None:
        return Found(kind, [], retry_at=retry_at)
    found = search(conn, text)
    record(conn, staff_id, kind, [m.id for m in found])
    return Found(kind, found, phone_of(text) if found and kind is Kind.PHONE else None)


def code_search(conn, staff_id: int, code: str, now: datetime,
                per_window: int) -> datetime | None:
    """A card's 6-digit code typed at the door is a search too: when the staff member may
    search again if past the limit (nothing looked up), else None, audited with the member
    whose card shows the code (a used or replaced card's too), if any. The check-in itself
    is services.checkin.by_code's."""
    retry_at = limited(conn, staff_id, now, per_window)
    if retry_at is None:
        holder = card.by_code(conn, "".join(code.split()), now)
        record(conn, staff_id, Kind.CODE, [] if holder is None else [holder.member_id])
    return retry_at
