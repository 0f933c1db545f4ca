"""Finding people: staff search members by name, phone or username."""

from __future__ import annotations

import re

from fitclub.db import rows
from fitclub.db.members import Member

MIN_QUERY = 2
MAX_QUERY = 64
LIMIT = 8


def normalize(text: str) -> str | None:
    """The search text trimmed, or None when too short or too long to search by."""
    text = " ".join((text or "").split())
    return text if MIN_QUERY <= len(text) <= MAX_QUERY else None


def search(conn, text: str, limit: int = LIMIT) -> list[Member]:
    """Registered, live members matching `text`: part of the name (any case), the username
    with or without '@', or at least 4 digits of the phone; best matches first.

    LIKE wildcards in the text match literally.
    """
    text = normalize(text)
    if text is None:
        return []
    literal = re.sub(r"([\\%_])", r"\\\1", text)
    digits = re.sub(r"\D", "", text) if re.fullmatch(r"[\d\s+()-]+", text) else ""
    return rows.many(conn, "people.search", {
        "text": literal, "username": text.removeprefix("@").lower(), "digits": digits,
        "limit": limit}, Member)
