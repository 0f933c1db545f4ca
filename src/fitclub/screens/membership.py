"""The membership screen: the member's membership as it is, or the plans they can request and
their request."""

from __future__ import annotations

from datetime import date

from fitclub.callbacks import PLAN_REQUEST, PLAN_WITHDRAW
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.screens import payments as pay_screens
from fitclub.screens.menu import back_to_menu
from fitclub.services.memberships import MembershipView, Plan
from fitclub.services.plan_requests import MyRequest


def plan_text(tx: Texts, plan: Plan) -> str:
    """One plan: name, price, length and visits."""
    visits = (tx.plural("plan_visits", plan.visit_count) if plan.visit_count is not None
              else tx("plan_unlimited"))
    return tx("plan_line", name=plan.name, price=tx.money(plan.price_minor),
              days=tx.plural("plan_days", plan.duration_days), visits=visits)


def status_text(tx: Texts, status: str, starts_on: date, ends_on: date,
                frozen_until: date | None = None) -> str:
    """A membership's state as people read it: starts on (not started yet), active, frozen
    (until, when given), ended on, cancelled."""
    if status == "upcoming":
        return tx("status_starts_on", date=tx.date(starts_on, "long"))
    if status == "expired":
        return tx("status_ended_on", date=tx.date(ends_on, "long"))
    if status == "frozen" and frozen_until is not None:
        return tx("status_frozen_until", date=tx.date(frozen_until, "long"))
    return tx(f"status_{status}")


def freeze_line(tx: Texts, allowance: int, left: int) -> str | None:
    """Freeze days left, or that all are used; None when the plan allows no freezing."""
    if allowance <= 0:
        return None
    if left > 0:
        return tx.plural("membership_freeze_left", left)
    return tx.plural("membership_freeze_used", allowance)


def request_line(tx: Texts, request: MyRequest) -> str:
    """The member's request: pending since its day, or declined on the day it was."""
    if request.pending:
        return tx("plan_request_pending", plan=request.plan_name,
                  date=tx.date(request.created_at, "long"))
    return tx("plan_request_declined", plan=request.plan_name,
              date=tx.date(request.closed_at or request.created_at, "long"))


def _current_lines(tx: Texts, m: MembershipView) -> list[str]:
    lines = [tx("membership_title"), tx("membership_plan", plan=m.plan_name),
             tx("membership_status", status=status_text(tx, m.status, m.starts_on, m.ends_on,
                                                        m.frozen_until))]
    if m.status not in ("expired", "cancelled"):
        lines.append(tx("membership_valid_until", date=tx.date(m.ends_on, "long")))
    if not m.current:
        return lines
    if m.status != "frozen" and m.frozen_from is not None:
        lines.append(tx("membership_freeze_planned", start=tx.date(m.frozen_from, "long"),
                        end=tx.date(m.frozen_until, "long")))
    lines.append(tx("membership_unlimited") if m.visits_left is None
                 else tx.plural("membership_visits_left", m.visits_left))
    freeze = freeze_line(tx, m.freeze_allowance, m.freeze_days_left)
    return lines + ([freeze] if freeze else [])


def membership(tx: Texts, current: MembershipView | None, plans: list[Plan],
               request: MyRequest | None = None, note: str | None = None, *,
               renew_from: date | None = None, payments: bool = False) -> Screen:
    """The member's membership as it is (not started yet, active, frozen, ended); without a
    current one the plans, and either the pending request (with Withdraw) or a request
    button per plan (after a declined request, that it was). `note`: the one-line answer to
    what the member just pressed, above the rest.

    With `payments` on (a provider is connected), each plan has a Buy button with its price
    instead; over a current membership, a Renew button each, the new period running from
    `renew_from` (the day after the current end)."""
    if payments:
        return _with_payments(tx, current, plans, request, note, renew_from)
    lines: list[str] = [note, ""] if note else []
    if current is not None:
        lines += _current_lines(tx, current)
    rows = []
    if current is None or not current.current:
        if current is not None:
            lines.append("")
        lines.append(tx("membership_none") if current is None else tx("membership_ended"))
        if plans:
            lines += [""] + [plan_text(tx, plan) + "\n" for plan in plans]
        else:
            lines.append(tx("membership_no_plans"))
        if request is not None and request.pending:
            lines.append(request_line(tx, request))
            rows = [[(tx("plan_withdraw_button"), PLAN_WITHDRAW(request_id=request.id))]]
        else:
            if request is not None:
                lines.append(request_line(tx, request))
            if plans:
                lines.append(tx("plan_request_hint"))
                rows = [[(tx("plan_request_button", name=plan.name),
                          PLAN_REQUEST(plan_id=plan.id))] for plan in plans]
    rows.append(back_to_menu(tx))
    return Screen("\n".join(lines).strip(), inline(rows))


def _with_payments(tx: Texts, current: MembershipView | None, plans: list[Plan],
                   request: MyRequest | None, note: str | None,
                   renew_from: date | None) -> Screen:
    """The membership screen when members pay in the chat: Buy (or Renew) with the price."""
    lines: list[str] = [note, ""] if note else []
    renew = current is not None and current.current
    if current is not None:
        lines += _current_lines(tx, current)
        lines.append("")
    if not renew:
        lines.append(tx("membership_none") if current is None else tx("membership_ended"))
    rows: list[list[tuple[str, str]]] = []
    if renew:
        # Only the membership's own plan renews it; other plans once it has ended.
        own = [plan for plan in plans if plan.id == current.plan_id and plan.price_minor > 0]
        if own:
            lines.append(pay_screens.renew_line(tx, renew_from or current.ends_on))
            lines += ["", plan_text(tx, own[0]) + "\n", tx("pay_renew_own_plan")]
            rows = pay_screens.pay_rows(tx, own, renew)
        else:
            lines.append(tx("pay_renew_off_sale"))
    elif plans:
        lines += [""] + [plan_text(tx, plan) + "\n" for plan in plans]
        lines.append(pay_screens.buy_hint(tx))
        rows = pay_screens.pay_rows(tx, plans, renew)
    else:
        lines.append(tx("membership_no_plans"))
    if request is not None and request.pending:  # asked before payments were on: withdrawable
        lines.append(request_line(tx, request))
        rows.append([(tx("plan_withdraw_button"), PLAN_WITHDRAW(request_id=request.id))])
    rows.append(back_to_menu(tx))
    return Screen("\n".join(lines).strip(), inline(rows))
