"""Payments as admins see them, with the bot as its own process, tgemu over HTTP and a real
PostgreSQL, in English and in Russian: the member card lists the latest payments with Mark
refunded for each not refunded and All payments; Mark refunded asks first, saying what it
changes, then ends the membership it paid for and the card says so in place; a second press is
refused in one line (marked refunded already) and changes nothing; the audit log reads the
refund as a sentence; /report's Payments screen has the figures of the last 30 days, the
payments needing a refund (each opening the member's card) and the payments export (XLSX with
amounts as numbers). A member who pays through the invoice: every admin is told, with a button
to the member's card."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain, plural, step, tap
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, buttons

PROVIDER_TOKEN = "284685063:TEST:ZTJkZjE0YjZhNjcx"


def _lines(message: dict) -> list[str]:
    return message["text"].split("\n")


def _seed(db_url: str, admin: Person, lang: str) -> dict[str, int]:
    """An admin; Anna (in the other language) with four payments: the latest bought her
    current Month, one needs a refund (its plan deleted), one was refunded, one is old; Ben
    with a payment that needs a refund."""
    ids = {"admin": factories.member(db_url, admin.id, "Ada", phone="+4915100001",
                                     role="admin", language=lang),
           "anna": factories.member(db_url, 900001, "Anna", phone="+4915100002",
                                    language="ru" if lang == "en" else "en"),
           "ben": factories.member(db_url, 900002, "Ben", phone="+4915100003"),
           "month": factories.plan(db_url, "Month", price_minor=4900, duration_days=30,
                                   visit_count=12)}
    ids["membership"] = factories.membership(db_url, ids["anna"], ids["month"], starts_on=-3,
                                             ends_on=26, visits_left=12)
    ids["old"] = factories.payment(db_url, ids["anna"], ids["month"],
                                   paid_at=timedelta(days=-90))
    ids["refunded"] = factories.payment(db_url, ids["anna"], ids["month"],
                                        paid_at=timedelta(days=-60), status="refunded",
                                        refunded_at=timedelta(days=-59))
    ids["archived"] = factories.payment(db_url, ids["anna"], None, paid_at=timedelta(days=-10),
                                        status="needs_refund", problem="plan_gone")
    ids["latest"] = factories.payment(db_url, ids["anna"], ids["month"],
                                      paid_at=timedelta(days=-3),
                                      membership_id=ids["membership"], effect="granted")
    ids["ben_pay"] = factories.payment(db_url, ids["ben"], ids["month"], amount_minor=1500,
                                       paid_at=timedelta(days=-1), status="needs_refund",
                                       problem="order_expired")
    return ids


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_admin_sees_payments_marks_one_refunded_and_reads_the_report(emu, launcher, db_url,
                                                                        lang):
    tx = Texts(lang)
    admin = Person(emu, "Ada", language_code=lang)
    ids = _seed(db_url, admin, lang)
    launcher.start(db_url)
    today = datetime.now(UTC).date()
    day = lambda back: tx.date(today - timedelta(days=back), "long")  # noqa: E731
    money = tx.money(4900)

    # The card: the latest three payments, newest first, and how many more.
    admin.send("/members")
    found = step(admin, "anna", plain(tx, "mbr_search_results", text="anna"))
    admin.press(found, "Anna")
    card = admin.wait_edit(found["message_id"], plain(tx, "pmt_card_title"))
    lines = _lines(card)
    at = lines.index(plain(tx, "pmt_card_title"))
    assert lines[at + 1:at + 5] == [
        plain(tx, "pmt_line", date=day(3), plan="Month", amount=money,
              state=tx("pmt_state_granted")),
        plain(tx, "pmt_line", date=day(10), plan=plain(tx, "pmt_plan_gone"), amount=money,
              state=tx("pmt_state_needs_refund", problem=tx("pmt_problem_plan_gone"))),
        plain(tx, "pmt_line", date=day(60), plan="Month", amount=money,
              state=tx("pmt_state_refunded", date=day(59))),
        plural(tx, "pmt_more", 1)]
    refund_latest = plain(tx, "pmt_button_refund", amount=money, date=day(3))
    refund_archived = plain(tx, "pmt_button_refund", amount=money, date=day(10))
    assert buttons(card)[2:5] == [[refund_latest], [refund_archived],
                                  [plain(tx, "pmt_button_all", n=4)]]

    # All payments, and back.
    admin.press(card, plain(tx, "pmt_button_all", n=4))
    every = admin.wait_edit(card["message_id"], plain(tx, "pmt_all_title", name="Anna"))
    assert len([x for x in _lines(every) if x.startswith("• ")]) == 4
    assert buttons(every) == [[refund_latest], [refund_archived],
                              [plain(tx, "pmt_button_refund", amount=money, date=day(90))],
                              [plain(tx, "mbr_button_card")]]
    admin.press(every, plain(tx, "mbr_button_card"))
    card = admin.wait_edit(card["message_id"], plain(tx, "pmt_card_title"))

    # Mark refunded: first what it changes, then done, in place.
    admin.press(card, refund_latest)
    ask = admin.wait_edit(card["message_id"], plain(tx, "pmt_refund_ends", date=day(0)))
    assert _lines(ask)[:2] == plain(tx, "pmt_refund_ask", name="Anna", amount=money,
                                    date=day(3), plan="Month").split("\n")
    assert buttons(ask) == [[plain(tx, "pmt_button_refund_yes")],
                            [plain(tx, "mbr_button_card")]]
    done = plain(tx, "pmt_refunded_ends", amount=money, date=day(3), end=day(0))
    assert admin.press(ask, plain(tx, "pmt_button_refund_yes"))["text"] == done
    card = admin.wait_edit(card["message_id"], done)
    assert plain(tx, "pmt_line", date=day(3), plan="Month", amount=money,
                 state=tx("pmt_state_refunded", date=day(0))) in _lines(card)
    assert refund_latest not in [label for row in buttons(card) for label in row]
    assert query(db_url, "SELECT status, refunded_by FROM payments WHERE id = %s",
                 (ids["latest"],)) == [("refunded", ids["admin"])]
    assert query(db_url, "SELECT ends_on FROM memberships WHERE id = %s",
                 (ids["membership"],)) == [(today,)]

    # The same confirmation pressed again: refused in one line on the card (marked refunded
    # already), nothing changes.
    again = cb.PAYMENT_REFUND(payment_id=ids["latest"], step="yes")
    already = plain(tx, "pay_err_already_refunded")
    assert tap(emu, db_url, admin, card, again) == already
    card = admin.wait_edit(card["message_id"], already)
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'payment.refunded'"
                 ) == [(1,)]

    # The audit log reads it as a sentence.
    (log,) = admin.send("/audit")
    sentence = plain(tx, "aud_do_payment_refunded", who="Ada", member="Anna",
                     plan=tx("aud_plan_named", name="Month"))
    assert any(x.startswith(sentence) and money in x
               and plain(tx, "aud_part_pay_ends", date=day(0)) in x for x in _lines(log)), (
        log["text"])

    # /report → Payments: the last 30 days (three payments: one refunded), those to refund.
    (report,) = admin.send("/report")
    admin.press(report, plain(tx, "rep_button_payments"))
    shown = admin.wait_edit(report["message_id"], plain(
        tx, "pmt_rep_title", days=plural(tx, "rep_days", 30)))
    lines = _lines(shown)
    assert plain(tx, "pmt_rep_total", amount=tx.money(4900 * 2 + 1500),
                 payments=plural(tx, "pmt_rep_payments", 3)) in lines
    assert plain(tx, "pmt_rep_refunds", amount=money,
                 payments=plural(tx, "pmt_rep_payments", 1)) in lines
    assert plain(tx, "pmt_rep_plan_line", plan="Month", amount=tx.money(4900 + 1500),
                 payments=plural(tx, "pmt_rep_payments", 2)) in lines
    assert plain(tx, "pmt_rep_to_refund_title", n=2) in lines
    assert plain(tx, "pmt_rep_to_refund_line", date=day(1), name="Ben",
                 amount=tx.money(1500), problem=tx("pmt_problem_order_expired")) in lines
    ben_button = plain(tx, "pmt_button_member", name="Ben", amount=tx.money(1500))
    assert buttons(shown) == [
        [ben_button], [plain(tx, "pmt_button_member", name="Anna", amount=money)],
        [plain(tx, "rep_button_export_payments"), plain(tx, "rep_button_csv")],
        [plain(tx, "rep_button_back"), plain(tx, "staff_back")]]

    # The export: every payment, amounts as numbers.
    before = len(admin.messages())
    admin.press(shown, plain(tx, "rep_button_export_payments"))
    doc = wait_until(lambda: next((m for m in admin.messages()[before:] if m.get("document")),
                                  None), 15, "the payments export")
    assert re.fullmatch(r"payments-\d{4}-\d\d-\d\d\.xlsx", doc["document"]["file_name"])
    sheet = [list(r) for r in openpyxl.load_workbook(
        io.BytesIO(doc["document"]["bytes"])).active.iter_rows(values_only=True)]
    assert len(sheet) == 6 and sheet[0][6] == plain(tx, "rep_col_amount")
    assert sorted(row[6] for row in sheet[1:]) == [15, 49, 49, 49, 49]
    assert {row[7] for row in sheet[1:]} == {"EUR"}

    # A payment needing a refund opens its member's card.
    admin.press(shown, ben_button)
    ben = admin.wait_edit(report["message_id"], plain(tx, "mbr_card_title", name="Ben"))
    assert plain(tx, "pmt_line", date=day(1), plan="Month", amount=tx.money(1500),
                 state=tx("pmt_state_needs_refund",
                          problem=tx("pmt_problem_order_expired"))) in _lines(ben)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_admins_are_told_of_a_payment_with_a_button_to_the_members_card(emu, launcher, db_url,
                                                                        lang):
    tx = Texts(lang)
    admin = Person(emu, "Ada", language_code=lang)
    anna = Person(emu, "Anna", language_code="en")
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    factories.member(db_url, anna.id, "Anna", phone="+4915100002")
    factories.plan(db_url, "Month", price_minor=4900, duration_days=30, visit_count=12)
    launcher.start(db_url, PAYMENT_PROVIDER_TOKEN=PROVIDER_TOKEN, CLUB_CURRENCY="EUR")
    admin.send("/start")
    end = tx.date(datetime.now(UTC).date() + timedelta(days=29), "long")

    (screen,) = anna.send("/membership")
    before = len(anna.messages())
    anna.press(screen, "Month")
    invoice = wait_until(lambda: next((m for m in anna.messages()[before:]
                                       if m["message"].get("invoice")), None), 15, "the invoice")
    assert emu.pay(TOKEN, anna.id, invoice["message_id"])["status"] == "paid"

    told = plain(tx, "pay_admin_granted", member="Anna", amount=tx.money(4900), plan="Month",
                 end=end)
    notice = wait_until(lambda: next((m for m in admin.messages() if m["text"] == told), None),
                        15, "the admins' notice")
    assert buttons(notice) == [[plain(tx, "pmt_button_open_card")]]
    admin.press(notice, plain(tx, "pmt_button_open_card"))
    card = admin.wait_edit(notice["message_id"], plain(tx, "mbr_card_title", name="Anna"))
    assert plain(tx, "pmt_line", date=tx.date(datetime.now(UTC).date(), "long"), plan="Month",
                 amount=tx.money(4900), state=tx("pmt_state_granted")) in _lines(card)
