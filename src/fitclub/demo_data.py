"""Demo data: membership plans, class types, two trainers and a week of classes.

Loaded by `python bot.py demo` so every feature has something to show. Loading twice adds
nothing: the first load leaves a marker in audit_log.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from fitclub.db.queries import Q


class Plan(NamedTuple):
    name: str
    price_minor: int
    duration_days: int
    visit_count: int | None
    name_tr: str | None = None  # in Russian (the name is English)


class ClassType(NamedTuple):
    name: str
    description: str
    duration_minutes: int
    capacity: int
    name_tr: str | None = None  # in Russian (the name and description are English)
    description_tr: str | None = None


class Trainer(NamedTuple):
    telegram_id: int
    first_name: str
    last_name: str


PLANS = (
    Plan("Monthly unlimited", 4_900, 30, None, "Безлимит на месяц"),
    Plan("10 visits", 3_500, 60, 10, "10 посещений"),
    Plan("Annual", 45_000, 365, None, "Годовой"),
)

CLASS_TYPES = (
    ClassType("Yoga", "Hatha yoga for every level: breathing, balance, flexibility.", 60, 15,
              "Йога", "Хатха-йога для любого уровня: дыхание, баланс, гибкость."),
    ClassType("HIIT", "High-intensity intervals: short, hard, done in 45 minutes.", 45, 12,
              "Интервальная", "Высокоинтенсивные интервалы: коротко, тяжело, за 45 минут."),
    ClassType("Spinning", "Indoor cycling to music; bring a towel and water.", 45, 20,
              "Сайкл", "Велотренировка под музыку; возьмите полотенце и воду."),
    ClassType("Pilates", "Mat Pilates for core strength and posture.", 55, 12,
              "Пилатес", "Пилатес на ковриках: сильный корпус и ровная осанка."),
    ClassType("Strength", "Barbell and kettlebell basics in a small group, coached.", 60, 8,
              "Силовая", "Основы работы со штангой и гирями в малой группе, с тренером."),
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


def timetable(today: date, timezone: str) -> list[tuple[datetime, str, int]]:
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
    for starts_at, type_name, trainer in timetable(today, timezone):
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


# -- members and three weeks of history (for rosters, reports, activity and the audit log) ---

class ClubMember(NamedTuple):
    telegram_id: int
    first_name: str
    last_name: str
    language: str


# Fake Telegram ids next to the trainers'; the demo opens their chats in tgemu, so
# announcements and notices reach them there.
CLUB_MEMBERS = (
    ClubMember(910001, "Olga", "Smirnova", "ru"),
    ClubMember(910002, "James", "Walker", "en"),
    ClubMember(910003, "Дмитрий", "Волков", "ru"),
    ClubMember(910004, "Sofia", "Rossi", "en"),
    ClubMember(910005, "Ирина", "Кузнецова", "ru"),
    ClubMember(910006, "Lukas", "Weber", "en"),
    ClubMember(910007, "Мария", "Соколова", "ru"),
    ClubMember(910008, "Emma", "Johnson", "en"),
    ClubMember(910009, "Алексей", "Попов", "ru"),
    ClubMember(910010, "Chloe", "Martin", "en"),
    ClubMember(910011, "Наталья", "Лебедева", "ru"),
    ClubMember(910012, "Noah", "Brown", "en"),
    ClubMember(910013, "Сергей", "Козлов", "ru"),
    ClubMember(910014, "Mia", "Schmidt", "en"),
    ClubMember(910015, "Elena", "Novak", "en"),
    ClubMember(910016, "Павел", "Морозов", "ru"),
)
HISTORY_DAYS = 21
DEMO_USER_VISITS_DAYS_AGO = (2, 5, 9, 12, 16, 19, 23, 30, 33, 40, 47, 51, 58, 65, 72)


def load_demo_history(conn, *, timezone: str, today: date | None = None,
                      seed: int = 2026) -> dict[str, Any]:
    """Members with memberships, the last three weeks of classes they attended (or missed),
    bookings and a waitlist on the coming classes, and a plan request; once per database
    (after `load_demo_data`), commits. The same seed gives the same history."""
    tz = ZoneInfo(timezone)
    now = datetime.now(tz)
    today = today or now.date()
    with conn, conn.cursor() as cur:
        cur.execute(Q["demo.lock"])
        cur.execute(Q["demo.history_loaded"])
        if cur.fetchone()[0]:
            return {"loaded": False}
        counts = _history(cur, random.Random(seed), today=today, timezone=timezone, now=now)
        cur.execute(Q["demo.mark_history_loaded"], {"details": json.dumps(counts)})
    return {"loaded": True, **counts}


def _history(cur, rng: random.Random, *, today: date, timezone: str,
             now: datetime) -> dict[str, int]:
    cur.execute(Q["demo.plans_by_name"], {"names": [p.name for p in PLANS]})
    plans = {name: (plan_id, days, visits) for name, plan_id, days, visits in cur.fetchall()}
    cur.execute(Q["demo.class_types_by_name"], {"names": [c.name for c in CLASS_TYPES]})
    types = {name: (type_id, minutes, capacity)
             for name, type_id, minutes, capacity in cur.fetchall()}
    trainer_ids = []
    for trainer in TRAINERS:
        cur.execute(Q["demo.upsert_trainer"], trainer._asdict())
        trainer_ids.append(cur.fetchone()[0])

    # Members, each with a membership; two end within the week, one has none (and asks).
    members: list[tuple[int, int | None, bool]] = []  # (member id, membership id, counted)
    plan_names = [p.name for p in PLANS]
    for i, person in enumerate(CLUB_MEMBERS):
        cur.execute(Q["demo.insert_member"], {
            **person._asdict(), "phone": f"+49151900{person.telegram_id % 10000:04d}",
            "registered_at": now - timedelta(days=HISTORY_DAYS + 3 * i, hours=i)})
        found = cur.fetchone()
        if found is None:
            continue
        member_id = found[0]
        if i == len(CLUB_MEMBERS) - 1:
            cur.execute(Q["demo.insert_plan_request"], {
                "member_id": member_id, "plan_id": plans["Annual"][0],
                "created_at": now - timedelta(hours=3)})
            members.append((member_id, None, False))
            continue
        plan_id, days, visits = plans[plan_names[i % len(plan_names)]]
        starts = today - timedelta(days=HISTORY_DAYS + i)
        ends = today + timedelta(days=3 + i) if i < 2 else starts + timedelta(days=days - 1)
        ends = max(ends, today + timedelta(days=2))
        cur.execute(Q["demo.insert_membership"], {
            "member_id": member_id, "plan_id": plan_id, "starts_on": starts, "ends_on": ends,
            "visits_left": None if visits is None else visits - 4})
        members.append((member_id, cur.fetchone()[0], visits is not None))
    paying = [m for m in members if m[1] is not None]

    # Three weeks of past classes on the usual timetable, each attended by a few members.
    bookings = visits = 0
    tz = ZoneInfo(timezone)
    for offset in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        slots = WEEKEND_SLOTS if day.weekday() >= 5 else WEEKDAY_SLOTS
        for index, (start, type_name) in enumerate(slots):
            type_id, minutes, capacity = types[type_name]
            starts_at = datetime.combine(day, start, tzinfo=tz)
            trainer = trainer_ids[(index + offset) % len(trainer_ids)]
            cur.execute(Q["demo.insert_past_class"], {
                "class_type_id": type_id, "trainer_id": trainer, "starts_at": starts_at,
                "duration_minutes": minutes, "capacity": capacity})
            class_id = cur.fetchone()[0]
            attendees = rng.sample(paying, rng.randint(1, min(capacity, 6)))
            for member_id, membership_id, counted in attendees:
                came = rng.random() > 0.1
                cur.execute(Q["demo.insert_booking"], {
                    "class_id": class_id, "member_id": member_id,
                    "status": "attended" if came else "no_show",
                    "membership_id": membership_id, "visit_reserved": counted,
                    "created_at": starts_at - timedelta(days=1)})
                bookings += 1
                if came:
                    cur.execute(Q["demo.insert_visit"], {
                        "member_id": member_id, "membership_id": membership_id,
                        "class_id": class_id, "checked_in_at": starts_at - timedelta(minutes=7),
                        "checked_in_by": trainer, "method": "qr"})
                    visits += 1

    # The coming classes: the first few get bookings; the first Strength class is full with
    # two in its waitlist.
    cur.execute(Q["demo.upcoming_classes"])
    upcoming = cur.fetchall()
    full = next((row[0] for row in upcoming if row[1] == "Strength"), None)
    targets = [row for row in upcoming if row[0] == full] + [
        row for row in upcoming[:6] if row[0] != full]
    for class_id, _name, capacity in targets:
        wanted = capacity + 2 if class_id == full else rng.randint(2, 6)
        for place, (member_id, membership_id, counted) in enumerate(
                rng.sample(paying, min(wanted, len(paying)))):
            waitlisted = place >= capacity
            cur.execute(Q["demo.insert_booking"], {
                "class_id": class_id, "member_id": member_id,
                "status": "waitlisted" if waitlisted else "booked",
                "membership_id": None if waitlisted else membership_id,
                "visit_reserved": counted and not waitlisted,
                "created_at": now - timedelta(hours=10 - place * 0.5)})
            bookings += 1
    return {"members": len(members), "bookings": bookings, "visits": visits}
