"""My classes screens: long rosters and lists are paged and stay inside Telegram's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from fitclub.screens import myclasses as screens
from fitclub.services.attendance import (
    CheckIn,
    Place,
    Roster,
    RosterClass,
    TaughtClass,
    Waiting,
    window,
)
from fitclub.services.attendance import Rules as AttendanceRules

START = datetime(2030, 6, 10, 18, 0, tzinfo=UTC)
RULES = AttendanceRules(UTC)
LONG = "<&> " + "Щ" * 60  # a long name with characters HTML must escape


def _roster(booked: int, waiting: int = 0, checked: int = 0, status: str = "scheduled"):
    cls = RosterClass(7, START, 60, status, "Yoga", "Studio 2", 50, booked, "Tina")
    places = [Place(100 + i, i, f"{LONG}{i}", "booked", None) for i in range(booked)]
    line = [Waiting(200 + i, f"W{i}", i == 0) for i in range(waiting)]
    ins = [CheckIn(i, f"C{i}", START, "qr") for i in range(checked)]
    return Roster(cls, places, line, ins, window(START, 60, RULES))


def _data(screen) -> list[list[str]]:
    return [[b.callback_data for b in row] for row in screen.markup.keyboard]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_long_roster_is_paged_twenty_people_at_a_time(lang):
    tx = Texts(lang)
    found = _roster(booked=25, waiting=3, checked=2)
    first = screens.roster(tx, found, START, page=0)
    marks = [row for row in _data(first) if row[0].startswith("tm:")]
    assert len(marks) == 20
    assert marks[0] == [cb.TRAINER_MARK(class_id=7, booking_id=100, mark="a", page=0),
                        cb.TRAINER_MARK(class_id=7, booking_id=100, mark="n", page=0)]
    assert _data(first)[-2] == [cb.TRAINER_ROSTER(class_id=7, page=1)]  # next only
    assert len(first.text) < 4096
    assert "&lt;&amp;&gt;" in first.text and "<&>" not in first.text

    second = screens.roster(tx, found, START, page=1)
    marks = [row for row in _data(second) if row[0].startswith("tm:")]
    assert [row[0] for row in marks] == [
        cb.TRAINER_MARK(class_id=7, booking_id=100 + i, mark="a", page=1) for i in range(20, 25)]
    assert _data(second)[-2] == [cb.TRAINER_ROSTER(class_id=7, page=0)]  # previous only
    for key in ("mc_booked_header", "mc_waiting_header", "mc_in_header", "mc_waiting_offered"):
        assert tx(key, n=1, name="W0").split("{")[0] in second.text
    assert tx("mc_page", page=2, pages=2) in second.text


def test_a_page_past_the_end_shows_the_last_one():
    tx = Texts("en")
    last, first = (screens.roster(tx, _roster(5), START, page=p) for p in (9, 0))
    assert (last.text, _data(last)) == (first.text, _data(first))


@pytest.mark.parametrize(("status", "now"), [("cancelled", START),
                                             ("scheduled", START + timedelta(hours=26))])
def test_no_mark_buttons_when_marks_cannot_change(status, now):
    screen = screens.roster(Texts("en"), _roster(3, status=status), now)
    assert not [row for row in _data(screen) if row[0].startswith("tm:")]


def test_a_long_list_of_classes_is_paged():
    tx = Texts("en")
    taught = [TaughtClass(i + 1, START + timedelta(hours=i * 5), 60, "scheduled", "Yoga", "", 20,
                          i, 0) for i in range(20)]
    first = screens.classes(tx, taught, 0)
    assert [row[0] for row in _data(first)][:15] == [cb.TRAINER_ROSTER(class_id=i + 1, page=0)
                                                     for i in range(15)]
    assert _data(first)[15] == [cb.TRAINER_CLASSES(page=1)]
    second = screens.classes(tx, taught, 1)
    assert len([r for r in _data(second) if r[0].startswith("tr:")]) == 5
    assert _data(second)[5] == [cb.TRAINER_CLASSES(page=0)]
    assert _data(second)[-1] == [cb.STAFF(section="home")]
