"""Old buttons of a finished search: a person's card (/people) or a check-in match (/checkin)
opened from one ends only that search's own step, never another feature's flow (a class half
scheduled stays where it was); with the bot as its own process, tgemu and PostgreSQL."""

from __future__ import annotations

import pytest

from fitclub import callbacks as cb
from tests import factories
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person


def _state(db_url: str, person: Person) -> str | None:
    found = query(db_url, "SELECT state FROM conversation_state WHERE user_id = %s",
                  (person.id,))
    return found[0][0] if found else None


def _open_old(db_url: str, ada: Person, results: dict, data: str) -> None:
    """Press the old result's button; wait until the card or match replaces the results."""
    ada.press_data(results["message_id"], data)
    wait_until(lambda: ada.now(results["message_id"])["text"] != results["text"], 15,
               "the card in place of the results")


@pytest.mark.parametrize(("command", "step", "button"), [
    ("/people", "ppl.query", lambda anna: cb.PEOPLE_PERSON(person_id=anna)),
    ("/checkin", "chk.query", lambda anna: cb.CHECKIN_PERSON(member_id=anna)),
])
def test_an_old_result_button_leaves_only_its_own_step(emu, launcher, db_url, command, step,
                                                       button):
    ada = Person(emu, "Ada")
    factories.member(db_url, ada.id, "Ada", phone="+4915100001", role="admin")
    anna = factories.member(db_url, 900002, "Anna", last_name="Petrova", phone="+4915100002")
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=16)
    launcher.start(db_url)

    ada.send(command)
    (results,) = ada.send("Petrova")
    (timetable,) = ada.send("/classes")
    ada.press(timetable, "Schedule a class")
    ada.wait_edit(timetable["message_id"], "Choose the class type:")
    scheduling = _state(db_url, ada)
    assert scheduling.startswith("cls.new.")

    # The half-scheduled class stays where it was.
    _open_old(db_url, ada, results, button(anna))
    assert _state(db_url, ada) == scheduling

    # The search's own step ends when its result opens.
    ada.send(command)
    (results,) = ada.send("Petrova")
    assert _state(db_url, ada) == step
    _open_old(db_url, ada, results, button(anna))
    assert _state(db_url, ada) is None
