"""Roles: admins find a person with /people, open their card and make
them a trainer or a member again, with a confirmation; the person is told in their language
and their "/" command list follows. In English and Russian, with bad input, a double tap, a
role changed meanwhile, one's own card and a person gone; the bot as its own process, tgemu
over HTTP, a real PostgreSQL."""

from __future__ import annotations

import time

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, buttons
from tests.e2e.test_checkin_e2e import press_old

CARD_BUTTONS = {
    "member": [["Make trainer", "Make admin"], ["🔍 New search"], ["« Staff"]],
    "trainer": [["Make member", "Make admin"], ["🔍 New search"], ["« Staff"]],
}


def _person(db_url: str, person: Person, first: str, last: str | None = None, *,
            role: str = "member", lang: str = "en", username: str | None = None) -> int:
    return factories.member(db_url, person.id, first, last_name=last,
                            phone=f"+4915100{person.id}", username=username, role=role,
                            language=lang)


def _role(db_url: str, member_id: int) -> str:
    return query(db_url, "SELECT role FROM members WHERE id = %s", (member_id,))[0][0]


def _commands(emu, person: Person) -> list[str]:
    return [c["command"] for c in emu.commands_for(TOKEN, person.id)]


def _texts(person: Person) -> list[str]:
    return [m["text"] for m in person.messages()]


def test_admins_change_roles(emu, launcher, db_url):
    ada, rita = Person(emu, "Ada"), Person(emu, "Rita", "ru")
    anna, olga = Person(emu, "Anna", "ru", username="anna_p"), Person(emu, "Olga")
    ada_id = _person(db_url, ada, "Ada", role="admin")
    _person(db_url, rita, "Rita", role="admin", lang="ru")
    anna_id = _person(db_url, anna, "Anna", "Petrova", lang="ru", username="anna_p")
    olga_id = _person(db_url, olga, "Olga")
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=30, visit_count=10)
    factories.membership(db_url, anna_id, starts_on=-1, ends_on=29, visits_left=10)
    (ends,), = query(db_url, "SELECT current_date + 29")
    launcher.start(db_url, ADMIN_TELEGRAM_IDS=str(ada.id), REMINDER_HOURS="0.05")
    anna.send("/start")  # the bot may message only people who started it

    # /people asks whom to find; too short and nobody found are answered, the step goes on.
    (ask,) = ada.send("/people")
    assert ask["text"] == ("👥 People and roles\nSend a name, a whole phone number or a "
                           "username (@name) to find a person. /cancel stops the search.")
    assert buttons(ask) == [["« Staff"]]
    (short,) = ada.send("a")
    assert short["text"] == ("Send 2 to 64 characters: part of a name, a phone number or a "
                             "username.")
    (none,) = ada.send("zz")
    assert none["text"] == ("Nobody found for “zz”. Try another name, phone number or "
                            "username.")
    (help_,) = ada.send("/help")  # commands keep working during the search
    assert buttons(help_)[0] == ["🛠 Staff commands"]  # /people is behind it
    (found,) = ada.send("@anna_p")
    assert found["text"] == "Found for “@anna_p”. Choose a person:"
    assert buttons(found) == [["Anna Petrova · member"], ["« Staff"]]

    # The card, the confirmation (and back), then the change.
    ada.press(found, "Anna Petrova")
    card = ada.wait_edit(found["message_id"], "Role: member")
    assert card["text"] == (f"Anna Petrova\nPhone: +4915100{anna.id}\nTelegram: @anna_p\n"
                            f"Role: member\nMembership: Ten · active ✅ · until "
                            f"{Texts('en').date(ends)} · 10 visits left")
    assert buttons(card) == CARD_BUTTONS["member"]
    ada.press(card, "Make trainer")
    ask_trainer = ada.wait_edit(found["message_id"], "a trainer?")
    assert ask_trainer["text"] == ("Make Anna Petrova a trainer?\nTrainers check members in at "
                                   "the door and see their classes and rosters.")
    assert buttons(ask_trainer) == [["✅ Yes, make trainer"], ["« Back"]]
    ada.press(ask_trainer, "« Back")
    card = ada.wait_edit(found["message_id"], "Role: member")
    ada.press(card, "Make trainer")
    ask_trainer = ada.wait_edit(found["message_id"], "a trainer?")
    yes = cb.PEOPLE_SET_ROLE(person_id=anna_id, was="member", role="trainer")
    answer = ada.press(ask_trainer, "Yes, make trainer")
    assert answer["text"] == "Done: Anna Petrova is a trainer now."
    card = ada.wait_edit(found["message_id"], "Role: trainer")
    assert buttons(card) == CARD_BUTTONS["trainer"]
    assert _role(db_url, anna_id) == "trainer"
    assert query(db_url, "SELECT actor_id, entity_id, details FROM audit_log"
                         " WHERE action = 'role.changed'") == [
        (ada_id, anna_id, {"from": "member", "to": "trainer"})]

    # Anna is told in her language, and her "/" menu now has the trainer's commands.
    notice = ("🏋 Теперь вы тренер клуба. Отмечайте посетителей на входе и смотрите свои "
              "занятия: /staff")
    wait_until(lambda: notice in _texts(anna), 15, "Anna's notice")
    wait_until(lambda: "checkin" in _commands(emu, anna), 15, "Anna's trainer commands")
    assert {"staff", "checkin", "myclasses"} <= set(_commands(emu, anna))
    assert "people" not in _commands(emu, anna)
    assert {c["description"] for c in emu.commands_for(TOKEN, anna.id)} >= {
        Texts("ru")("cmd_checkin")}

    # A double tap on Yes changes nothing more and tells nobody twice.
    told = len(anna.messages())
    assert press_old(emu, ada, found["message_id"], yes)["text"] == (
        "Done: Anna Petrova is a trainer now.")
    time.sleep(0.5)
    assert len(anna.messages()) == told
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'role.changed'") == [
        (1,)]

    # In Russian, from the staff home: Rita makes Anna a member again.
    (home,) = rita.send("/staff")
    rita.press(home, "Люди и роли")
    ask_ru = rita.wait_edit(home["message_id"], "Люди и роли")
    assert ask_ru["text"] == ("👥 Люди и роли\nОтправьте имя, полный номер телефона или имя "
                              "пользователя (@name), чтобы найти человека. /cancel — выйти из "
                              "поиска.")
    assert buttons(ask_ru) == [["« Сотрудникам"]]
    (none_ru,) = rita.send("Zoe")
    assert none_ru["text"] == ("По запросу «Zoe» никого не нашлось. Попробуйте другое имя, "
                               "номер телефона или имя пользователя.")
    (found_ru,) = rita.send("Anna")
    assert found_ru["text"] == "Найдено по запросу «Anna». Выберите человека:"
    assert buttons(found_ru) == [["Anna Petrova · тренер"], ["« Сотрудникам"]]
    rita.press(found_ru, "Anna Petrova")
    card_ru = rita.wait_edit(found_ru["message_id"], "Роль: тренер")
    assert card_ru["text"] == (f"Anna Petrova\nТелефон: +4915100{anna.id}\nTelegram: @anna_p\n"
                               f"Роль: тренер\nАбонемент: Ten · действует ✅ · до "
                               f"{Texts('ru').date(ends)} · осталось 10 посещений")
    assert buttons(card_ru) == [["Сделать клиентом", "Сделать администратором"],
                                ["🔍 Новый поиск"], ["« Сотрудникам"]]
    rita.press(card_ru, "Сделать клиентом")
    ask_member = rita.wait_edit(found_ru["message_id"], "Вернуть роль клиента")
    assert ask_member["text"] == ("Вернуть роль клиента: Anna Petrova?\nИнструменты сотрудников "
                                  "станут недоступны.")
    assert buttons(ask_member) == [["✅ Да, сделать клиентом"], ["« Назад"]]
    assert rita.press(ask_member, "Да, сделать клиентом")["text"] == (
        "Готово: Anna Petrova — теперь клиент.")
    rita.wait_edit(found_ru["message_id"], "Роль: клиент")
    assert _role(db_url, anna_id) == "member"
    demoted = ("Ваша роль в клубе изменилась: теперь вы клиент, инструменты сотрудников больше "
               "недоступны.")
    wait_until(lambda: demoted in _texts(anna), 15, "Anna's second notice")
    wait_until(lambda: "checkin" not in _commands(emu, anna), 15, "Anna's member commands")
    assert "schedule" in _commands(emu, anna)

    # A confirmation made stale by that change: refused, the card shows the role as it is.
    stale = cb.PEOPLE_SET_ROLE(person_id=anna_id, was="trainer", role="admin")
    assert press_old(emu, ada, found["message_id"], stale)["text"] == (
        "Their role changed meanwhile: the card is up to date now.")
    ada.wait_edit(found["message_id"], "Role: member")
    assert _role(db_url, anna_id) == "member"

    # One's own card: no role buttons, and a forged demotion is refused with the reason.
    (me,) = ada.send("/people")
    (found_me,) = ada.send("Ada")
    ada.press(found_me, "Ada · admin")
    mine = ada.wait_edit(found_me["message_id"], "This is you")
    assert mine["text"] == (f"Ada\nPhone: +4915100{ada.id}\nTelegram: no username\n"
                            "Role: admin\nNo membership\n"
                            "This is you. Another admin can change your role.\n"
                            "An admin from ADMIN_TELEGRAM_IDS: this role comes back whenever "
                            "the bot starts.")
    assert buttons(mine) == [["🔍 New search"], ["« Staff"]]
    for data in (cb.PEOPLE_ROLE(person_id=ada_id, role="member"),
                 cb.PEOPLE_SET_ROLE(person_id=ada_id, was="admin", role="trainer")):
        refused = press_old(emu, ada, found_me["message_id"], data)
        assert refused["text"] == ("You can't remove your own admin role: ask another admin. "
                                   "This way the club always keeps an admin.")
        assert refused["show_alert"] is True
    assert _role(db_url, ada_id) == "admin"

    # A person gone since the list was shown: the old button says so and asks again.
    ada.press(mine, "New search")
    ada.wait_edit(found_me["message_id"], "Send a name")
    (found_olga,) = ada.send("Olga")
    query(db_url, "UPDATE members SET telegram_id = NULL, first_name = NULL, phone = NULL,"
                  " deleted_at = now() WHERE id = %s", (olga_id,))
    assert ada.press(found_olga, "Olga")["text"] == "This is no longer available."
    ada.wait_edit(found_olga["message_id"], "Send a name")
    assert me["text"] == ask["text"]
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'role.changed'") == [
        (2,)]
