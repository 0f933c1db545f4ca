"""What an admin sees of a member (/members): who they are, their membership, their pending
request for a plan, recent visits, bookings to come and the staff's notes on them; and adding a
note."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Member, by_id
from fitclub.services import plan_requests, timetable
from fitclub.services.booking import Rules
from fitclub.services.membership_change import AdminMembership, membership_of
from fitclub.services.plan_requests import MyRequest
from fitclub.services.timetable import MyBooking, Visit

NOTES_SHOWN = 3
BOOKINGS_SHOWN = 5


class Note(NamedTuple):
    """An admin's note on a member."""

    created_at: datetime
    author: str | None
    body: str


class Card(NamedTuple):
    """What an admin sees of a member."""

    member: Member
    membership: AdminMembership | None
    request: MyRequest | None  # the member's pending request for a plan
    visits: list[Visit]
    bookings: list[MyBooking]
    notes: list[Note]


def card(conn, member_id: int, now: datetime, rules: Rules) -> Card | None:
    """A registered, live member's card; None when there is no such member."""
    member = by_id(conn, member_id)
    if member is None or member.registered_at is None:
        return None
    today = timetable.today(now, rules)
    request = plan_requests.my_request(conn, member_id)
    return Card(member, membership_of(conn, member_id, today),
                request if request is not None and request.pending else None,
                timetable.last_visits(conn, member_id),
                timetable.upcoming(conn, member_id, now)[:BOOKINGS_SHOWN],
                rows.many(conn, "member_notes.latest",
                          {"member_id": member_id, "limit": NOTES_SHOWN}, Note))


def add_note(conn, actor_id: int, member_id: int, body: str) -> bool:
    """Note something about a live member (staff only see it); False when they are gone."""
    note_id = rows.scalar(conn, "member_notes.insert",
                          {"member_id": member_id, "author_id": actor_id, "body": body})
    if note_id is None:
        return False
    audit.record(conn, actor_id=actor_id, action="member.note_added", entity="member",
                 entity_id=member_id, details={"note_id": note_id})
    return True
