"""Memberships as a member sees them, the plans on sale, and requests for a plan."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Recipient, admins, by_id
from fitclub.runtime import notices


class MembershipView(NamedTuple):
    """The member's current (or latest) membership."""

    id: int
    plan_name: str
    status: str  # active, frozen, expired, cancelled
    starts_on: date
    ends_on: date
    visits_left: int | None  # None: unlimited
    freeze_days_left: int
    frozen_until: date | None

    @property
    def current(self) -> bool:
        """Active or frozen, not past its end."""
        return self.status in ("active", "frozen")


class Plan(NamedTuple):
    """A plan on sale."""

    id: int
    name: str
    price_minor: int
    duration_days: int
    visit_count: int | None  # None: unlimited
    freeze_days: int


def membership_of(conn, member_id: int, today: date) -> MembershipView | None:
    """The member's current membership, else their latest one, else None."""
    return rows.one(conn, "memberships.latest_for_member",
                    {"member_id": member_id, "today": today}, MembershipView)


def plans_on_sale(conn) -> list[Plan]:
    """Every plan a member may request."""
    return rows.many(conn, "memberships.plans_on_sale", {}, Plan)


class RequestOutcome(Enum):
    """What became of a request for a plan."""

    SENT = "sent"
    REPEAT = "repeat"  # the same plan was requested within a day: admins are not told again
    UNAVAILABLE = "unavailable"  # no such plan on sale (archived, forged id)


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
    plan = rows.one(conn, "memberships.plan_on_sale", {"plan_id": plan_id}, Plan)
    if plan is None:
        return PlanRequest(RequestOutcome.UNAVAILABLE, None, [])
    rows.execute(conn, "memberships.lock_member_requests", {"member_id": member_id})
    if rows.scalar(conn, "memberships.recent_request",
                   {"member_id": member_id, "plan_id": plan_id}):
        return PlanRequest(RequestOutcome.REPEAT, plan, [])
    request_id = rows.scalar(conn, "memberships.insert_request",
                             {"member_id": member_id, "plan_id": plan_id})
    audit.record(conn, actor_id=member_id, action="plan.requested", entity="plan_request",
                 entity_id=request_id, details={"plan_id": plan_id})
    told = admins(conn)
    member = by_id(conn, member_id)
    notices.record(conn, *(PlanRequested(admin, member.name, member.phone, plan.name)
                           for admin in told))
    return PlanRequest(RequestOutcome.SENT, plan, told)
