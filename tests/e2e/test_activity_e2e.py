"""/activity sends the weekly chart with the member's figures and the weeks' headline in its
caption (not every bar again), in English and Russian; the menu's Activity and the chart's Menu
swap one screen for the other; no visits, no chart. The bot's memory before and after drawing
is printed for the closing note."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
from PIL import Image

from fitclub.locales import Texts
from fitclub.screens import activity as screens
from fitclub.services import activity
from tests import factories
from tests.e2e.harness import TOKEN, wait_until
from tests.e2e.session import Person, buttons

CLUB_TZ = "Europe/Berlin"


def chart_of(person: Person, command: str = "/activity", timeout: float = 30) -> dict:
    """Send command; the first photo the bot sends after it (the numbers come first as text,
    then the chart takes their place)."""
    before = len(person.events())
    person.user.send_text(TOKEN, command)
    return wait_until(lambda: next((e for e in person.events()[before:]
                                    if e["kind"] == "message" and e.get("photo")), None),
                      timeout, "the chart")


def _member(db_url: str, person: Person, language: str = "en") -> int:
    return factories.member(db_url, person.id, "Anna", phone=f"+1555{person.id}",
                            language=language)


def _visits(db_url: str, member_id: int) -> None:
    """Ten weeks of visits up to an hour ago: a class of Yoga or Pilates, or just the gym."""
    now = datetime.now(UTC)
    trainer_id = factories.member(db_url, 1, "Tina", role="trainer", registered=False)
    types = {kind: factories.class_type(db_url, kind, default_duration_minutes=60,
                                        default_capacity=20) for kind in ("Yoga", "Pilates")}
    for week in range(10):
        for n, kind in enumerate(("Yoga", "Pilates", None, "Yoga")[:1 + week % 4]):
            at = now - timedelta(weeks=week, hours=1 + 30 * n)
            class_id = None
            if kind:
                class_id = factories.class_(db_url, trainer_id, at, class_type_id=types[kind],
                                            duration_minutes=60, capacity=20)
            factories.visit(db_url, member_id, class_id=class_id, checked_in_at=at,
                            method="class" if class_id else "qr")


def _expected(db_url: str, member_id: int, lang: str = "en") -> activity.Activity:
    conn = psycopg2.connect(db_url)
    try:
        return activity.of_member(conn, member_id, datetime.now(UTC), ZoneInfo(CLUB_TZ),
                                  Texts(lang).first_week_day)
    finally:
        conn.close()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _has_matplotlib(pid: int) -> bool:
    return "matplotlib" in Path(f"/proc/{pid}/maps").read_text()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_activity_chart_caption_menu_and_memory(emu, launcher, db_url):
    anna = Person(emu, "Anna")
    member_id = _member(db_url, anna)
    _visits(db_url, member_id)
    bot = launcher.start(db_url, CLUB_TIMEZONE=CLUB_TZ)
    (menu,) = anna.send("/start")  # the bot has handled an update: a warm baseline
    rss_before = _rss_kb(bot.pid)
    assert not _has_matplotlib(bot.pid)

    started = time.monotonic()
    shown = chart_of(anna)
    first_seconds = time.monotonic() - started
    rss_after = _rss_kb(bot.pid)
    image = Image.open(io.BytesIO(shown["photo"]["bytes"]))
    assert image.format == "PNG" and 600 <= image.width <= 1600 and 300 <= image.height <= 900
    stats = _expected(db_url, member_id)
    assert (stats.total, stats.classes, stats.favourite) == (23, 19, "Yoga")
    caption = shown["caption"]
    tx = Texts("en")
    for line in (tx("activity_this_month", visits=tx.plural("activity_visits", stats.this_month)),
                 tx("activity_last_month", visits=tx.plural("activity_visits", stats.last_month)),
                 tx("activity_streak", weeks=tx.plural("activity_weeks", stats.streak)),
                 "Classes attended: 19", "Visits in all: 23", "Favourite class: Yoga"):
        assert line in caption, (line, caption)
    assert stats.streak >= 9
    assert caption.endswith("\n" + headline(tx, stats))
    assert not any(screens.week_label(tx, w) in caption for w in stats.weeks)  # no bar as text
    assert buttons(shown) == [["🏠 Menu"]]
    # Drawn in the renderer's own process, a child of the bot: the bot never loads matplotlib.
    assert not _has_matplotlib(bot.pid)
    (drawer,) = [c for c in _children(bot.pid) if _has_matplotlib(c)]
    rss_drawer = _rss_kb(drawer)

    # The menu's Activity: the menu message makes way for the chart.
    started = time.monotonic()
    anna.press(menu, "Activity")
    wait_until(lambda: anna.messages()[-1].get("photo"), 15, "the chart from the menu")
    second_seconds = time.monotonic() - started
    chart = anna.messages()[-1]
    assert "Visits in all: 23" in chart["caption"]
    wait_until(lambda: any(e["kind"] == "delete" and e["message_id"] == menu["message_id"]
                           for e in anna.events()), 15, "the menu deleted")
    rss_second = _rss_kb(bot.pid)

    # The chart's Menu: the chart makes way for the menu.
    anna.press(chart, "Menu")
    wait_until(lambda: "FitClub" in (anna.messages()[-1].get("text") or ""), 15, "the menu")
    wait_until(lambda: any(e["kind"] == "delete" and e["message_id"] == chart["message_id"]
                           for e in anna.events()), 15, "the chart deleted")

    print(f"\nbot RSS: {rss_before} kB before a chart, {rss_after} kB after the first chart, "
          f"the drawing process {rss_drawer} kB, "
          f"{rss_second} kB after the second (+{rss_after - rss_before} kB); first chart "
          f"{first_seconds:.2f} s from /activity to the photo, second {second_seconds:.2f} s")


def headline(tx: Texts, stats: activity.Activity) -> str:
    """'21 visits in the last 12 weeks, best week: 4' from the member's weeks."""
    visits = [w.visits for w in stats.weeks]
    return tx("activity_weeks_headline", visits=tx.plural("activity_visits", sum(visits)),
              weeks=tx.plural("activity_weeks", len(visits)), best=max(visits))


def test_the_russian_caption_has_the_headline_not_every_bar(emu, launcher, db_url):
    ira = Person(emu, "Ира", language_code="ru")
    member_id = _member(db_url, ira, "ru")
    now = datetime.now(UTC)
    for days in (1, 2, 9, 10, 11, 30):
        factories.visit(db_url, member_id, checked_in_at=now - timedelta(days=days, hours=1))
    launcher.start(db_url, CLUB_TIMEZONE=CLUB_TZ)
    shown = chart_of(ira)
    stats = _expected(db_url, member_id, "ru")
    tx = Texts("ru")
    caption = shown["caption"]
    assert caption.endswith("\n" + headline(tx, stats))
    assert "6 посещений за последние 12 недель, лучшая неделя: " in caption
    assert "Всего посещений: 6" in caption
    assert not any(screens.week_label(tx, w) in caption for w in stats.weeks)
    assert buttons(shown) == [["🏠 Меню"]]


def test_a_member_without_visits_gets_text_and_no_chart(emu, launcher, db_url):
    boris = Person(emu, "Boris", language_code="ru")
    _member(db_url, boris, "ru")
    bot = launcher.start(db_url, CLUB_TIMEZONE=CLUB_TZ)
    (answer,) = boris.send("/activity")
    assert "Посещений пока нет" in answer["text"] and not answer.get("photo")
    # From the menu, the same text replaces the menu in place.
    (menu,) = boris.send("/start")
    boris.press(menu, "Активность")
    boris.wait_edit(menu["message_id"], "Посещений пока нет")
    assert not any(m.get("photo") for m in boris.messages())
    assert not _has_matplotlib(bot.pid)
