"""Paying for a plan in the chat, as the member sees it: the Buy and Renew buttons with the
price, the invoice's title and description, the one-line refusals, and what the member is told
once the money is there (or that the club will refund it)."""

from __future__ import annotations

import html
from datetime import date
from typing import NamedTuple

from fitclub.callbacks import MENU, PAY_PLAN
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.screens.menu import back_to_menu
from fitclub.screens.payments_admin import amount as in_currency
from fitclub.services.memberships import Plan

#: Telegram's limits on an invoice's title and description (characters).
TITLE_MAX, DESCRIPTION_MAX = 32, 255

#: Why an order or a checkout is refused: the catalog key of each one-line reason.
REFUSALS = ("pay_err_unknown", "pay_err_not_yours", "pay_err_closed", "pay_err_plan_off_sale",
            "pay_err_price_changed", "pay_err_terms_changed", "pay_err_amount", "pay_err_off",
            "pay_err_free_plan")

#: Why a payment that arrived cannot be honoured (payments.problem): the catalog key of each.
PROBLEMS = ("plan_gone", "member_gone", "order_expired", "order_paid", "amount_mismatch",
            "unknown_order", "processing_failed")


class Invoice(NamedTuple):
    """What sendInvoice shows: plain text (no HTML), within Telegram's limits."""

    title: str
    description: str
    label: str  # the one LabeledPrice's label


def _plain(text: str, limit: int) -> str:
    """Catalog text (HTML-escaped) as plain text of at most `limit` characters."""
    text = html.unescape(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def terms(tx: Texts, plan: Plan) -> str:
    """What a plan includes: '30 days · 12 visits · up to 7 freeze days'."""
    visits = (tx.plural("plan_visits", plan.visit_count) if plan.visit_count is not None
              else tx("plan_unlimited"))
    freeze = (tx.plural("pay_freeze_days", plan.freeze_days) if plan.freeze_days
              else tx("pl_line_no_freeze"))
    return tx("pay_terms", days=tx.plural("plan_days", plan.duration_days), visits=visits,
              freeze=freeze)


def pay_button(tx: Texts, plan: Plan, renew: bool) -> tuple[str, str]:
    """'Buy Month · €49.00', or 'Renew with Month · €49.00' over a current membership."""
    return (tx("pay_renew_button" if renew else "pay_buy_button", name=plan.name,
               price=tx.money(plan.price_minor)), PAY_PLAN(plan_id=plan.id))


def pay_rows(tx: Texts, plans: list[Plan], renew: bool) -> list[list[tuple[str, str]]]:
    """One Buy (or Renew) button per plan on sale (a free plan has nothing to pay)."""
    return [[pay_button(tx, plan, renew)] for plan in plans if plan.price_minor > 0]


def buy_hint(tx: Texts) -> str:
    """Under the plans, with no current membership: pay here, active at once."""
    return tx("pay_buy_hint")


def renew_line(tx: Texts, starts_on: date) -> str:
    """Over the plans, with a current membership: the new period runs from `starts_on` (the
    day after the current end)."""
    return tx("pay_renew_line", date=tx.date(starts_on, "long"))


def invoice(tx: Texts, plan: Plan, starts_on: date, ends_on: date) -> Invoice:
    """The invoice for a plan: its name in the member's language, what it includes and the
    period it buys."""
    description = tx("pay_invoice_description", terms=terms(tx, plan),
                     start=tx.date(starts_on, "long"), end=tx.date(ends_on, "long"))
    name = tx.content(plan.name)
    return Invoice(_plain(name, TITLE_MAX), _plain(description, DESCRIPTION_MAX),
                   _plain(tx("pay_invoice_label", name=plan.name, days=tx.plural(
                       "plan_days", plan.duration_days)), 64))


def invoice_sent(tx: Texts, plan: Plan) -> str:
    """The screen's note after a press: the invoice is below."""
    return tx("pay_invoice_below", plan=plan.name, price=tx.money(plan.price_minor))


def refusal(tx: Texts, key: str, plan_name: object = "") -> str:
    """One line: why no invoice was sent, or why the checkout was refused."""
    return tx(key if key in REFUSALS else "pay_err_unknown", plan=plan_name)


def _after_payment(tx: Texts) -> list[list[tuple[str, str]]]:
    return [[(tx("menu_membership"), MENU(screen="membership"))], back_to_menu(tx)]


def paid(tx: Texts, plan_name: object, ends_on: date, visits_left: int | None,
         renewed: bool) -> Screen:
    """The member's answer to their payment: the plan, the end date, the visits; the
    Membership and Menu buttons."""
    visits = (tx("plan_unlimited") if visits_left is None
              else tx.plural("plan_visits", visits_left))
    text = tx("pay_paid_renewed" if renewed else "pay_paid", plan=plan_name,
              end=tx.date(ends_on, "long"), visits=visits)
    return Screen(text, inline(_after_payment(tx)))


def _money(tx: Texts, amount_minor: int, currency: str | None) -> str:
    """An amount in the payment's own currency (None: the club's)."""
    return tx.money(amount_minor) if currency is None else in_currency(tx, amount_minor,
                                                                       currency)


def needs_refund(tx: Texts, amount_minor: int, problem: str | None,
                 currency: str | None = None) -> Screen:
    """A payment the club cannot honour: said truthfully in one line (why, when known), the
    refund to come; the amount in the payment's currency."""
    amount = _money(tx, amount_minor, currency)
    text = (tx("pay_needs_refund", amount=amount, why=tx(f"pay_problem_{problem}"))
            if problem in PROBLEMS else tx("pay_needs_refund_plain", amount=amount))
    return Screen(text, inline(_after_payment(tx)))


def refunded(tx: Texts, amount_minor: int, plan_name: object | None,
             ends_on: date | None, currency: str | None = None) -> Screen:
    """To the member: the club refunded their payment (the amount in its currency); the
    membership it paid for now ends on `ends_on` (None: nothing of it is left)."""
    amount = _money(tx, amount_minor, currency)
    lines = [tx("pay_refunded", amount=amount, plan=plan_name)
             if plan_name else tx("pay_refunded_no_plan", amount=amount)]
    if ends_on is not None:
        lines.append(tx("pay_refunded_ends", date=tx.date(ends_on, "long")))
    return Screen("\n".join(lines), inline(_after_payment(tx)))
