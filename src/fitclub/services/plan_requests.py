"""Members' requests for a plan: a member asks for a plan on sale (every admin is told), and
admins grant the plan from today or dismiss the request."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Recipient, admins, by_id
from fitclub.locales import Localized
from fitclub.runtime import notices
from fitclub.services import membership_admin, memberships, timetable
from fitclub.services.booking import Rules
from fitclub.services.membership_change import Outcome, Result
from fitclub.services.memberships import Plan

# -- the member's side ---------------------------------------------------------------------------

class RequestOutcome(Enum):
    """What became of a request for a plan."""

    SENT = "sent"
    REPEAT = "repeat"  # the same plan was requested within a day: admins are not told again
    UNAVAILABLE = "unavailable"  # no such plan on sale (archived, forged id)


@notices.kind
class PlanRequested(NamedTuple):
    """A notice to an admin: a member asked for a plan."""

    admin: Recipient
    member_name: str
    member_phone: str | None
    plan_name: str


class PlanRequest(NamedTuple):
    """A request's outcome, the plan, and the admins told (empty unless SENT)."""

    outcome: RequestOutcome
    plan: Plan | None
    notify: list[Recipient]


def request_plan(conn, member_id: int, plan_id: int) -> PlanRequest:
    """Record a request for a plan on sale, at most one a day per member and plan; every
    admin is told."""
    plan = memberships.plan_on_sale(conn, plan_id)
    if plan is None:
        return PlanRequest(RequestOutcome.UNAVAILABLE, None, [])
    rows.execute(conn, "plan_requests.lock_member", {"member_id": member_id})
    if rows.scalar(conn, "plan_requests.recent", {"member_id": member_id, "plan_id": plan_id}):
        return PlanRequest(RequestOutcome.REPEAT, plan, [])
    request_id = rows.scalar(conn, "plan_requests.insert",
                             {"member_id": member_id, "plan_id": plan_id})
    audit.record(conn, actor_id=member_id, action="plan.requested", entity="plan_request",
                 entity_id=request_id, details={"plan_id": plan_id})
    told = admins(conn)
    member = by_id(conn, member_id)
    notices.record(conn, *(PlanRequested(admin, member.name, member.phone, plan.name)
                           for admin in told))
    return PlanRequest(RequestOutcome.SENT, plan, told)


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
