"""/settings: the screen in both languages and the reminders switch."""

from __future__ import annotations

import pytest

from fitclub.callbacks import SETTINGS_LANGUAGE, SETTINGS_REMINDERS
from fitclub.db import members
from fitclub.locales import Texts
from fitclub.screens import settings as screens
from fitclub.services import reminders
from tests import factories


def _member(db) -> int:
    return factories.member(db, 42, "Anna")


def test_the_switch_turns_reminders_off_and_on(db):
    member_id = _member(db)
    assert members.by_id(db, member_id).reminders_enabled
    assert reminders.set_enabled(db, member_id, False)
    assert not members.by_id(db, member_id).reminders_enabled
    assert reminders.set_enabled(db, member_id, True)
    assert members.by_id(db, member_id).reminders_enabled
    assert not reminders.set_enabled(db, member_id + 1, False)


@pytest.mark.parametrize(("lang", "says", "button"), [("en", "Reminders: off", "Turn reminders on"),
                                                      ("ru", "Напоминания: выключены",
                                                       "Включить напоминания")])
def test_the_screen_shows_the_state_and_the_opposite_action(db, lang, says, button):
    member_id = _member(db)
    reminders.set_enabled(db, member_id, False)
    member = members.by_id(db, member_id)._replace(language=lang)
    screen = screens.settings(Texts(lang), member)
    assert says in screen.text
    data = [(b.text, b.callback_data) for row in screen.markup.keyboard for b in row]
    assert (f"🔔 {button}", SETTINGS_REMINDERS(on="y")) in data
    assert any(d == SETTINGS_LANGUAGE(lang="ru") for _, d in data)
