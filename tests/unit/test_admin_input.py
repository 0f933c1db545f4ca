"""What admins type in the plan and membership steps: accepted values and refusals."""

from __future__ import annotations

from datetime import date

import pytest

from fitclub.locales import LANGUAGES, Texts
from fitclub.services import admin_input, plans

TODAY = date(2026, 5, 20)


@pytest.mark.parametrize(("text", "digits", "minor"), [
    ("49", 2, 4900), ("49.90", 2, 4990), ("49,9", 2, 4990), ("1 500", 2, 150000),
    ("0", 2, 0), ("1000000", 2, 100_000_000), ("500", 0, 500)])
def test_prices(text, digits, minor):
    assert plans.check_price(text, digits).value == minor


@pytest.mark.parametrize(("text", "digits"), [
    ("", 2), ("abc", 2), ("-5", 2), ("4.999", 2), ("1000000.01", 2), ("12.5", 0), ("1e3", 2)])
def test_bad_prices(text, digits):
    assert plans.check_price(text, digits).problem == "pl_bad_price"


@pytest.mark.parametrize(("check", "text", "value", "problem"), [
    (plans.check_name, "  Month   pass ", "Month pass", None),
    (plans.check_name, "x" * 41, None, "pl_bad_name"),
    (plans.check_name, "   ", None, "pl_bad_name"),
    (plans.check_days, "30", 30, None),
    (plans.check_days, "0", None, "pl_bad_days"),
    (plans.check_days, "3651", None, "pl_bad_days"),
    (plans.check_days, "thirty", None, "pl_bad_days"),
    (plans.check_visits, "12", 12, None),
    (plans.check_visits, "0", None, "pl_bad_visits"),
    (plans.check_freeze, "0", 0, None),
    (plans.check_freeze, "366", None, "pl_bad_freeze"),
    (plans.check_freeze, "7.5", None, "pl_bad_freeze"),
])
def test_plan_fields(check, text, value, problem):
    checked = check(text)
    assert (checked.value, checked.problem) == (value, problem)


@pytest.mark.parametrize(("text", "day"), [
    ("2026-06-01", date(2026, 6, 1)), ("01.06.2026", date(2026, 6, 1)),
    ("1/6/2026", date(2026, 6, 1)), ("01.06.26", date(2026, 6, 1)), ("25.05", date(2026, 5, 25)),
    ("10.05", date(2027, 5, 10)),  # already past this year: the next one
    ("20.05", TODAY), (" 20.05 ", TODAY),
    ("29.02", date(2028, 2, 29)),  # the next leap day
    ("29.02.2028", date(2028, 2, 29))])
def test_typed_dates(text, day):
    assert admin_input.read_day(text, TODAY) == (day, None)


@pytest.mark.parametrize("text", ["31.02.2026", "29.02.2027", "2026-02-30", "31.04", "00.05",
                                  "12.13", "32.01.2026", "1/13/2026"])
def test_a_date_that_is_not_in_the_calendar_is_said_to_be_none(text):
    """Written as a date, but no such day: not the "doesn't fit, send one from ... to ..."."""
    assert admin_input.read_day(text, TODAY) == (None, admin_input.NO_SUCH_DATE)


@pytest.mark.parametrize("text", ["tomorrow", "", None, "2026", "1.2.3.4", "01-06-2026"])
def test_what_is_not_written_as_a_date(text):
    assert admin_input.read_day(text, TODAY) == (None, admin_input.BAD_DATE)


def test_the_two_date_problems_are_one_line_in_both_languages():
    for lang in LANGUAGES:
        tx = Texts(lang)
        no_such = tx(admin_input.NO_SUCH_DATE)
        assert "\n" not in no_such and no_such != tx(admin_input.BAD_DATE, first="", last="",
                                                       example="")
    assert "no such date" in Texts("en")(admin_input.NO_SUCH_DATE)
    assert "Такой даты нет" in Texts("ru")(admin_input.NO_SUCH_DATE)


@pytest.mark.parametrize(("text", "value"), [("+2", 2), ("-1", -1), ("3", 3), (" − 4 ", -4),
                                             ("0", None), ("+1001", None), ("two", None),
                                             ("1.5", None)])
def test_visit_changes(text, value):
    assert admin_input.check_delta(text).value == value


def test_reasons_and_notes():
    assert admin_input.check_reason("  paid   twice ").value == "paid twice"
    assert admin_input.check_reason("ok").problem == "mbr_bad_reason"
    assert admin_input.check_reason("x" * 201).problem == "mbr_bad_reason"
    assert admin_input.check_note(" line one \n  line two ").value == "line one\nline two"
    assert admin_input.check_note("x" * 501).problem == "mbr_bad_note"
    assert admin_input.check_note(" \n ").problem == "mbr_bad_note"
