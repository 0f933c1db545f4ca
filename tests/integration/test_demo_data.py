"""Demo data: plans, class types, trainers and a week of upcoming classes, loaded once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fitclub.demo_data import CLASS_TYPES, PLANS, TRAINERS, WEEKDAY_SLOTS, WEEKEND_SLOTS
from fitclub.demo_data import load_demo_data as load


def _scalar(conn, query: str, params: dict | None = None):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def _next_monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def test_loads_plans_class_types_and_trainers(db):
    result = load(db, timezone="UTC")
    assert result["loaded"] is True
    assert (result["plans"], result["class_types"], result["trainers"]) == (
        len(PLANS), len(CLASS_TYPES), len(TRAINERS))
    assert _scalar(db, "SELECT count(*) FROM membership_plans WHERE visit_count = 10") == 1
    roles = _scalar(db, "SELECT array_agg(DISTINCT role) FROM members")
    assert roles == ["trainer"]
    # Registered, so the web chat can switch to a trainer and open the staff side at once.
    assert _scalar(db, "SELECT bool_and(registered_at IS NOT NULL) FROM members") is True


def test_loading_twice_adds_nothing(db):
    first = load(db, timezone="UTC")
    classes = _scalar(db, "SELECT count(*) FROM classes")
    second = load(db, timezone="UTC")
    assert second["loaded"] is False
    assert second["classes_added"] == 0
    assert _scalar(db, "SELECT count(*) FROM classes") == classes
    assert {k: second[k] for k in ("plans", "class_types", "trainers")} == {
        k: first[k] for k in ("plans", "class_types", "trainers")}


def test_classes_are_upcoming_within_a_week(db):
    result = load(db, timezone="Europe/Berlin")
    assert result["classes_added"] > 0
    assert result["upcoming_classes"] == result["classes_added"]
    outside = _scalar(db, "SELECT count(*) FROM classes WHERE starts_at <= now() "
                          "OR starts_at >= now() + interval '7 days'")
    assert outside == 0
    # Both trainers teach, and every class takes its type's duration and capacity.
    assert _scalar(db, "SELECT count(DISTINCT trainer_id) FROM classes") == len(TRAINERS)
    mismatched = _scalar(db, """
        SELECT count(*) FROM classes c JOIN class_types t ON t.id = c.class_type_id
        WHERE c.duration_minutes <> t.default_duration_minutes
           OR c.capacity <> t.default_capacity""")
    assert mismatched == 0


def test_a_full_week_follows_the_timetable_in_the_club_time_zone(db):
    monday = _next_monday()
    result = load(db, timezone="Asia/Tokyo", today=monday)
    assert result["classes_added"] == 5 * len(WEEKDAY_SLOTS) + 2 * len(WEEKEND_SLOTS)
    with db.cursor() as cur:
        cur.execute("SELECT starts_at FROM classes ORDER BY starts_at")
        starts = [row[0].astimezone(ZoneInfo("Asia/Tokyo")) for row in cur.fetchall()]
    assert starts[0] == datetime.combine(monday, WEEKDAY_SLOTS[0][0],
                                         tzinfo=ZoneInfo("Asia/Tokyo"))
    assert {s.date() for s in starts} == {monday + timedelta(days=i) for i in range(7)}
    saturday = [s.time() for s in starts if s.weekday() == 5]
    assert saturday == [slot for slot, _ in WEEKEND_SLOTS]
