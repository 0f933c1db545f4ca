"""Old buttons of a finished search: a person's card (/people) or a check-in match (/checkin)
opened from one ends only that search's own step, never another feature's flow (a class half
scheduled stays where it was). Old buttons of My bookings and of a class's details answer "no
longer available" and show the same screen as it is now, in the member's language. With the
bot as its own process, tgemu and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from fitclub import callbacks as cb
from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, buttons


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


# -- My bookings and a class's details: an old button shows the same screen, as it is now ------

BOOKINGS = {
    "en": {"title": "My bookings", "stale": "This is no longer available.",
           "left": "you've left the waitlist", "gone": "You're no longer on the waitlist",
           "not_booked": "You're no longer booked", "language": "English",
           "leave": "Leave the waitlist", "cancel": "Cancel my booking", "yes": "Yes, cancel",
           "timetable": "Schedule ·", "join": "Join the waitlist"},
    "ru": {"title": "Мои записи", "stale": "Это больше недоступно.",
           "left": "вы вышли из очереди", "gone": "Вас больше нет в очереди",
           "not_booked": "у вас больше нет", "language": "Русский",
           "leave": "Выйти из очереди", "cancel": "Отменить запись", "yes": "Да, отменить",
           "timetable": "Расписание ·", "join": "Встать в очередь"},
}


def _waitlisted_and_booked(db_url: str, person: Person, lang: str) -> tuple[int, int]:
    """The person in `lang`, in line for a full Yoga in two days and booked on Pilates in
    three; (yoga, pilates) class ids."""
    factories.plan(db_url)
    trainer = factories.member(db_url, 1, "Tina", role="trainer", registered=False)
    other = factories.member(db_url, 2, "Olga")
    member = factories.member(db_url, person.id, "Anna", language=lang)
    membership = factories.membership(db_url, member, starts_on=-1, visits_left=9)
    factories.membership(db_url, other, starts_on=-1)
    yoga = factories.class_(db_url, trainer, timedelta(days=2), capacity=1,
                            class_type_id=factories.class_type(db_url, "Yoga"))
    pilates = factories.class_(db_url, trainer, timedelta(days=3),
                               class_type_id=factories.class_type(db_url, "Pilates"))
    factories.booking(db_url, yoga, other)
    factories.booking(db_url, yoga, member, status="waitlisted")
    factories.booking(db_url, pilates, member, membership_id=membership, visit_reserved=True)
    query(db_url, "UPDATE classes SET booked_count = 1")
    return yoga, pilates


def _status(db_url: str, person: Person, class_id: int) -> str:
    return query(db_url, "SELECT status FROM bookings WHERE class_id = %s AND member_id ="
                         " (SELECT id FROM members WHERE telegram_id = %s)",
                 (class_id, person.id))[0][0]


def _changed(person: Person, message: dict) -> dict:
    """The message once an edit has changed its text."""
    return wait_until(lambda: (m := person.now(message["message_id"]))
                      and m["text"] != message["text"] and m, 15, "the message to change")


def _edited_to(db_url: str, update_id: int) -> str:
    """The text an injected press edited its message to (the bot's outbox)."""
    return wait_until(lambda: (rows := query(
        db_url, "SELECT params->>'text' FROM outbox WHERE update_id = %s"
                " AND method = 'editMessageText'", (update_id,))) and rows[0][0], 15,
        "the edit answering the press")


@pytest.mark.parametrize(("first", "then"), [("ru", "ru"), ("ru", "en"), ("en", "ru")])
def test_an_old_bookings_button_refreshes_my_bookings_in_the_current_language(
        emu, launcher, db_url, first, then):
    anna = Person(emu, "Anna", language_code=first)
    yoga, pilates = _waitlisted_and_booked(db_url, anna, first)
    launcher.start(db_url)
    (mine,) = anna.send("/bookings")
    assert BOOKINGS[first]["title"] in mine["text"]
    if then != first:
        (choice,) = anna.send("/language")
        anna.press(choice, BOOKINGS[then]["language"])
    t = BOOKINGS[then]

    # Two class screens of Yoga; the member leaves the line on the second.
    (older,) = anna.send(f"/start c_{yoga}")
    (details,) = anna.send(f"/start c_{yoga}")
    anna.press(details, t["leave"])
    wait_until(lambda: _status(db_url, anna, yoga) == "cancelled", 15, "Anna out of the line")

    # The old Leave on My bookings: no longer available, My bookings again, now, in the
    # member's language, saying why; never the timetable.
    assert anna.press(mine, "Yoga")["text"] == t["stale"]
    now = _changed(anna, mine)
    assert t["title"] in now["text"] and t["timetable"] not in now["text"], now["text"]
    assert t["gone"] in now["text"]
    assert "Yoga" not in str(buttons(now)) and "Pilates" in str(buttons(now))
    # The old Leave on the class's details: the same class again, not today's timetable.
    assert anna.press(older, t["leave"])["text"] == t["stale"]
    now = _changed(anna, older)
    assert "Yoga" in now["text"] and t["timetable"] not in now["text"], now["text"]
    assert t["gone"] in now["text"] and t["join"] in str(buttons(now))
    # The press that did it said so on its own screen.
    assert t["left"] in anna.now(details["message_id"])["text"]

    # Leave as messages of the previous version carry it (its old code "lw"), pressed as
    # Telegram would deliver it: My bookings too.
    update_id = emu.inject_update(TOKEN, {"callback_query": {
        "id": f"old-{time.monotonic_ns()}", "chat_instance": "1",
        "from": {"id": anna.id, "is_bot": False, "first_name": "Anna", "language_code": first},
        "message": {"message_id": mine["message_id"], "date": int(time.time()),
                    "chat": {"id": anna.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"},
                    "text": mine["text"]},
        "data": cb.LEAVE_WAITLIST(class_id=yoga, back="b")}})
    edited = _edited_to(db_url, update_id)
    assert t["title"] in edited and t["timetable"] not in edited

    # The old Cancel on My bookings after the booking was cancelled on the class's screen.
    (pilates_screen,) = anna.send(f"/start c_{pilates}")
    anna.press(pilates_screen, t["cancel"])
    ask = wait_until(lambda: (m := anna.now(pilates_screen["message_id"])) and t["yes"] in str(
        buttons(m)) and m, 15, "the question")
    anna.press(ask, t["yes"])
    anna.wait_edit(pilates_screen["message_id"], "❌")
    stale = anna.now(mine["message_id"])
    anna.press(stale, "Pilates")
    now = anna.wait_edit(mine["message_id"], t["not_booked"])
    assert t["title"] in now["text"] and "Pilates" not in str(buttons(now))
    assert _status(db_url, anna, pilates) == "cancelled"
