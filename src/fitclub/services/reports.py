"""Reports for admins: the club's figures of the day, the weekly attendance, XLSX and CSV
exports (members, visits, bookings, and payments: amounts in major units with their currency).

Everything follows the club's calendar (`CLUB_TIMEZONE`): "today" and "this month" are local
dates, turned into moments here so each query reads a plain range over an index; a week is
seven local dates starting on the locale's first day (as a member's activity counts them).

Occupancy is the places booked or attended over the places of the classes a type held in the
last 30 days (classes not cancelled, started before now); a no-show, a cancelled place or a
place in the waitlist does not count.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision, get_decimal_symbol

from fitclub.db import audit, rows
from fitclub.db.queries import Q
from fitclub.locales import DEFAULT, Localized, Texts, shown
from fitclub.services import spreadsheets
from fitclub.services.activity import Week, week_start

OCCUPANCY_DAYS = 30
#: "Ending within 7 days": today and the six days after it (announcements count the same way).
EXPIRING_DAYS = 7
EXPIRING_SHOWN = 30
WEEKS_SHOWN = 12
# Telegram takes documents up to 50 MB from a bot; an export stops short of that, with room.
MAX_EXPORT_BYTES = 45 * 1024 * 1024
# Rows fetched per round trip from the server-side cursor of an export.
EXPORT_BATCH = 2000


class MethodCount(NamedTuple):
    """Check-ins of one method ('qr', 'manual', 'class')."""

    method: str
    visits: int


class TypeOccupancy(NamedTuple):
    """A class type's classes in the window, their places, and the places booked or attended."""

    type_id: int
    name: Localized
    classes: int
    places: int
    taken: int

    @property
    def percent(self) -> int:
        """taken / places in whole per cent, halves rounded up."""
        return (200 * self.taken + self.places) // (2 * self.places) if self.places else 0


class _Counts(NamedTuple):
    active_members: int
    expiring: int
    new_members: int


class Summary(NamedTuple):
    """The report's figures as of a moment."""

    today: date
    checkins: int
    by_method: tuple[MethodCount, ...]
    occupancy: tuple[TypeOccupancy, ...]
    active_members: int  # members with an active membership valid today
    expiring: int  # active memberships ending within EXPIRING_DAYS (today included)
    new_members: int  # registered since the first of this month


class Expiring(NamedTuple):
    """An active membership ending soon, and its member."""

    member_id: int
    first_name: str
    last_name: str | None
    plan: str
    ends_on: date
    visits_left: int | None

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


def local_today(now: datetime, tz: tzinfo) -> date:
    """The club's date at a moment."""
    return now.astimezone(tz).date()


def midnight(day: date, tz: tzinfo) -> datetime:
    """The moment a local date begins in the club's time zone."""
    return datetime.combine(day, time(), tzinfo=tz)


def expiring_last_day(today: date) -> date:
    """The last day "ending within EXPIRING_DAYS" covers, today being the first of them."""
    return today + timedelta(days=EXPIRING_DAYS - 1)


def month_bounds(today: date) -> tuple[date, date]:
    """The first date of today's month and of the next."""
    first = today.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def summary(conn, now: datetime, tz: ZoneInfo) -> Summary:
    """The figures of /report at `now`, in the club's time zone `tz`."""
    today = local_today(now, tz)
    by_method = rows.many(conn, "reports.checkins", {
        "since": midnight(today, tz), "until": midnight(today + timedelta(days=1), tz)},
        MethodCount)
    occupancy = rows.many(conn, "reports.occupancy", {
        "since": now - timedelta(days=OCCUPANCY_DAYS), "until": now}, TypeOccupancy)
    month, next_month = month_bounds(today)
    counts = rows.one(conn, "reports.counts", {
        "today": today, "last": expiring_last_day(today),
        "since": midnight(month, tz), "until": midnight(next_month, tz)}, _Counts)
    return Summary(today=today, checkins=sum(m.visits for m in by_method),
                   by_method=tuple(by_method), occupancy=tuple(occupancy),
                   active_members=counts.active_members, expiring=counts.expiring,
                   new_members=counts.new_members)


class _ExpiringRow(NamedTuple):
    member_id: int
    first_name: str
    last_name: str | None
    plan: Localized
    ends_on: date
    visits_left: int | None
    total: int


class ExpiringList(NamedTuple):
    """The first memberships ending soon, and how many there are in all."""

    members: list[Expiring]
    total: int


def expiring(conn, now: datetime, tz: ZoneInfo, limit: int = EXPIRING_SHOWN) -> ExpiringList:
    """Active memberships ending within EXPIRING_DAYS, soonest first (at most `limit`)."""
    today = local_today(now, tz)
    found = rows.many(conn, "reports.expiring", {
        "today": today, "last": expiring_last_day(today), "limit": limit},
        _ExpiringRow)
    return ExpiringList([Expiring(*r[:-1]) for r in found], found[0].total if found else 0)


def weekly_attendance(conn, now: datetime, tz: ZoneInfo, first_week_day: int,
                      weeks: int = WEEKS_SHOWN) -> tuple[Week, ...]:
    """Club visits in each of the last `weeks` local weeks (this one last, so far), weeks
    starting on first_week_day (0 = Monday)."""
    this_week = week_start(local_today(now, tz), first_week_day)
    first = this_week - timedelta(weeks=weeks - 1)
    found = rows.many(conn, "reports.weekly_visits", {
        "since": midnight(first, tz), "now": now, "timezone": tz.key,
        "first_week_day": first_week_day}, Week)
    per_week = {w.start: w.visits for w in found}
    return tuple(Week(first + timedelta(weeks=n), per_week.get(first + timedelta(weeks=n), 0))
                 for n in range(weeks))


# -- exports (XLSX, CSV) ----------------------------------------------------------------------


class MemberRow(NamedTuple):
    id: int
    first_name: str
    last_name: str | None
    phone: str | None
    username: str | None
    language: str
    role: str
    registered_at: datetime | None
    plan: Localized | None
    membership_status: str | None
    starts_on: date | None
    ends_on: date | None
    visits_left: int | None


class VisitRow(NamedTuple):
    id: int
    checked_in_at: datetime
    member_id: int
    first_name: str | None
    last_name: str | None
    method: str
    class_id: int | None
    class_type: Localized | None
    class_starts_at: datetime | None
    membership_id: int | None
    checked_in_by: int | None
    checked_in_by_name: str | None


class BookingRow(NamedTuple):
    id: int
    class_id: int
    class_type: Localized
    class_starts_at: datetime
    class_status: str
    trainer: str | None
    member_id: int
    first_name: str | None
    last_name: str | None
    status: str
    created_at: datetime
    cancelled_at: datetime | None
    late_cancel: bool


class PaymentRow(NamedTuple):
    """A payment as exported: `amount` in major units (49.00) of its `currency`, its status
    and problem in words (`pmt_status_*`, `pmt_problem_*`); the member by internal id (and
    name while they are registered)."""

    id: int
    paid_at: datetime
    member_id: int | None
    first_name: str | None
    last_name: str | None
    plan: Localized | None
    amount: Decimal
    currency: str
    payment_status: str
    problem: str | None
    refunded_at: datetime | None
    membership_id: int | None
    order_id: int | None
    telegram_payment_charge_id: str
    provider_payment_charge_id: str | None


def major_units(minor: int, currency: str) -> Decimal:
    """An amount in minor units as a decimal in major units, with the currency's places
    (4900 EUR -> 49.00; 500 JPY -> 500)."""
    return Decimal(minor).scaleb(-get_currency_precision(currency))


def _payment_words(row: PaymentRow, tx: Texts) -> PaymentRow:
    return row._replace(
        amount=major_units(row.amount, row.currency),
        payment_status=html.unescape(tx(f"pmt_status_{row.payment_status}")),
        problem=html.unescape(tx(f"pmt_problem_{row.problem}")) if row.problem else None)


class _Table(NamedTuple):
    query: str
    row: type
    #: What a row becomes in the reader's language (amounts, words), if anything.
    words: Callable[[tuple, Texts], tuple] | None = None


TABLES: dict[str, _Table] = {
    "members": _Table("reports.export_members", MemberRow),
    "visits": _Table("reports.export_visits", VisitRow),
    "bookings": _Table("reports.export_bookings", BookingRow),
    "payments": _Table("reports.export_payments", PaymentRow, _payment_words),
}

#: The formats an export is written in, the default first.
FORMATS = ("xlsx", "csv")


class Export(NamedTuple):
    """A table as a file: its name and bytes, its rows (header aside), whether every row
    fitted, and its format ("xlsx" or "csv")."""

    table: str
    filename: str
    data: bytes
    rows: int
    complete: bool
    fmt: str = "xlsx"


def headers(table: str, tx: Texts) -> list[str]:
    """The column headers of a table's export in the reader's language (`rep_col_<field>`;
    the id column names its table: `rep_col_<table>_id`)."""
    return [html.unescape(tx(f"rep_col_{table}_id" if field == "id" else f"rep_col_{field}"))
            for field in TABLES[table].row._fields]


def _stream(conn, query: str, row_type: type) -> Iterator[tuple]:
    """The rows of a named query, fetched EXPORT_BATCH at a time by a server-side cursor
    (in the caller's transaction), so a large table never sits in memory whole."""
    with conn.cursor(name="report_export") as cur:
        cur.itersize = EXPORT_BATCH
        cur.execute(Q[query], {})
        checked = False
        for row in cur:
            if not checked:
                columns = tuple(col.name for col in cur.description)
                if columns != row_type._fields:
                    raise TypeError(f"{query} returns {columns}, {row_type.__name__} "
                                    f"expects {row_type._fields}")
                checked = True
            yield row


#: A second press of the same export within this many seconds sends nothing (a double tap).
EXPORT_REPEAT_SECONDS = 30


def exported_lately(conn, table: str, fmt: str = "xlsx", *, actor_id: int,
                    seconds: float = EXPORT_REPEAT_SECONDS) -> bool:
    """Whether this admin was sent this export, in this format, within `seconds` (the file
    is just above); an entry from before formats were recorded was a CSV file.
    by the database's clock, which also stamped the audit row.

    Presses in one chat run one after another, so the second sees the first's audit row.
    """
    return rows.scalar(conn, "reports.exported_lately", {
        "actor_id": actor_id, "table": table, "format": fmt, "seconds": seconds})


def export(conn, table: str, fmt: str = "xlsx", *, actor_id: int, now: datetime,
           timezone: ZoneInfo, max_bytes: int = MAX_EXPORT_BYTES, lang: str = DEFAULT) -> Export:
    """`build_export` and `record_export` on one connection."""
    found = build_export(conn, table, fmt, now=now, timezone=timezone, max_bytes=max_bytes,
                         lang=lang)
    record_export(conn, found, actor_id=actor_id)
    return found


def build_export(conn, table: str, fmt: str = "xlsx", *, now: datetime, timezone: ZoneInfo,
                 max_bytes: int = MAX_EXPORT_BYTES, lang: str = DEFAULT) -> Export:
    """One table as a file, read only (so from the read replica when there is one): XLSX
    (typed cells, dates as dates) or CSV (UTF-8 with a byte-order mark, the separator of
    `lang`'s spreadsheets), both with the headers in `lang`, times in the club's time zone,
    plan and class names in `lang` (else in the other language), no formula from any text
    (`services.spreadsheets`). The rows stream from a server-side cursor; rows past max_bytes
    are left out (complete=False).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    spec = TABLES[table]
    tx = Texts(lang)

    def worded(row: tuple) -> tuple:
        built = rows.build(spec.row, row)
        return spec.words(built, tx) if spec.words else built

    values = ([shown(v, lang) if isinstance(v, Localized) else v for v in worded(row)]
              for row in _stream(conn, spec.query, spec.row))
    if fmt == "xlsx":
        written = spreadsheets.write_xlsx(
            headers(table, tx), values, sheet=html.unescape(tx(f"rep_table_{table}")),
            timezone=timezone, date_format=tx("rep_xlsx_date"),
            datetime_format=tx("rep_xlsx_datetime"), max_bytes=max_bytes)
    else:
        written = spreadsheets.write_csv(
            headers(table, tx), values, separator=spreadsheets.csv_separator(tx.lang),
            timezone=timezone, max_bytes=max_bytes, decimal=get_decimal_symbol(tx.lang))
    filename = f"{table}-{local_today(now, timezone).isoformat()}.{fmt}"
    return Export(table, filename, written.data, written.rows, written.complete, fmt)


def record_export(conn, found: Export, *, actor_id: int) -> None:
    """The export in the audit log, on the primary (`exported_lately` reads it there)."""
    audit.record(conn, actor_id=actor_id, action="report.export", entity="report",
                 details={"table": found.table, "format": found.fmt, "rows": found.rows,
                          "complete": found.complete})
