"""Payments as admins see them, against real PostgreSQL: the payments export (XLSX read back by
openpyxl, CSV by the csv module) holds every payment with its amount as a number in major
units beside its currency, dates as dates, the status and the reason for a refund in the
admin's language; the payments report's figures (per day, per plan, totals, refunds, payments
needing a refund) in the club's time zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from fitclub.services import reports
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
