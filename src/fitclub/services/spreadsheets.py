"""Spreadsheet files from streamed rows: XLSX (the default) and CSV, neither able to carry a
formula in from a cell's text.

Both writers take the header and an iterator of rows (plain values: text, whole numbers,
decimals (amounts of money in major units), booleans, dates, aware moments, None) and never
hold more than one row: XLSX goes through XlsxWriter's `constant_memory` mode (each row is
flushed to a temporary file as the next one starts), CSV is encoded a row at a time. Only the
finished file is in memory, as it has to be to be sent.

- XLSX: every text is written as a string cell (`write_string`), so "=1+1" is text, never a
  formula; whole numbers and decimals as numbers (a decimal shown with its own places:
  49.00), booleans as booleans; dates and moments as real dates
  (moments in the club's time zone) with the caller's number formats. The header row is bold and
  frozen, each column as wide as its longest cell (within bounds).
- CSV: UTF-8 with a byte-order mark, the separator the reader's locale uses in spreadsheets
  (`csv_separator`), moments as `YYYY-MM-DD HH:MM:SS` in the club's time zone, decimals with
  the locale's decimal mark (49.00, 49,00). Spreadsheet
  programs may split a row on another separator than the file's (Russian and German Excel
  split on ";"), so `defused` puts an apostrophe before every character that would start a
  formula at the start of a cell or after any separator a program might split on.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import tempfile
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import NamedTuple

import xlsxwriter
from babel.numbers import get_decimal_symbol

#: Characters a spreadsheet program may split a line of a CSV file on (or end a row with).
SPLITTERS = frozenset(",;\t|\r\n")
#: A cell starting with one of these is a formula to a spreadsheet program ("CSV injection").
FORMULA_START = frozenset("=+-@\t\r")
#: Column widths of an XLSX sheet, in characters.
MIN_WIDTH, MAX_WIDTH = 6, 50
#: What an XLSX sheet's name may not hold, and its length (Excel's rules).
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
_SHEET_CHARS = 31


class Written(NamedTuple):
    """A finished file, how many rows it holds (the header aside) and whether every row
    fitted under the size limit."""

    data: bytes
    rows: int
    complete: bool


def csv_separator(lang: str) -> str:
    """The separator a spreadsheet program expects in a CSV file in this locale: ";" where the
    decimal mark is a comma (Russian, German: Excel's list separator there), else ","."""
    return ";" if get_decimal_symbol(lang) == "," else ","


def defused(text: str) -> str:
    """Text with an apostrophe before each character that would start a formula (`=`, `+`,
    `-`, `@`, tab, carriage return) where a cell could begin: at the start, or after any
    separator (`,`, `;`, tab, `|`, a line break), any spaces or invisible format characters in
    between included. 'Anna;=1+1;'
    becomes "Anna;'=1+1;", a phone '+15551000001' becomes "'+15551000001" (text, where a
    spreadsheet would otherwise make it the number 1.5551E+10)."""
    out = []
    at_start = True
    for ch in text:
        if at_start and ch in FORMULA_START:
            out.append("'")
        out.append(ch)
        if ch in SPLITTERS:
            at_start = True
        elif not (ch.isspace() or unicodedata.category(ch) in ("Cf", "Zs")):
            at_start = False  # any space (no-break, vertical tab…) or invisible mark keeps it
    return "".join(out)


def csv_cell(value: object, tz: tzinfo, decimal: str = ".") -> str:
    """A value as a CSV cell: moments as local ISO date and time (seconds), dates as ISO
    dates, booleans as true/false, decimals with the `decimal` mark (no grouping), nothing as
    empty, text defused."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return _number_text(value, decimal)
    return defused(str(value))


def _number_text(value: int | Decimal, decimal: str = ".") -> str:
    """A whole number or a decimal as digits, never in exponent notation, with the `decimal`
    mark."""
    return (format(value, "f") if isinstance(value, Decimal) else str(value)).replace(".", decimal)


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]], *, separator: str,
              timezone: tzinfo, max_bytes: int, decimal: str = ".") -> Written:
    """A CSV file (UTF-8 with a byte-order mark, `separator` between cells, CRLF lines,
    `decimal` the decimal mark) of the header and the rows; rows that would take the file past
    max_bytes are left out."""
    line = io.StringIO()
    writer = csv.writer(line, delimiter=separator)

    def encoded(cells: Sequence[str]) -> bytes:
        line.seek(0)
        line.truncate()
        writer.writerow(cells)
        return line.getvalue().encode("utf-8")

    out = bytearray(codecs.BOM_UTF8)
    out += encoded([defused(h) for h in header])
    count, complete = 0, True
    for row in rows:
        chunk = encoded([csv_cell(v, timezone, decimal) for v in row])
        if len(out) + len(chunk) > max_bytes:
            complete = False
            break
        out += chunk
        count += 1
    return Written(bytes(out), count, complete)


def sheet_name(name: str) -> str:
    """A name Excel takes for a sheet: none of []:*?/\\, at most 31 characters, not empty."""
    cleaned = name.translate(_SHEET_FORBIDDEN).strip().strip("'")[:_SHEET_CHARS].strip()
    return cleaned or "Sheet1"


#: Bytes an XLSX file holds besides its sheet's rows (the zip's directory, styles, workbook,
#: the header row), counted generously.
XLSX_FIXED_BYTES = 16 * 1024


class _DeflatedSize:
    """An upper estimate of the compressed size of a sheet's rows: each row, as XML shaped like
    XlsxWriter's, goes through deflate (small blocks, so little waits uncompressed), the bytes
    that came out plus those still waiting counted whole."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15, 4)
        self.out = 0
        self._waiting = 0

    def add(self, row_number: int, row: Sequence[object]) -> int:
        """Count one more row; the estimate with it."""
        cells = []
        for col, value in enumerate(row):
            ref = f"{_column_name(col)}{row_number}"
            if isinstance(value, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            elif value is not None:
                cells.append(f'<c r="{ref}" s="2"><v>{value}</v></c>')
        data = f'<row r="{row_number}" spans="1:{len(row)}">{"".join(cells)}</row>'.encode()
        came = len(self._deflate.compress(data))
        self.out += came
        self._waiting = len(data) if came else self._waiting + len(data)
        return self.out + self._waiting


@functools.cache
def _column_name(col: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        name = chr(65 + rest) + name
    return name


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], *, sheet: str,
               timezone: tzinfo, date_format: str, datetime_format: str,
               max_bytes: int) -> Written:
    """An XLSX workbook of one sheet named `sheet`: the header row (bold, frozen, with a
    filter), then the rows, streamed (`constant_memory`). Text is always a string cell,
    whole numbers numbers, booleans booleans, dates dates (`date_format`) and moments local
    date-times (`datetime_format`, in `timezone`). Rows that would take the file past
    max_bytes (by an upper estimate of their compressed size) are left out."""
    out = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="fitclub-xlsx-") as tmp:
        book = xlsxwriter.Workbook(out, {"constant_memory": True, "tmpdir": tmp,
                                         "remove_timezone": True})
        ws = book.add_worksheet(sheet_name(sheet))
        bold = book.add_format({"bold": True})
        day = (book.add_format({"num_format": date_format}), len(date_format))
        moment = (book.add_format({"num_format": datetime_format}), len(datetime_format))
        places: dict[int, object] = {}  # a decimal's number format by its places

        def number_format(places_wanted: int) -> object:
            if places_wanted not in places:
                shape = "0." + "0" * places_wanted if places_wanted > 0 else "0"
                places[places_wanted] = book.add_format({"num_format": shape})
            return places[places_wanted]
        widths = [len(h) for h in header]
        for col, title in enumerate(header):
            ws.write_string(0, col, title, bold)
        size = _DeflatedSize()
        count, complete = 0, True
        for row in rows:
            # A tenth more than the estimate: XlsxWriter's XML is a little longer than ours.
            if XLSX_FIXED_BYTES + size.add(count + 2, row) * 11 // 10 > max_bytes:
                complete = False
                break
            count += 1
            for col, value in enumerate(row):
                widths[col] = max(widths[col], _write(ws, count, col, value, timezone, day,
                                                      moment, number_format))
        for col, width in enumerate(widths):
            ws.set_column(col, col, min(max(width + 2, MIN_WIDTH), MAX_WIDTH))
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, count, len(header) - 1)
        book.close()
    return Written(out.getvalue(), count, complete)


def _write(ws, row: int, col: int, value: object, tz: tzinfo, day: tuple, moment: tuple,
           number_format=None) -> int:
    """One cell by its type; returns how many characters it shows (for the column width).
    `day` and `moment` are a number format and the characters it shows; `number_format(n)`
    the format of a decimal with n places."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        ws.write_datetime(row, col, value.astimezone(tz).replace(tzinfo=None), moment[0])
        return moment[1]
    if isinstance(value, date):
        ws.write_datetime(row, col, datetime.combine(value, datetime.min.time()), day[0])
        return day[1]
    if isinstance(value, bool):
        ws.write_boolean(row, col, value)
        return 5
    if isinstance(value, int | Decimal):
        places = (max(0, -int(value.as_tuple().exponent)) if isinstance(value, Decimal)
                  else None)
        shape = number_format(places) if places is not None and number_format else None
        ws.write_number(row, col, value if places is None else float(value), shape)
        return len(_number_text(value))
    text = str(value)
    ws.write_string(row, col, text)
    return len(text)
