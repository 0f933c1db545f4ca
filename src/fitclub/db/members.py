"""Queries of members (db/sql/members.sql) as named rows."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from fitclub.db import rows


class Member(NamedTuple):
    """A registered (or staff-created) member as handlers and services see them."""

    id: int
    telegram_id: int
    first_name: str
    last_name: str | None
    phone: str | None
    username: str | None
    language: str
    role: str
    registered_at: datetime | None
    reminders_enabled: bool
    blocked_at: datetime | None

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    @property
    def is_staff(self) -> bool:
        """A trainer or an admin."""
        return self.role in ("trainer", "admin")


class Recipient(NamedTuple):
    """Someone to notify: their chat and language."""

    telegram_id: int
    language: str


def by_telegram_id(conn, telegram_id: int) -> Member | None:
    """The live member with this Telegram id, or None."""
    return rows.one(conn, "members.by_telegram_id", {"telegram_id": telegram_id}, Member)


def by_id(conn, member_id: int) -> Member | None:
    """The live member with this id, or None."""
    return rows.one(conn, "members.by_id", {"id": member_id}, Member)


def clear_blocked(conn, telegram_id: int) -> None:
    """The person can be messaged again (they wrote to the bot, or unblocked it)."""
    rows.execute(conn, "members.clear_blocked", {"telegram_id": telegram_id})


def admins(conn) -> list[Recipient]:
    """Every admin who can be messaged (not blocked, not erased)."""
    return rows.many(conn, "members.admins", {}, Recipient)
