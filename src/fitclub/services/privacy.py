"""A member's right to be forgotten."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.services import booking
from fitclub.services.booking import OfferNotice, Rules


class _Place(NamedTuple):
    """A class the member holds a place on, not yet started."""

    class_id: int
    status: str  # booked or waitlisted


def erase_member(conn, member_id: int, telegram_id: int, now: datetime, rules: Rules,
                 update_id: int | None = None) -> tuple[bool, list[OfferNotice]]:
    """Erase what identifies the member; visits stay for statistics.

    Their places on classes not yet started are cancelled through the booking rules (visits
    given back, held offers withdrawn, freed places offered to the next in line, each offer
    recorded as a notice by the booking service and returned too). Stored updates and sent
    messages of their chat lose their content. (False, []) when the member is already gone.
    """
    offers: list[OfferNotice] = []
    for class_id, status in rows.many(conn, "members.future_places", {"id": member_id},
                                      _Place):
        if status == "booked":
            result = booking.cancel_booking(conn, member_id, class_id, now, rules)
        else:
            result = booking.leave_waitlist(conn, member_id, class_id, now, rules)
        offers += result.offers
    if not rows.execute(conn, "members.erase", {"id": member_id}):
        return False, []
    rows.execute(conn, "state.forget_user", {"user_id": telegram_id})
    # Telegram's copies (updates with the contact, messages with the name) are kept by us too.
    rows.execute(conn, "members.scrub_inbox", {"chat_id": telegram_id,
                                               "update_id": update_id or 0})
    rows.execute(conn, "members.scrub_outbox", {"chat_id": telegram_id})
    audit.record(conn, actor_id=None, action="member.erased", entity="member",
                 entity_id=member_id)
    return True, offers
