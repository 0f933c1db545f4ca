"""Reminders: the member's switch, and which reminders are due (the sweep job sends them)."""

from __future__ import annotations

from fitclub.db import rows


def set_enabled(conn, member_id: int, enabled: bool) -> bool:
    """Turn a member's reminders on or off; False when there is no such live member."""
    return rows.execute(conn, "reminders.set_enabled", {"id": member_id,
                                                        "enabled": enabled}) == 1
