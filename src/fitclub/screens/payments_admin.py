"""Payments as admins see them: the member card's payments and "All payments", Mark refunded
and its confirmation, the report's payments screen, and the button under the admins' notices of
a payment. Amounts are shown in their own currency (normally the club's)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

from fitclub.callbacks import (
    MEMBER_CARD,
    MEMBER_PAYMENTS,
    PAYMENT_REFUND,
    REPORT_EXPORT,
    REPORT_PAYMENTS,
    STAFF,
)
from fitclub.db.members import Member
from fitclub.locales import Raw, Texts
from fitclub.screens import Screen, inline
from fitclub.screens.staff import back_row as staff_back_row
from fitclub.services.payments import (
    Figures,
    PaymentLine,
    PaymentsReport,
    RefundResult,
)
from fitclub.services.payments_admin import (
    DAYS_LISTED,
    REPORT_DAYS,
    MemberPayments,
    RefundsDue,
    RefundTerms,
)
from fitclub.services.spreadsheets import csv_separator

PROBLEMS = ("plan_gone", "member_gone", "order_expired", "order_paid", "amount_mismatch",
            "unknown_order", "processing_failed")


def amount(tx: Texts, minor: int, currency: str) -> str:
    """An amount in minor units of `currency`, for the locale ('€49.00', '49,00 €')."""
    digits = get_currency_precision(currency)
    return format_currency(Decimal(minor).scaleb(-digits), currency, locale=tx.locale)


def problem(tx: Texts, key: str | None) -> str:
    """Why a payment needs a refund, in words ('plan archived')."""
    return tx(f"pmt_problem_{key}") if key in PROBLEMS else tx("pmt_problem_unknown_order")


def _plan(tx: Texts, line: PaymentLine) -> object:
    return line.plan_name if line.plan_name else tx("pmt_plan_gone")


def _state(tx: Texts, line: PaymentLine) -> Raw:
    if line.status == "refunded":
        return tx("pmt_state_refunded", date=tx.date(line.refunded_at, "long"))
    if line.status == "needs_refund":
        return tx("pmt_state_needs_refund", problem=problem(tx, line.problem))
    return tx("pmt_state_granted")


def line_text(tx: Texts, line: PaymentLine) -> str:
    """One payment: its day, plan, amount and what became of it."""
    return tx("pmt_line", date=tx.date(line.paid_at, "long"), plan=_plan(tx, line),
              amount=amount(tx, line.amount_minor, line.currency), state=_state(tx, line))


def refund_rows(tx: Texts, lines: list[PaymentLine]) -> list[list[tuple[str, str]]]:
    """A Mark refunded button for each payment shown that is not refunded yet."""
    return [[(tx("pmt_button_refund", amount=amount(tx, p.amount_minor, p.currency),
                 date=tx.date(p.paid_at, "long")),
              PAYMENT_REFUND(payment_id=p.id, step="ask"))]
            for p in lines if p.status != "refunded"]


def card_lines(tx: Texts, found: MemberPayments) -> list[str]:
    """The member card's payments section: the latest, newest first, and how many more
    (nothing when the member never paid)."""
    if not found.total:
        return []
    lines = ["", tx("pmt_card_title"), *(line_text(tx, p) for p in found.lines)]
    if found.total > len(found.lines):
        lines.append(tx.plural("pmt_more", found.total - len(found.lines)))
    return lines


def card_rows(tx: Texts, member_id: int, found: MemberPayments) -> list[list[tuple[str, str]]]:
    """The card's payment buttons: Mark refunded for each shown, All payments when more."""
    rows = refund_rows(tx, found.lines)
    if found.total > len(found.lines):
        rows.append([(tx("pmt_button_all", n=found.total), MEMBER_PAYMENTS(member_id=member_id))])
    return rows


def _card_row(tx: Texts, member_id: int) -> list[tuple[str, str]]:
    return [(tx("mbr_button_card"), MEMBER_CARD(member_id=member_id))]


def all_payments(tx: Texts, member: Member, found: MemberPayments) -> Screen:
    """Every payment of a member (the latest ALL_SHOWN), newest first, with Mark refunded."""
    if not found.total:
        return Screen(tx("pmt_all_none", name=member.name), inline([_card_row(tx, member.id)]))
    lines = [tx("pmt_all_title", name=member.name), *(line_text(tx, p) for p in found.lines)]
    if found.total > len(found.lines):
        lines.append(tx.plural("pmt_more", found.total - len(found.lines)))
    return Screen("\n".join(lines),
                  inline([*refund_rows(tx, found.lines), _card_row(tx, member.id)]))


def back_row(tx: Texts, member: Member | None) -> list[tuple[str, str]]:
    """Back to the member's card, or to the report's payments when the member is gone."""
    if member is None:
        return [(tx("pmt_button_back_payments"), REPORT_PAYMENTS())]
    return _card_row(tx, member.id)


def refund_ask(tx: Texts, member: Member | None, terms: RefundTerms) -> Screen:
    """Mark this payment refunded? What it changes: the refund itself is the provider's.
    (`member` None: the payment's member is unknown or erased.)"""
    p = terms.payment
    name = member.name if member is not None else tx("pmt_rep_member_gone")
    head = tx("pmt_refund_ask", name=name, amount=amount(tx, p.amount_minor, p.currency),
              date=tx.date(p.paid_at, "long"), plan=_plan(tx, p))
    if terms.change == "ends":
        what = tx("pmt_refund_ends", date=tx.date(terms.ends_on, "long"))
    elif terms.change == "shortens":
        what = tx("pmt_refund_shortens", date=tx.date(terms.ends_on, "long"),
                  before=tx.date(terms.before, "long"))
    elif terms.change == "cancels":
        what = tx("pmt_refund_cancels")
    else:
        what = tx("pmt_refund_nothing")
    return Screen(f"{head}\n\n{what}", inline([
        [(tx("pmt_button_refund_yes"), PAYMENT_REFUND(payment_id=p.id, step="yes"))],
        back_row(tx, member)]))


def refunded(tx: Texts, line: PaymentLine, result: RefundResult) -> str:
    """The line the card shows once a payment is marked refunded."""
    values = {"amount": amount(tx, line.amount_minor, line.currency),
              "date": tx.date(line.paid_at, "long")}
    if result.ends_on is not None:
        return tx("pmt_refunded_ends", end=tx.date(result.ends_on, "long"), **values)
    return tx("pmt_refunded", **values)


# -- the report's payments ---------------------------------------------------------------------

def _sums(tx: Texts, by_currency: dict[str, int]) -> str:
    """Amounts in several currencies joined ('€98.00 + $10.00'); one is the usual case."""
    return " + ".join(amount(tx, minor, currency)
                      for currency, minor in sorted(by_currency.items()))


def _figures(tx: Texts, key: str, figures: dict[str, Figures], count: str, minor: str,
             **values: object) -> str:
    n = sum(getattr(f, count) for f in figures.values())
    return tx(key, amount=_sums(tx, {c: getattr(f, minor) for c, f in figures.items()}),
              payments=tx.plural("pmt_rep_payments", n), **values)


def report(tx: Texts, found: PaymentsReport, due: RefundsDue, today: date) -> Screen:
    """Payments of the last REPORT_DAYS club days: received and refunded, per day (the last
    DAYS_LISTED), per plan; the payments that need a refund (each opens its member's card);
    the export of every payment (XLSX, CSV beside it). A payment whose member is gone has its
    Mark refunded button here instead."""
    days = tx.plural("rep_days", REPORT_DAYS)
    lines = [tx("pmt_rep_title", days=days), ""]
    if found.empty:
        lines.append(tx("pmt_rep_none", days=days))
    else:
        lines.append(_figures(tx, "pmt_rep_total", found.totals, "payments", "received_minor"))
        if any(f.refunded for f in found.totals.values()):
            lines.append(_figures(tx, "pmt_rep_refunds", found.totals, "refunded",
                                  "refunded_minor"))
        per_day: dict[date, dict[str, Figures]] = defaultdict(dict)
        for d in found.days:
            per_day[d.day][d.currency] = d.figures
        lines += ["", tx("pmt_rep_days_title", days=tx.plural("rep_days", DAYS_LISTED))]
        for back in range(DAYS_LISTED):
            day = today - timedelta(days=back)
            shown = tx.date(day, "short")
            lines.append(_figures(tx, "pmt_rep_day_line", per_day[day], "payments",
                                  "received_minor", date=shown) if day in per_day
                         else tx("pmt_rep_day_none", date=shown))
        lines += ["", tx("pmt_rep_plans_title")]
        per_plan: dict[object, dict[str, Figures]] = defaultdict(dict)
        names: dict[object, object] = {}
        for p in found.plans:
            per_plan[p.plan_id][p.currency] = p.figures
            names[p.plan_id] = p.plan_name or tx("pmt_plan_gone")
        lines += [_figures(tx, "pmt_rep_plan_line", figures, "payments", "received_minor",
                           plan=names[plan_id]) for plan_id, figures in per_plan.items()]
    rows = []
    if due.total:
        lines += ["", tx("pmt_rep_to_refund_title", n=due.total)]
        for d in due.lines:
            p = d.payment
            money = amount(tx, p.amount_minor, p.currency)
            lines.append(tx("pmt_rep_to_refund_line", date=tx.date(p.paid_at, "long"),
                            name=d.member_name or tx("pmt_rep_member_gone"), amount=money,
                            problem=problem(tx, p.problem)))
            if d.member_name is not None:
                rows.append([(tx("pmt_button_member", name=d.member_name, amount=money),
                              MEMBER_CARD(member_id=p.member_id))])
            else:
                rows += refund_rows(tx, [p])
        if due.total > len(due.lines):
            lines.append(tx.plural("pmt_more", due.total - len(due.lines)))
        lines.append(tx("pmt_rep_to_refund_hint"))
    lines += ["", tx("rep_export_formats", separator=csv_separator(tx.lang))]
    rows += [[(tx("rep_button_export_payments"), REPORT_EXPORT(table="payments", fmt="xlsx")),
              (tx("rep_button_csv"), REPORT_EXPORT(table="payments", fmt="csv"))],
             [(tx("rep_button_back"), STAFF(section="report")), *staff_back_row(tx)]]
    return Screen("\n".join(lines), inline(rows))


# -- the admins' notices ------------------------------------------------------------------------

def notice_markup(tx: Texts, member_id: int | None):
    """The button under an admin's notice of a payment: the member's card (none when the
    member is unknown or erased)."""
    if member_id is None:
        return None
    return inline([[(tx("pmt_button_open_card"), MEMBER_CARD(member_id=member_id))]])
