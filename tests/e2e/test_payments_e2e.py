"""Paying for a plan in the chat, as the member sees it, with the bot as its own process, tgemu
over HTTP (its invoices, checkout and provider) and a real PostgreSQL, in English and in
Russian: with a provider token the membership screen offers Buy with the price, the press sends
the invoice below (the one new message) and says so, paying it makes the membership active with
the plan's dates and visits and tells the member; over a current membership the same button
renews from the day after the current end; the same successful_payment delivered twice grants
once; a checkout that no longer matches its order (another amount, another member, the plan
archived or its price changed) is refused with the reason in the member's language."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from fitclub.callbacks import PAY_PLAN
from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain, plural
from tests.e2e.harness import TOKEN, inbox_status, query, wait_until
from tests.e2e.session import Person, buttons

#: A provider token as @BotFather gives one for a provider's test mode (tgemu takes any).
PROVIDER_TOKEN = "284685063:TEST:ZTJkZjE0YjZhNjcx"

MONTH = {"price_minor": 4900, "duration_days": 30, "visit_count": 12, "freeze_days": 7}


def _labels(message: dict) -> list[str]:
    return [label for row in buttons(message) for label in row]


def _start(launcher, db_url: str):
    return launcher.start(db_url, PAYMENT_PROVIDER_TOKEN=PROVIDER_TOKEN, CLUB_CURRENCY="EUR")


def _invoice_after_press(person: Person, screen: dict, label: str) -> dict:
    """Press Buy/Renew: the one new message is the invoice; the transcript entry of it."""
    before = len(person.messages())
    person.press(screen, label)
    invoice = wait_until(lambda: next((m for m in person.messages()[before:]
                                       if m["message"].get("invoice")), None),
                         15, "the invoice")
    time.sleep(0.3)  # anything else the press sent would be here by now
    assert len(person.messages()) == before + 1, "the press sends the invoice and nothing else"
    return invoice


def _paid_message(person: Person, text: str) -> dict:
    return wait_until(lambda: next((m for m in person.messages() if text in (m["text"] or "")),
                                   None), 15, f"the message {text!r}")


def _month(db_url: str, name: str = "Month") -> int:
    return factories.plan(db_url, name, **MONTH)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_member_buys_a_plan_through_the_invoice(emu, launcher, db_url, lang):
    tx = Texts(lang)
    anna = Person(emu, "Anna", language_code=lang)
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    month = _month(db_url)
    _start(launcher, db_url)
    today = datetime.now(UTC).date()
    end = today + timedelta(days=29)

    # No membership: the plan with Buy and its price; no request button.
    (screen,) = anna.send("/membership")
    buy = plain(tx, "pay_buy_button", name="Month", price=tx.money(4900))
    assert buy in _labels(screen)
    assert plain(tx, "plan_request_button", name="Month") not in _labels(screen)
    assert plain(tx, "pay_buy_hint") in screen["text"]

    # The press: the invoice below (title, what it includes, the period, the price), the
    # screen says so.
    invoice = _invoice_after_press(anna, screen, buy)
    shown = anna.wait_edit(screen["message_id"], plain(tx, "pay_invoice_below", plan="Month",
                                                       price=tx.money(4900)))
    assert buy in _labels(shown)
    details = invoice["message"]["invoice"]
    assert details["title"] == "Month"
    assert details["currency"] == "EUR" and details["total_amount"] == 4900
    for part in (plural(tx, "plan_days", 30), plural(tx, "plan_visits", 12),
                 plural(tx, "pay_freeze_days", 7), tx.date(today, "long"),
                 tx.date(end, "long")):
        assert part in details["description"], (part, details["description"])
    (payload,) = query(db_url, "SELECT payload FROM orders WHERE member_id = %s", (anna_id,))[0]

    # Paid: the membership is active from today for 30 days with 12 visits, and she is told.
    result = emu.pay(TOKEN, anna.id, invoice["message_id"])
    assert result["status"] == "paid", result
    told = _paid_message(anna, plain(tx, "pay_paid", plan="Month", end=tx.date(end, "long"),
                                     visits=plural(tx, "plan_visits", 12)))
    assert _labels(told) == [plain(tx, "menu_membership"), plain(tx, "button_menu")]
    assert query(db_url, "SELECT plan_id, status, starts_on, ends_on, visits_left"
                         " FROM memberships WHERE member_id = %s", (anna_id,)) == [
        (month, "active", today, end, 12)]
    paid = result["successful_payment"]
    assert query(db_url, "SELECT p.status, p.amount_minor, p.currency, p.plan_id,"
                         " p.provider_payment_charge_id, o.status, o.payload"
                         " FROM payments p JOIN orders o ON o.id = p.order_id"
                         " WHERE p.telegram_payment_charge_id = %s",
                 (paid["telegram_payment_charge_id"],)) == [
        ("granted", 4900, "EUR", month, paid["provider_payment_charge_id"], "paid", payload)]

    # Her screen now shows the membership, and Renew from the day after its end.
    (screen,) = anna.send("/membership")
    assert plain(tx, "membership_valid_until", date=tx.date(end, "long")) in screen["text"]
    assert plain(tx, "pay_renew_line", date=tx.date(end + timedelta(days=1), "long")) in (
        screen["text"])
    assert plain(tx, "pay_renew_button", name="Month", price=tx.money(4900)) in _labels(screen)
    assert buy not in _labels(screen)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_renewal_extends_from_the_current_end(emu, launcher, db_url, lang):
    tx = Texts(lang)
    anna = Person(emu, "Anna", language_code=lang)
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    month = _month(db_url)
    today = datetime.now(UTC).date()
    old_end = today + timedelta(days=9)
    factories.membership(db_url, anna_id, month, starts_on=-20, ends_on=9, visits_left=3)
    _start(launcher, db_url)
    new_end = old_end + timedelta(days=30)

    (screen,) = anna.send("/membership")
    renew = plain(tx, "pay_renew_button", name="Month", price=tx.money(4900))
    assert plain(tx, "pay_renew_line", date=tx.date(old_end + timedelta(days=1), "long")) in (
        screen["text"])
    assert renew in _labels(screen)
    invoice = _invoice_after_press(anna, screen, renew)
    description = invoice["message"]["invoice"]["description"]
    assert tx.date(old_end + timedelta(days=1), "long") in description
    assert tx.date(new_end, "long") in description

    result = emu.pay(TOKEN, anna.id, invoice["message_id"])
    assert result["status"] == "paid", result
    _paid_message(anna, plain(tx, "pay_paid_renewed", plan="Month",
                              end=tx.date(new_end, "long"),
                              visits=plural(tx, "plan_visits", 15)))
    # The same membership runs 30 days longer, from the day after its end, with the visits.
    assert query(db_url, "SELECT count(*), max(ends_on), sum(visits_left) FROM memberships"
                         " WHERE member_id = %s AND status = 'active'", (anna_id,)) == [
        (1, new_end, 15)]
    (screen,) = anna.send("/membership")
    assert plain(tx, "membership_valid_until", date=tx.date(new_end, "long")) in screen["text"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_same_payment_delivered_twice_grants_once(emu, launcher, db_url, lang):
    tx = Texts(lang)
    anna = Person(emu, "Anna", language_code=lang)
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    _month(db_url)
    _start(launcher, db_url)
    end = datetime.now(UTC).date() + timedelta(days=29)
    paid_text = plain(tx, "pay_paid", plan="Month", end=tx.date(end, "long"),
                      visits=plural(tx, "plan_visits", 12))

    (screen,) = anna.send("/membership")
    invoice = _invoice_after_press(anna, screen, plain(
        tx, "pay_buy_button", name="Month", price=tx.money(4900)))
    result = emu.pay(TOKEN, anna.id, invoice["message_id"])
    _paid_message(anna, paid_text)
    done = inbox_status(db_url).get("done", 0)

    # Telegram delivers it again with its id, then the same payment under a new update id.
    emu.redeliver(TOKEN, result["successful_payment_update_id"], same_id=True)
    emu.redeliver(TOKEN, result["successful_payment_update_id"], same_id=False)
    wait_until(lambda: inbox_status(db_url).get("done", 0) >= done + 1, 15,
               "the second delivery handled")
    time.sleep(1.5)  # a grant or message from either would be there by now
    assert query(db_url, "SELECT count(*), sum(visits_left) FROM memberships"
                         " WHERE member_id = %s", (anna_id,)) == [(1, 12)]
    assert query(db_url, "SELECT count(*) FROM payments") == [(1,)]
    assert sum(paid_text in (m["text"] or "") for m in anna.messages()) == 1


class _Answers:
    """Every answerPreCheckoutQuery the bot makes (tgemu refuses one for a query it did not
    send, so the parameters are taken on arrival)."""

    def __init__(self, emu) -> None:
        self.calls: list[dict] = []
        self._lock = threading.Lock()
        dispatch = emu.call

        def call(token, method, params):
            if method == "answerPreCheckoutQuery":
                with self._lock:
                    self.calls.append({name: params.get(name) for name in (
                        "pre_checkout_query_id", "ok", "error_message")})
            return dispatch(token, method, params)

        emu.call = call

    def of(self, query_id: str, timeout: float = 10) -> dict:
        return wait_until(lambda: next((c for c in list(self.calls)
                                        if str(c.get("pre_checkout_query_id")) == query_id),
                                       None), timeout, f"the answer to {query_id}")


def _inject_checkout(emu, person: Person, payload: str, amount: int, currency: str = "EUR"
                     ) -> str:
    """A pre_checkout_query as Telegram sends one, for any payload and amount; its id."""
    query_id = f"injected-{time.monotonic_ns()}"
    emu.inject_update(TOKEN, {"pre_checkout_query": {
        "id": query_id, "currency": currency, "total_amount": amount, "invoice_payload": payload,
        "from": {"id": person.id, "is_bot": False, "first_name": person.user.data.first_name,
                 "language_code": person.user.data.language_code}}})
    return query_id


def _ok(answer: dict) -> bool:
    return str(answer.get("ok")).lower() in ("true", "1")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_checkout_that_no_longer_matches_its_order_is_refused_with_the_reason(
        emu, launcher, db_url, lang):
    tx = Texts(lang)
    answers = _Answers(emu)
    anna = Person(emu, "Anna", language_code=lang)
    bob = Person(emu, "Bob", language_code=lang)
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    factories.member(db_url, bob.id, "Bob", phone="+4915100003", language=lang)
    month = _month(db_url)
    year = factories.plan(db_url, "Year", price_minor=39000, duration_days=365,
                          visit_count=None, freeze_days=30)
    _start(launcher, db_url)

    (screen,) = anna.send("/membership")
    buy_month = plain(tx, "pay_buy_button", name="Month", price=tx.money(4900))
    buy_year = plain(tx, "pay_buy_button", name="Year", price=tx.money(39000))
    month_invoice = _invoice_after_press(anna, screen, buy_month)
    year_invoice = _invoice_after_press(anna, screen, buy_year)
    (month_payload,) = query(db_url, "SELECT payload FROM orders WHERE member_id = %s"
                                     " AND plan_id = %s", (anna_id, month))[0]

    # Another amount than the order's: refused.
    answer = answers.of(_inject_checkout(emu, anna, month_payload, 100))
    assert not _ok(answer) and answer["error_message"] == plain(tx, "pay_err_amount")
    # Her order, checked out by another member: refused.
    answer = answers.of(_inject_checkout(emu, bob, month_payload, 4900))
    assert not _ok(answer) and answer["error_message"] == plain(tx, "pay_err_not_yours")
    # A payload nobody issued (forged): refused.
    answer = answers.of(_inject_checkout(emu, anna, month_payload[:-4] + "AAAA", 4900))
    assert not _ok(answer) and answer["error_message"] == plain(tx, "pay_err_unknown")

    # The month's price changed since its invoice: paying it is refused with why.
    query(db_url, "UPDATE membership_plans SET price_minor = 5900 WHERE id = %s", (month,))
    result = emu.pay(TOKEN, anna.id, month_invoice["message_id"])
    assert result["status"] == "refused", result
    assert result["error_message"] == plain(tx, "pay_err_price_changed")
    # The year was archived since its invoice: refused with why.
    query(db_url, "UPDATE membership_plans SET is_active = false WHERE id = %s", (year,))
    result = emu.pay(TOKEN, anna.id, year_invoice["message_id"])
    assert result["status"] == "refused", result
    assert result["error_message"] == plain(tx, "pay_err_plan_off_sale")

    # Nothing was granted or recorded as paid.
    assert query(db_url, "SELECT count(*) FROM memberships") == [(0,)]
    assert query(db_url, "SELECT count(*) FROM payments") == [(0,)]
    # The archived plan's old Buy button refuses in one line, in the screen too; no invoice.
    before = len(anna.messages())
    answer = anna.press(screen, buy_year)
    assert answer["text"] == plain(tx, "pay_err_plan_off_sale")
    anna.wait_edit(screen["message_id"], plain(tx, "pay_err_plan_off_sale"))
    assert len(anna.messages()) == before


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_without_a_provider_token_the_request_flow_stays(emu, launcher, db_url, lang):
    tx = Texts(lang)
    anna = Person(emu, "Anna", language_code=lang)
    factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    month = _month(db_url)
    launcher.start(db_url)
    (screen,) = anna.send("/membership")
    assert _labels(screen)[0] == plain(tx, "plan_request_button", name="Month")
    assert plain(tx, "plan_request_hint") in screen["text"]
    assert not any(tx.money(4900) in label for label in _labels(screen))
    # A Buy button from when payments were on: refused in one line, in the screen too, and
    # no invoice.
    before = len(anna.messages())
    answer = anna.inject_press(screen["message_id"], PAY_PLAN(plan_id=month))
    assert answer["text"] == plain(tx, "pay_err_off")
    shown = anna.wait_edit(screen["message_id"], plain(tx, "pay_err_off"))
    assert _labels(shown)[0] == plain(tx, "plan_request_button", name="Month")
    assert len(anna.messages()) == before
    assert query(db_url, "SELECT count(*) FROM orders") == [(0,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_payment_the_club_cannot_honour_is_kept_and_the_member_told_of_the_refund(
        emu, launcher, db_url, lang):
    """A successful_payment whose order the club cannot match (a payload it never signed):
    recorded as needs_refund, nothing granted, one line to the member saying why and that the
    club will refund it."""
    tx = Texts(lang)
    anna = Person(emu, "Anna", language_code=lang)
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    _month(db_url)
    _start(launcher, db_url)
    emu.inject_update(TOKEN, {"message": {
        "message_id": 900, "date": int(time.time()),
        "chat": {"id": anna.id, "type": "private"},
        "from": {"id": anna.id, "is_bot": False, "first_name": "Anna", "language_code": lang},
        "successful_payment": {"currency": "EUR", "total_amount": 4900,
                               "invoice_payload": "o999.forgedNonce.AAAAAAAAAAAAAAAAAAAAAA",
                               "telegram_payment_charge_id": "tg_charge_unknown",
                               "provider_payment_charge_id": "prov_charge_unknown"}}})
    told = _paid_message(anna, plain(tx, "pay_needs_refund", amount=tx.money(4900),
                                     why=tx("pay_problem_unknown_order")))
    assert _labels(told) == [plain(tx, "menu_membership"), plain(tx, "button_menu")]
    assert query(db_url, "SELECT status, problem, member_id, amount_minor FROM payments"
                         " WHERE telegram_payment_charge_id = 'tg_charge_unknown'") == [
        ("needs_refund", "unknown_order", anna_id, 4900)]
    assert query(db_url, "SELECT count(*) FROM memberships") == [(0,)]
    assert len([m for m in anna.messages() if "4900" in (m["text"] or "")
                or tx.money(4900) in (m["text"] or "")]) == 1
