"""/help grouped by role: the member's commands on one short screen; trainers and admins get
one button to the staff part (edited in place, with Back); a member who is no longer staff
pressing that old button sees help as it is for them now. English and Russian; the bot as its
own process, tgemu over HTTP, a real PostgreSQL."""

from __future__ import annotations

import re

import pytest

from fitclub.commands import ADMIN, MEMBER, TRAINER
from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import query
from tests.e2e.session import Person, buttons

STAFF_ONLY = [name for name in TRAINER if name not in MEMBER]
ADMIN_ONLY = [name for name in ADMIN if name not in TRAINER]


def _commands(text: str) -> list[str]:
    return re.findall(r"(?<![\w/])/([a-z]+)", text)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_help_shows_the_members_part_and_the_staff_part_behind_a_button(emu, launcher,
                                                                        db_url, lang):
    tx = Texts(lang)
    ada, tom, anna = Person(emu, "Ada", lang), Person(emu, "Tom", lang), Person(emu, "Anna", lang)
    ada_id = factories.member(db_url, ada.id, "Ada", role="admin", language=lang)
    factories.member(db_url, tom.id, "Tom", role="trainer", language=lang)
    factories.member(db_url, anna.id, "Anna", language=lang)
    launcher.start(db_url)
    staff_button, back, menu = tx("help_staff_button"), tx("button_back"), tx("button_menu")

    # The admin's first screen: the member's commands, grouped, and no staff command.
    (first,) = ada.send("/help")
    shown = _commands(first["text"])
    assert sorted(shown) == sorted(set(MEMBER) - {"help"})
    assert not set(shown) & set(STAFF_ONLY + ADMIN_ONLY)
    assert len(first["text"].splitlines()) <= 18
    for group in ("🗓", "🎫", "⚙️"):
        assert group in first["text"]
    assert buttons(first) == [[staff_button], [menu]]

    # The button edits the help in place into the staff part; Back returns.
    ada.press(first, staff_button)
    staff = ada.wait_edit(first["message_id"], "/people")
    assert sorted(_commands(staff["text"])) == sorted(STAFF_ONLY + ADMIN_ONLY)
    assert staff["text"].startswith(tx("help_staff_title").replace("<b>", "")
                                    .replace("</b>", ""))
    assert buttons(staff) == [[back, menu]]
    assert len(ada.messages()) == 1, "edited in place, nothing new sent"
    ada.press(staff, back)
    again = ada.wait_edit(first["message_id"], "/schedule")
    assert again["text"] == first["text"] and buttons(again) == buttons(first)

    # A trainer's staff part has no admin command.
    (tom_help,) = tom.send("/help")
    assert buttons(tom_help) == [[staff_button], [menu]]
    tom.press(tom_help, staff_button)
    tom_staff = tom.wait_edit(tom_help["message_id"], "/checkin")
    assert sorted(_commands(tom_staff["text"])) == sorted(STAFF_ONLY)

    # A member: the same first screen, no staff button.
    (anna_help,) = anna.send("/help")
    assert anna_help["text"] == first["text"]
    assert buttons(anna_help) == [[menu]]

    # Ada is made a member meanwhile: her old staff button shows help as it is for her now.
    query(db_url, "UPDATE members SET role = 'member' WHERE id = %s", (ada_id,))
    answer = ada.press(again, staff_button)
    assert answer["text"] == tx("stale_button")
    now = ada.wait_edit(first["message_id"], "/schedule")
    assert now["text"] == first["text"] and buttons(now) == [[menu]]
