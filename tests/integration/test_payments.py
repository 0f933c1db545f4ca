"""Payments on PostgreSQL (services/payments.py): orders and their signed payloads, the
pre-checkout's rules, a payment granting or extending once (also when two connections record
the same charge at once), payments that cannot be honoured kept for a refund, refunds, the
expiry of orders, the report and a member's payments."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import psycopg2
import pytest

import fitclub.jobs.orders
from fitclub import locales, notify
from fitclub.runtime import jobs
from fitclub.runtime.context import UpdateContext, bound
from fitclub.services import club, payments
from fitclub.services.payments import Order, Quote, Refusal
from tests import factories
from tests.helpers import in_transaction as _run
from tests.helpers import query

NOW = datetime(2030, 6, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
RULES = club.of(None).booking
SECRET = "s" * 40
ANNA_TG, BORIS_TG, ADA_TG = 9001, 9002, 9000


@pytest.fixture(autouse=True)
def _formats():
    locales.configure(timezone="UTC", currency="EUR")


@pytest.fixture
def shop(db_url):
    """Ada (admin), Anna and Boris (members), Month (30 days, 12 visits, 49.00) and Open
    (90 days, unlimited, 120.00)."""
    return {
        "ada": factories.member(db_url, ADA_TG, "Ada", role="admin"),
        "anna": factories.member(db_url, ANNA_TG, "Anna", language="ru"),
        "boris": factories.member(db_url, BORIS_TG, "Boris"),
        "month": factories.plan(db_url, "Month", price_minor=4900, duration_days=30,
                                visit_count=12),
        "open": factories.plan(db_url, "Open", price_minor=12000, duration_days=90,
                               visit_count=None),
        "url": db_url,
    }


def _open(shop, who="anna", plan="month", now=NOW, **kw) -> Order:
    order = _run(shop["url"], payments.open_order, shop[who], shop[plan], now, RULES, SECRET,
                 "EUR", **kw)
    assert isinstance(order, Order), order
    return order


def _check(shop, order: Order, telegram_id=ANNA_TG, total=None, currency="EUR", now=NOW,
           payload=None):
    return _run(shop["url"], payments.check_checkout, payload or order.payload, telegram_id,
                order.amount_minor if total is None else total, currency, now, SECRET)


def _pay(shop, order: Order | None, charge="ch-1", telegram_id=ANNA_TG, total=None,
         currency="EUR", now=NOW, payload=None):
    return _run(shop["url"], payments.record_payment,
                payload=payload or order.payload, telegram_user_id=telegram_id,
                total_amount=order.amount_minor if total is None else total, currency=currency,
                telegram_charge_id=charge, provider_charge_id=f"prov-{charge}", now=now,
                rules=RULES, secret=SECRET)


def _membership(db_url, member_id):
    return query(db_url, "SELECT status, starts_on, ends_on, visits_left FROM memberships"
                         " WHERE member_id = %s ORDER BY id", (member_id,))


def _order_status(db_url, order_id):
    return query(db_url, "SELECT status FROM orders WHERE id = %s", (order_id,))[0][0]


def _sql(db_url, statement, params=()):
    query(db_url, statement, params)


def _erase(db_url, member_id):
    """What "Delete my data" leaves of a member's row (privacy.erase_member's members.erase)."""
    _sql(db_url, "UPDATE members SET telegram_id = NULL, first_name = NULL, last_name = NULL,"
                 " phone = NULL, username = NULL, deleted_at = now() WHERE id = %s",
         (member_id,))


# -- payloads and orders -------------------------------------------------------------------------

def test_a_payload_is_signed_and_a_forged_or_altered_one_is_refused():
    payload = payments.sign(41, SECRET)
    assert payload.startswith("o41.") and len(payload.encode()) <= payments.PAYLOAD_MAX
    assert payments.verify(payload, SECRET) == 41
    body, mac = payload.rsplit(".", 1)
    assert payments.verify(payload.replace("o41.", "o42.", 1), SECRET) is None
    assert payments.verify(f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", SECRET) is None
    assert payments.verify(payload, "t" * 40) is None  # another club's secret
    assert payments.verify("o41.x.y", SECRET) is None
    assert payments.sign(41, SECRET) != payload  # a fresh nonce each time


def test_an_order_is_priced_from_the_plan_and_reused_while_its_price_holds(shop):
    first = _open(shop)
    assert (first.kind, first.amount_minor, first.currency, first.status) == \
        ("buy", 4900, "EUR", "open")
    assert (first.starts_on, first.ends_on, first.visits) == \
        (TODAY, TODAY + timedelta(days=29), 12)
    assert first.expires_at == NOW + timedelta(hours=24)
    assert payments.verify(first.payload, SECRET) == first.id
    again = _open(shop, now=NOW + timedelta(hours=1))
    assert again.id == first.id and again.payload == first.payload
    _sql(shop["url"], "UPDATE membership_plans SET price_minor = 5900 WHERE id = %s",
         (shop["month"],))
    repriced = _open(shop, now=NOW + timedelta(hours=2))
    assert repriced.id != first.id and repriced.amount_minor == 5900
    assert _order_status(shop["url"], first.id) == "expired"  # one open order per plan
    # another member's order and another plan's are separate
    assert _open(shop, who="boris").id != repriced.id
    assert _open(shop, plan="open").id != repriced.id


def test_an_order_is_refused_for_a_plan_off_sale_or_free(shop):
    _sql(shop["url"], "UPDATE membership_plans SET is_active = false WHERE id = %s",
         (shop["month"],))
    free = factories.plan(shop["url"], "Free", price_minor=0)
    for plan_id, reason in ((shop["month"], "pay_err_plan_off_sale"),
                            (free, "pay_err_free_plan")):
        assert _run(shop["url"], payments.open_order, shop["anna"], plan_id, NOW, RULES,
                    SECRET, "EUR") == Refusal(reason)
    assert query(shop["url"], "SELECT count(*) FROM orders") == [(0,)]


def test_a_quote_renews_from_the_day_after_the_current_end(shop):
    factories.membership(shop["url"], shop["anna"], shop["month"],
                         starts_on=TODAY - timedelta(days=20),
                         ends_on=TODAY + timedelta(days=9), visits_left=3)
    got = _run(shop["url"], payments.quote, shop["anna"], shop["month"], TODAY)
    assert isinstance(got, Quote)
    assert (got.kind, got.starts_on, got.ends_on, got.visits, got.visits_after) == \
        ("renew", TODAY + timedelta(days=10), TODAY + timedelta(days=39), 12, 15)
    ended = _run(shop["url"], payments.quote, shop["boris"], shop["month"], TODAY)
    assert (ended.kind, ended.starts_on) == ("buy", TODAY)


# -- checkout ------------------------------------------------------------------------------------

def test_checkout_is_ok_for_the_members_open_order_and_marks_it_prechecked(shop):
    order = _open(shop)
    assert _check(shop, order) is None
    assert query(shop["url"], "SELECT status, prechecked_at FROM orders WHERE id = %s",
                 (order.id,)) == [("prechecked", NOW)]
    assert _check(shop, order) is None  # Telegram may ask again


def test_checkout_refuses_with_the_reason(shop):
    order = _open(shop)
    forged = payments.sign(order.id, "t" * 40)
    assert _check(shop, order, payload=forged) == "pay_err_unknown"
    assert _check(shop, order, payload=payments.sign(order.id + 99, SECRET)) == \
        "pay_err_unknown"
    assert _check(shop, order, telegram_id=BORIS_TG) == "pay_err_not_yours"
    assert _check(shop, order, total=order.amount_minor - 100) == "pay_err_amount"
    assert _check(shop, order, currency="USD") == "pay_err_amount"
    assert _check(shop, order, now=order.expires_at) == "pay_err_closed"
    _sql(shop["url"], "UPDATE membership_plans SET price_minor = 5900 WHERE id = %s",
         (shop["month"],))
    assert _check(shop, order) == "pay_err_price_changed"
    _sql(shop["url"], "UPDATE membership_plans SET is_active = false WHERE id = %s",
         (shop["month"],))
    assert _check(shop, order) == "pay_err_plan_off_sale"
    assert _order_status(shop["url"], order.id) == "open"  # nothing was marked


def test_checkout_refuses_a_paid_or_expired_order_and_an_erased_member(shop):
    order = _open(shop)
    assert _pay(shop, order).status == "granted"
    assert _check(shop, order) == "pay_err_closed"  # a payload is used once
    boris = _open(shop, who="boris")
    assert _run(shop["url"], payments.expire_orders, boris.expires_at) == 1
    assert _check(shop, boris, telegram_id=BORIS_TG) == "pay_err_closed"
    other = _open(shop, who="anna")  # her renewal, by her own plan
    _erase(shop["url"], shop["anna"])
    assert _check(shop, other) == "pay_err_not_yours"


def test_a_current_membership_is_renewed_only_by_its_own_plan(shop):
    """Another plan (other visits, unlimited or not) would change what the paid period is:
    over a current membership it is refused in one line; once that has ended it is bought."""
    assert _pay(shop, _open(shop)).status == "granted"
    for refused in (_run(shop["url"], payments.open_order, shop["anna"], shop["open"], NOW,
                         RULES, SECRET, "EUR"),
                    _run(shop["url"], payments.quote, shop["anna"], shop["open"],
                         NOW.date())):
        assert refused == payments.Refusal("pay_err_renew_other_plan")
    assert _open(shop, plan="month").kind == "renew"
    assert _open(shop, plan="open", now=NOW + timedelta(days=400)).kind == "buy"


# -- payment -------------------------------------------------------------------------------------

def test_a_payment_grants_the_plan_from_today_in_one_transaction(shop):
    order = _open(shop)
    assert _check(shop, order) is None
    conn = psycopg2.connect(shop["url"])
    try:
        with conn:
            ctx = UpdateContext(conn, chat_id=ANNA_TG, user_id=ANNA_TG, update_id=None)
            with bound(ctx):
                got = payments.record_payment(
                    conn, payload=order.payload, telegram_user_id=ANNA_TG, total_amount=4900,
                    currency="EUR", telegram_charge_id="ch-1", provider_charge_id="prov-1",
                    now=NOW, rules=RULES, secret=SECRET)
                told = list(ctx.notices)
                assert notify.deliver(ctx) == 2
    finally:
        conn.close()
    assert (got.status, got.ends_on, got.visits_left, got.problem, got.renewed,
            got.amount_minor) == ("granted", TODAY + timedelta(days=29), 12, None, False, 4900)
    assert str(got.plan_name) == "Month"
    assert _membership(shop["url"], shop["anna"]) == \
        [("active", TODAY, TODAY + timedelta(days=29), 12)]
    assert query(shop["url"], "SELECT order_id, member_id, plan_id, amount_minor, currency,"
                              " telegram_payment_charge_id, provider_payment_charge_id, paid_at,"
                              " membership_id, status, effect FROM payments") == \
        [(order.id, shop["anna"], shop["month"], 4900, "EUR", "ch-1", "prov-1", NOW,
          got.membership_id, "granted", "granted")]
    assert _order_status(shop["url"], order.id) == "paid"
    actions = [a for (a,) in query(shop["url"], "SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["membership.granted", "payment.received"]
    # the member (in Russian) and the admin are told, once each
    member, admin = told
    assert (member.telegram_id, member.language, member.kind, member.ends_on) == \
        (ANNA_TG, "ru", "granted", TODAY + timedelta(days=29))
    assert (admin.admin.telegram_id, admin.kind, admin.member_name) == \
        (ADA_TG, "granted", "Anna")
    sent = query(shop["url"], "SELECT chat_id FROM outbox ORDER BY id")
    assert sorted(c for (c,) in sent) == [ADA_TG, ANNA_TG]


def test_a_renewal_extends_from_the_current_end_with_the_visits_added(shop):
    factories.membership(shop["url"], shop["anna"], shop["month"],
                         starts_on=TODAY - timedelta(days=20),
                         ends_on=TODAY + timedelta(days=9), visits_left=3)
    order = _open(shop)
    assert order.kind == "renew" and order.starts_on == TODAY + timedelta(days=10)
    got = _pay(shop, order)
    assert (got.status, got.renewed, got.ends_on, got.visits_left) == \
        ("granted", True, TODAY + timedelta(days=39), 15)
    assert _membership(shop["url"], shop["anna"]) == \
        [("active", TODAY - timedelta(days=20), TODAY + timedelta(days=39), 15)]
    assert query(shop["url"], "SELECT effect, days_added, visits_added, ends_on_before,"
                              " visits_before FROM payments") == \
        [("extended", 30, 12, TODAY + timedelta(days=9), 3)]


def test_a_renewal_of_an_upcoming_membership_extends_it(shop):
    factories.membership(shop["url"], shop["anna"], shop["month"],
                         starts_on=TODAY + timedelta(days=5),
                         ends_on=TODAY + timedelta(days=34), visits_left=12)
    got = _pay(shop, _open(shop))
    assert got.ends_on == TODAY + timedelta(days=64)
    assert _membership(shop["url"], shop["anna"]) == \
        [("active", TODAY + timedelta(days=5), TODAY + timedelta(days=64), 24)]


def test_a_renewal_paid_after_the_membership_ended_starts_today(shop):
    factories.membership(shop["url"], shop["anna"], shop["month"],
                         starts_on=TODAY - timedelta(days=29), ends_on=TODAY, visits_left=2)
    order = _open(shop)
    assert order.kind == "renew"
    later = NOW + timedelta(hours=13)  # paid past midnight: the membership has ended
    assert _check(shop, order, now=later) is None
    got = _pay(shop, order, now=later)
    assert (got.status, got.renewed, got.starts_on, got.ends_on, got.visits_left) == \
        ("granted", False, TODAY + timedelta(days=1), TODAY + timedelta(days=30), 12)


def test_the_same_charge_grants_once(shop):
    order = _open(shop)
    first = _pay(shop, order)
    again = _pay(shop, order)
    assert (again.status, again.payment_id, again.membership_id, again.ends_on) == \
        ("duplicate", first.payment_id, first.membership_id, first.ends_on)
    assert len(_membership(shop["url"], shop["anna"])) == 1
    assert query(shop["url"], "SELECT count(*) FROM payments") == [(1,)]
    assert query(shop["url"], "SELECT count(*) FROM audit_log WHERE action = 'payment.received'"
                 ) == [(1,)]


def test_two_connections_recording_the_same_charge_at_once_grant_once(shop):
    order = _open(shop)
    first, second = psycopg2.connect(shop["url"]), psycopg2.connect(shop["url"])
    results = {}

    def record(conn, name):
        results[name] = payments.record_payment(
            conn, payload=order.payload, telegram_user_id=ANNA_TG, total_amount=4900,
            currency="EUR", telegram_charge_id="ch-same", provider_charge_id="p", now=NOW,
            rules=RULES, secret=SECRET)

    try:
        record(first, "first")  # holds its transaction open
        waiting = threading.Thread(target=record, args=(second, "second"))
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()  # blocked on the charge id until the first commits
        first.commit()
        waiting.join(10)
        second.commit()
    finally:
        first.close()
        second.close()
    assert results["first"].status == "granted"
    assert results["second"].status == "duplicate"
    assert results["second"].payment_id == results["first"].payment_id
    assert _membership(shop["url"], shop["anna"]) == \
        [("active", TODAY, TODAY + timedelta(days=29), 12)]


@pytest.mark.parametrize("case, problem", [
    ("archived", "plan_gone"), ("deleted", "plan_gone"), ("erased", "member_gone"),
    ("expired", "order_expired"), ("amount", "amount_mismatch"), ("forged", "unknown_order"),
    ("reused", "order_paid"),
])
def test_a_payment_that_cannot_be_honoured_is_kept_for_a_refund(shop, case, problem):
    order = _open(shop)
    total, payload = order.amount_minor, order.payload
    if case == "archived":
        _sql(shop["url"], "UPDATE membership_plans SET is_active = false WHERE id = %s",
             (shop["month"],))
    elif case == "deleted":  # never sold, so an admin may delete it
        _sql(shop["url"], "DELETE FROM membership_plans WHERE id = %s", (shop["month"],))
    elif case == "erased":
        _erase(shop["url"], shop["anna"])
    elif case == "expired":
        _run(shop["url"], payments.expire_orders, order.expires_at)
    elif case == "amount":
        total = order.amount_minor - 1
    elif case == "forged":
        payload = payments.sign(order.id, "t" * 40)
    elif case == "reused":
        assert _pay(shop, order, charge="ch-first").status == "granted"
    conn = psycopg2.connect(shop["url"])
    try:
        with conn:
            ctx = UpdateContext(conn, chat_id=ANNA_TG, user_id=ANNA_TG, update_id=None)
            with bound(ctx):
                got = payments.record_payment(
                    conn, payload=payload, telegram_user_id=ANNA_TG, total_amount=total,
                    currency="EUR", telegram_charge_id="ch-x", provider_charge_id="prov-x",
                    now=NOW, rules=RULES, secret=SECRET)
                admins = [n for n in ctx.notices if isinstance(n, payments.AdminPaymentNotice)]
                notify.deliver(ctx)
    finally:
        conn.close()
    assert (got.status, got.problem, got.membership_id) == ("needs_refund", problem, None)
    assert [(n.kind, n.problem, n.amount_minor) for n in admins] == \
        [("needs_refund", problem, total)]
    assert query(shop["url"], "SELECT status, problem, amount_minor, membership_id FROM payments"
                              " WHERE telegram_payment_charge_id = 'ch-x'") == \
        [("needs_refund", problem, total, None)]
    memberships = _membership(shop["url"], shop["anna"])
    assert len(memberships) == (1 if case == "reused" else 0)  # nothing granted for it
    audit = query(shop["url"], "SELECT details->>'status', details->>'problem' FROM audit_log"
                               " WHERE action = 'payment.received' ORDER BY id DESC LIMIT 1")
    assert audit == [("needs_refund", problem)]


def test_a_payment_after_the_order_expired_is_honoured_when_checkout_said_ok(shop):
    order = _open(shop)
    assert _check(shop, order, now=order.expires_at - timedelta(seconds=5)) is None
    assert _run(shop["url"], payments.expire_orders, order.expires_at) == 1
    got = _pay(shop, order, now=order.expires_at + timedelta(seconds=2))
    assert got.status == "granted"


# -- refunds -------------------------------------------------------------------------------------

def test_refunding_a_purchase_ends_the_membership_today_once(shop):
    got = _pay(shop, _open(shop))
    later = NOW + timedelta(days=3)
    done = _run(shop["url"], payments.mark_refunded, got.payment_id, shop["ada"], later, RULES)
    assert (done.status, done.ends_on) == ("refunded", TODAY + timedelta(days=3))
    assert _membership(shop["url"], shop["anna"]) == \
        [("active", TODAY, TODAY + timedelta(days=3), 12)]
    assert query(shop["url"], "SELECT p.status, p.refunded_at, p.refunded_by, o.status"
                              " FROM payments p JOIN orders o ON o.id = p.order_id") == \
        [("refunded", later, shop["ada"], "refunded")]
    again = _run(shop["url"], payments.mark_refunded, got.payment_id, shop["ada"], later, RULES)
    assert (again.status, again.reason) == ("refused", "pay_err_already_refunded")
    assert query(shop["url"], "SELECT count(*) FROM audit_log WHERE action = 'payment.refunded'"
                 ) == [(1,)]


def test_refunding_a_renewal_takes_off_the_days_and_visits_it_added(shop):
    factories.membership(shop["url"], shop["anna"], shop["month"],
                         starts_on=TODAY - timedelta(days=20),
                         ends_on=TODAY + timedelta(days=9), visits_left=3)
    got = _pay(shop, _open(shop))
    done = _run(shop["url"], payments.mark_refunded, got.payment_id, shop["ada"], NOW, RULES)
    assert (done.ends_on, done.visits_left) == (TODAY + timedelta(days=9), 3)
    assert _membership(shop["url"], shop["anna"]) == \
        [("active", TODAY - timedelta(days=20), TODAY + timedelta(days=9), 3)]


def test_refunding_a_payment_that_needed_one_changes_no_membership(shop):
    order = _open(shop)
    got = _pay(shop, order, total=1)
    assert got.status == "needs_refund"
    done = _run(shop["url"], payments.mark_refunded, got.payment_id, shop["ada"], NOW, RULES)
    assert (done.status, done.membership_id) == ("refunded", None)
    assert query(shop["url"], "SELECT status, problem FROM payments") == \
        [("refunded", "amount_mismatch")]
    missing = _run(shop["url"], payments.mark_refunded, 999, shop["ada"], NOW, RULES)
    assert missing.reason == "pay_err_no_payment"


# -- expiry, report, a member's payments ---------------------------------------------------------

def test_orders_expire_after_their_time_and_the_job_is_recurring(shop):
    early = _open(shop)
    late = _open(shop, who="boris", now=NOW + timedelta(hours=5))
    assert _run(shop["url"], payments.expire_orders, NOW + timedelta(hours=23)) == 0
    assert _run(shop["url"], payments.expire_orders, NOW + timedelta(hours=24)) == 1
    assert _order_status(shop["url"], early.id) == "expired"
    assert _order_status(shop["url"], late.id) == "open"
    kind = jobs.REGISTRY.get(fitclub.jobs.orders.EXPIRY_KIND)
    assert kind.every == fitclub.jobs.orders.EXPIRY_SECONDS <= 600


def test_ttl_hours_sets_when_an_order_expires(shop):
    order = _open(shop, ttl_hours=2)
    assert order.expires_at == NOW + timedelta(hours=2)


def test_the_report_adds_up_per_day_and_plan_and_a_member_sees_their_payments(shop):
    first = _pay(shop, _open(shop), charge="a")
    _pay(shop, _open(shop, who="boris", plan="open"), charge="b", telegram_id=BORIS_TG,
         now=NOW + timedelta(days=1))
    refunded = _pay(shop, _open(shop, who="boris", plan="open"), charge="c",
                    telegram_id=BORIS_TG, total=5, now=NOW + timedelta(days=1))
    _run(shop["url"], payments.mark_refunded, refunded.payment_id, shop["ada"], NOW, RULES)
    got = _run(shop["url"], payments.report, TODAY, TODAY + timedelta(days=1), UTC)
    assert [(d.day, d.payments, d.received_minor, d.refunded_minor) for d in got.days] == \
        [(TODAY, 1, 4900, 0), (TODAY + timedelta(days=1), 2, 12005, 5)]
    assert [(str(p.plan_name), p.payments, p.received_minor) for p in got.plans] == \
        [("Open", 2, 12005), ("Month", 1, 4900)]
    assert got.totals["EUR"].net_minor == 4900 + 12000
    only_first = _run(shop["url"], payments.report, TODAY, TODAY, UTC)
    assert only_first.totals["EUR"].received_minor == 4900
    mine = _run(shop["url"], payments.of_member, shop["anna"])
    assert [(p.id, p.status, p.amount_minor) for p in mine] == [(first.payment_id, "granted",
                                                                 4900)]
    assert _run(shop["url"], payments.payment, first.payment_id).membership_id == \
        first.membership_id


def test_a_payments_row_holds_no_personal_data(shop):
    order = _open(shop)
    _pay(shop, order)
    rows = query(shop["url"], "SELECT row_to_json(o)::text || row_to_json(p)::text"
                              " FROM orders o JOIN payments p ON p.order_id = o.id")
    assert str(ANNA_TG) not in rows[0][0] and "Anna" not in rows[0][0]


def test_a_paid_day_is_the_clubs_day(shop):
    assert payments.report.__doc__  # (the report reads club days in the given time zone)
    _pay(shop, _open(shop), now=datetime(2030, 6, 10, 23, 30, tzinfo=UTC))
    from zoneinfo import ZoneInfo
    berlin = _run(shop["url"], payments.report, date(2030, 6, 11), date(2030, 6, 11),
                  ZoneInfo("Europe/Berlin"))
    assert [d.day for d in berlin.days] == [date(2030, 6, 11)]


# -- settings ------------------------------------------------------------------------------------

def test_the_payment_settings_are_checked_at_start_and_the_token_never_shown():
    from fitclub.config import ConfigError, Settings

    base = {"TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35, "DATABASE_URL": "postgresql://x@y/z"}
    off = Settings.from_env(base)
    assert (off.payment_provider_token, off.payments_on, off.order_ttl_hours) == ("", False, 24)
    token = "284685063:TEST:NjQ0ZDc1YzQ1ZmFh"
    on = Settings.from_env({**base, "PAYMENT_PROVIDER_TOKEN": token, "ORDER_TTL_HOURS": "2"})
    assert (on.payments_on, on.order_ttl_hours) == (True, 2)
    assert token not in repr(on)
    with pytest.raises(ConfigError, match="PAYMENT_PROVIDER_TOKEN does not look like") as bad:
        Settings.from_env({**base, "PAYMENT_PROVIDER_TOKEN": "sk_test_123"})
    assert "sk_test_123" not in str(bad.value)
    with pytest.raises(ConfigError, match="ORDER_TTL_HOURS must be between 1 and 720"):
        Settings.from_env({**base, "ORDER_TTL_HOURS": "0"})


# -- the review's findings ---------------------------------------------------------------------

def _charge_id(db_url, charge):
    return query(db_url, "SELECT id FROM payments WHERE telegram_payment_charge_id = %s",
                 (charge,))[0][0]


def test_refunding_a_purchase_a_later_payment_renewed_takes_off_only_its_days(shop):
    from fitclub.services import payments_admin
    first = _open(shop)
    assert _check(shop, first) is None
    _pay(shop, first, charge="c1")
    later = NOW + timedelta(days=5)
    second = _open(shop, now=later)
    assert second.kind == "renew" and _check(shop, second, now=later) is None
    _pay(shop, second, charge="c2", now=later)
    renewed_end = TODAY + timedelta(days=59)
    assert _membership(shop["url"], shop["anna"])[0][2] == renewed_end
    pid = _charge_id(shop["url"], "c1")
    terms = _run(shop["url"], payments_admin.refund_terms, pid, later.date())
    assert (terms.change, terms.ends_on, terms.before) == \
        ("shortens", renewed_end - timedelta(days=30), renewed_end)
    res = _run(shop["url"], payments.mark_refunded, pid, shop["ada"], later, RULES)
    assert res.ends_on == terms.ends_on == renewed_end - timedelta(days=30)
    status, _, ends_on, visits = _membership(shop["url"], shop["anna"])[0]
    assert (status, ends_on, visits) == ("active", renewed_end - timedelta(days=30), 12)
    # With nothing renewing it any more, refunding the renewal ends it today.
    res = _run(shop["url"], payments.mark_refunded, _charge_id(shop["url"], "c2"), shop["ada"],
               later, RULES)
    assert res.ends_on == later.date()


def test_a_checkout_waiting_on_a_payment_does_not_reopen_the_paid_order(shop):
    order = _open(shop)
    assert _check(shop, order) is None
    conn = psycopg2.connect(shop["url"])
    try:
        # record_payment's transaction, still open: the order is locked and paid.
        holding = conn
        with holding.cursor() as cur:
            cur.execute("SELECT 1 FROM orders WHERE id = %s FOR UPDATE", (order.id,))
            cur.execute("UPDATE orders SET status = 'paid', paid_at = now(), closed_at = now()"
                        " WHERE id = %s", (order.id,))
        out = {}
        t = threading.Thread(target=lambda: out.update(r=_check(shop, order)))
        t.start()
        t.join(1.0)
        assert t.is_alive(), "the checkout should wait for the payment's row lock"
        holding.commit()
        t.join(10)
    finally:
        conn.close()
    assert out["r"] == "pay_err_closed"
    assert _order_status(shop["url"], order.id) == "paid"


def test_a_payment_racing_an_admins_extend_extends_from_the_new_end(shop):
    first = _open(shop)
    assert _check(shop, first) is None
    _pay(shop, first, charge="c1")
    second = _open(shop)
    assert _check(shop, second) is None
    mid, end = query(shop["url"], "SELECT id, ends_on FROM memberships WHERE member_id = %s",
                     (shop["anna"],))[0]
    conn = psycopg2.connect(shop["url"])
    out = {}
    try:
        with conn.cursor() as cur:  # an admin's Extend, not committed yet
            cur.execute("SELECT 1 FROM memberships WHERE id = %s FOR UPDATE", (mid,))
            cur.execute("UPDATE memberships SET ends_on = ends_on + 30 WHERE id = %s", (mid,))
        t = threading.Thread(target=lambda: out.update(r=_pay(shop, second, charge="c2")))
        t.start()
        t.join(1.0)
        conn.commit()
        t.join(10)
    finally:
        conn.close()
    assert (out["r"].status, out["r"].problem) == ("granted", None)
    assert out["r"].ends_on == end + timedelta(days=60)
    assert _membership(shop["url"], shop["anna"])[0][2] == end + timedelta(days=60)


def test_a_plan_edited_after_the_invoice_is_refused_and_a_payment_grants_the_order(shop):
    order = _open(shop)
    _sql(shop["url"], "UPDATE membership_plans SET duration_days = 7 WHERE id = %s",
         (shop["month"],))
    assert _check(shop, order) == "pay_err_terms_changed"
    assert _order_status(shop["url"], order.id) == "open"
    # A new invoice has the plan's terms now, and is ok.
    fresh = _open(shop)
    assert fresh.id != order.id and fresh.ends_on == TODAY + timedelta(days=6)
    assert _check(shop, fresh) is None
    # Edited between the pre-checkout and the payment: the payment grants what it bought.
    _sql(shop["url"], "UPDATE membership_plans SET duration_days = 3, visit_count = 1"
                      " WHERE id = %s", (shop["month"],))
    got = _pay(shop, fresh, charge="c-terms")
    assert (got.status, got.ends_on, got.visits_left) == \
        ("granted", TODAY + timedelta(days=6), 12)
    assert query(shop["url"], "SELECT days_added, visits_added FROM payments") == [(7, 12)]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_refusal_key_and_the_new_problem_have_a_line_in_both_catalogs(lang):
    from fitclub.screens import payments as screens
    tx = locales.Texts(lang)
    for key in ("pay_err_terms_changed", "pay_err_already_refunded", "pay_err_no_payment",
                "pay_problem_processing_failed", "pmt_problem_processing_failed"):
        assert tx(key) != key and "\n" not in tx(key)
    assert "pay_err_terms_changed" in screens.REFUSALS


def test_the_members_refund_messages_show_the_payments_own_currency():
    from fitclub.screens import payments as screens
    tx = locales.Texts("en")
    assert "$12.34" in screens.needs_refund(tx, 1234, "plan_gone", "USD").text
    assert "$12.34" in screens.refunded(tx, 1234, "Month", None, "USD").text
    assert "€12.34" in screens.needs_refund(tx, 1234, "plan_gone").text  # the club's


def test_a_payment_whose_handler_keeps_failing_is_kept_to_refund(shop, monkeypatch):
    from fitclub.app import App
    from tests.integration.test_worker import Harness

    def broken(*args, **kwargs):
        raise RuntimeError("record_payment broke")

    monkeypatch.setattr(payments, "record_payment", broken)

    def handle(payload):
        payments.record_payment(payload=payload["message"]["successful_payment"])

    h = Harness(shop["url"], handle, max_attempts=2, threads=1,
                on_payment_failed=lambda payload: App.keep_failed_payment(None, payload))
    try:
        h.feed([{"update_id": 77, "message": {
            "message_id": 5, "date": 0, "chat": {"id": ANNA_TG, "type": "private"},
            "from": {"id": ANNA_TG, "is_bot": False, "first_name": "A", "language_code": "ru"},
            "successful_payment": {
                "currency": "USD", "total_amount": 4900, "invoice_payload": "o1.x.y",
                "telegram_payment_charge_id": "tg-lost", "provider_payment_charge_id": "pv-lost"},
        }}])
        h.run_until_done(shop["url"])
    finally:
        h.close()
    assert query(shop["url"], "SELECT status FROM inbox WHERE update_id = 77") == [("failed",)]
    assert query(shop["url"],
                 "SELECT member_id, amount_minor, currency, status, problem, membership_id,"
                 " provider_payment_charge_id FROM payments"
                 " WHERE telegram_payment_charge_id = 'tg-lost'") == [
        (shop["anna"], 4900, "USD", "needs_refund", "processing_failed", None, "pv-lost")]
    assert query(shop["url"], "SELECT action FROM audit_log WHERE entity = 'payment'") == [
        ("payment.needs_refund",)]
    sent = dict(query(shop["url"], "SELECT chat_id, string_agg(params->>'text', ' | ')"
                                   " FROM outbox GROUP BY chat_id"))
    assert "could not be processed" in sent[ADA_TG] and "$49.00" in sent[ADA_TG]
    assert "бот не смог её обработать" in sent[ANNA_TG]
