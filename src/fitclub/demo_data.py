"""Demo data: membership plans, class types, two trainers and a week of classes.

Loaded by `python bot.py demo` so every feature has something to show. Loading twice adds
nothing: the first load leaves a marker in audit_log.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from fitclub.db.queries import Q


class Plan(NamedTuple):
    name: str
    price_minor: int
    duration_days: int
    visit_count: int | None


class ClassType(NamedTuple):
    name: str
    description: str
    duration_minutes: int
    capacity: int


class Trainer(NamedTuple):
    telegram_id: int
    first_name: str
    last_name: str


PLANS = (
    Plan("Monthly unlimited", 4_900, 30, None),
    Plan("10 visits", 3_500, 60, 10),
    Plan("Annual", 45_000, 365, None),
)

CLASS_TYPES = (
    ClassType("Yoga", "Hatha yoga for every level: breathing, balance, flexibility.", 60, 15),
    ClassType("HIIT", "High-intensity intervals: short, hard, done in 45 minutes.", 45, 12),
    ClassType("Spinning", "Indoor cycling to music; bring a towel and water.", 45, 20),
    ClassType("Pilates", "Mat Pilates for core strength and posture.", 55, 12),
    ClassType("Strength", "Barbell and kettlebell basics in a small group, coached.", 60, 8),
)

# Fake Telegram ids, far from tgemu's own (1_000_001 and up) and from the demo user's.
TRAINERS = (
    Trainer(900001, "Anna", "Petrova"),
    Trainer(900002, "Mark", "Stone"),
)

# (start time, class type) per day; weekends are shorter.
WEEKDAY_SLOTS = (
    (time(7, 30), "Spinning"),
    (time(9, 0), "Yoga"),
    (time(12, 30), "Pilates"),
    (time(18, 0), "HIIT"),
    (time(19, 30), "Strength"),
)
WEEKEND_SLOTS = (
    (time(10, 0), "Yoga"),
    (time(11, 30), "HIIT"),
    (time(13, 0), "Pilates"),
)
DAYS = 7


def schedule(today: date, timezone: str) -> list[tuple[datetime, str, int]]:
    """(start, class type, trainer index) for DAYS days from today, in the club's time zone."""
    tz = ZoneInfo(timezone)
    out = []
    for offset in range(DAYS):
        day = today + timedelta(days=offset)
        slots = WEEKEND_SLOTS if day.weekday() >= 5 else WEEKDAY_SLOTS
        for index, (start, type_name) in enumerate(slots):
            # Alternate trainers by slot and day so both have classes every day.
            trainer = (index + offset) % len(TRAINERS)
            out.append((datetime.combine(day, start, tzinfo=tz), type_name, trainer))
    return out


def load_demo_data(conn, *, timezone: str, today: date | None = None) -> dict[str, Any]:
    """Insert the demo data unless it is there already; commits. Returns what the database holds.

    Classes start on `today` (the club's today by default); slots already past are skipped.
    """
    tz = ZoneInfo(timezone)
    now = datetime.now(tz)
    today = today or now.date()
    with conn, conn.cursor() as cur:
        cur.execute(Q["demo.lock"])
        cur.execute(Q["demo.loaded"])
        already = cur.fetchone()[0]
        added = 0
        if not already:
            added = _insert(cur, today=today, timezone=timezone, now=now)
        cur.execute(Q["demo.counts"])
        plans, class_types, trainers, upcoming = cur.fetchone()
    return {"loaded": not already, "classes_added": added, "plans": plans,
            "class_types": class_types, "trainers": trainers, "upcoming_classes": upcoming}


def _insert(cur, *, today: date, timezone: str, now: datetime) -> int:
    for plan in PLANS:
        cur.execute(Q["demo.insert_plan"], plan._asdict())
    for ctype in CLASS_TYPES:
        cur.execute(Q["demo.insert_class_type"], ctype._asdict())
    cur.execute(Q["demo.class_types_by_name"], {"names": [c.name for c in CLASS_TYPES]})
    types = {name: (type_id, minutes, capacity)
             for name, type_id, minutes, capacity in cur.fetchall()}
    trainer_ids = []
    for trainer in TRAINERS:
        cur.execute(Q["demo.upsert_trainer"], trainer._asdict())
        trainer_ids.append(cur.fetchone()[0])
    added = 0
    for starts_at, type_name, trainer in schedule(today, timezone):
        if starts_at <= now:
            continue
        type_id, minutes, capacity = types[type_name]
        cur.execute(Q["demo.insert_class"], {
            "class_type_id": type_id, "trainer_id": trainer_ids[trainer],
            "starts_at": starts_at, "duration_minutes": minutes, "capacity": capacity,
        })
        added += 1
    cur.execute(Q["demo.mark_loaded"], {"details": json.dumps(
        {"from": today.isoformat(), "days": DAYS, "classes": added, "timezone": timezone})})
    return added
