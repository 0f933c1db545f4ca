"""The no-show job marks exactly the unmarked members, once, with two
processes running jobs, and never a member checked in at the door for the class; the trainer
is told once per class, in their language."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fitclub.locales import Texts
from tests import factories
from tests.e2e import harness
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, buttons

JOBS_BOT = Path(__file__).with_name("jobs_probe_bot.py")
GRACE_SECONDS = 6
ENV = {"JOB_POLL_SECONDS": "0.2", "NO_SHOW_GRACE_MINUTES": str(GRACE_SECONDS / 60)}
SUMMARY = "без отметки"


def _class(db_url: str, trainer_id: int, starts_at: datetime, status: str = "scheduled") -> int:
    return factories.class_(db_url, trainer_id, starts_at, duration_minutes=60, capacity=20,
                            status=status)


def _places(db_url: str, class_id: int, prefix: str, statuses: list[str]) -> dict[int, str]:
    """Members named prefix1, prefix2... holding places of these statuses; booking id -> name."""
    made = {}
    for n, status in enumerate(statuses, 1):
        member_id = factories.member(db_url, 10**6 + ord(prefix) * 100 + n, f"{prefix}{n}")
        booking_id = factories.booking(db_url, class_id, member_id, status=status,
                                       created_at=-timedelta(seconds=100 - n))
        made[booking_id] = f"{prefix}{n}"
    return made


def _statuses(db_url: str, class_id: int) -> dict[int, str]:
    return dict(query(db_url, "SELECT id, status FROM bookings WHERE class_id = %s",
                      (class_id,)))


def _sweep_now(db_url: str) -> None:
    """Make the minutely sweep due at once (instead of waiting for its next minute)."""
    query(db_url, "UPDATE jobs SET run_at = now() WHERE kind = 'no_show_sweep'")


def _swept_since_poke(db_url: str) -> bool:
    """The sweep ran after the last poke: its row is due again a minute on."""
    return query(db_url, "SELECT run_at > now() + interval '30 seconds' FROM jobs"
                         " WHERE kind = 'no_show_sweep'") == [(True,)]


def _summaries(tina: Person) -> list[dict]:
    return [m for m in tina.messages() if SUMMARY in (m.get("text") or "")]


def test_the_no_show_job_marks_exactly_the_unmarked_members_once_with_two_processes(
        emu, launcher, db_url, monkeypatch):
    monkeypatch.setattr(harness, "PROBE_BOT", JOBS_BOT)
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=20)
    tina = Person(emu, "Tina", language_code="ru")
    tina_id = factories.member(db_url, tina.id, "Tina", role="trainer", language="ru")
    tina.user.send_text(TOKEN, "hi")  # a bot may only write to users who wrote first
    now = query(db_url, "SELECT now()")[0][0]
    # Ended two hours ago: due at once. Ends in a moment: due GRACE_SECONDS later, during the
    # test. Ends in an hour, or cancelled: never touched.
    ended = _class(db_url, tina_id, now - timedelta(hours=3))
    ending = _class(db_url, tina_id, now - timedelta(minutes=60) + timedelta(seconds=12))
    later = _class(db_url, tina_id, now)
    cancelled = _class(db_url, tina_id, now - timedelta(hours=3), status="cancelled")
    due_at = now + timedelta(seconds=12 + GRACE_SECONDS)
    ended_places = _places(db_url, ended, "E", ["booked", "attended", "booked", "no_show",
                                                "waitlisted", "cancelled"])
    ending_places = _places(db_url, ending, "N", ["booked", "booked", "attended", "booked"])
    later_places = _places(db_url, later, "L", ["booked", "booked"])
    cancelled_places = _places(db_url, cancelled, "C", ["booked"])
    # Checked in at the door for the ended class, and still unmarked: came, not a no-show.
    (door_b,) = _places(db_url, ended, "D", ["booked"])
    (door_member,), = query(db_url, "SELECT member_id FROM bookings WHERE id = %s", (door_b,))
    factories.visit(db_url, door_member, class_id=ended, method="code",
                    checked_in_at=now - timedelta(hours=3, minutes=10))
    before = {c: _statuses(db_url, c) for c in (ended, ending, later, cancelled)}
    before[ended][door_b] = "attended"  # what the sweep leaves it as

    launcher.start(db_url, **ENV)
    unpolled = launcher.start(db_url, wait=False, E2E_POLLING="0", **ENV)

    # The class that ended long ago: its two unmarked places, once, and one summary.
    wait_until(lambda: len(_summaries(tina)) >= 1, 20, "the first summary")
    assert _statuses(db_url, ended) == {**before[ended], **{
        b: "no_show" for b, s in before[ended].items() if s == "booked"}}
    # Not yet due: another sweep leaves the ending class alone.
    _sweep_now(db_url)
    wait_until(lambda: _swept_since_poke(db_url), 15, "a sweep")
    if datetime.now(UTC) < due_at - timedelta(seconds=1):
        assert _statuses(db_url, ending) == before[ending]

    # Its end plus the grace passes: the next sweeps record its unmarked places.
    while datetime.now(UTC) < due_at:
        time.sleep(0.2)

    def ending_marked() -> bool:
        _sweep_now(db_url)
        time.sleep(0.5)
        return "booked" not in _statuses(db_url, ending).values()

    wait_until(ending_marked, 20, "the ending class's no-shows")
    for _ in range(3):  # more sweeps, by either process: nothing more happens
        _sweep_now(db_url)
        wait_until(lambda: _swept_since_poke(db_url), 15, "another sweep")
    assert unpolled.alive()

    expected = {ended: {**before[ended], **{
                    b: "no_show" for b, s in before[ended].items() if s == "booked"}},
                ending: {**before[ending], **{
                    b: "no_show" for b, s in before[ending].items() if s == "booked"}},
                later: before[later], cancelled: before[cancelled]}
    assert {c: _statuses(db_url, c) for c in expected} == expected
    unmarked = sorted(b for c in (ended, ending) for b, s in before[c].items() if s == "booked")
    assert len(unmarked) == 5
    assert query(db_url, "SELECT entity_id, actor_id, action, count(*) FROM audit_log"
                         " WHERE action LIKE 'attendance.%%' GROUP BY entity_id, actor_id,"
                         " action ORDER BY entity_id") == sorted(
        [(b, None, "attendance.no_show", 1) for b in unmarked]
        + [(door_b, None, "attendance.attended", 1)])

    # One summary per class, in the trainer's language, naming exactly its no-shows.
    summaries = _summaries(tina)
    assert len(summaries) == 2
    tx = Texts("ru")
    starts = dict(query(db_url, "SELECT id, starts_at FROM classes"))
    names = {c: ", ".join(n for b, n in sorted(places.items()) if before[c][b] == "booked")
             for c, places in ((ended, ended_places), (ending, ending_places))}
    assert sorted(m["text"] for m in summaries) == sorted(
        f"Yoga, {tx.datetime(starts[c])}: {n} участника без отметки — записаны неявки:"
        f" {names[c]}. Отметки можно изменить до"
        f" {tx.datetime(starts[c] + timedelta(minutes=60, hours=24))}."
        for c, n in ((ended, 2), (ending, 3)))
    assert all(buttons(m) == [["📋 Открыть список"]] for m in summaries)
    assert not later_places.keys() & set(unmarked)
    assert not cancelled_places.keys() & set(unmarked)

    # The summary's button opens the roster with the marks, in place.
    (latest,) = [m for m in summaries if names[ending] in m["text"]]
    tina.press(latest, "Открыть список")
    roster = tina.wait_edit(latest["message_id"], "Записались")
    assert roster["text"].count("❌ неявка") == 3
    assert roster["text"].count("✅ явка") == 1
