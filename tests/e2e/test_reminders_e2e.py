"""/settings, and reminders sent once across processes and restarts."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests import factories
from tests.e2e import harness
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, buttons

JOBS_BOT = Path(__file__).with_name("jobs_probe_bot.py")


def _member(db_url: str, person: Person, language: str = "en") -> int:
    return factories.member(db_url, person.id, f"M{person.id}", phone=f"+1555{person.id}",
                            language=language)


def test_settings_switch_reminders_and_language_in_place(emu, launcher, db_url):
    anna = Person(emu, "Anna")
    _member(db_url, anna)
    launcher.start(db_url)
    (screen,) = anna.send("/settings")
    assert "Reminders: on" in screen["text"]
    anna.press(screen, "Turn reminders off")
    anna.wait_edit(screen["message_id"], "Reminders: off")
    assert query(db_url, "SELECT reminders_enabled FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [(False,)]
    anna.press(anna.now(screen["message_id"]), "Русский")
    now = anna.wait_edit(screen["message_id"], "Напоминания: выключены")
    assert "Включить напоминания" in str(now["reply_markup"])
    assert query(db_url, "SELECT language FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [("ru",)]
    anna.press(now, "Включить")
    anna.wait_edit(screen["message_id"], "Напоминания: включены")
    assert len(anna.messages()) == 1  # everything happened in place


# -- reminders across two processes and a restart ------------------------------------------------

REMINDER = "Reminder:"
EXPIRY = "ends on"
LAST_VISIT = "One visit left"
REMINDER_ENV = {"JOB_POLL_SECONDS": "0.2", "REMINDER_HOURS": "2", "CANCEL_WINDOW_HOURS": "1"}


def _club(db_url: str) -> None:
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    factories.class_type(db_url, "Yoga", description="Slow flow", default_duration_minutes=60,
                         default_capacity=50)
    factories.member(db_url, 1, "Tina", role="trainer", registered=False)


def _class(db_url: str, starts_in: timedelta) -> int:
    (trainer_id,), = query(db_url, "SELECT id FROM members WHERE telegram_id = 1")
    return factories.class_(db_url, trainer_id, datetime.now(UTC) + starts_in,
                            duration_minutes=60, capacity=50)


def _members(db_url: str, people: list[Person], *, ends_in_days: int = 30, visits: int = 10,
             reminders: bool = True, blocked: bool = False) -> None:
    ids = factories.members(db_url, [{"telegram_id": p.id, "first_name": f"M{p.id}",
                                      "phone": f"+1555{p.id}"} for p in people],
                            reminders_enabled=reminders, blocked=blocked)
    factories.memberships(db_url, ids, starts_on=-1, ends_on=ends_in_days, visits_left=visits)


def _book(db_url: str, people: list[Person], class_id: int) -> None:
    for (member_id,) in query(db_url, "SELECT id FROM members WHERE telegram_id = ANY(%s)"
                                      " ORDER BY id", ([p.id for p in people],)):
        factories.booking(db_url, class_id, member_id, status="booked")


def _people(emu, prefix: str, n: int) -> list[Person]:
    people = [Person(emu, f"{prefix}{i}") for i in range(n)]
    for person in people:
        person.user.send_text(TOKEN, "hi")  # a bot may only write to users who wrote first
    return people


def _count(person: Person, text: str) -> int:
    return sum(text in (m.get("text") or "") for m in person.messages())


def _sweep_now(db_url: str) -> None:
    """Make the minutely sweep due at once (instead of waiting for its next minute)."""
    query(db_url, "UPDATE jobs SET run_at = now() WHERE kind = 'reminder_sweep'")


def test_each_reminder_is_sent_once_by_two_processes_across_a_restart(emu, launcher, db_url,
                                                                      monkeypatch):
    monkeypatch.setattr(harness, "PROBE_BOT", JOBS_BOT)
    _club(db_url)
    soon = _class(db_url, timedelta(minutes=90))  # in the window; free cancel for 30 more min
    sooner = _class(db_url, timedelta(minutes=40))  # in the window; free cancellation is over
    later = _class(db_url, timedelta(hours=5))  # not yet
    booked, late, quiet_ones, blocked = (_people(emu, "B", 12), _people(emu, "L", 4),
                                         _people(emu, "Q", 3), _people(emu, "X", 2))
    expiring, last_visit = _people(emu, "E", 4), _people(emu, "V", 3)
    _members(db_url, booked + late)
    _members(db_url, quiet_ones, reminders=False, ends_in_days=1, visits=1)
    _members(db_url, blocked, blocked=True)
    _members(db_url, expiring, ends_in_days=2)
    _members(db_url, last_visit, visits=1)
    _book(db_url, booked + quiet_ones + blocked, soon)
    _book(db_url, late, sooner)
    _book(db_url, booked, later)

    polling = launcher.start(db_url, **REMINDER_ENV)
    unpolled = launcher.start(db_url, wait=False, E2E_POLLING="0", **REMINDER_ENV)
    wait_until(lambda: all(_count(p, REMINDER) == 1 for p in booked + late), 30,
               "a class reminder to each booked member")
    wait_until(lambda: all(_count(p, EXPIRY) == 1 for p in expiring), 30, "expiry notices")
    wait_until(lambda: all(_count(p, LAST_VISIT) == 1 for p in last_visit), 30,
               "last-visit notices")

    # More sweeps, a restart of the polling process, a new booking: nothing is sent twice.
    _sweep_now(db_url)
    polling.signal(signal.SIGTERM)
    assert polling.wait(15) == 0
    newcomer = _people(emu, "N", 1)
    _members(db_url, newcomer)
    _book(db_url, newcomer, soon)
    polling = launcher.start(db_url, **REMINDER_ENV)
    _sweep_now(db_url)
    wait_until(lambda: _count(newcomer[0], REMINDER) == 1, 30, "the newcomer's reminder")
    _sweep_now(db_url)
    wait_until(lambda: query(db_url, "SELECT count(*) FROM jobs WHERE kind = 'reminder_sweep'"
                                     " AND run_at > now()")[0][0] == 1, 15, "another sweep")
    time.sleep(1)
    for person in booked + late + newcomer:
        assert _count(person, REMINDER) == 1, person.id
    for person in expiring:
        assert _count(person, EXPIRY) == 1
    for person in last_visit:
        assert _count(person, LAST_VISIT) == 1
    for person in quiet_ones + blocked:
        assert not any(t in (m.get("text") or "") for m in person.messages()
                       for t in (REMINDER, EXPIRY, LAST_VISIT)), person.id
    assert query(db_url, "SELECT kind, count(*) FROM jobs WHERE every_seconds IS NULL"
                         " GROUP BY kind ORDER BY kind") == [
        ("class_reminder", len(booked + late + newcomer)), ("last_visit_notice", len(last_visit)),
        ("membership_expiry_notice", len(expiring))]
    assert unpolled.alive()

    # Cancel inside the free-cancellation window: cancelled, the visit comes back.
    anna = booked[0]
    (reminder,) = [m for m in anna.messages() if REMINDER in (m.get("text") or "")]
    assert "Cancel by" in reminder["text"]
    anna.press(reminder, "Cancel my booking")
    anna.wait_edit(reminder["message_id"], "the visit is back")
    assert query(db_url, "SELECT b.status, b.late_cancel FROM bookings b JOIN members m ON"
                         " m.id = b.member_id WHERE m.telegram_id = %s AND b.class_id = %s",
                 (anna.id, soon)) == [("cancelled", False)]

    # Outside it: a reminder sent after the window has no button...
    lena = late[0]
    (reminder,) = [m for m in lena.messages() if REMINDER in (m.get("text") or "")]
    assert not buttons(reminder)
    # ...and a button pressed once the window has passed (the class moved earlier) says why
    # and cancels nothing.
    ben = booked[1]
    (reminder,) = [m for m in ben.messages() if REMINDER in (m.get("text") or "")]
    query(db_url, "UPDATE classes SET starts_at = now() + interval '40 minutes' WHERE id = %s",
          (soon,))
    answer = ben.press(reminder, "Cancel my booking")
    assert "Free cancellation ended" in answer["text"]
    assert query(db_url, "SELECT b.status FROM bookings b JOIN members m ON m.id = b.member_id"
                         " WHERE m.telegram_id = %s AND b.class_id = %s",
                 (ben.id, soon)) == [("booked",)]
