"""Report figures and CSV exports against real PostgreSQL: the club's day, month and weeks in
its time zone, occupancy by class type, active and expiring memberships, new members; XLSX
files read back by openpyxl (typed cells, headers in English and Russian), CSV files with a
byte-order mark, the locale's separator, local ISO times, Cyrillic, formulas defused after
any separator, size cap, audit."""

from __future__ import annotations

import csv
import io
import itertools
import tracemalloc
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from fitclub import callbacks as cb
from fitclub.services import reports
from tests import factories

BERLIN = "Europe/Berlin"
# Tuesday 10 March 2026, 11:00 in Berlin (UTC+1 until 29 March).
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


def local(*parts: int) -> datetime:
    """A Berlin wall-clock moment as UTC."""
    return datetime(*parts, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)


class Club:
    """Rows written straight into the test's database."""

    def __init__(self, db) -> None:
        self.db = db
        self.plan = factories.plan(db, "Month", price_minor=5000, duration_days=30,
                                   visit_count=12)
        self.trainer = self.member("Tina", role="trainer")
        self.types: dict[str, int] = {}

    def one(self, sql: str, params: tuple = ()) -> int:
        with self.db.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0] if cur.description else None

    def member(self, name: str, last: str | None = None, role: str = "member",
               registered: datetime | None = NOW, phone: str | None = None) -> int:
        return factories.member(self.db, None, name, last_name=last, phone=phone, role=role,
                                registered=registered)

    def membership(self, member_id: int, starts: date, ends: date, status: str = "active",
                   visits: int | None = 5) -> int:
        return factories.membership(self.db, member_id, self.plan, starts_on=starts,
                                    ends_on=ends, visits_left=visits, status=status)

    def cls(self, kind: str, starts: datetime, capacity: int = 10,
            status: str = "scheduled") -> int:
        if kind not in self.types:
            self.types[kind] = factories.class_type(self.db, kind, default_duration_minutes=60,
                                                    default_capacity=10)
        return factories.class_(self.db, self.trainer, starts, class_type_id=self.types[kind],
                                duration_minutes=60, capacity=capacity, status=status)

    def bookings(self, class_id: int, *statuses: str) -> None:
        for status in statuses:
            factories.booking(self.db, class_id, self.member("B"), status=status)

    def visit(self, member_id: int, at: datetime, method: str = "qr",
              class_id: int | None = None) -> int:
        return factories.visit(self.db, member_id, checked_in_at=at, method=method,
                               class_id=class_id)


@pytest.fixture
def club(db) -> Club:
    return Club(db)


def test_check_ins_of_the_club_day_by_method(db, club):
    anna = club.member("Anna")
    yoga = club.cls("Yoga", local(2026, 3, 10, 9, 0))
    club.visit(anna, local(2026, 3, 10, 0, 30))  # just after local midnight (23:30 UTC)
    club.visit(anna, local(2026, 3, 10, 8, 0))
    club.visit(anna, local(2026, 3, 10, 9, 0), "class", yoga)
    club.visit(anna, local(2026, 3, 10, 9, 5), "manual")
    club.visit(anna, local(2026, 3, 9, 23, 59))  # yesterday in Berlin
    club.visit(anna, local(2026, 3, 11, 0, 0))  # tomorrow
    found = reports.summary(db, NOW, ZoneInfo(BERLIN))
    assert found.today == TODAY
    assert found.checkins == 4
    assert found.by_method == (("class", 1), ("manual", 1), ("qr", 2))


def test_occupancy_counts_booked_and_attended_places_of_classes_held_in_30_days(db, club):
    one = club.cls("Yoga", NOW - timedelta(days=2))
    club.bookings(one, "booked", "booked", "booked", "attended", "attended", "no_show",
                  "cancelled", "waitlisted")
    two = club.cls("Yoga", NOW - timedelta(days=29, hours=23))
    club.bookings(two, "attended", "attended", "attended", "attended")
    club.bookings(club.cls("Yoga", NOW - timedelta(days=5), status="cancelled"), "booked")
    club.bookings(club.cls("Yoga", NOW - timedelta(days=30, minutes=1)), "attended")
    club.bookings(club.cls("Yoga", NOW + timedelta(hours=1)), "booked")
    club.bookings(club.cls("Boxing", NOW - timedelta(days=1), capacity=3), "booked", "attended")
    club.cls("Pilates", NOW + timedelta(days=1))
    found = reports.summary(db, NOW, ZoneInfo(BERLIN)).occupancy
    assert [(t.name, t.classes, t.places, t.taken, t.percent) for t in found] == [
        ("Boxing", 1, 3, 2, 67), ("Yoga", 2, 20, 9, 45)]


@pytest.mark.parametrize(("taken", "places", "percent"), [
    (0, 10, 0), (1, 8, 13), (1, 200, 1), (1, 201, 0), (3, 3, 100), (5, 0, 0)])
def test_occupancy_percent_rounds_halves_up(taken, places, percent):
    assert reports.TypeOccupancy(1, "Yoga", 1, places, taken).percent == percent


def test_active_expiring_and_new_members(db, club):
    # "Within 7 days" is today and the next six: A's last day is the seventh, I's the eighth.
    club.membership(club.member("A"), TODAY - timedelta(days=20), TODAY + timedelta(days=6))
    club.membership(club.member("I"), TODAY - timedelta(days=20), TODAY + timedelta(days=7))
    club.membership(club.member("B"), TODAY, TODAY + timedelta(days=30), visits=None)
    club.membership(club.member("H"), TODAY - timedelta(days=29), TODAY)
    club.membership(club.member("C"), TODAY - timedelta(days=31), TODAY - timedelta(days=1))
    club.membership(club.member("D"), TODAY - timedelta(days=5), TODAY + timedelta(days=3),
                    status="frozen")
    club.membership(club.member("E"), TODAY - timedelta(days=5), TODAY + timedelta(days=3),
                    status="cancelled")
    club.membership(club.member("F"), TODAY + timedelta(days=1), TODAY + timedelta(days=8))
    # Ends within 7 days but starts later: counted as expiring, not as active today.
    club.membership(club.member("G"), TODAY + timedelta(days=1), TODAY + timedelta(days=5))
    erased = club.member("X")
    club.membership(erased, TODAY, TODAY + timedelta(days=2))
    club.one("UPDATE members SET telegram_id = NULL, first_name = NULL, deleted_at = now()"
             " WHERE id = %s", (erased,))
    club.member("March", registered=local(2026, 3, 1, 0, 30))  # 28 Feb 23:30 UTC
    club.member("February", registered=local(2026, 2, 28, 23, 59))
    club.member("April", registered=local(2026, 4, 1, 0, 0))
    club.member("Trainer", registered=None)
    found = reports.summary(db, NOW, ZoneInfo(BERLIN))
    # A, B, H, I, and X: an erased member's membership stays an anonymous figure.
    assert found.active_members == 5
    assert found.expiring == 3  # A (its seventh day), H (today), G
    # Everyone above was registered at NOW (in March) except the four with their own dates;
    # the erased member counts (they joined this month all the same).
    registered_now = club.one("SELECT count(*) FROM members WHERE registered_at = %s", (NOW,))
    assert found.new_members == registered_now + 1
    listed = reports.expiring(db, NOW, ZoneInfo(BERLIN))
    assert listed.total == 3
    assert [(m.name, m.ends_on) for m in listed.members] == [
        ("H", TODAY), ("G", TODAY + timedelta(days=5)), ("A", TODAY + timedelta(days=6))]
    short = reports.expiring(db, NOW, ZoneInfo(BERLIN), limit=1)
    assert short.total == 3 and len(short.members) == 1


@pytest.mark.parametrize("first_week_day", [0, 6])
def test_weekly_attendance_of_the_last_12_local_weeks(db, club, first_week_day):
    anna = club.member("Anna")
    moments = [local(2026, 3, 10, 9, 0), local(2026, 3, 8, 23, 30), local(2026, 3, 9, 0, 10),
               local(2026, 1, 1, 12, 0), local(2025, 12, 15, 8, 0), local(2025, 12, 14, 8, 0),
               local(2025, 11, 1, 8, 0), NOW + timedelta(minutes=5)]
    for at in moments:
        club.visit(anna, at)
    weeks = reports.weekly_attendance(db, NOW, ZoneInfo(BERLIN), first_week_day)
    assert len(weeks) == 12
    assert all((b.start - a.start).days == 7 for a, b in itertools.pairwise(weeks))
    assert weeks[-1].start <= TODAY < weeks[-1].start + timedelta(days=7)
    assert all(w.start.weekday() == first_week_day for w in weeks)

    def start(day: date) -> date:
        return day - timedelta(days=(day.weekday() - first_week_day) % 7)

    zone = ZoneInfo(BERLIN)
    expected = Counter(start(at.astimezone(zone).date()) for at in moments
                       if at <= NOW and start(at.astimezone(zone).date()) >= weeks[0].start)
    assert {w.start: w.visits for w in weeks if w.visits} == dict(expected)
    # Sunday 8 March 23:30 and Monday 9 March 00:10 are one week when weeks start on Sunday,
    # two when they start on Monday.
    assert weeks[-1].visits == (3 if first_week_day == 6 else 2)


def _csv(export: reports.Export, separator: str = ",") -> list[list[str]]:
    assert export.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"), newline=""),
                           delimiter=separator))


def _xlsx(export: reports.Export) -> list[list[object]]:
    """The export's one sheet as openpyxl reads it, row by row."""
    book = openpyxl.load_workbook(io.BytesIO(export.data))
    assert len(book.sheetnames) == 1
    return [list(row) for row in book.active.iter_rows(values_only=True)]


MEMBER_HEADERS = {
    "en": ["Member ID", "First name", "Last name", "Phone", "Telegram username", "Language",
           "Role", "Registered", "Plan", "Membership status", "Membership starts",
           "Membership ends", "Visits left"],
    "ru": ["ID участника", "Имя", "Фамилия", "Телефон", "Имя пользователя в Telegram", "Язык",
           "Роль", "Дата регистрации", "Тариф", "Статус абонемента", "Начало абонемента",
           "Конец абонемента", "Осталось посещений"],
}


def _members_to_export(db, club) -> dict[str, int]:
    anna = club.member("Анна", "Петрова", phone="+79161234567",
                       registered=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    club.membership(anna, date(2026, 3, 1), date(2026, 3, 31), visits=None)
    evil = club.member("Anna;=1+1;", "-1+2", phone="+15551000001")
    club.membership(evil, date(2026, 2, 1), date(2026, 3, 2), visits=3, status="expired")
    erased = club.member("Gone")
    club.one("UPDATE members SET telegram_id = NULL, first_name = NULL, deleted_at = now()"
             " WHERE id = %s", (erased,))
    return {"anna": anna, "evil": evil, "admin": club.member("Ada", role="admin")}


@pytest.mark.parametrize(("lang", "sheet", "plan"), [("en", "Members", "Month"),
                                                     ("ru", "Участники", "Месяц")])
def test_members_xlsx_opens_with_typed_values_and_headers_in_the_admins_language(
        db, club, lang, sheet, plan):
    club.one("UPDATE membership_plans SET name_tr = 'Месяц'")
    who = _members_to_export(db, club)
    found = reports.export(db, "members", actor_id=who["admin"], now=NOW,
                           timezone=ZoneInfo(BERLIN), lang=lang)
    assert (found.rows, found.complete, found.fmt) == (4, True, "xlsx")
    assert found.filename == "members-2026-03-10.xlsx"
    assert openpyxl.load_workbook(io.BytesIO(found.data)).sheetnames == [sheet]
    table = _xlsx(found)
    assert table[0] == MEMBER_HEADERS[lang]
    by_id = {r[0]: r for r in table[1:]}
    assert sorted(by_id) == [club.trainer, who["anna"], who["evil"], who["admin"]]
    # Numbers as numbers, dates as dates, the registration in Berlin's time, text as typed.
    assert by_id[who["anna"]] == [
        who["anna"], "Анна", "Петрова", "+79161234567", None, "en", "member",
        datetime(2026, 3, 2, 0, 30), plan, "active", datetime(2026, 3, 1),
        datetime(2026, 3, 31), None]
    assert by_id[who["evil"]][1:4] == ["Anna;=1+1;", "-1+2", "+15551000001"]
    assert by_id[who["evil"]][12] == 3
    assert by_id[club.trainer][8:] == [None] * 5
    with db.cursor() as cur:
        cur.execute("SELECT actor_id, action, entity, details FROM audit_log")
        assert cur.fetchall() == [(who["admin"], "report.export", "report",
                                   {"table": "members", "format": "xlsx", "rows": 4,
                                    "complete": True})]


@pytest.mark.parametrize(("lang", "separator"), [("en", ","), ("ru", ";")])
def test_members_csv_in_the_locales_separator_with_formulas_defused(db, club, lang, separator):
    who = _members_to_export(db, club)
    found = reports.export(db, "members", "csv", actor_id=who["admin"], now=NOW,
                           timezone=ZoneInfo(BERLIN), lang=lang)
    assert (found.rows, found.complete, found.fmt) == (4, True, "csv")
    assert found.filename == "members-2026-03-10.csv"
    table = _csv(found, separator)
    assert table[0] == MEMBER_HEADERS[lang]
    by_id = {int(r[0]): r for r in table[1:]}
    assert sorted(by_id) == [club.trainer, who["anna"], who["evil"], who["admin"]]
    assert by_id[who["anna"]][1:] == ["Анна", "Петрова", "'+79161234567", "", "en", "member",
                                      "2026-03-02 00:30:00", "Month", "active", "2026-03-01",
                                      "2026-03-31", ""]
    # After any separator, not only at the start: no cell a program makes of the line starts
    # a formula, and the phone stays readable text.
    assert by_id[who["evil"]][1:4] == ["Anna;'=1+1;", "'-1+2", "'+15551000001"]
    line = next(x for x in found.data.decode("utf-8-sig").split("\r\n") if "Anna" in x)
    for other in ",;\t|":
        assert not any(c.lstrip('"').startswith(("=", "+", "-", "@"))
                       for c in line.split(other)), (other, line)
    with db.cursor() as cur:
        cur.execute("SELECT details FROM audit_log")
        assert cur.fetchall() == [({"table": "members", "format": "csv", "rows": 4,
                                    "complete": True},)]


def test_a_second_export_within_half_a_minute_is_a_double_tap(db, club):
    ada, bea = club.member("Ada", role="admin"), club.member("Bea", role="admin")
    assert not reports.exported_lately(db, "members", actor_id=ada)
    reports.export(db, "members", actor_id=ada, now=NOW, timezone=ZoneInfo(BERLIN))
    assert reports.exported_lately(db, "members", actor_id=ada)
    assert reports.exported_lately(db, "members", "xlsx", actor_id=ada)
    assert not reports.exported_lately(db, "members", "csv", actor_id=ada)  # another file
    assert not reports.exported_lately(db, "visits", actor_id=ada)
    assert not reports.exported_lately(db, "members", actor_id=bea)
    # An entry from before formats were recorded was a CSV file.
    club.one("INSERT INTO audit_log (actor_id, action, entity, details) VALUES"
             " (%s, 'report.export', 'report', '{\"table\": \"visits\"}')", (bea,))
    assert reports.exported_lately(db, "visits", "csv", actor_id=bea)
    assert not reports.exported_lately(db, "visits", "xlsx", actor_id=bea)
    club.one("UPDATE audit_log SET at = now() - interval '31 seconds'"
             " WHERE action = 'report.export'")
    assert not reports.exported_lately(db, "members", actor_id=ada)


def test_visits_and_bookings_match_their_tables(db, club):
    anna = club.member("Anna")
    yoga = club.cls("Йога", local(2026, 3, 9, 18, 0))
    club.bookings(yoga, "attended", "cancelled")
    club.visit(anna, local(2026, 3, 9, 17, 55), "class", yoga)
    with db.cursor() as cur:
        cur.execute("UPDATE visits SET checked_in_by = %s", (club.trainer,))
    club.visit(anna, local(2026, 3, 10, 8, 0))
    visits = _csv(reports.export(db, "visits", "csv", actor_id=club.trainer, now=NOW,
                                 timezone=ZoneInfo(BERLIN)))
    assert visits[0] == ["Visit ID", "Checked in at", "Member ID", "First name", "Last name",
                         "Check-in method", "Class ID", "Class", "Class starts",
                         "Membership ID", "Checked in by (ID)", "Checked in by"]
    assert [r[1:] for r in visits[1:]] == [
        ["2026-03-09 17:55:00", str(anna), "Anna", "", "class", str(yoga), "Йога",
         "2026-03-09 18:00:00", "", str(club.trainer), "Tina"],
        ["2026-03-10 08:00:00", str(anna), "Anna", "", "qr", "", "", "", "", "", ""]]
    sheet = _xlsx(reports.export(db, "visits", actor_id=club.trainer, now=NOW,
                                 timezone=ZoneInfo(BERLIN), lang="ru"))
    assert sheet[0][:3] == ["ID посещения", "Время посещения", "ID участника"]
    assert [r[1:] for r in sheet[1:]] == [
        [datetime(2026, 3, 9, 17, 55), anna, "Anna", None, "class", yoga, "Йога",
         datetime(2026, 3, 9, 18, 0), None, club.trainer, "Tina"],
        [datetime(2026, 3, 10, 8, 0), anna, "Anna", None, "qr", None, None, None, None, None,
         None]]
    bookings = _csv(reports.export(db, "bookings", "csv", actor_id=club.trainer, now=NOW,
                                   timezone=ZoneInfo(BERLIN)))
    assert bookings[0] == ["Booking ID", "Class ID", "Class", "Class starts", "Class status",
                           "Trainer", "Member ID", "First name", "Last name", "Booking status",
                           "Booked at", "Cancelled at", "Late cancellation"]
    with db.cursor() as cur:
        cur.execute("SELECT id, status FROM bookings ORDER BY id")
        expected = cur.fetchall()
    assert [(int(r[0]), r[9]) for r in bookings[1:]] == expected
    assert {tuple(r[1:6]) for r in bookings[1:]} == {
        (str(yoga), "Йога", "2026-03-09 18:00:00", "scheduled", "Tina")}
    assert [r[12] for r in bookings[1:]] == ["false", "false"]
    sheet = _xlsx(reports.export(db, "bookings", actor_id=club.trainer, now=NOW,
                                 timezone=ZoneInfo(BERLIN)))
    assert [(r[0], r[9], r[12]) for r in sheet[1:]] == [(i, s, False) for i, s in expected]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_stops_before_the_size_limit_and_says_so(db, club, fmt):
    for n in range(300):
        club.member(f"Member {n:03}")
    whole = reports.export(db, "members", fmt, actor_id=club.trainer, now=NOW,
                           timezone=ZoneInfo(BERLIN))
    limit = len(whole.data) // 2 if fmt == "csv" else 20_000
    cut = reports.export(db, "members", fmt, actor_id=club.trainer, now=NOW,
                         timezone=ZoneInfo(BERLIN), max_bytes=limit)
    assert whole.complete and whole.rows == 301
    assert not cut.complete and 0 < cut.rows < 301
    assert len(cut.data) <= limit
    rows = _csv(cut) if fmt == "csv" else _xlsx(cut)
    assert len(rows) == cut.rows + 1
    if fmt == "csv":
        assert whole.data.startswith(cut.data)


def test_the_report_and_the_buttons_know_the_same_formats():
    assert cb.EXPORT_FORMATS == reports.FORMATS and tuple(reports.TABLES) == cb.EXPORTS


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_holds_one_row_at_a_time_not_the_table(db, club, fmt, monkeypatch):
    """Python's memory at the peak of an export of 5,000 members is the file (and one copy of
    it as it is handed over) and a little more: rows stream from the cursor a batch at a time
    (200 here) and the XLSX sheet goes to a temporary file as it is written, so no list of
    the table's rows is ever built (5,000 rows held at once would take several MB)."""
    monkeypatch.setattr(reports, "EXPORT_BATCH", 200)
    club.one("""INSERT INTO members (telegram_id, first_name, last_name, phone, language, role,
                                     username, registered_at)
                SELECT 5000000 + g, 'Участник ' || g, 'Петрова-Иванова',
                       '+7916' || lpad(g::text, 7, '0'), 'ru', 'member', 'user_' || g, now()
                FROM generate_series(1, 5000) g""")
    club.one("""INSERT INTO memberships (member_id, plan_id, starts_on, ends_on, visits_left,
                                         status)
                SELECT id, %s, '2026-03-01', '2026-03-31', 7, 'active' FROM members""",
             (club.plan,))
    reports.export(db, "visits", fmt, actor_id=club.trainer, now=NOW, timezone=ZoneInfo(BERLIN),
                   lang="ru")  # imports and the catalog loaded before measuring
    tracemalloc.start()
    try:
        found = reports.export(db, "members", fmt, actor_id=club.trainer, now=NOW,
                               timezone=ZoneInfo(BERLIN), lang="ru")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found.rows == 5001 and found.complete
    assert peak - 2 * len(found.data) < 1_500_000, (peak, len(found.data))
