"""A member's right to be forgotten."""

from __future__ import annotations

from fitclub.db import audit, rows


def erase_member(conn, member_id: int, telegram_id: int) -> bool:
    """Erase what identifies the member; visits stay for statistics. False if already gone."""
    rows.execute(conn, "members.cancel_future_bookings", {"id": member_id})
    if not rows.execute(conn, "members.erase", {"id": member_id}):
        return False
    rows.execute(conn, "state.forget_user", {"user_id": telegram_id})
    audit.record(conn, actor_id=None, action="member.erased", entity="member",
                 entity_id=member_id)
    return True
