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


def test_a_long_list_of_classes_is_paged_ten_at_a_time():
    tx = Texts("en")
    taught = [TaughtClass(i + 1, START + timedelta(hours=i * 5), 60, "scheduled", "Yoga", "", 20,
                          i, 0) for i in range(23)]
    first = screens.classes(tx, taught, 0)
    assert [row[0] for row in _data(first)][:10] == [cb.TRAINER_ROSTER(class_id=i + 1, page=0)
                                                     for i in range(10)]
    assert _data(first)[10] == [cb.TRAINER_CLASSES(page=1)]
    assert first.text == "<b>🏋 My classes</b>\nPage 1 of 3"
    last = screens.classes(tx, taught, 2)
    assert len([r for r in _data(last) if r[0].startswith("tr:")]) == 3
    assert _data(last)[3] == [cb.TRAINER_CLASSES(page=1)]
    assert _data(last)[-1] == [cb.STAFF(section="home")]


@pytest.mark.parametrize(("lang", "title", "booked", "cancelled"), [
    ("en", "<b>🏋 My classes</b>", "Mon 10 Jun 18:00 · Yoga · 3/12",
     "Tue 11 Jun 09:30 · Pilates · ✖ cancelled"),
    ("ru", "<b>🏋 Мои занятия</b>", "пн 10 июн. 18:00 · Yoga · 3/12",
     "вт 11 июн. 09:30 · Pilates · ✖ отменено")])
def test_the_list_is_one_button_per_class_and_the_text_only_its_heading(lang, title, booked,
                                                                        cancelled):
    tx = Texts(lang)
    long_name = "Stretching for runners and everyone else " * 2
    taught = [TaughtClass(1, START, 60, "scheduled", "Yoga", "Studio 2", 12, 3, 2),
              TaughtClass(2, START + timedelta(hours=15, minutes=30), 45, "cancelled", "Pilates",
                          "", 10, 0, 0),
              TaughtClass(3, START + timedelta(days=1), 60, "scheduled", long_name, "", 8, 8, 0)]
    screen = screens.classes(tx, taught)
    assert screen.text == title  # no second copy of the list as text
    labels = [[b.text for b in row] for row in screen.markup.keyboard]
    assert labels[:2] == [[booked], [cancelled]]
    (long_label,) = labels[2]
    assert long_label.endswith(" · 8/8") and "…" in long_label and len(long_label) < 64
    assert [row[0] for row in _data(screen)][:3] == [
        cb.TRAINER_ROSTER(class_id=n, page=0) for n in (1, 2, 3)]


def _labels(screen) -> list[list[str]]:
    return [[b.text for b in row] for row in screen.markup.keyboard
            if row[0].callback_data.startswith("tm:")]


def _marked(*places: Place) -> Roster:
    cls = RosterClass(7, START, 60, "scheduled", "Yoga", "", 10, len(places), "Tina")
    return Roster(cls, list(places), [], [], window(START, 60, RULES))


@pytest.mark.parametrize(("lang", "opens"), [
    ("en", "<i>Marking opens at 17:30 (a no-show from the start at 18:00).</i>"),
    ("ru", "<i>Отметки откроются в 17:30 (неявку — с начала занятия в 18:00).</i>")])
def test_before_marking_opens_the_roster_has_no_marks_and_says_when_they_open(lang, opens):
    tx = Texts(lang)
    found = _marked(Place(1, 1, "Ann", "booked", None))
    screen = screens.roster(tx, found, START - timedelta(hours=3))
    assert opens in screen.text.split("\n")
    assert _labels(screen) == []
    # The day before, the opening names its day.
    earlier = screens.roster(tx, found, START - timedelta(days=1))
    assert tx.datetime(START - timedelta(minutes=30)) in earlier.text
    assert _labels(earlier) == []


def test_in_the_half_hour_before_the_start_only_attended_is_offered():
    tx = Texts("en")
    screen = screens.roster(tx, _marked(Place(1, 1, "Ann", "booked", None)),
                            START - timedelta(minutes=10))
    assert "<i>Attendance can be marked now, a no-show from the start at 18:00.</i>" in (
        screen.text)
    assert _labels(screen) == [["✅ Ann"]]


@pytest.mark.parametrize(("lang", "line"), [("en", "1. Emma Johnson · ✅ checked in at 17:52"),
                                            ("ru", "1. Emma Johnson · ✅ вход в 17:52")])
def test_a_member_checked_in_at_the_door_shows_as_come_with_no_mark_buttons(lang, line):
    door = START - timedelta(minutes=8)
    found = _marked(Place(1, 1, "Emma Johnson", "attended", door, door),
                    Place(2, 2, "Finn", "attended", START, None),  # marked by the trainer
                    Place(3, 3, "Gus", "no_show", None),
                    Place(4, 4, "Hal", "booked", None))
    screen = screens.roster(Texts(lang), found, START + timedelta(minutes=5))
    assert line in screen.text.split("\n")
    # Only the mark that would change something: none for Emma, the other one for the rest.
    assert _labels(screen) == [["❌ Finn"], ["✅ Gus"], ["✅ Hal", "❌ Hal"]]


def test_a_refusal_is_said_on_top_of_the_roster():
    found = _marked(Place(1, 1, "Ann", "booked", None))
    screen = screens.roster(Texts("en"), found, START, note="Ann checked in at 17:52 and …")
    assert screen.text.split("\n")[:2] == ["Ann checked in at 17:52 and …", ""]


@pytest.mark.parametrize(("lang", "how"), [("en", "card code at the door"),
                                           ("ru", "код карты на входе")])
def test_a_check_in_by_the_cards_code_is_named_on_the_roster(lang, how):
    found = _marked(Place(1, 1, "Ann", "attended", START, START))._replace(
        checked_in=[CheckIn(1, "Ann", START, "code")])
    assert f"Ann · 18:00 · {how}" in screens.roster(Texts(lang), found, START).text.split("\n")


@pytest.mark.parametrize(("lang", "line", "unmarked"), [
    ("en", "<i>Nothing to mark now: a no-show can be marked from the start at 18:00.</i>",
     "1. Ann · ⏳ not marked yet"),
    ("ru", "<i>Сейчас отмечать нечего: неявку можно отметить с начала занятия в 18:00.</i>",
     "1. Ann · ⏳ пока не отмечено")])
def test_the_marking_line_is_true_for_the_buttons_shown(lang, line, unmarked):
    """Before the start with everyone marked attended there is no button: the roster does not
    say attendance can be marked now, it says when a no-show can be; an unmarked place is
    shown with a visible marker."""
    tx = Texts(lang)
    before = START - timedelta(minutes=10)
    open_now = tx("mc_window_attended", start="18:00")
    unmarked_screen = screens.roster(tx, _marked(Place(1, 1, "Ann", "booked", None)), before)
    assert open_now in unmarked_screen.text.split("\n") and _labels(unmarked_screen)
    assert unmarked in unmarked_screen.text.split("\n")
    marked = screens.roster(tx, _marked(Place(1, 1, "Ann", "attended", before)), before)
    assert _labels(marked) == []
    assert open_now not in marked.text
    assert line in marked.text.split("\n")


@pytest.mark.parametrize(("lang", "line"), [
    ("en", "<i>Nothing to mark: everyone booked checked in at the door.</i>"),
    ("ru", "<i>Отмечать нечего: все записавшиеся прошли на входе.</i>")])
@pytest.mark.parametrize("minutes", [-10, 5, 120], ids=["before", "during", "after"])
def test_nothing_to_mark_when_everyone_came_in_at_the_door_or_nobody_booked(lang, line,
                                                                            minutes):
    tx = Texts(lang)
    now = START + timedelta(minutes=minutes)
    door = START - timedelta(minutes=20)
    screen = screens.roster(tx, _marked(Place(1, 1, "Ann", "attended", door, door)), now)
    assert _labels(screen) == []
    assert line in screen.text.split("\n")
    empty = screens.roster(tx, _marked(), now)
    assert _labels(empty) == []
    window_lines = [tx(key, start="18:00", noshow="19:30", until=tx.datetime(START))[:12]
                    for key in ("mc_window_attended", "mc_window_open", "mc_window_late")]
    assert not any(w in empty.text for w in window_lines), empty.text
    assert tx("mc_nobody_booked") in empty.text
