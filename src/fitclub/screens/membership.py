"""The membership screen: the member's membership, or the plans they can request."""

from __future__ import annotations

from fitclub.callbacks import PLAN_REQUEST
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.screens.menu import back_to_menu
from fitclub.services.memberships import MembershipView, Plan


def plan_text(tx: Texts, plan: Plan) -> str:
    """One plan: name, price, length and visits."""
    visits = (tx.plural("plan_visits", plan.visit_count) if plan.visit_count is not None
              else tx("plan_unlimited"))
    return tx("plan_line", name=plan.name, price=tx.money(plan.price_minor),
              days=tx.plural("plan_days", plan.duration_days), visits=visits)


def membership(tx: Texts, current: MembershipView | None, plans: list[Plan]) -> Screen:
    """The member's membership, and the plans to request when there is no current one."""
    lines: list[str] = []
    if current is not None:
        lines += [tx("membership_title"), tx("membership_plan", plan=current.plan_name),
                  tx("membership_status", status=tx(f"status_{current.status}")),
                  tx("membership_valid_until", date=tx.date(current.ends_on, "long"))]
        if current.status == "frozen" and current.frozen_until:
            lines.append(tx("membership_frozen_until", date=tx.date(current.frozen_until, "long")))
        if current.current:
            lines.append(tx("membership_unlimited") if current.visits_left is None
                         else tx.plural("membership_visits_left", current.visits_left))
            lines.append(tx.plural("membership_freeze_left", current.freeze_days_left))
    rows = []
    if current is None or not current.current:
        if current is not None:
            lines.append("")
        lines.append(tx("membership_none") if current is None else tx("membership_ended"))
        if plans:
            lines += [""] + [plan_text(tx, plan) + "\n" for plan in plans]
            lines.append(tx("plan_request_hint"))
            rows = [[(tx("plan_request_button", name=plan.name), PLAN_REQUEST(plan_id=plan.id))]
                    for plan in plans]
        else:
            lines.append(tx("membership_no_plans"))
    rows.append(back_to_menu(tx))
    return Screen("\n".join(lines).strip(), inline(rows))

