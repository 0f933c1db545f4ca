"""Payments: members buy and renew their plan in the chat with Telegram Payments.

An order is what an invoice asks to be paid: the member's, for a plan on sale, priced from the
plan at that moment in the club's currency; `buy` when the member holds no current membership,
`renew` when they do (the new period starts the day after its end). Its payload, the invoice's
`payload`, is "o<id>.<nonce>.<mac>": the mac is HMAC-SHA256 of "o<id>.<nonce>" under a key
derived from CARD_SECRET (HMAC(CARD_SECRET, "orders")), truncated to 16 bytes, so a payload
cannot be forged, and the nonce makes it unique. A member has one open order per plan: asking
again reuses it while its price holds and it has time left, else it closes and a new one opens.

Telegram's pre-checkout asks `check_checkout` (one indexed statement: it runs on the checkout
fast lane under Telegram's 10 s): ok only when the payload verifies, the order is the paying
Telegram user's, still open and not expired, the plan on sale at the order's price and the
total and currency the order's; the order is then `prechecked`.

`record_payment` takes Telegram's successful_payment in one transaction: the payment row
(once per telegram_payment_charge_id: the same charge seen again is a 'duplicate' and grants
nothing, also when two transactions see it at once), the order paid, the membership granted or
extended through services.membership_admin (its rules, its audit), the audit entry
'payment.received', and the notices to the member and the admins. A payment that cannot be
honoured (plan deleted or archived, member erased, order expired, paid already or unknown, the
amount not the order's) is recorded as 'needs_refund' with its problem, and the admins are
told: never lost, never an exception.

`mark_refunded` records a refund made at the provider: the payment and its order refunded, the
membership it paid for ends today (a renewal: shortened by the days and visits it added).

Orders and payments keep only the internal member id and figures: an erasure leaves them as
they are (the club's books), and retention never deletes them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from base64 import urlsafe_b64encode
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Recipient, admins, by_id
from fitclub.locales import Localized
from fitclub.runtime import notices
from fitclub.services import freezes, membership_admin, membership_change, timetable
from fitclub.services.booking import Rules
from fitclub.services.membership_change import AdminMembership, Outcome

DEFAULT_TTL_HOURS = 24
#: An open order is reused for a new invoice only while it has at least this much time left.
REUSE_MARGIN = timedelta(hours=1)
PAYLOAD_MAX = 128
_MAC_BYTES = 16
_PAYLOAD = re.compile(r"^o([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{8,32})\.([A-Za-z0-9_-]{22})$")
_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)

#: Why a payment needs a refund (payments.problem).
PROBLEMS = ("plan_gone", "member_gone", "order_expired", "order_paid", "amount_mismatch",
            "unknown_order", "processing_failed")


# -- the payload -------------------------------------------------------------------------------

def _key(secret: str) -> bytes:
    """The orders' signing key: HMAC(CARD_SECRET, "orders"), never the card key itself."""
    return hmac.new(secret.encode(), b"orders", hashlib.sha256).digest()


def _mac(secret: str, body: str) -> str:
    digest = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return urlsafe_b64encode(digest).decode().rstrip("=")


def sign(order_id: int, secret: str, nonce: str | None = None) -> str:
    """The payload of order `order_id`: "o<id>.<nonce>.<mac>"."""
    body = f"o{order_id}.{nonce or secrets.token_urlsafe(9)}"
    return f"{body}.{_mac(secret, body)}"


def verify(payload: str, secret: str) -> int | None:
    """The order id a payload names if its mac is ours, else None (forged, malformed)."""
    found = _PAYLOAD.match(payload or "")
    if found is None or not secret:
        return None
    body = payload.rsplit(".", 1)[0]
    if not hmac.compare_digest(_mac(secret, body), found.group(3)):
        return None
    return int(found.group(1))


# -- what buying gives -------------------------------------------------------------------------

class Refusal(NamedTuple):
    """Why an order cannot be opened: the catalog key of the one line that says so
    (pay_err_plan_off_sale, pay_err_not_yours, pay_err_free_plan)."""

    reason: str


class Quote(NamedTuple):
    """What buying a plan now would give: a new membership (buy) or the current one
    extended (renew), with the period it buys and the visits after it."""

    plan_id: int
    plan_name: Localized
    kind: str  # buy, renew
    amount_minor: int  # the plan's price now, in the club's currency's minor units
    duration_days: int
    starts_on: date  # the period bought: buy from today, renew from the day after the end
    ends_on: date
    visits: int | None  # the plan's visits (None: unlimited)
    visits_after: int | None  # the membership's visits once paid (None: unlimited)
    membership_id: int | None  # the membership a renewal extends
    freeze_days: int = 0  # the plan's freeze allowance


class Order(NamedTuple):
    """An order with the period it will buy (as things stand now)."""

    id: int
    member_id: int
    plan_id: int | None  # None: the plan was deleted since
    kind: str  # buy, renew
    amount_minor: int
    currency: str
    payload: str
    status: str  # open, prechecked, paid, refunded, expired
    created_at: datetime
    expires_at: datetime
    plan_name: Localized | None
    starts_on: date | None
    ends_on: date | None
    visits: int | None  # the plan's visits (None: unlimited)


class _Plan(NamedTuple):
    id: int
    name: Localized
    price_minor: int
    duration_days: int
    visit_count: int | None
    freeze_days: int


def _current(conn, member_id: int, today: date) -> AdminMembership | None:
    """The member's current membership (upcoming, active or frozen), else None."""
    found = membership_change.membership_of(conn, member_id, today)
    return found if found is not None and found.current else None


def _quote(plan: _Plan, current: AdminMembership | None, today: date) -> Quote:
    if current is None:
        starts = today
        after = plan.visit_count
    else:
        starts = max(current.ends_on + timedelta(days=1), today)
        after = (None if current.visits_left is None or plan.visit_count is None
                 else current.visits_left + plan.visit_count)
    return Quote(plan.id, plan.name, "buy" if current is None else "renew", plan.price_minor,
                 plan.duration_days, starts, starts + timedelta(days=plan.duration_days - 1),
                 plan.visit_count, after, current.id if current else None, plan.freeze_days)


def quote(conn, member_id: int, plan_id: int, today: date) -> Quote | Refusal:
    """What buying the plan now would give the member, or why they cannot buy it (over a
    current membership only its own plan renews it: pay_err_renew_other_plan)."""
    plan = rows.one(conn, "memberships.plan_on_sale", {"plan_id": plan_id}, _Plan)
    if plan is None:
        return Refusal("pay_err_plan_off_sale")
    if plan.price_minor <= 0:
        return Refusal("pay_err_free_plan")
    current = _current(conn, member_id, today)
    if current is not None and current.plan_id != plan_id:
        # A renewal extends the current membership by its own plan; another plan (other
        # visits, unlimited or not) is bought once this membership has ended.
        return Refusal("pay_err_renew_other_plan")
    return _quote(plan, current, today)


def _order(conn, order_id: int, today: date) -> Order | None:
    found = rows.one(conn, "payments.order", {"order_id": order_id}, _OrderRow)
    if found is None:
        return None
    plan = (rows.one(conn, "memberships.plan_on_sale", {"plan_id": found.plan_id}, _Plan)
            if found.plan_id is not None else None)
    head = found[:len(_OrderRow._fields) - 3]
    if plan is None:
        return Order(*head, None, None, None)
    if found.duration_days is not None:  # what the invoice promised, whatever the plan says now
        plan = plan._replace(duration_days=found.duration_days, visit_count=found.visit_count,
                             freeze_days=found.freeze_days)
    got = _quote(plan, _current(conn, found.member_id, today), today)
    return Order(*head, got.starts_on, got.ends_on, plan.visit_count)


class _OrderRow(NamedTuple):
    id: int
    member_id: int
    plan_id: int | None
    kind: str
    amount_minor: int
    currency: str
    payload: str
    status: str
    created_at: datetime
    expires_at: datetime
    plan_name: Localized | None
    duration_days: int | None  # the terms the order recorded (None: opened before 0030, plan
    visit_count: int | None  # deleted)
    freeze_days: int | None


def get_order(conn, order_id: int, today: date) -> Order | None:
    """One order with the period it would buy today (None for a plan gone or off sale)."""
    return _order(conn, order_id, today)


def open_order(conn, member_id: int, plan_id: int, now: datetime, rules: Rules, secret: str,
               currency: str, *, ttl_hours: float = DEFAULT_TTL_HOURS) -> Order | Refusal:
    """The member's open order for the plan at its price now: the one they have if it still
    has time left at that price and currency, else a new one (their other open orders for the
    plan close). Refused for a plan not on sale or free, or a member not registered."""
    today = timetable.today(now, rules)
    if rows.scalar(conn, "payments.lock_member", {"member_id": member_id}) is None:
        return Refusal("pay_err_not_yours")
    got = quote(conn, member_id, plan_id, today)
    if isinstance(got, Refusal):
        return got
    ttl = timedelta(hours=ttl_hours)
    terms = {"duration_days": got.duration_days, "visit_count": got.visits,
             "freeze_days": got.freeze_days}
    keep = rows.scalar(conn, "payments.reusable", {
        "member_id": member_id, "plan_id": plan_id, "amount_minor": got.amount_minor,
        "currency": currency, "until": now + min(REUSE_MARGIN, ttl / 2), **terms})
    if keep is None:
        keep = rows.scalar(conn, "payments.next_id", {})
        rows.execute(conn, "payments.insert_order", {
            "id": keep, "member_id": member_id, "plan_id": plan_id, "kind": got.kind,
            "amount_minor": got.amount_minor, "currency": currency,
            "payload": sign(keep, secret), "now": now, "expires_at": now + ttl, **terms})
    rows.execute(conn, "payments.close_others",
                 {"member_id": member_id, "plan_id": plan_id, "keep": keep, "now": now})
    return _order(conn, keep, today)


# -- checkout ----------------------------------------------------------------------------------

class _Checkout(NamedTuple):
    payload: str
    status: str
    expires_at: datetime
    amount_minor: int
    currency: str
    telegram_id: int | None
    member_live: bool
    plan_on_sale: bool
    price_minor: int | None
    same_terms: bool | None
    prechecked: bool


def check_checkout(conn, payload: str, telegram_user_id: int, total_amount: int,
                   currency: str, now: datetime, secret: str) -> str | None:
    """Telegram's pre-checkout: None when the order may be paid (it is marked 'prechecked'),
    else the catalog key of the one-line reason: pay_err_unknown (forged or no such order),
    pay_err_not_yours, pay_err_closed (paid, expired, refunded or past its time),
    pay_err_plan_off_sale, pay_err_price_changed, pay_err_terms_changed (the plan's days,
    visits or freeze days are no longer the invoice's), pay_err_amount (total or currency not
    the order's). One statement on the order's primary key; a payment or the expiry that held
    the order meanwhile makes it pay_err_closed."""
    order_id = verify(payload, secret)
    if order_id is None:
        return "pay_err_unknown"
    found = rows.one(conn, "payments.checkout", {
        "order_id": order_id, "payload": payload, "telegram_id": telegram_user_id,
        "total": total_amount, "currency": currency, "now": now}, _Checkout)
    if found is None or found.payload != payload:
        return "pay_err_unknown"
    if found.prechecked:
        return None
    reasons = (
        (not found.member_live or found.telegram_id != telegram_user_id, "pay_err_not_yours"),
        (found.status not in ("open", "prechecked") or found.expires_at <= now,
         "pay_err_closed"),
        (not found.plan_on_sale, "pay_err_plan_off_sale"),
        (found.price_minor != found.amount_minor, "pay_err_price_changed"),
        (not found.same_terms, "pay_err_terms_changed"),
        (found.amount_minor != total_amount or found.currency != currency, "pay_err_amount"),
    )
    # Every rule held as the statement saw the order, yet it was not marked: a payment (or the
    # expiry) held the row and closed it meanwhile.
    return next((key for failed, key in reasons if failed), "pay_err_closed")


# -- the payment -------------------------------------------------------------------------------

class PaymentResult(NamedTuple):
    """What became of a successful_payment: 'granted', 'needs_refund' (problem says why) or
    'duplicate' (this charge was recorded before: nothing changed; the fields are the first
    recording's, the membership as it is now)."""

    payment_id: int
    status: str  # granted, needs_refund, duplicate
    membership_id: int | None
    ends_on: date | None
    visits_left: int | None  # None: unlimited (or no membership)
    problem: str | None
    plan_name: Localized | None = None  # the plan paid for (None: not known or deleted)
    renewed: bool = False  # the payment extended a current membership
    amount_minor: int = 0  # what was paid (a duplicate: what the first recording says)
    starts_on: date | None = None  # the membership's first day


@notices.kind
class PaymentNotice(NamedTuple):
    """A notice to the member: their payment was received and the membership granted or
    extended (kind), as it is now; or received but not honoured (kind 'needs_refund', problem
    says why): the club refunds it."""

    telegram_id: int
    language: str
    kind: str  # granted, extended, needs_refund
    amount_minor: int
    currency: str
    plan_name: Localized | None
    starts_on: date | None
    ends_on: date | None
    visits_left: int | None  # None: unlimited
    problem: str | None = None


@notices.kind
class AdminPaymentNotice(NamedTuple):
    """A notice to an admin: a payment arrived (granted, or to refund with its problem)."""

    admin: Recipient
    payment_id: int
    kind: str  # granted, extended, needs_refund
    member_name: str | None  # None: not known or erased
    plan_name: Localized | None
    amount_minor: int
    currency: str
    ends_on: date | None
    problem: str | None


@notices.kind
class RefundNotice(NamedTuple):
    """A notice to the member: their payment was refunded; the membership now ends on ends_on
    (None: it was cancelled before it started, or it had nothing to change)."""

    telegram_id: int
    language: str
    amount_minor: int
    currency: str
    plan_name: Localized | None
    ends_on: date | None


class _LockedOrder(NamedTuple):
    id: int
    member_id: int
    plan_id: int | None
    kind: str
    amount_minor: int
    currency: str
    payload: str
    status: str
    prechecked_at: datetime | None
    telegram_id: int | None
    member_live: bool
    plan_on_sale: bool
    duration_days: int | None  # the terms the order recorded (None: opened before 0030)
    visit_count: int | None


class _Duplicate(NamedTuple):
    id: int
    status: str
    membership_id: int | None
    ends_on: date | None
    visits_left: int | None
    problem: str | None
    plan_name: Localized | None
    effect: str | None
    amount_minor: int
    starts_on: date | None


def _problem(order: _LockedOrder | None, telegram_user_id: int, total_amount: int,
             currency: str) -> str | None:
    """Why an order's payment cannot be honoured, or None."""
    if order is None:
        return "unknown_order"
    # A payment arrives only after a pre-checkout said ok: an order expired after it is paid
    # for all the same; one never pre-checked is not.
    problems = (
        (not order.member_live or order.telegram_id != telegram_user_id, "member_gone"),
        (order.status in ("paid", "refunded"), "order_paid"),
        (order.status == "expired" and order.prechecked_at is None, "order_expired"),
        (order.amount_minor != total_amount or order.currency != currency, "amount_mismatch"),
        (order.plan_id is None or not order.plan_on_sale, "plan_gone"),
    )
    return next((problem for found, problem in problems if found), None)


def record_payment(conn, *, payload: str, telegram_user_id: int, total_amount: int,
                   currency: str, telegram_charge_id: str, provider_charge_id: str | None,
                   now: datetime, rules: Rules, secret: str) -> PaymentResult:
    """Record Telegram's successful_payment and honour it (see the module's docstring), in the
    caller's transaction; never raises for a payment it cannot honour."""
    member_id = rows.scalar(conn, "payments.member_by_telegram_id",
                            {"telegram_id": telegram_user_id})
    payment_id = rows.scalar(conn, "payments.claim_charge", {
        "amount_minor": total_amount, "currency": currency, "charge_id": telegram_charge_id,
        "provider_charge_id": provider_charge_id, "now": now, "member_id": member_id})
    if payment_id is None:
        seen = rows.one(conn, "payments.by_charge", {"charge_id": telegram_charge_id},
                        _Duplicate)
        return PaymentResult(seen.id, "duplicate", seen.membership_id, seen.ends_on,
                             seen.visits_left, seen.problem, seen.plan_name,
                             seen.effect == "extended", seen.amount_minor, seen.starts_on)
    order_id = verify(payload, secret)
    order = (rows.one(conn, "payments.lock_order", {"order_id": order_id}, _LockedOrder)
             if order_id is not None else None)
    if order is not None and order.payload != payload:
        order = None
    problem = _problem(order, telegram_user_id, total_amount, currency)
    today = timetable.today(now, rules)
    settled = {"payment_id": payment_id, "order_id": order.id if order else None,
               "member_id": order.member_id if order else member_id,
               "plan_id": order.plan_id if order else None, "membership_id": None,
               "effect": None, "days_added": None, "visits_added": None,
               "ends_on_before": None, "visits_before": None}
    result = None
    if problem is None:
        result, before = _grant(conn, order, now, rules, today)
        if result.outcome is not Outcome.DONE:
            problem = _why_not(conn, order)
        else:
            added = _added(conn, order)
            result = result._replace(membership=_as_ordered(conn, result.membership, before,
                                                            added, today))
            settled.update(membership_id=result.membership.id,
                           effect="granted" if before is None else "extended",
                           ends_on_before=before.ends_on if before else None,
                           visits_before=before.visits_left if before else None, **added)
    if order is not None and order.status in ("open", "prechecked", "expired"):
        rows.execute(conn, "payments.order_paid", {"order_id": order.id, "now": now})
    status = "granted" if problem is None else "needs_refund"
    rows.execute(conn, "payments.settle", {**settled, "status": status, "problem": problem})
    membership = result.membership if problem is None else None
    audit.record(conn, actor_id=settled["member_id"], action="payment.received",
                 entity="payment", entity_id=payment_id,
                 details={"member_id": settled["member_id"], "plan_id": settled["plan_id"],
                          "order_id": settled["order_id"], "amount_minor": total_amount,
                          "currency": currency, "status": status, "problem": problem,
                          "membership_id": settled["membership_id"],
                          "effect": settled["effect"]})
    _tell(conn, payment_id, settled, status, problem, total_amount, currency, membership)
    return PaymentResult(payment_id, status, settled["membership_id"],
                         membership.ends_on if membership else None,
                         membership.visits_left if membership else None, problem,
                         _plan_name(conn, settled["plan_id"]),
                         settled["effect"] == "extended", total_amount,
                         membership.starts_on if membership else None)


def record_unprocessed(conn, *, telegram_user_id: int | None, total_amount: int, currency: str,
                       telegram_charge_id: str, provider_charge_id: str | None,
                       now: datetime) -> int | None:
    """A successful_payment whose handler failed for good (record_payment kept raising): kept
    as needing a refund ('processing_failed') under the payer's member id if known, audited
    'payment.needs_refund', the admins told; never granted. None when this charge was recorded
    already (nothing to add)."""
    member_id = (rows.scalar(conn, "payments.member_by_telegram_id",
                             {"telegram_id": telegram_user_id})
                 if telegram_user_id is not None else None)
    payment_id = rows.scalar(conn, "payments.claim_unprocessed", {
        "amount_minor": total_amount, "currency": currency, "charge_id": telegram_charge_id,
        "provider_charge_id": provider_charge_id, "now": now, "member_id": member_id})
    if payment_id is None:
        return None
    problem = "processing_failed"
    audit.record(conn, actor_id=member_id, action="payment.needs_refund", entity="payment",
                 entity_id=payment_id,
                 details={"member_id": member_id, "amount_minor": total_amount,
                          "currency": currency, "status": "needs_refund", "problem": problem})
    settled = {"member_id": member_id, "plan_id": None, "effect": None}
    _tell(conn, payment_id, settled, "needs_refund", problem, total_amount, currency, None)
    return payment_id


def _added(conn, order: _LockedOrder) -> dict:
    """The days and visits the payment buys: the order's terms (the plan's now for an order
    opened before they were recorded)."""
    if order.duration_days is not None:
        return {"days_added": order.duration_days, "visits_added": order.visit_count}
    plan = rows.one(conn, "payments.plan", {"plan_id": order.plan_id}, _Plan)
    return {"days_added": plan.duration_days, "visits_added": plan.visit_count}


def _as_ordered(conn, granted: AdminMembership, before: AdminMembership | None, added: dict,
                today: date) -> AdminMembership:
    """The membership with the order's days and visits (granted or extended with the plan's
    as they are now, which an edit since the invoice may have changed)."""
    days, visits = added["days_added"], added["visits_added"]
    if before is None:
        ends_on = granted.starts_on + timedelta(days=days - 1)
    else:
        ends_on = before.ends_on + timedelta(days=days)
        visits = (None if visits is None or before.visits_left is None
                  else before.visits_left + visits)
    if (ends_on, visits) == (granted.ends_on, granted.visits_left):
        return granted
    rows.execute(conn, "payments.set_terms", {"membership_id": granted.id, "ends_on": ends_on,
                                              "visits_left": visits})
    return membership_change.locked(conn, granted.id, today, erased_too=True)


def _why_not(conn, order: _LockedOrder) -> str:
    """Why granting or extending a payable order failed: the member or the plan is gone
    (deleted, archived or erased meanwhile), else the change was refused for another reason
    (processing_failed: an admin's change the payment could not follow)."""
    if rows.scalar(conn, "payments.lock_member", {"member_id": order.member_id}) is None:
        return "member_gone"
    plan = rows.one(conn, "memberships.plan_on_sale", {"plan_id": order.plan_id}, _Plan)
    return "plan_gone" if plan is None else "processing_failed"


def _locked_current(conn, member_id: int, today: date) -> AdminMembership | None:
    """The member's current membership, locked, read after the lock (an admin's Extend or
    Cancel that held it has committed): its end is the one to extend from. Read again once if
    it stopped being current meanwhile."""
    for _ in range(2):
        found = _current(conn, member_id, today)
        if found is None:
            return None
        found = membership_change.locked(conn, found.id, today)
        if found is not None and found.current:
            return found
    return None


def _grant(conn, order: _LockedOrder, now: datetime, rules: Rules, today: date
           ) -> tuple[membership_change.Result, AdminMembership | None]:
    """Grant the order's plan from today, or extend the member's current membership by it
    (the new period from the day after its end); the membership before (None: granted)."""
    if rows.scalar(conn, "payments.lock_member", {"member_id": order.member_id}) is None:
        return membership_change.Result(Outcome.UNAVAILABLE), None
    current = _locked_current(conn, order.member_id, today)
    if current is None:
        return membership_admin.grant(conn, order.member_id, order.member_id, order.plan_id,
                                      today, now, rules, notify=False), None
    return membership_admin.extend(conn, order.member_id, current.id, order.plan_id,
                                   current.ends_on, now, rules, notify=False), current


def _plan_name(conn, plan_id: int | None) -> Localized | None:
    return (Localized.from_db(rows.scalar(conn, "payments.plan_name", {"plan_id": plan_id}))
            if plan_id is not None else None)


def _tell(conn, payment_id: int, settled: dict, status: str, problem: str | None,
          amount: int, currency: str, membership: AdminMembership | None) -> None:
    """The member's notice (if the bot can write to them) and every admin's."""
    member = by_id(conn, settled["member_id"]) if settled["member_id"] else None
    plan_name = _plan_name(conn, settled["plan_id"])
    kind = settled["effect"] or "needs_refund"
    if member is not None and member.telegram_id is not None and member.blocked_at is None:
        notices.record(conn, PaymentNotice(
            member.telegram_id, member.language, kind, amount, currency, plan_name,
            membership.starts_on if membership else None,
            membership.ends_on if membership else None,
            membership.visits_left if membership else None, problem))
    notices.record(conn, *(AdminPaymentNotice(
        admin, payment_id, kind, member.name if member else None, plan_name, amount, currency,
        membership.ends_on if membership else None, problem) for admin in admins(conn)))


# -- refunds -----------------------------------------------------------------------------------

class RefundResult(NamedTuple):
    """What marking a payment refunded did: 'refunded' (the membership it paid for now ends on
    ends_on; None when it was cancelled before it started or had nothing to change), or refused
    with the catalog key of the one line saying why (reason: pay_err_already_refunded,
    pay_err_no_payment)."""

    status: str  # refunded, refused
    payment_id: int
    membership_id: int | None = None
    ends_on: date | None = None
    visits_left: int | None = None
    reason: str | None = None


class _Payment(NamedTuple):
    id: int
    order_id: int | None
    member_id: int | None
    plan_id: int | None
    amount_minor: int
    currency: str
    status: str
    membership_id: int | None
    effect: str | None
    days_added: int | None
    visits_added: int | None
    ends_on_before: date | None
    visits_before: int | None


def renewed_later(conn, payment_id: int, membership_id: int | None) -> bool:
    """Whether a later payment (granted, not refunded) extended the membership this payment
    paid for."""
    return membership_id is not None and rows.scalar(conn, "payments.later_renewals", {
        "membership_id": membership_id, "payment_id": payment_id}) > 0


def refund_end(effect: str | None, starts_on: date, ends_on: date, days_added: int | None,
               renewed: bool, today: date) -> tuple[str, date]:
    """What refunding a payment does to the current membership it paid for, and its end after:
    'cancels' (a purchase not started, nothing renewed it since), 'ends' (a purchase nothing
    renewed since ends today) or 'shortens' (a renewal, or a purchase a later payment renewed:
    only this payment's days come off, not below today or its first day)."""
    if effect == "granted" and not renewed:
        if starts_on > today:
            return "cancels", ends_on
        return "ends", min(ends_on, today)
    return "shortens", max(ends_on - timedelta(days=days_added or 0), today, starts_on)


def _undo(conn, paid: _Payment, now: datetime, rules: Rules, today: date
          ) -> tuple[date | None, int | None, dict]:
    """End or shorten the membership a payment paid for; its end and visits now, and what the
    audit entry says of it."""
    found = membership_change.locked(conn, paid.membership_id, today, erased_too=True)
    if found is None or not found.current:
        return None, None, {}
    change, ends_on = refund_end(paid.effect, found.starts_on, found.ends_on, paid.days_added,
                                 renewed_later(conn, paid.id, paid.membership_id), today)
    status = "cancelled" if change == "cancels" else found.status
    if change != "shortens":
        visits = found.visits_left
    elif paid.effect == "extended" and paid.visits_added is None:
        visits = paid.visits_before
    elif found.visits_left is None or paid.visits_added is None:
        visits = found.visits_left
    else:
        visits = max(0, found.visits_left - paid.visits_added)
    if found.freeze_id is not None and (status == "cancelled" or found.frozen_until > ends_on):
        freezes.stop(conn, found, today)
        if status == "frozen":
            status = "active"
    rows.execute(conn, "payments.shorten", {"membership_id": found.id, "ends_on": ends_on,
                                            "visits_left": visits, "status": status})
    tomorrow = datetime.combine(ends_on + timedelta(days=1), time(), rules.timezone)
    start = datetime.combine(found.starts_on, time(), rules.timezone)
    _, cancelled = membership_change.cancel_bookings(
        conn, found.member_id, start if status == "cancelled" else tomorrow, _FOREVER, now,
        rules)
    return (None if status == "cancelled" else ends_on), visits, {
        "ends_on_before": found.ends_on.isoformat(), "ends_on_after": ends_on.isoformat(),
        "visits_before": found.visits_left, "visits_after": visits,
        "cancelled": status == "cancelled", "classes_cancelled": cancelled}


def mark_refunded(conn, payment_id: int, admin_id: int, now: datetime, rules: Rules
                  ) -> RefundResult:
    """Record that a payment was refunded at the provider (once): the membership it paid for
    ends today (refund_end), or this payment's days and visits come off when it was a renewal
    or a later payment renewed it; its order is refunded; audited."""
    paid = rows.one(conn, "payments.lock_payment", {"payment_id": payment_id}, _Payment)
    if paid is None:
        return RefundResult("refused", payment_id, reason="pay_err_no_payment")
    if paid.status == "refunded":
        return RefundResult("refused", payment_id, paid.membership_id,
                            reason="pay_err_already_refunded")
    today = timetable.today(now, rules)
    ends_on, visits, changed = (None, None, {})
    if paid.status == "granted" and paid.membership_id is not None:
        ends_on, visits, changed = _undo(conn, paid, now, rules, today)
    rows.execute(conn, "payments.refunded",
                 {"payment_id": payment_id, "now": now, "admin_id": admin_id})
    if paid.order_id is not None:
        rows.execute(conn, "payments.order_refunded", {"order_id": paid.order_id, "now": now})
    audit.record(conn, actor_id=admin_id, action="payment.refunded", entity="payment",
                 entity_id=payment_id,
                 details={"member_id": paid.member_id, "plan_id": paid.plan_id,
                          "amount_minor": paid.amount_minor, "currency": paid.currency,
                          "was": paid.status, "membership_id": paid.membership_id, **changed})
    member = by_id(conn, paid.member_id) if paid.member_id else None
    if member is not None and member.telegram_id is not None and member.blocked_at is None:
        plan_name = _plan_name(conn, paid.plan_id)
        notices.record(conn, RefundNotice(member.telegram_id, member.language,
                                          paid.amount_minor, paid.currency, plan_name,
                                          ends_on if changed else None))
    return RefundResult("refunded", payment_id, paid.membership_id, ends_on, visits)


# -- expiry ------------------------------------------------------------------------------------

def expire_orders(conn, now: datetime) -> int:
    """Open and pre-checked orders past their time expire; how many did."""
    return rows.execute(conn, "payments.expire", {"now": now})


# -- what admins read --------------------------------------------------------------------------

class PaymentLine(NamedTuple):
    """One payment as admins read it."""

    id: int
    paid_at: datetime
    member_id: int | None
    order_id: int | None
    plan_id: int | None
    plan_name: Localized | None  # None: no plan known, or deleted
    amount_minor: int
    currency: str
    status: str  # granted, needs_refund, refunded
    problem: str | None  # why it needs (or needed) a refund
    membership_id: int | None
    effect: str | None  # granted, extended: what it did to the membership
    refunded_at: datetime | None
    refunded_by: int | None


def _lines(conn, *, member_id: int | None = None, payment_id: int | None = None,
           to_refund: bool = False, limit: int = 20) -> list[PaymentLine]:
    return rows.many(conn, "payments.lines", {"member_id": member_id, "payment_id": payment_id,
                                              "to_refund": to_refund, "limit": limit},
                     PaymentLine)


def of_member(conn, member_id: int, *, limit: int = 20) -> list[PaymentLine]:
    """The member's payments, newest first (for the member card)."""
    return _lines(conn, member_id=member_id, limit=limit)


def payment(conn, payment_id: int) -> PaymentLine | None:
    """One payment, or None."""
    found = _lines(conn, payment_id=payment_id, limit=1)
    return found[0] if found else None


def to_refund(conn, *, limit: int = 20) -> list[PaymentLine]:
    """Payments that need a refund, newest first."""
    return _lines(conn, to_refund=True, limit=limit)


class Figures(NamedTuple):
    """Payments received in a day or for a plan, in one currency."""

    payments: int
    received_minor: int
    refunded: int
    refunded_minor: int
    to_refund: int  # received, not honoured, not refunded yet
    to_refund_minor: int

    @property
    def net_minor(self) -> int:
        """What the club keeps: received less refunded and still to refund."""
        return self.received_minor - self.refunded_minor - self.to_refund_minor


class DayLine(NamedTuple):
    """One club day's payments in one currency."""

    day: date
    currency: str
    payments: int
    received_minor: int
    refunded: int
    refunded_minor: int
    to_refund: int
    to_refund_minor: int

    @property
    def figures(self) -> Figures:
        return Figures(*self[2:])


class PlanLine(NamedTuple):
    """One plan's payments in one currency (plan_id None: payments for no known plan)."""

    plan_id: int | None
    plan_name: Localized | None
    currency: str
    payments: int
    received_minor: int
    refunded: int
    refunded_minor: int
    to_refund: int
    to_refund_minor: int

    @property
    def figures(self) -> Figures:
        return Figures(*self[3:])


class PaymentsReport(NamedTuple):
    """Payments received from `since` to `until` (club days, both included): per day, per
    plan, and the totals per currency (normally one: CLUB_CURRENCY)."""

    since: date
    until: date
    days: list[DayLine]
    plans: list[PlanLine]
    totals: dict[str, Figures]

    @property
    def empty(self) -> bool:
        return not self.days


def report(conn, since: date, until: date, tz: tzinfo) -> PaymentsReport:
    """Payments whose club day (in tz) is from `since` to `until`, both included."""
    params = {"since": datetime.combine(since, time(), tz),
              "until": datetime.combine(until + timedelta(days=1), time(), tz),
              "tz": str(tz)}
    days = rows.many(conn, "payments.report_days", params, DayLine)
    plans = rows.many(conn, "payments.report_plans", params, PlanLine)
    totals: dict[str, Figures] = {}
    for line in days:
        was = totals.get(line.currency, Figures(0, 0, 0, 0, 0, 0))
        totals[line.currency] = Figures(*(a + b for a, b in zip(was, line.figures,
                                                                 strict=True)))
    return PaymentsReport(since, until, days, plans, totals)
