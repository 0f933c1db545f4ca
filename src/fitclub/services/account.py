"""A person's own account: the language they chose, and whether their private chat with the
bot takes messages."""

from __future__ import annotations

from fitclub.db import members, rows


def set_language(conn, member_id: int, language: str) -> None:
    """Store the member's choice of language."""
    rows.execute(conn, "members.set_language", {"id": member_id, "language": language})


def set_blocked(conn, telegram_id: int, blocked: bool) -> None:
    """The person blocked the bot (nothing is sent to them until they unblock it), or
    unblocked it."""
    if blocked:
        rows.execute(conn, "members.mark_blocked", {"telegram_id": telegram_id})
    else:
        members.clear_blocked(conn, telegram_id)
