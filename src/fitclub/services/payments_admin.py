"""Payments as admins read them: a member's payments for their card (the latest few, and how
many in all), what marking a payment refunded would change (for its confirmation), the payments
that need a refund with their members' names, and the report's window of the last 30 club days.

What a refund does is `services.payments.mark_refunded`; `refund_terms` reads the same rule
(`payments.refund_end`: a bought membership ends today, or is cancelled if it had not started;
a renewal, or a purchase a later payment renewed, loses only the days it added, not below
today or its first day; an ended membership, or a payment that granted nothing, is left as it
is) before anything changes, so the confirmation says what the press will do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

from fitclub.db import rows
from fitclub.services import payments
from fitclub.services.payments import PaymentLine, PaymentsReport

#: Payments on the member card; the rest behind "All payments".
CARD_SHOWN = 3
#: Payments on a member's "All payments" screen (newest first).
ALL_SHOWN = 20
#: The report covers this many club days, today included; its per-day list the last few.
REPORT_DAYS = 30
DAYS_LISTED = 7
#: Payments needing a refund listed on the report, a button each.
TO_REFUND_SHOWN = 10


class MemberPayments(NamedTuple):
    """A member's latest payments, newest first, and how many they made in all."""

    lines: list[PaymentLine]
    total: int


def of_member(conn, member_id: int, limit: int = CARD_SHOWN) -> MemberPayments:
    """The member's latest `limit` payments and their number."""
    return MemberPayments(payments.of_member(conn, member_id, limit=limit),
                          rows.scalar(conn, "payments_admin.count_of_member",
                                      {"member_id": member_id}))


class _Terms(NamedTuple):
    id: int
    status: str
    effect: str | None
    days_added: int | None
    membership_id: int | None
    membership_status: str | None
    starts_on: date | None
    ends_on: date | None


class RefundTerms(NamedTuple):
    """What marking a payment refunded would change: `change` is 'ends' (the membership it
    paid for ends on ends_on), 'shortens' (it ends on ends_on instead of `before`), 'cancels'
    (it had not started) or 'none' (it granted nothing, or the membership is over)."""

    payment: PaymentLine
    change: str
    ends_on: date | None = None
    before: date | None = None


def refund_terms(conn, payment_id: int, today: date) -> RefundTerms | None:
    """The terms of marking this payment refunded; None when there is no such payment or it
    was marked refunded already."""
    line = payments.payment(conn, payment_id)
    terms = rows.one(conn, "payments_admin.refund_terms", {"payment_id": payment_id}, _Terms)
    if line is None or terms is None or terms.status == "refunded":
        return None
    current = terms.membership_status == "frozen" or (
        terms.membership_status == "active" and terms.ends_on is not None
        and terms.ends_on >= today)
    if terms.status != "granted" or terms.membership_id is None or not current:
        return RefundTerms(line, "none")
    change, ends_on = payments.refund_end(
        terms.effect, terms.starts_on, terms.ends_on, terms.days_added,
        payments.renewed_later(conn, terms.id, terms.membership_id), today)
    if change == "cancels":
        return RefundTerms(line, "cancels")
    return RefundTerms(line, change, ends_on, terms.ends_on)


class ToRefund(NamedTuple):
    """A payment that needs a refund, and its member's name (None: unknown or erased)."""

    payment: PaymentLine
    member_name: str | None


class _Name(NamedTuple):
    id: int
    first_name: str
    last_name: str | None


class RefundsDue(NamedTuple):
    """The latest payments needing a refund, and how many there are in all."""

    lines: list[ToRefund]
    total: int


def to_refund(conn, limit: int = TO_REFUND_SHOWN) -> RefundsDue:
    """Payments needing a refund, newest first, with their members' names."""
    found = payments.to_refund(conn, limit=limit)
    ids = sorted({p.member_id for p in found if p.member_id is not None})
    names = {n.id: f"{n.first_name} {n.last_name}" if n.last_name else n.first_name
             for n in rows.many(conn, "payments_admin.member_names", {"ids": ids}, _Name)}
    return RefundsDue([ToRefund(p, names.get(p.member_id)) for p in found],
                      rows.scalar(conn, "payments_admin.count_to_refund", {}))


def window(now: datetime, tz: tzinfo) -> tuple[date, date]:
    """The report's first and last club day: the last REPORT_DAYS days, today included."""
    today = now.astimezone(tz).date()
    return today - timedelta(days=REPORT_DAYS - 1), today


def report(conn, now: datetime, tz: tzinfo) -> PaymentsReport:
    """The payments of the last REPORT_DAYS club days (services.payments.report)."""
    since, until = window(now, tz)
    return payments.report(conn, since, until, tz)
