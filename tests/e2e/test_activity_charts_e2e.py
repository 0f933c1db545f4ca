"""Charts off the worker path (issue 17): the numbers come first as a text screen, the chart
takes its place when drawn (a press sends one new message); a chart drawn before comes at once;
a changed chart within CHART_COOLDOWN_SECONDS is refused in one line; a second press while a
chart is being drawn gets one chart, on the screen it left. English and Russian."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import TOKEN, wait_until
from tests.e2e.session import Person, button_data, buttons

NAMES = {"en": "Anna", "ru": "Аня"}
ACTIVITY = {"en": "Activity", "ru": "Активность"}
TOTAL = {"en": "Visits in all: {n}", "ru": "Всего посещений: {n}"}


def _member_with_visits(db_url: str, person: Person, lang: str, visits: int = 5) -> int:
    member_id = factories.member(db_url, person.id, NAMES[lang], phone=f"+1555{person.id}",
                                 language=lang)
    now = datetime.now(UTC)
    for days in range(visits):
        factories.visit(db_url, member_id, checked_in_at=now - timedelta(days=3 * days, hours=1))
    return member_id


def _photos(person: Person, since: int = 0) -> list[dict]:
    return [e for e in person.events()[since:] if e["kind"] == "message" and e.get("photo")]


def _first_photo(person: Person, since: int, timeout: float = 30) -> dict:
    return wait_until(lambda: next(iter(_photos(person, since)), None), timeout, "the chart")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_numbers_come_first_then_the_chart_takes_their_place(emu, launcher, db_url, lang):
    person = Person(emu, NAMES[lang], language_code=lang)
    _member_with_visits(db_url, person, lang)
    launcher.start(db_url)
    (menu,) = person.send("/start")
    before = len(person.events())
    person.press(menu, ACTIVITY[lang])
    # The menu is edited in place into the numbers, with the way back; no chart yet.
    text = person.wait_edit(menu["message_id"], TOTAL[lang].format(n=5))
    assert buttons(text) == [["🏠 Menu" if lang == "en" else "🏠 Меню"]]
    chart = _first_photo(person, before)
    assert chart["caption"] == text["text"]  # the same numbers, now under the chart
    assert buttons(chart) == buttons(text)
    events = person.events()[before:]
    kinds = [(e["kind"], e.get("message_id")) for e in events]
    edited = kinds.index(("edit", menu["message_id"]))
    deleted = wait_until(lambda: next((i for i, e in enumerate(person.events()[before:])
                                       if e["kind"] == "delete"
                                       and e["message_id"] == menu["message_id"]), None),
                         15, "the text screen deleted")
    photo = next(i for i, e in enumerate(person.events()[before:]) if e.get("photo"))
    assert edited < deleted < photo  # text first; the chart takes its place
    time.sleep(0.5)
    new = [e for e in person.events()[before:] if e["kind"] == "message"]
    assert len(new) == 1  # the press sent one new message: the chart

    # The same chart again: sent at once, no text first.
    before = len(person.events())
    (again,) = person.send("/activity")
    assert again.get("photo") and again["caption"] == chart["caption"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_changed_chart_within_the_cooldown_is_refused_in_one_line(emu, launcher, db_url,
                                                                     lang):
    person = Person(emu, NAMES[lang], language_code=lang)
    member_id = _member_with_visits(db_url, person, lang)
    launcher.start(db_url, CHART_COOLDOWN_SECONDS="600")
    before = len(person.events())
    person.user.send_text(TOKEN, "/activity")
    _first_photo(person, before)

    factories.visit(db_url, member_id, checked_in_at=datetime.now(UTC) - timedelta(minutes=5))
    before = len(person.events())
    (answer,) = person.send("/activity")
    tx = Texts(lang)
    text = answer["text"]
    assert TOTAL[lang].format(n=6) in text  # the numbers are today's
    line = text.splitlines()[-1]
    assert line.startswith("📊 ") and tx.plural("activity_seconds", 600) in line
    assert line == tx("activity_chart_cooldown", period=tx.plural("activity_seconds", 600),
                      wait=_wait_part(tx, line))
    time.sleep(2)
    assert not _photos(person, before)  # no chart, and none coming


def _wait_part(tx: Texts, line: str) -> str:
    """The 'ask again in N seconds' part of a refusal line, as the line has it."""
    for n in range(600, 0, -1):
        part = tx.plural("activity_seconds", n)
        if line.rstrip(".").endswith(part):
            return part
    raise AssertionError(f"no wait in {line!r}")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_press_while_the_chart_is_drawn_gets_one_chart_on_its_screen(emu, launcher, db_url,
                                                                        lang):
    person = Person(emu, NAMES[lang], language_code=lang)
    _member_with_visits(db_url, person, lang)
    launcher.start(db_url)
    (menu,) = person.send("/start")
    before = len(person.events())
    # /activity, and at once the menu's Activity: the first chart of the process is still
    # being drawn (matplotlib loads) when the press comes.
    person.user.send_text(TOKEN, "/activity")
    person.user.press_button(TOKEN, menu["message_id"], button_data(menu, ACTIVITY[lang]))
    chart = _first_photo(person, before)
    time.sleep(1.5)
    events = person.events()[before:]
    texts = [e for e in events if e["kind"] == "message" and not e.get("photo")]
    assert len(_photos(person, before)) == 1  # one chart for the two asks
    assert TOTAL[lang].format(n=5) in chart["caption"]
    # It took the place of the screen shown last (the menu, edited into the numbers); the
    # answer to /activity, shown before, stays as it was: true, without a chart.
    deleted = [e["message_id"] for e in events if e["kind"] == "delete"]
    assert deleted == [menu["message_id"]]
    assert len(texts) == 1 and TOTAL[lang].format(n=5) in texts[0]["text"]
    assert "📊" not in texts[0]["text"]  # not refused: the same chart was on its way
