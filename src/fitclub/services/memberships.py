"""Memberships as a member sees them, and the plans on sale (a request for one is in
services.plan_requests)."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from fitclub.db import rows
from fitclub.locales import Localized


class MembershipView(NamedTuple):
    """The member's current (or latest) membership."""

    id: int
    plan_name: Localized
    status: str  # upcoming (active, from a later day), active, frozen, expired, cancelled
    starts_on: date
    ends_on: date
    visits_left: int | None  # None: unlimited
    freeze_allowance: int  # the plan's freeze days (0: the plan allows no freezing)
    freeze_days_left: int
    frozen_from: date | None  # the freeze planned or running
    frozen_until: date | None
    plan_id: int | None = None  # the plan it was sold by (a renewal in the chat takes it)

    @property
    def current(self) -> bool:
        """Not started yet, active or frozen: not past its end, not cancelled."""
        return self.status in ("upcoming", "active", "frozen")


class Plan(NamedTuple):
    """A plan on sale."""

    id: int
    name: Localized
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


def plan_on_sale(conn, plan_id: int) -> Plan | None:
    """One plan if it is still on sale."""
    return rows.one(conn, "memberships.plan_on_sale", {"plan_id": plan_id}, Plan)
