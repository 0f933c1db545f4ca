"""Activity numbers against real PostgreSQL: months and weeks in the club's time zone, the
weekly streak (across a year boundary), daylight-saving changes, the first day of the week,
classes and the favourite class type."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fitclub.locales import Texts
from fitclub.services import activity
from tests import factories

BERLIN = "Europe/Berlin"
MONDAY, SUNDAY = 0, 6


class Club:
    """Members, classes and visits written straight into the test's database."""

    def __init__(self, db) -> None:
        self.db = db
        self.types: dict[str, int] = {}
        self.trainer = self.member(1, "trainer")

    def member(self, telegram_id: int, role: str = "member") -> int:
        return factories.member(self.db, telegram_id, "M", role=role)

    def visit(self, member_id: int, at: datetime, kind: str | None = None) -> None:
        """A check-in at `at`; with a class type, a class check-in to a class of that type."""
        class_id = None
        if kind is not None:
            if kind not in self.types:
                self.types[kind] = factories.class_type(self.db, kind,
                                                        default_duration_minutes=60,
                                                        default_capacity=10)
            class_id = factories.class_(self.db, self.trainer, at, class_type_id=self.types[kind],
                                        duration_minutes=60, capacity=10)
        factories.visit(self.db, member_id, class_id=class_id, checked_in_at=at,
                        method="class" if class_id else "qr")


def local(tz: str, *parts: int, fold: int = 0) -> datetime:
    """A wall-clock moment in tz, as UTC."""
    return datetime(*parts, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def counted_weeks(stats: activity.Activity) -> dict[date, int]:
    """The chart's weeks that have visits."""
    return {w.start: w.visits for w in stats.weeks if w.visits}


def expected(visits: list[tuple[datetime, str | None]], now: datetime, tz: str,
             first_week_day: int) -> activity.Activity:
    """The numbers worked out in Python from the seeded list (no SQL)."""
    zone = ZoneInfo(tz)
    seen = sorted((at, kind) for at, kind in visits if at <= now)
    days = [at.astimezone(zone).date() for at, _ in seen]
    today = now.astimezone(zone).date()
    month = today.replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)

    def start(day: date) -> date:
        while day.weekday() != first_week_day:
            day -= timedelta(days=1)
        return day

    per_week = Counter(start(d) for d in days)
    week = start(today)
    if not per_week[week]:
        week -= timedelta(days=7)
    streak = 0
    while per_week[week]:
        streak += 1
        week -= timedelta(days=7)
    kinds = Counter(kind for _, kind in seen if kind)
    last = {kind: at for at, kind in seen if kind}
    favourite = max(kinds, key=lambda k: (kinds[k], last[k])) if kinds else None
    this_week = start(today)
    return activity.Activity(
        this_month=sum(d >= month for d in days),
        last_month=sum(previous <= d < month for d in days),
        streak=streak,
        classes=sum(kinds.values()),
        total=len(days),
        favourite=favourite,
        weeks=tuple(activity.Week(this_week - timedelta(weeks=n),
                                  per_week[this_week - timedelta(weeks=n)])
                    for n in range(11, -1, -1)))


@pytest.mark.parametrize("tz", [BERLIN, "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("first_week_day", [MONDAY, SUNDAY])
def test_numbers_match_the_database_for_a_seeded_history(db, tz, first_week_day):
    club = Club(db)
    anna, other = club.member(10), club.member(11)
    rng = random.Random(f"{tz}{first_week_day}")
    now = local(tz, 2026, 4, 2, 19, 0)
    history = []
    # Two years of visits, dense in the last weeks (a live streak), often near midnight.
    for _ in range(260):
        back = rng.choice([rng.uniform(0, 60), rng.uniform(0, 730)])
        at = now - timedelta(days=back)
        at = at.replace(minute=rng.choice([0, 15, 59])) + timedelta(
            hours=rng.choice([0, 0, 1, -1]))
        kind = rng.choice([None, None, "Yoga", "Pilates", "Box & Core"])
        history.append((at, kind))
    future = (now + timedelta(hours=2), None)  # not yet happened: not counted
    for at, kind in [*history, future]:
        club.visit(anna, at, kind)
    club.visit(other, now - timedelta(days=1), "Yoga")  # someone else's
    stats = activity.of_member(db, anna, now, ZoneInfo(tz), first_week_day)
    assert stats == expected(history, now, tz, first_week_day)
    assert stats.total == len(history) and stats.classes > 0 and stats.streak > 0


def test_streak_runs_across_the_year_boundary(db):
    club = Club(db)
    anna = club.member(10)
    # Weekly visits from December into January; the week 29 Dec 2025 - 4 Jan 2026 has two.
    for day in (date(2025, 12, 3), date(2025, 12, 9), date(2025, 12, 17), date(2025, 12, 26),
                date(2025, 12, 31), date(2026, 1, 3), date(2026, 1, 8), date(2026, 1, 14)):
        club.visit(anna, local(BERLIN, day.year, day.month, day.day, 18, 30))
    now = local(BERLIN, 2026, 1, 14, 21, 0)
    stats = activity.of_member(db, anna, now, ZoneInfo(BERLIN), MONDAY)
    assert stats.streak == 7  # weeks of 1, 8, 15, 22, 29 Dec, 5 and 12 Jan
    assert counted_weeks(stats)[date(2025, 12, 29)] == 2
    assert (stats.this_month, stats.last_month) == (3, 5)
    assert stats.weeks[-1].start == date(2026, 1, 12)
    # This week without a visit yet: the streak still counts through last week...
    next_week = activity.of_member(db, anna, now + timedelta(days=6), ZoneInfo(BERLIN), MONDAY)
    assert next_week.streak == 7 and next_week.weeks[-1] == (date(2026, 1, 19), 0)
    # ...and a whole week without one ends it.
    assert activity.of_member(db, anna, now + timedelta(days=13), ZoneInfo(BERLIN),
                              MONDAY).streak == 0
    # Weeks from Sunday: 28 Dec - 3 Jan holds both year-end visits; the streak is as long.
    sunday = activity.of_member(db, anna, now, ZoneInfo(BERLIN), SUNDAY)
    assert counted_weeks(sunday)[date(2025, 12, 28)] == 2 and sunday.streak == 7


# Visits a few minutes either side of midnight around a daylight-saving change in Berlin
# (29 March 2026: 02:00 -> 03:00; 25 October 2026: 03:00 -> 02:00), and the week each belongs
# to. In UTC each pair falls on the same day; a fixed offset (today's) moves some of them.
DST_CASES = {
    "spring, weeks from Monday": (
        MONDAY, (2026, 4, 2, 12, 0), [
            ((2026, 3, 22, 23, 30), date(2026, 3, 16)),  # Sunday, CET
            ((2026, 3, 23, 0, 30), date(2026, 3, 23)),  # Monday, CET (Sunday 23:30 UTC)
            ((2026, 3, 29, 23, 30), date(2026, 3, 23)),  # the Sunday of the change, CEST
            ((2026, 3, 30, 0, 30), date(2026, 3, 30)),  # Monday after, CEST (Sunday 22:30 UTC)
        ]),
    "spring, weeks from Sunday": (
        SUNDAY, (2026, 4, 2, 12, 0), [
            ((2026, 3, 28, 23, 30), date(2026, 3, 22)),  # Saturday, CET
            ((2026, 3, 29, 0, 30), date(2026, 3, 29)),  # Sunday, CET (Saturday 23:30 UTC)
            ((2026, 3, 29, 3, 30), date(2026, 3, 29)),  # Sunday, just after the change
        ]),
    "autumn, weeks from Monday": (
        MONDAY, (2026, 10, 28, 12, 0), [
            ((2026, 10, 18, 23, 30), date(2026, 10, 12)),  # Sunday, CEST
            ((2026, 10, 19, 0, 30), date(2026, 10, 19)),  # Monday, CEST (Sunday 22:30 UTC)
            ((2026, 10, 25, 23, 30), date(2026, 10, 19)),  # the Sunday of the change, CET
            ((2026, 10, 26, 0, 30), date(2026, 10, 26)),  # Monday after, CET (Sunday 23:30 UTC)
        ]),
    "autumn, weeks from Sunday": (
        SUNDAY, (2026, 10, 28, 12, 0), [
            ((2026, 10, 24, 23, 30), date(2026, 10, 18)),  # Saturday, CEST
            ((2026, 10, 25, 0, 30), date(2026, 10, 25)),  # Sunday, CEST (Saturday 22:30 UTC)
            ((2026, 10, 25, 2, 30), date(2026, 10, 25)),  # Sunday, the repeated hour (CET)
        ]),
}


@pytest.mark.parametrize("case", DST_CASES.values(), ids=DST_CASES.keys())
def test_visits_around_a_daylight_saving_change_land_in_their_local_week(db, case):
    first_week_day, now, visits = case
    club = Club(db)
    anna = club.member(10)
    for wall, _ in visits:
        club.visit(anna, local(BERLIN, *wall, fold=1))
    stats = activity.of_member(db, anna, local(BERLIN, *now), ZoneInfo(BERLIN), first_week_day)
    assert counted_weeks(stats) == Counter(week for _, week in visits)
    assert stats.total == len(visits)


def test_the_first_day_of_the_week_decides_the_buckets(db):
    club = Club(db)
    anna = club.member(10)
    sunday, monday = local(BERLIN, 2026, 5, 10, 10, 0), local(BERLIN, 2026, 5, 11, 10, 0)
    club.visit(anna, sunday)
    club.visit(anna, monday)
    now = local(BERLIN, 2026, 5, 12, 10, 0)
    from_monday = activity.of_member(db, anna, now, ZoneInfo(BERLIN), MONDAY)
    from_sunday = activity.of_member(db, anna, now, ZoneInfo(BERLIN), SUNDAY)
    assert counted_weeks(from_monday) == {date(2026, 5, 4): 1, date(2026, 5, 11): 1}
    assert counted_weeks(from_sunday) == {date(2026, 5, 10): 2}
    assert (from_monday.streak, from_sunday.streak) == (2, 1)
    # Weeks start where the member's language starts them (Babel's CLDR data).
    assert Texts("ru").first_week_day == MONDAY


def test_months_are_calendar_months_in_the_club_time_zone(db):
    club = Club(db)
    anna = club.member(10)
    club.visit(anna, local(BERLIN, 2026, 2, 28, 23, 30))  # February in Berlin, too
    club.visit(anna, local(BERLIN, 2026, 3, 1, 0, 30))  # March in Berlin, February in UTC
    club.visit(anna, local(BERLIN, 2026, 3, 31, 23, 30))  # March
    club.visit(anna, local(BERLIN, 2026, 4, 1, 0, 30))  # April in Berlin, March in UTC
    stats = activity.of_member(db, anna, local(BERLIN, 2026, 4, 10, 12, 0), ZoneInfo(BERLIN),
                               MONDAY)
    assert (stats.this_month, stats.last_month, stats.total) == (1, 2, 4)
    # Counted in UTC instead, April would have none, and March the last two.
    utc = activity.of_member(db, anna, local(BERLIN, 2026, 4, 10, 12, 0), ZoneInfo("UTC"), MONDAY)
    assert (utc.this_month, utc.last_month) == (0, 2)


def test_favourite_is_the_type_visited_most_and_a_tie_goes_to_the_latest(db):
    club = Club(db)
    anna = club.member(10)
    now = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    for days_ago, kind in ((20, "Yoga"), (15, "Pilates"), (10, "Yoga"), (5, "Pilates"),
                           (1, None), (2, None), (3, None)):
        club.visit(anna, now - timedelta(days=days_ago), kind)
    stats = activity.of_member(db, anna, now, ZoneInfo("UTC"), MONDAY)
    assert (stats.favourite, stats.classes, stats.total) == ("Pilates", 4, 7)
    club.visit(anna, now - timedelta(days=30), "Yoga")  # an older visit breaks the tie
    assert activity.of_member(db, anna, now, ZoneInfo("UTC"), MONDAY).favourite == "Yoga"
    club.visit(anna, now - timedelta(days=40), "Pilates")  # tied again: Pilates came last
    assert activity.of_member(db, anna, now, ZoneInfo("UTC"), MONDAY).favourite == "Pilates"


def test_no_visits_is_all_zeros_and_twelve_empty_weeks(db):
    club = Club(db)
    anna = club.member(10)
    club.visit(club.member(11), datetime(2026, 6, 29, tzinfo=UTC), "Yoga")  # not Anna's
    stats = activity.of_member(db, anna, datetime(2026, 6, 30, 12, tzinfo=UTC),
                               ZoneInfo(BERLIN), MONDAY)
    assert stats[:6] == (0, 0, 0, 0, 0, None)
    assert [w.visits for w in stats.weeks] == [0] * 12
    assert stats.weeks[-1].start == date(2026, 6, 29)
    assert stats.weeks[0].start == date(2026, 6, 29) - timedelta(weeks=11)
