"""Payments as admins see them, against real PostgreSQL: the payments export (XLSX read back by
openpyxl, CSV by the csv module) holds every payment with its amount as a number in major
units beside its currency, dates as dates, the status and the reason for a refund in the
admin's language; the payments report's figures (per day, per plan, totals, refunds, payments
needing a refund) in the club's time zone, as the admin reads them; the member card's payments;
what Mark refunded's confirmation says against what marking it refunded then does."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from fitclub import callbacks as cb
from fitclub.db.members import by_id
from fitclub.locales import Texts
from fitclub.screens import payments_admin as payment_screens
from fitclub.services import payments, payments_admin, reports
from fitclub.services.booking import Rules
from tests import factories

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 11:00 in Berlin

HEADERS = {
    "en": ["Payment ID", "Paid at", "Member ID", "First name", "Last name", "Plan", "Amount",
           "Currency", "Payment status", "Why it needs a refund", "Refunded at",
           "Membership ID", "Order ID", "Telegram charge ID", "Provider charge ID"],
    "ru": ["ID платежа", "Оплачен", "ID участника", "Имя", "Фамилия", "Тариф", "Сумма",
           "Валюта", "Статус платежа", "Почему нужен возврат", "Возвращён", "ID абонемента",
           "ID заказа", "ID платежа в Telegram", "ID платежа у провайдера"],
}


def _payments(db) -> dict[str, int]:
    ids = {"admin": factories.member(db, None, "Ada", role="admin"),
           "anna": factories.member(db, None, "Анна", last_name="Петрова"),
           "ben": factories.member(db, None, "Ben"),
           "month": factories.plan(db, "Month", price_minor=4900, duration_days=30),
           "yen": factories.plan(db, "Drop-in", price_minor=500, duration_days=1)}
    ids["membership"] = factories.membership(db, ids["anna"], ids["month"], starts_on=0,
                                             ends_on=29)
    ids["paid"] = factories.payment(
        db, ids["anna"], ids["month"], amount_minor=4900, currency="EUR",
        paid_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC),  # 10 March, 00:30 in Berlin
        membership_id=ids["membership"], effect="granted", charge_id="tg-1")
    ids["refunded"] = factories.payment(
        db, ids["ben"], ids["month"], amount_minor=4900, status="refunded",
        paid_at=NOW - timedelta(days=3), refunded_at=NOW - timedelta(days=1),
        refunded_by=ids["admin"], charge_id="tg-2")
    ids["to_refund"] = factories.payment(
        db, ids["ben"], None, amount_minor=1999, status="needs_refund", problem="plan_gone",
        paid_at=NOW - timedelta(hours=1), charge_id="=1+1")
    ids["yen_paid"] = factories.payment(db, ids["ben"], ids["yen"], amount_minor=500,
                                        currency="JPY", paid_at=NOW - timedelta(days=40),
                                        charge_id="tg-4")
    db.commit()
    return ids


def _xlsx(data: bytes) -> tuple[list[list[object]], openpyxl.worksheet.worksheet.Worksheet]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_payments_export_holds_amounts_as_numbers_with_their_currency(db, lang):
    ids = _payments(db)
    found = reports.export(db, "payments", actor_id=ids["admin"], now=NOW, timezone=BERLIN,
                           lang=lang)
    assert (found.table, found.rows, found.complete) == ("payments", 4, True)
    assert found.filename == "payments-2026-03-10.xlsx"
    rows, sheet = _xlsx(found.data)
    assert sheet.title == {"en": "Payments", "ru": "Платежи"}[lang]
    assert rows[0] == HEADERS[lang]
    words = {"en": ("Paid", "Refunded", "Needs a refund", "plan archived"),
             "ru": ("Оплачен", "Возвращён", "Нужен возврат", "тариф снят с продажи")}[lang]
    paid, refunded, needs, why = words
    assert rows[1] == [ids["paid"], datetime(2026, 3, 10, 0, 30), ids["anna"], "Анна",
                       "Петрова", "Month", 49, "EUR", paid, None, None, ids["membership"],
                       None, "tg-1", rows[1][14]]
    assert rows[2][:11] == [ids["refunded"], datetime(2026, 3, 7, 11, 0), ids["ben"], "Ben",
                            None, "Month", 49, "EUR", refunded, None,
                            datetime(2026, 3, 9, 11, 0)]
    # A deleted plan is no plan; the charge id stays text even when it looks like a formula.
    assert rows[3][5:10] == [None, 19.99, "EUR", needs, why]
    assert rows[3][13] == "=1+1"
    assert rows[4][6:8] == [500, "JPY"]  # a currency without minor units
    # Numbers, shown with the currency's places; dates as dates.
    assert sheet.cell(2, 7).data_type == "n" and sheet.cell(2, 7).number_format == "0.00"
    assert sheet.cell(5, 7).number_format == "0"
    assert sheet.cell(2, 2).is_date
    with db.cursor() as cur:
        cur.execute("SELECT details FROM audit_log WHERE action = 'report.export'")
        assert cur.fetchall() == [({"table": "payments", "format": "xlsx", "rows": 4,
                                    "complete": True},)]


@pytest.mark.parametrize(("lang", "separator", "amount"), [("en", ",", "49.00"),
                                                            ("ru", ";", "49,00")])
def test_the_payments_csv_writes_amounts_with_the_locales_decimal_mark(db, lang, separator,
                                                                        amount):
    ids = _payments(db)
    found = reports.export(db, "payments", "csv", actor_id=ids["admin"], now=NOW,
                           timezone=BERLIN, lang=lang)
    rows = list(csv.reader(io.StringIO(found.data.decode("utf-8-sig"), newline=""),
                           delimiter=separator))
    assert rows[0] == HEADERS[lang]
    assert rows[1][:9] == [str(ids["paid"]), "2026-03-10 00:30:00", str(ids["anna"]), "Анна",
                           "Петрова", "Month", amount, "EUR", rows[1][8]]
    assert rows[3][6] == amount.replace("49", "19").replace("00", "99")
    assert rows[3][13] == "'=1+1"  # defused
    assert rows[4][6:8] == ["500", "JPY"]


def test_major_units_follow_the_currencys_places():
    assert reports.major_units(4900, "EUR") == Decimal("49.00")
    assert reports.major_units(500, "JPY") == Decimal("500")
    assert reports.major_units(1234, "KWD") == Decimal("1.234")


# -- the report's figures ----------------------------------------------------------------------

def _plain(text: str) -> list[str]:
    """A screen's lines without their bold."""
    return re.sub(r"</?b>", "", text).split("\n")


def _at(day: date, hour: int = 12) -> datetime:
    """A Berlin wall-clock moment on a day, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).astimezone(UTC)


def test_the_payments_report_counts_per_day_per_plan_with_refunds_and_those_to_refund(db):
    today = NOW.astimezone(BERLIN).date()
    anna = factories.member(db, None, "Anna")
    ben = factories.member(db, None, "Ben", last_name="Brown")
    gone = factories.member(db, None, "Gone", erased=True)
    month = factories.plan(db, "Month", price_minor=4900)
    year = factories.plan(db, "Year", price_minor=39000)
    for who, plan, minor, paid_at, status, problem in (
            (anna, month, 4900, _at(today, 9), "granted", None),
            (ben, month, 4900, _at(today, 10), "needs_refund", "plan_gone"),
            (anna, year, 39000, _at(today - timedelta(days=1)), "granted", None),
            (ben, month, 4900, _at(today - timedelta(days=6), 0), "granted", None),
            (gone, None, 1500, _at(today - timedelta(days=8)), "needs_refund", "member_gone"),
            (anna, month, 4900, _at(today - timedelta(days=29), 1), "granted", None),
            (anna, month, 4900, _at(today - timedelta(days=30), 23), "granted", None)):
        factories.payment(db, who, plan, amount_minor=minor, paid_at=paid_at, status=status,
                          problem=problem)
    factories.payment(db, ben, year, amount_minor=39000, paid_at=_at(today - timedelta(days=2)),
                      status="refunded", refunded_at=NOW)
    db.commit()

    found = payments_admin.report(db, NOW, BERLIN)
    assert (found.since, found.until) == (today - timedelta(days=29), today)
    # The eighth payment is 30 days back: outside the window.
    assert list(found.totals) == ["EUR"]
    total = found.totals["EUR"]
    assert (total.payments, total.received_minor) == (7, 4900 * 4 + 39000 * 2 + 1500)
    assert (total.refunded, total.refunded_minor) == (1, 39000)
    assert (total.to_refund, total.to_refund_minor) == (2, 4900 + 1500)
    per_day = {d.day: (d.payments, d.received_minor) for d in found.days}
    assert per_day == {today: (2, 9800), today - timedelta(days=1): (1, 39000),
                       today - timedelta(days=2): (1, 39000),
                       today - timedelta(days=6): (1, 4900),
                       today - timedelta(days=8): (1, 1500),
                       today - timedelta(days=29): (1, 4900)}
    per_plan = {p.plan_name: (p.payments, p.received_minor, p.refunded) for p in found.plans}
    assert per_plan == {"Year": (2, 78000, 1), "Month": (4, 19600, 0), None: (1, 1500, 0)}

    due = payments_admin.to_refund(db)
    assert due.total == 2
    assert [(d.payment.amount_minor, d.member_name) for d in due.lines] == [
        (4900, "Ben Brown"), (1500, None)]

    # As the admin reads it, in English and Russian.
    en = payment_screens.report(Texts("en"), found, due, today)
    lines = _plain(en.text)
    assert lines[0] == "💳 Payments · the last 30 days"
    assert "Received: €991.00 (7 payments)" in lines  # 4 × 49 + 2 × 390 + 15
    assert "Refunded: €390.00 (1 payment)" in lines
    days = lines[lines.index("Per day, the last 7 days") + 1:][:7]
    assert days == [f"• {Texts('en').date(today, 'short')}: €98.00 (2 payments)",
                    f"• {Texts('en').date(today - timedelta(days=1), 'short')}: €390.00"
                    " (1 payment)",
                    f"• {Texts('en').date(today - timedelta(days=2), 'short')}: €390.00"
                    " (1 payment)",
                    *(f"• {Texts('en').date(today - timedelta(days=n), 'short')}: —"
                      for n in (3, 4, 5)),
                    f"• {Texts('en').date(today - timedelta(days=6), 'short')}: €49.00"
                    " (1 payment)"]
    assert lines[lines.index("Per plan") + 1:][:3] == [
        "• Year: €780.00 (2 payments)", "• Month: €196.00 (4 payments)",
        "• (plan deleted): €15.00 (1 payment)"]
    assert "⚠️ Payments needing a refund: 2" in lines
    assert (f"• {Texts('en').date(today, 'long')} · Ben Brown · €49.00 · plan archived"
            in lines)
    assert (f"• {Texts('en').date(today - timedelta(days=8), 'long')} · (member erased) · "
            "€15.00 · member erased" in lines)
    labels = [[b.text for b in row] for row in en.markup.keyboard]
    assert labels == [["🪪 Ben Brown · €49.00"],
                      [f"↩️ Mark refunded: €15.00 · "
                       f"{Texts('en').date(today - timedelta(days=8), 'long')}"],
                      ["⬇️ Payments · XLSX", "CSV"], ["« Report", "« Staff"]]
    ru = _plain(payment_screens.report(Texts("ru"), found, due, today).text)
    assert ru[0] == "💳 Платежи · последние 30 дней"
    assert "Получено: 991,00\u00a0€ (7 платежей)" in ru
    assert "Возвращено: 390,00\u00a0€ (1 платёж)" in ru
    assert "• Month: 196,00\u00a0€ (4 платежа)" in ru
    assert "⚠️ Платежей, ждущих возврата: 2" in ru


def test_a_report_without_payments_says_so(db):
    found = payments_admin.report(db, NOW, BERLIN)
    due = payments_admin.to_refund(db)
    screen = payment_screens.report(Texts("en"), found, due, NOW.astimezone(BERLIN).date())
    assert _plain(screen.text)[:3] == ["💳 Payments · the last 30 days", "",
                                      "No payments in the last 30 days."]
    assert "refund" not in screen.text


# -- refunds: the confirmation says what mark_refunded then does -------------------------------

RULES = Rules(BERLIN)


def _membership(db, member: int, plan: int, starts: int, ends: int) -> int:
    today = NOW.astimezone(BERLIN).date()
    return factories.membership(db, member, plan, starts_on=today + timedelta(days=starts),
                                ends_on=today + timedelta(days=ends), visits_left=None)


def _ends_on(db, membership_id: int) -> tuple[date, str]:
    with db.cursor() as cur:
        cur.execute("SELECT ends_on, status FROM memberships WHERE id = %s", (membership_id,))
        return cur.fetchone()


def test_the_refund_terms_are_what_marking_it_refunded_does(db):
    today = NOW.astimezone(BERLIN).date()
    admin = factories.member(db, None, "Ada", role="admin")
    anna = factories.member(db, None, "Anna")
    ben = factories.member(db, None, "Ben")
    cleo = factories.member(db, None, "Cleo")
    month = factories.plan(db, "Month", price_minor=4900, duration_days=30, visit_count=None)
    bought = _membership(db, anna, month, -3, 26)
    renewed = _membership(db, ben, month, -20, 39)  # 30 days added to an end on day 9
    later = _membership(db, cleo, month, 2, 31)
    ids = {
        "bought": factories.payment(db, anna, month, membership_id=bought, effect="granted"),
        "renewed": factories.payment(db, ben, month, membership_id=renewed, effect="extended",
                                     days_added=30, ends_on_before=9),
        "later": factories.payment(db, cleo, month, membership_id=later, effect="granted"),
        "to_refund": factories.payment(db, cleo, None, status="needs_refund",
                                       problem="plan_gone"),
        "refunded": factories.payment(db, cleo, month, status="refunded", refunded_at=NOW),
    }
    db.commit()
    terms = {name: payments_admin.refund_terms(db, payment_id, today)
             for name, payment_id in ids.items()}
    assert terms["refunded"] is None
    assert payments_admin.refund_terms(db, 10**9, today) is None
    assert (terms["bought"].change, terms["bought"].ends_on) == ("ends", today)
    assert (terms["renewed"].change, terms["renewed"].ends_on, terms["renewed"].before) == (
        "shortens", today + timedelta(days=9), today + timedelta(days=39))
    assert terms["later"].change == "cancels"
    assert terms["to_refund"].change == "none"

    # What each confirmation says, then what the press does.
    tx = Texts("en")
    anna_row = by_id(db, anna)
    text = payment_screens.refund_ask(tx, anna_row, terms["bought"]).text
    assert text.endswith("The refund itself is made at the provider; this ends the membership"
                         f" it paid for on {tx.date(today, 'long')}.")
    for name, membership_id in (("bought", bought), ("renewed", renewed), ("later", later)):
        result = payments.mark_refunded(db, ids[name], admin, NOW, RULES)
        assert result.status == "refunded"
        ends_on, status = _ends_on(db, membership_id)
        if terms[name].change == "cancels":
            assert status == "cancelled"
        else:
            assert ends_on == terms[name].ends_on == result.ends_on
    assert payments.mark_refunded(db, ids["to_refund"], admin, NOW, RULES).status == "refunded"
    # Once refunded, there is nothing left to confirm: a second press is stale.
    assert all(payments_admin.refund_terms(db, payment_id, today) is None
               for payment_id in ids.values())


def test_the_card_shows_the_latest_payments_and_a_refund_button_for_each_not_refunded(db):
    anna = factories.member(db, None, "Anna")
    month = factories.plan(db, "Month", price_minor=4900)
    first = factories.payment(db, anna, month, paid_at=NOW - timedelta(days=90))
    refunded = factories.payment(db, anna, month, paid_at=NOW - timedelta(days=60),
                                 status="refunded", refunded_at=NOW - timedelta(days=59))
    archived = factories.payment(db, anna, None, paid_at=NOW - timedelta(days=30),
                                 status="needs_refund", problem="plan_gone")
    latest = factories.payment(db, anna, month, paid_at=NOW - timedelta(days=1))
    db.commit()
    found = payments_admin.of_member(db, anna)
    assert ([p.id for p in found.lines], found.total) == ([latest, archived, refunded], 4)
    tx = Texts("en")
    lines = payment_screens.card_lines(tx, found)
    day = lambda moment: tx.date(moment, "long")  # noqa: E731
    assert lines == ["", "<b>Payments</b>",
                     f"• {day(NOW - timedelta(days=1))} · Month · €49.00 · paid",
                     f"• {day(NOW - timedelta(days=30))} · (plan deleted) · €49.00 · "
                     "⚠️ needs a refund (plan archived)",
                     f"• {day(NOW - timedelta(days=60))} · Month · €49.00 · ↩️ refunded on "
                     f"{day(NOW - timedelta(days=59))}",
                     "…and 1 more payment."]
    rows = payment_screens.card_rows(tx, anna, found)
    assert [[b[1] for b in row] for row in rows] == [
        [cb.PAYMENT_REFUND(payment_id=latest, step="ask")],
        [cb.PAYMENT_REFUND(payment_id=archived, step="ask")],
        [cb.MEMBER_PAYMENTS(member_id=anna)]]
    every = payment_screens.all_payments(tx, by_id(db, anna),
                                         payments_admin.of_member(db, anna, 20))
    assert every.text.count("\n• ") == 4
    assert [[b.callback_data for b in row] for row in every.markup.keyboard] == [
        [cb.PAYMENT_REFUND(payment_id=p, step="ask")] for p in (latest, archived, first)] + [
        [cb.MEMBER_CARD(member_id=anna)]]
    assert payment_screens.card_lines(tx, payments_admin.of_member(
        db, factories.member(db, None, "Never"))) == []
