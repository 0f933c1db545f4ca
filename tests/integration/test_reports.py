"""Report figures and CSV exports against real PostgreSQL: the club's day, month and weeks in
its time zone, occupancy by class type, active and expiring memberships, new members; CSV
files with a byte-order mark, local ISO times, Cyrillic, formulas defused, size cap, audit."""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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
    assert found.active_members == 4  # A, B, H, I
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


def _csv(export: reports.Export) -> list[list[str]]:
    assert export.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"), newline="")))


def test_members_csv_with_cyrillic_local_times_and_formulas_defused(db, club):
    anna = club.member("Анна", "Петрова", phone="+79161234567",
                       registered=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    club.membership(anna, date(2026, 3, 1), date(2026, 3, 31), visits=None)
    evil = club.member("=HYPERLINK(\"x\")", "-1+2")
    erased = club.member("Gone")
    club.one("UPDATE members SET telegram_id = NULL, first_name = NULL, deleted_at = now()"
             " WHERE id = %s", (erased,))
    admin = club.member("Ada", role="admin")
    found = reports.export(db, "members", actor_id=admin, now=NOW, timezone=ZoneInfo(BERLIN))
    table = _csv(found)
    assert table[0] == list(reports.MemberRow._fields)
    by_id = {int(r[0]): r for r in table[1:]}
    assert sorted(by_id) == [club.trainer, anna, evil, admin]
    assert found.rows == 4 and found.complete and found.filename == "members-2026-03-10.csv"
    assert by_id[anna][1:8] == ["Анна", "Петрова", "+79161234567", "", "en", "member",
                                "2026-03-02 00:30:00"]
    assert by_id[anna][8:] == ["Month", "active", "2026-03-01", "2026-03-31", ""]
    assert by_id[evil][1:3] == ["'=HYPERLINK(\"x\")", "'-1+2"]
    assert by_id[club.trainer][8:] == ["", "", "", "", ""]
    with db.cursor() as cur:
        cur.execute("SELECT actor_id, action, entity, details FROM audit_log")
        assert cur.fetchall() == [(admin, "report.export", "report",
                                   {"table": "members", "rows": 4, "complete": True})]


def test_a_second_export_within_half_a_minute_is_a_double_tap(db, club):
    ada, bea = club.member("Ada", role="admin"), club.member("Bea", role="admin")
    assert not reports.exported_lately(db, "members", actor_id=ada)
    reports.export(db, "members", actor_id=ada, now=NOW, timezone=ZoneInfo(BERLIN))
    assert reports.exported_lately(db, "members", actor_id=ada)
    assert not reports.exported_lately(db, "visits", actor_id=ada)
    assert not reports.exported_lately(db, "members", actor_id=bea)
    club.one("UPDATE audit_log SET at = now() - interval '31 seconds'"
             " WHERE action = 'report.export'")
    assert not reports.exported_lately(db, "members", actor_id=ada)


def test_visits_and_bookings_csv_match_their_tables(db, club):
    anna = club.member("Anna")
    yoga = club.cls("Йога", local(2026, 3, 9, 18, 0))
    club.bookings(yoga, "attended", "cancelled")
    club.visit(anna, local(2026, 3, 9, 17, 55), "class", yoga)
    with db.cursor() as cur:
        cur.execute("UPDATE visits SET checked_in_by = %s", (club.trainer,))
    club.visit(anna, local(2026, 3, 10, 8, 0))
    visits = _csv(reports.export(db, "visits", actor_id=club.trainer, now=NOW,
                                 timezone=ZoneInfo(BERLIN)))
    assert visits[0] == list(reports.VisitRow._fields)
    assert [r[1:] for r in visits[1:]] == [
        ["2026-03-09 17:55:00", str(anna), "Anna", "", "class", str(yoga), "Йога",
         "2026-03-09 18:00:00", "", str(club.trainer), "Tina"],
        ["2026-03-10 08:00:00", str(anna), "Anna", "", "qr", "", "", "", "", "", ""]]
    bookings = _csv(reports.export(db, "bookings", actor_id=club.trainer, now=NOW,
                                   timezone=ZoneInfo(BERLIN)))
    assert bookings[0] == list(reports.BookingRow._fields)
    with db.cursor() as cur:
        cur.execute("SELECT id, status FROM bookings ORDER BY id")
        expected = cur.fetchall()
    assert [(int(r[0]), r[9]) for r in bookings[1:]] == expected
    assert {tuple(r[1:6]) for r in bookings[1:]} == {
        (str(yoga), "Йога", "2026-03-09 18:00:00", "scheduled", "Tina")}
    assert [r[12] for r in bookings[1:]] == ["false", "false"]


def test_an_export_stops_before_the_size_limit_and_says_so(db, club):
    for n in range(50):
        club.member(f"Member {n:02}")
    whole = reports.export(db, "members", actor_id=club.trainer, now=NOW,
                           timezone=ZoneInfo(BERLIN))
    cut = reports.export(db, "members", actor_id=club.trainer, now=NOW,
                         timezone=ZoneInfo(BERLIN), max_bytes=len(whole.data) // 2)
    assert whole.complete and whole.rows == 51
    assert not cut.complete and 0 < cut.rows < 51
    assert len(cut.data) <= len(whole.data) // 2
    assert whole.data.startswith(cut.data)
    assert len(_csv(cut)) == cut.rows + 1


def test_cells():
    berlin = ZoneInfo(BERLIN)
    assert reports.cell(datetime(2026, 7, 1, 10, 0, 5, 999, tzinfo=UTC), berlin) == (
        "2026-07-01 12:00:05")
    assert reports.cell(date(2026, 7, 1), berlin) == "2026-07-01"
    assert reports.cell(None, berlin) == "" and reports.cell(False, berlin) == "false"
    assert reports.cell(7, berlin) == "7"
    assert reports.cell("+49151", berlin) == "+49151"  # a phone is not typed text
    assert reports.cell("@x", berlin, typed=True) == "'@x"
