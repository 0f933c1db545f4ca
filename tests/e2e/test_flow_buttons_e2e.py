"""Buttons of a guided flow belong to its step and its run (issue 16, item 5).

The bot runs as its own process against tgemu and a real PostgreSQL. An admin schedules a
class; a button from an earlier step, from an earlier run of the flow or from a flow that has
ended answers "no longer available" and changes nothing (the draft stays where it was), and
the keyboards of the flow's earlier messages are taken off when it moves on to a new message
or ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, button_data, buttons

BERLIN = ZoneInfo("Europe/Berlin")


def plain(tx: Texts, key: str, **values) -> str:
    return str(tx(key, **values)).replace("&amp;", "&")



def _state(db_url: str, admin: Person) -> str | None:
    found = query(db_url, "SELECT state FROM conversation_state WHERE user_id = %s",
                  (admin.id,))
    return found[0][0] if found else None


def _start(admin: Person, tx: Texts) -> dict:
    """/classes -> Schedule a class: the type step, edited into the /classes message."""
    (page,) = admin.send("/classes")
    admin.press(page, plain(tx, "cls_new_button"))
    return admin.wait_edit(page["message_id"], plain(tx, "cls_ask_type"))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_old_flow_buttons_change_nothing_and_lose_their_keyboards(emu, launcher, db_url,
                                                                    lang):
    tx = Texts(lang)
    stale = plain(tx, "stale_button")
    cancel = plain(tx, "cls_flow_cancel")
    admin = Person(emu, "Ada", language_code=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    factories.member(db_url, 900001, "Tina", last_name="Petrova", role="trainer",
                     registered=False)
    factories.class_type(db_url, "Yoga")
    launcher.start(db_url, CLUB_TIMEZONE="Europe/Berlin")

    # First run: the type step's Cancel, kept to press later.
    first = _start(admin, tx)
    mid = first["message_id"]
    old_cancel = button_data(first, cancel)
    admin.press(first, "Yoga")
    trainer_step = admin.wait_edit(mid, plain(tx, "cls_ask_trainer"))
    assert _state(db_url, admin) == "cls.new.trainer"
    # The earlier step's Cancel (the same run) is stale: the draft stays at its step.
    assert admin.inject_press(mid, old_cancel)["text"] == stale
    assert _state(db_url, admin) == "cls.new.trainer"
    assert admin.now(mid)["text"] == trainer_step["text"]
    # A step's button without the flow's token (forged, or from an older version) too.
    assert admin.inject_press(mid, cb.NEW_CLASS_FLOW(answer="cancel"))["text"] == stale
    assert _state(db_url, admin) == "cls.new.trainer"

    # The date typed as text: the next step is a new message, the earlier one loses its keys.
    admin.press(trainer_step, "Tina Petrova")
    admin.wait_edit(mid, plain(tx, "cls_ask_day").split(",")[0])
    tomorrow = datetime.now(BERLIN).date() + timedelta(days=1)
    (repeat_step,) = admin.send(tomorrow.strftime("%d.%m"))
    assert plain(tx, "cls_ask_repeat") in repeat_step["text"]
    # The keyboard goes in an edit queued after the new step: it may come a moment later.
    wait_until(lambda: buttons(admin.now(mid)) == [], 15, "the earlier step's keys gone")
    repeat_cancel = button_data(repeat_step, cancel)

    # /cancel ends the run: its last message loses its keys too.
    admin.send("/cancel")
    wait_until(lambda: buttons(admin.now(repeat_step["message_id"])) == [], 15,
               "the ended flow's keyboard to go")
    assert _state(db_url, admin) is None

    # Second run: the first run's Cancel (an old message) must not end the new draft.
    second = _start(admin, tx)
    assert _state(db_url, admin) == "cls.new.type"
    assert admin.inject_press(repeat_step["message_id"], repeat_cancel)["text"] == stale
    assert admin.inject_press(mid, old_cancel)["text"] == stale
    assert _state(db_url, admin) == "cls.new.type"
    # Its own Cancel works, once; a second tap of it is stale.
    second_cancel = button_data(second, cancel)
    admin.press(second, cancel)
    wait_until(lambda: _state(db_url, admin) is None, 15, "the draft to be cancelled")
    assert admin.inject_press(second["message_id"], second_cancel)["text"] == stale
    assert query(db_url, "SELECT count(*) FROM classes") == [(0,)]
