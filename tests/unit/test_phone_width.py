"""Staff screens that must fit a phone (the web chat and Telegram at about 400 px): no text
line of a plan list and no request button wraps. Widths are counted in characters: a 400 px
phone shows about 42 of them in a message line, 38 on a full-width button and half of that on
each of two."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Localized, Texts
from fitclub.screens import plan_requests, plans
from fitclub.services.plan_requests import PlanRequestView
from fitclub.services.plans import PlanRow

LINE_CHARS, BUTTON_CHARS = 42, 38


def _shown(line: str) -> str:
    """A line as it reads: tags and entities gone, the indentation too."""
    return re.sub(r"<[^>]+>", "", line).replace("&amp;", "&").strip()


def _fits(screen) -> None:
    for row in screen.markup.keyboard:
        for button in row:
            assert len(button.text) <= BUTTON_CHARS // len(row), (button.text, len(row))


@pytest.mark.parametrize(("lang", "lines"), [
    ("en", ["365 days · unlimited · no freezing", "30 days · 10 visits · ❄️ up to 14 days",
            "1 day · 1 visit · ❄️ up to 1 day"]),
    ("ru", ["365 дней · безлимит · без заморозки", "30 дней · 10 посещений · ❄️ до 14 дней",
            "1 день · 1 посещение · ❄️ до 1 дня"])])
def test_a_plans_terms_fit_a_line_of_the_plan_list(lang, lines):
    tx = Texts(lang)
    found = [PlanRow(1, Localized("Annual"), 45000, 365, None, 0, True, 0, 0),
             PlanRow(2, Localized("Month"), 4900, 30, 10, 14, True, 0, 0),
             PlanRow(3, Localized("Trial"), 1000, 1, 1, 1, False, 0, 0),
             PlanRow(4, Localized("Long"), 99900, 365, 100, 30, True, 0, 0)]
    screen = plans.plan_list(tx, found)
    shown = [_shown(line) for line in screen.text.split("\n")]
    assert all(line in shown for line in lines), shown
    assert all(len(line) <= LINE_CHARS for line in shown), shown


@pytest.mark.parametrize(("lang", "grant", "dismiss"), [("en", "✅ Grant", "✖ Dismiss"),
                                                        ("ru", "✅ Выдать", "✖ Отклонить")])
def test_a_plan_request_has_buttons_that_fit_a_phone(lang, grant, dismiss):
    """Who and which plan on a button of its own (the member's card), Grant and Dismiss
    under it: none wraps, also with a long name and plan."""
    tx = Texts(lang)
    when = datetime(2026, 12, 6, 5, 12, tzinfo=UTC)
    items = [PlanRequestView(7, 70, "Павел", "Морозов", "+491519000016", None, 1,
                             Localized("Annual"), True, when),
             PlanRequestView(8, 80, "Maximilian-Alexander", "Oberhuber-Weißenfels", None,
                             None, 2, Localized("Monthly unlimited, mornings only"), True, when)]
    screen = plan_requests.requests(tx, items, 2)
    _fits(screen)
    labels = [[b.text for b in row] for row in screen.markup.keyboard]
    data = [[b.callback_data for b in row] for row in screen.markup.keyboard]
    assert labels[0] == ["🪪 Павел Морозов · Annual"]
    assert data[0] == [cb.MEMBER_CARD(member_id=70)]
    assert labels[1] == [grant, dismiss]
    assert data[1] == [cb.REQUEST(request_id=7, act="grant"),
                       cb.REQUEST(request_id=7, act="dismiss")]
    assert labels[2][0].startswith("🪪 Maximilian-Alexan") and "…" in labels[2][0]
    assert data[3] == [cb.REQUEST(request_id=8, act="grant"),
                       cb.REQUEST(request_id=8, act="dismiss")]
