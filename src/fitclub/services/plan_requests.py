"""Members' requests for a plan: a member asks for a plan on sale (every admin is told), sees
it pending and may withdraw it; admins grant the plan from today or dismiss the request (the
member then sees it declined).

A member has at most one open request: while one is pending another is refused with that
reason, and a member whose membership is current (not started yet, active or frozen) cannot
ask for a plan (admins extend it instead). Admins are told of a member's request for a plan
at most once a day, however often it is withdrawn and asked for again.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Recipient, admins, by_id
from fitclub.locales import Localized
from fitclub.runtime import notices
from fitclub.services import membership_admin, memberships, timetable
from fitclub.services.booking import Rules
from fitclub.services.membership_change import Outcome, Result
from fitclub.services.memberships import MembershipView, Plan

# -- the member's side ---------------------------------------------------------------------------

class RequestOutcome(Enum):
    """What became of a request for a plan."""

    SENT = "sent"
    PENDING = "pending"  # another request of the member's is still open: nothing changed
    HAS_MEMBERSHIP = "has_membership"  # the member's membership is current: nothing changed
    UNAVAILABLE = "unavailable"  # no such plan on sale (archived, forged id)


@notices.kind
class PlanRequested(NamedTuple):
    """A notice to an admin: a member asked for a plan."""

    admin: Recipient
    member_name: str
    member_phone: str | None
    plan_name: str


class MyRequest(NamedTuple):
    """The member's latest request as they see it: open (pending) or dismissed (declined)."""

    id: int
    plan_id: int
    plan_name: Localized
    status: str  # open, dismissed (withdrawn: just withdrawn)
    created_at: datetime
    closed_at: datetime | None

    @property
    def pending(self) -> bool:
        """Still open: the club has not answered."""
        return self.status == "open"


class PlanRequest(NamedTuple):
    """A request's outcome, the plan, the admins told (empty unless SENT), the member's open
    request (SENT: the new one; PENDING: the one in the way) and their current membership
    (HAS_MEMBERSHIP)."""

    outcome: RequestOutcome
    plan: Plan | None
    notify: list[Recipient]
    request: MyRequest | None = None
    membership: MembershipView | None = None


def my_request(conn, member_id: int) -> MyRequest | None:
    """The member's latest request if it is open, or dismissed by the club since their last
    membership was granted; else None (withdrawn, granted, or none)."""
    return rows.one(conn, "plan_requests.latest_of_member", {"member_id": member_id},
                    MyRequest)


def request_plan(conn, member_id: int, plan_id: int, today: date) -> PlanRequest:
    """Record a request for a plan on sale unless one is pending or the membership is current;
    the admins are told unless they were told of this plan by this member within a day."""
    plan = memberships.plan_on_sale(conn, plan_id)
    if plan is None:
        return PlanRequest(RequestOutcome.UNAVAILABLE, None, [])
    rows.execute(conn, "plan_requests.lock_member", {"member_id": member_id})
    mine = my_request(conn, member_id)
    if mine is not None and mine.pending:
        return PlanRequest(RequestOutcome.PENDING, plan, [], mine)
    current = memberships.membership_of(conn, member_id, today)
    if current is not None and current.current:
        return PlanRequest(RequestOutcome.HAS_MEMBERSHIP, plan, [], membership=current)
    told_today = rows.scalar(conn, "plan_requests.recent",
                             {"member_id": member_id, "plan_id": plan_id})
    request_id = rows.scalar(conn, "plan_requests.insert",
                             {"member_id": member_id, "plan_id": plan_id})
    audit.record(conn, actor_id=member_id, action="plan.requested", entity="plan_request",
                 entity_id=request_id, details={"plan_id": plan_id})
    told = [] if told_today else admins(conn)
    member = by_id(conn, member_id)
    notices.record(conn, *(PlanRequested(admin, member.name, member.phone, plan.name)
                           for admin in told))
    return PlanRequest(RequestOutcome.SENT, plan, told, my_request(conn, member_id))


def withdraw(conn, member_id: int, request_id: int) -> MyRequest | None:
    """Withdraw the member's own open request; the request as closed, or None when it is not
    open (answered or withdrawn already) or not theirs. Only the request row is locked (an
    admin's grant locks it before the member), so the two cannot deadlock."""
    closed = rows.one(conn, "plan_requests.withdraw",
                      {"member_id": member_id, "request_id": request_id}, MyRequest)
    if closed is not None:
        audit.record(conn, actor_id=member_id, action="plan.withdrawn", entity="plan_request",
                     entity_id=request_id, details={"plan_id": closed.plan_id})
    return closed


# -- the admins' side ----------------------------------------------------------------------------

class PlanRequestView(NamedTuple):
    """An open request for a plan."""

    id: int
    member_id: int
    first_name: str
    last_name: str | None
    phone: str | None
    username: str | None
    plan_id: int
    plan_name: Localized
    plan_on_sale: bool
    created_at: datetime

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


class _Request(NamedTuple):
    id: int
    member_id: int
    plan_id: int


def open_requests(conn, limit: int = 8) -> tuple[list[PlanRequestView], int]:
    """The newest open requests, and how many are open in all."""
    return (rows.many(conn, "plan_requests.open", {"limit": limit}, PlanRequestView),
            rows.scalar(conn, "plan_requests.count_open", {}))


def grant_request(conn, actor_id: int, request_id: int, now: datetime, rules: Rules) -> Result:
    """Grant the requested plan from today; the request (and the member's others) close."""
    found = rows.one(conn, "plan_requests.lock", {"request_id": request_id}, _Request)
    if found is None:
        return Result(Outcome.UNAVAILABLE)
    result = membership_admin.grant(conn, actor_id, found.member_id, found.plan_id,
                                    timetable.today(now, rules), now, rules)
    if result.outcome is Outcome.DONE:
        audit.record(conn, actor_id=actor_id, action="plan_request.granted",
                     entity="plan_request", entity_id=request_id,
                     details={"membership_id": result.membership.id})
    return result


def dismiss_request(conn, actor_id: int, request_id: int) -> bool:
    """Close an open request without granting it; False when it is not open."""
    found = rows.one(conn, "plan_requests.lock", {"request_id": request_id}, _Request)
    if found is None:
        return False
    rows.execute(conn, "plan_requests.close", {"request_id": request_id, "status": "dismissed"})
    audit.record(conn, actor_id=actor_id, action="plan_request.dismissed",
                 entity="plan_request", entity_id=request_id,
                 details={"member_id": found.member_id, "plan_id": found.plan_id})
    return True
