"""Spreadsheet files (services/spreadsheets.py): the CSV formula guard after any separator, the
separator per locale, and XLSX files read back by openpyxl with typed cells (text as text even
when it looks like a formula, numbers, booleans, dates and local date-times), Cyrillic
included."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from fitclub.services import spreadsheets
from fitclub.services.spreadsheets import csv_cell, csv_separator, defused, sheet_name

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("text", "expected"), [
    ("Anna;=1+1;", "Anna;'=1+1;"),  # Russian and German Excel split on ";"
    ("x,@SUM(A1)", "x,'@SUM(A1)"),
    ("\t=cmd", "'\t'=cmd"),  # a tab starts a formula and splits cells
    ("-2+3", "'-2+3"),
    ("+15551000001", "'+15551000001"),  # a phone stays text, every digit readable
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("a|=b", "a|'=b"),
    ("a;  =b", "a;  '=b"),  # spaces after a separator do not hide a formula
    ("a;\u00a0=b", "a;\u00a0'=b"),  # nor a no-break space,
    ("\u2003@b", "\u2003'@b"),  # an em space,
    ("a,\x0b+b", "a,\x0b'+b"),  # a vertical tab
    ("a;\u200b=b", "a;\u200b'=b"),  # or a zero-width space
    ("line\n=2", "line\n'=2"),
    ("\r=2", "'\r'=2"),
    ("a=b;c-d,e+f@g", "a=b;c-d,e+f@g"),  # no cell starts with them
    ("Анна Петрова", "Анна Петрова"),
    ("O\"Neil, Jr", "O\"Neil, Jr"),
    ("", ""),
])
def test_a_formula_is_defused_wherever_a_cell_could_start(text, expected):
    assert defused(text) == expected


def _cells_any_program_could_see(line: str) -> list[str]:
    """Every cell a spreadsheet program could make of one CSV line, whatever separator it
    splits on."""
    cells = [line]
    for separator in ",;\t|\r\n":
        cells = [part for cell in cells for part in cell.split(separator)]
    return cells


@pytest.mark.parametrize("separator", [",", ";"])
def test_no_cell_of_a_csv_file_starts_a_formula_whatever_a_program_splits_on(separator):
    texts = ["Anna;=1+1;", "x,@SUM(A1)", "\t=cmd", "-2+3", "+15551000001", "a | @b",
             "=1;=2,=3\t=4|=5"]
    written = spreadsheets.write_csv(["name"], ([t] for t in texts), separator=separator,
                                     timezone=BERLIN, max_bytes=10_000)
    text = written.data.decode("utf-8-sig")
    for cell in _cells_any_program_could_see(text):
        stripped = cell.lstrip(" \"")
        assert not stripped or stripped[0] not in "=+-@", (cell, text)
    # The file's own reader gets each text back with the apostrophes in front.
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    assert [r[0] for r in rows[1:]] == [defused(t) for t in texts]
    assert rows[1][0] == "Anna;'=1+1;" and rows[5][0] == "'+15551000001"


def test_before_only_the_first_character_was_looked_at():
    """The old guard (an apostrophe before the first character only) let 'Anna;=1+1;' through
    as a formula in a program that splits on ';'."""
    old = "Anna;=1+1;"  # what the old guard wrote, its first character being harmless
    assert any(c.startswith("=") for c in _cells_any_program_could_see(old))
    assert not any(c.startswith("=") for c in _cells_any_program_could_see(defused(old)))


def test_the_separator_is_the_one_the_locales_spreadsheets_use():
    assert csv_separator("en") == ","
    assert csv_separator("ru") == ";"
    assert csv_separator("de") == ";"


def test_csv_cells():
    assert csv_cell(datetime(2026, 7, 1, 10, 0, 5, 999, tzinfo=UTC), BERLIN) == (
        "2026-07-01 12:00:05")
    assert csv_cell(date(2026, 7, 1), BERLIN) == "2026-07-01"
    assert csv_cell(None, BERLIN) == "" and csv_cell(False, BERLIN) == "false"
    assert csv_cell(7, BERLIN) == "7"
    assert csv_cell("+49151", BERLIN) == "'+49151"
    assert csv_cell("@x", BERLIN) == "'@x"


def test_a_csv_file_has_a_byte_order_mark_and_the_locales_separator():
    written = spreadsheets.write_csv(["Имя", "Телефон"], [["Анна", "+79161234567"]],
                                     separator=";", timezone=BERLIN, max_bytes=1000)
    assert written.data.startswith(b"\xef\xbb\xbf")
    assert written.data.decode("utf-8-sig") == "Имя;Телефон\r\nАнна;'+79161234567\r\n"
    assert (written.rows, written.complete) == (1, True)


def test_a_csv_file_stops_before_the_size_limit():
    rows = [[f"member {n:03}"] for n in range(100)]
    whole = spreadsheets.write_csv(["name"], rows, separator=",", timezone=BERLIN,
                                   max_bytes=10_000)
    cut = spreadsheets.write_csv(["name"], iter(rows), separator=",", timezone=BERLIN,
                                 max_bytes=len(whole.data) // 2)
    assert whole.complete and whole.rows == 100
    assert not cut.complete and 0 < cut.rows < 100 and len(cut.data) <= len(whole.data) // 2
    assert whole.data.startswith(cut.data)


def _xlsx(rows, header=("Имя", "Число", "Да/нет", "День", "Момент"), **options):
    settings = {"sheet": "Участники", "timezone": BERLIN, "date_format": "dd.mm.yyyy",
                "datetime_format": "dd.mm.yyyy hh:mm", "max_bytes": 1_000_000, **options}
    return spreadsheets.write_xlsx(list(header), iter(rows), **settings)


def test_an_xlsx_file_opens_with_typed_cells():
    rows = [["Анна Петрова", 12, True, date(2026, 3, 31),
             datetime(2026, 3, 1, 23, 30, tzinfo=UTC)],
            ["=1+1", -3, False, None, datetime(2026, 7, 1, 10, 0, tzinfo=UTC)],
            ["+15551000001", None, None, None, None],
            ["Anna;=1+1;", 0, None, None, None]]
    written = _xlsx(rows)
    assert (written.rows, written.complete) == (4, True)
    book = openpyxl.load_workbook(io.BytesIO(written.data))
    assert book.sheetnames == ["Участники"]
    sheet = book["Участники"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values == [
        ["Имя", "Число", "Да/нет", "День", "Момент"],
        ["Анна Петрова", 12, True, datetime(2026, 3, 31), datetime(2026, 3, 2, 0, 30)],
        ["=1+1", -3, False, None, datetime(2026, 7, 1, 12, 0)],  # summer time in Berlin
        ["+15551000001", None, None, None, None],
        ["Anna;=1+1;", 0, None, None, None]]
    # Text that looks like a formula is a string cell, never a formula.
    assert sheet["A3"].data_type == "s" and sheet["A4"].data_type == "s"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert sheet["B2"].data_type == "n" and sheet["C2"].data_type == "b"
    assert sheet["D2"].is_date and sheet["D2"].number_format == "dd.mm.yyyy"
    assert sheet["E2"].is_date and sheet["E2"].number_format == "dd.mm.yyyy hh:mm"
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    # Columns as wide as their longest cell: the name column wider than the number's.
    width = {c: sheet.column_dimensions[c].width for c in "ABCDE"}
    assert width["A"] >= len("Anna;=1+1;") + 2 > width["B"]
    assert width["E"] >= len("dd.mm.yyyy hh:mm")


def test_an_xlsx_file_with_no_rows_has_its_header():
    sheet = openpyxl.load_workbook(io.BytesIO(_xlsx([]).data)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["Имя", "Число", "Да/нет", "День", "Момент"]]


def test_an_xlsx_file_stops_before_the_size_limit():
    rows = [[f"Участник {n:04}", n, True, None, None] for n in range(2000)]
    whole = _xlsx(rows)
    cut = _xlsx(rows, max_bytes=20_000)
    assert whole.complete and whole.rows == 2000
    assert not cut.complete and 0 < cut.rows < 2000 and len(cut.data) <= 20_000
    sheet = openpyxl.load_workbook(io.BytesIO(cut.data)).active
    assert sheet.max_row == cut.rows + 1
    assert sheet.cell(cut.rows + 1, 1).value == f"Участник {cut.rows - 1:04}"


@pytest.mark.parametrize(("name", "expected"), [
    ("Участники", "Участники"), ("a/b:c", "a b c"),
    ("x" * 40, "x" * 31), ("[]", "Sheet1")])
def test_a_sheet_name_excel_takes(name, expected):
    assert sheet_name(name) == expected
