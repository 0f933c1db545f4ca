"""The member's payment screens without a bot: the invoice's text fits Telegram's limits as
plain text in both languages, the membership screen offers Buy or Renew with the price only
when payments are on, and the answers after a payment say what is true."""

from __future__ import annotations

from datetime import date

import pytest

from fitclub.callbacks import PAY_PLAN, PLAN_REQUEST
from fitclub.locales import Localized, Texts
from fitclub.screens import membership as membership_screens
from fitclub.screens import payments as screens
from fitclub.services.memberships import MembershipView, Plan

MONTH = Plan(7, Localized("Month", "en", "Месяц"), 4900, 30, 12, 7)
LONG = Plan(8, Localized("Y" * 80 + " & <co>", "en"), 123456, 365, None, 0)
FREE = Plan(9, Localized("Trial", "en"), 0, 7, 1, 0)


def _data(markup) -> list[str]:
    return [b.callback_data for row in markup.keyboard for b in row]


def _labels(markup) -> list[str]:
    return [b.text for row in markup.keyboard for b in row]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_invoice_fits_telegrams_limits_as_plain_text(lang):
    tx = Texts(lang)
    invoice = screens.invoice(tx, MONTH, date(2026, 12, 6), date(2027, 1, 4))
    assert invoice.title == ("Month" if lang == "en" else "Месяц")
    for part in (tx.plural("plan_days", 30), tx.plural("plan_visits", 12),
                 tx.plural("pay_freeze_days", 7), tx.date(date(2026, 12, 6), "long"),
                 tx.date(date(2027, 1, 4), "long")):
        assert part in invoice.description
    long = screens.invoice(tx, LONG, date(2026, 12, 6), date(2027, 12, 5))
    assert len(long.title) <= screens.TITLE_MAX and long.title.endswith("…")
    assert len(long.description) <= screens.DESCRIPTION_MAX
    assert len(long.label) <= 64
    plain = screens.invoice(tx, MONTH._replace(name=Localized("Body & Mind")),
                            date(2026, 12, 6), date(2027, 1, 4))
    assert plain.title == "Body & Mind" and plain.label.startswith("Body & Mind")
    assert ".." not in invoice.description


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_membership_screen_offers_buy_or_renew_only_with_payments_on(lang):
    tx = Texts(lang)
    off = membership_screens.membership(tx, None, [MONTH])
    assert _data(off.markup)[0] == PLAN_REQUEST(plan_id=7)
    on = membership_screens.membership(tx, None, [MONTH, FREE], payments=True)
    assert _data(on.markup)[:1] == [PAY_PLAN(plan_id=7)]
    assert PAY_PLAN(plan_id=9) not in _data(on.markup)  # a free plan has nothing to pay
    assert tx.money(4900) in _labels(on.markup)[0]
    assert tx("pay_buy_hint") in on.text
    current = MembershipView(1, Localized("Month", "en"), "active", date(2026, 11, 20),
                             date(2026, 12, 19), 3, 7, 7, None, None, MONTH.id)
    other = MONTH._replace(id=8, name=Localized("Open", "en"))
    renew = membership_screens.membership(tx, current, [MONTH, other], payments=True,
                                          renew_from=date(2026, 12, 20))
    # Only the membership's own plan renews it (another plan is bought once it has ended).
    assert _labels(renew.markup)[0] == tx("pay_renew_button", name=MONTH.name,
                                          price=tx.money(4900))
    assert PAY_PLAN(plan_id=8) not in _data(renew.markup)
    assert tx("pay_renew_line", date=tx.date(date(2026, 12, 20), "long")) in renew.text
    assert tx("pay_renew_own_plan") in renew.text and "Open" not in renew.text
    assert tx("membership_none") not in renew.text
    gone = membership_screens.membership(tx, current, [other], payments=True,
                                         renew_from=date(2026, 12, 20))
    assert tx("pay_renew_off_sale") in gone.text
    assert PAY_PLAN(plan_id=8) not in _data(gone.markup)  # no Buy over a current one


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_answers_after_a_payment(lang):
    tx = Texts(lang)
    paid = screens.paid(tx, MONTH.name, date(2027, 1, 4), 12, renewed=False)
    assert paid.text == tx("pay_paid", plan=MONTH.name, end=tx.date(date(2027, 1, 4), "long"),
                           visits=tx.plural("plan_visits", 12))
    refund = screens.needs_refund(tx, 4900, "plan_gone")
    assert tx("pay_problem_plan_gone") in refund.text and tx.money(4900) in refund.text
    assert screens.needs_refund(tx, 4900, None).text == tx("pay_needs_refund_plain",
                                                           amount=tx.money(4900))
    back = screens.refunded(tx, 4900, MONTH.name, date(2026, 12, 6))
    assert tx("pay_refunded_ends", date=tx.date(date(2026, 12, 6), "long")) in back.text
