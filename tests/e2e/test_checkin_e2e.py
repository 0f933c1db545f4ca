"""Check-in: staff scan a member's card (`/start ci_<token>`), or check
them in by the card's code or by name with /checkin; with the bot as its own process, tgemu
over HTTP and a real PostgreSQL, in English and Russian."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from fitclub.locales import Texts
from fitclub.services import card
from tests import factories
from tests.e2e.harness import BASE_ENV, TOKEN, query, wait_until
from tests.e2e.session import Person, button_data, buttons

SECRET = BASE_ENV["CARD_SECRET"]
NEXT = [["📷 Check in another"], ["« Staff"]]
NEXT_RU = [["📷 Отметить ещё"], ["« Сотрудникам"]]


def _person(db_url: str, person: Person, first: str, last: str | None = None, *,
            role: str = "member", lang: str = "en") -> int:
    return factories.member(db_url, person.id, first, last_name=last,
                            phone=f"+4915100{person.id}", role=role, language=lang)


def _membership(db_url: str, member_id: int, *, visits: int = 10, status: str = "active") -> int:
    return factories.membership(db_url, member_id, starts_on=-1, ends_on=29, visits_left=visits,
                                status=status)


def _plan(db_url: str) -> None:
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=30, visit_count=10,
                   freeze_days=14)


def _visits(db_url: str, member_id: int) -> list[tuple]:
    return query(db_url, "SELECT checked_in_by, method, class_id FROM visits"
                         " WHERE member_id = %s ORDER BY id", (member_id,))


def _left(db_url: str, member_id: int) -> int:
    return query(db_url, "SELECT visits_left FROM memberships WHERE member_id = %s",
                 (member_id,))[0][0]


def _link(member_id: int, issued: datetime | None = None) -> str:
    return "/start " + card.PREFIX + card.make_token(member_id, issued or datetime.now(UTC),
                                                     SECRET)


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M")  # CLUB_TIMEZONE is UTC here


def _note(person: Person, count: int) -> dict:
    """The person's `count`-th message from the bot, once it has arrived."""
    wait_until(lambda: len(person.messages()) >= count, 15, f"message {count} to {person.id}")
    return person.messages()[count - 1]


def press_old(emu, person: Person, message_id: int, data: str) -> dict:
    """A press of a button the message no longer shows (a double tap delivered after the
    edit, as Telegram does); the bot's answer."""
    before = len(person.events())
    emu.inject_update(TOKEN, {"callback_query": {
        "id": f"old-{time.monotonic_ns()}", "chat_instance": "1", "data": data,
        "from": {"id": person.id, "is_bot": False, "first_name": person.user.data.first_name,
                 "language_code": person.user.data.language_code},
        "message": {"message_id": message_id, "date": int(time.time()),
                    "chat": {"id": person.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"}, "text": ""}}})
    return wait_until(lambda: next((e for e in person.events()[before:]
                                    if e["kind"] == "callback_answer"), None), 15,
                      f"an answer to {data!r}")


def test_scans_at_the_door(emu, launcher, db_url):
    tom, ada = Person(emu, "Tom"), Person(emu, "Ada", "ru")
    anna, boris, clara, dima = (Person(emu, "Anna", "ru"), Person(emu, "Boris"),
                                Person(emu, "Clara"), Person(emu, "Dima"))
    _plan(db_url)
    tom_id = _person(db_url, tom, "Tom", role="trainer")
    ada_id = _person(db_url, ada, "Ada", role="admin", lang="ru")
    anna_id = _person(db_url, anna, "Anna", "Petrova", lang="ru")
    _person(db_url, boris, "Boris")
    clara_id, dima_id = _person(db_url, clara, "Clara"), _person(db_url, dima, "Dima")
    for member_id in (anna_id, clara_id):
        _membership(db_url, member_id)
    dima_membership = _membership(db_url, dima_id, visits=9)
    query(db_url, "UPDATE memberships SET status = 'frozen' WHERE member_id = %s", (clara_id,))
    query(db_url, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                  " SELECT id, current_date - 1, current_date + 6 FROM memberships"
                  " WHERE member_id = %s", (clara_id,))
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=10)
    starts = (datetime.now(UTC) + timedelta(minutes=15)).replace(second=0, microsecond=0)
    class_id = factories.class_(db_url, tom_id, starts, duration_minutes=60, capacity=10)
    factories.booking(db_url, class_id, dima_id, status="booked", membership_id=dima_membership,
                      visit_reserved=True)
    # No reminder for Dima's class: he has not started the bot yet, and a 403 would mark him.
    launcher.start(db_url, REMINDER_HOURS="0.05")
    for person in (anna, dima):  # the bot may message only people who started it
        person.send("/start")

    # A scan by staff: one visit, a line for each side (the member's in her language).
    link = _link(anna_id)
    (done,) = tom.send(link)
    assert done["text"] == "✅ Anna Petrova checked in · 9 visits left"
    assert buttons(done) == NEXT
    assert _note(anna, 2)["text"] == "✅ Вход отмечен · осталось 9 посещений. Хорошей тренировки!"
    assert _visits(db_url, anna_id) == [(tom_id, "qr", None)] and _left(db_url, anna_id) == 9

    # The same card scanned again: a card checks in once (issue 17), nothing recorded.
    (again,) = tom.send(link)
    (at,), = query(db_url, "SELECT checked_in_at FROM visits WHERE member_id = %s", (anna_id,))
    assert again["text"] == (f"⛔ This code was already used at {_hhmm(at)}: a card checks in "
                             "once. Nothing recorded.")
    # Another card of hers within the dedup window: already checked in, no second note.
    (other,) = tom.send(_link(anna_id, datetime.now(UTC) - timedelta(minutes=2)))
    assert other["text"] == f"Anna Petrova is already checked in at {_hhmm(at)}. Nothing recorded."
    assert len(_visits(db_url, anna_id)) == 1 and _left(db_url, anna_id) == 9

    # A member who opens the link is told it is for staff; the attempt is audited.
    (for_staff,) = boris.send(link)
    assert for_staff["text"] == ("This link is a membership card: staff scan it at the door. "
                                 "Your own card is under /card.")
    assert len(_visits(db_url, anna_id)) == 1
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'denied'"
                         " AND details->>'what' = 'checkin.scan'") == [(1,)]

    # An expired and a tampered token record nothing.
    (old,) = tom.send(_link(dima_id, datetime.now(UTC) - timedelta(minutes=10)))
    assert old["text"] == ("⛔ This card's code has expired. Ask the member to open /card "
                           "again or tap 🔄 Refresh.")
    token = card.make_token(dima_id, datetime.now(UTC), SECRET)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    (bad,) = tom.send(f"/start ci_{forged}")
    assert bad["text"] == ("⛔ This card failed the signature check: it was altered or is not "
                           "ours. Nothing recorded.")
    assert _visits(db_url, dima_id) == []

    # A frozen membership: the reason, nothing recorded (in English and in Russian).
    (until,), = query(db_url, "SELECT current_date + 6")
    (frozen,) = tom.send(_link(clara_id))
    assert frozen["text"] == (f"⛔ Clara's membership is frozen until "
                              f"{Texts('en').date(until)}. Nothing recorded.")
    (frozen_ru,) = ada.send(_link(clara_id))
    assert frozen_ru["text"] == (f"⛔ Clara: абонемент заморожен до {Texts('ru').date(until)} "
                                 "Вход не отмечен.")
    assert buttons(frozen_ru) == NEXT_RU
    assert _visits(db_url, clara_id) == []

    # A booked class starting within the window: attended, its reserved visit used, no other.
    (booked,) = ada.send(_link(dima_id))
    assert booked["text"] == (f"✅ Dima — вход отмечен, занятие «Yoga» в {_hhmm(starts)} · "
                              "осталось 9 посещений")
    assert _note(dima, 2)["text"] == (f"✅ You're checked in for Yoga at {_hhmm(starts)} · "
                                      "9 visits left. Have a good workout!")
    assert query(db_url, "SELECT status FROM bookings") == [("attended",)]
    assert _left(db_url, dima_id) == 9
    assert _visits(db_url, dima_id) == [(ada_id, "qr", class_id)]


def test_check_in_by_code_and_by_name(emu, launcher, db_url):
    tom, ada = Person(emu, "Tom"), Person(emu, "Ada", "ru")
    anna, boris, clara, eva = (Person(emu, "Anna", "ru"), Person(emu, "Boris"),
                               Person(emu, "Clara"), Person(emu, "Eva", "ru"))
    _plan(db_url)
    tom_id = _person(db_url, tom, "Tom", role="trainer")
    _person(db_url, ada, "Ada", role="admin", lang="ru")
    anna_id = _person(db_url, anna, "Anna", "Petrova", lang="ru")
    boris_id, clara_id = _person(db_url, boris, "Boris"), _person(db_url, clara, "Clara")
    eva_id = _person(db_url, eva, "Eva", lang="ru")
    for member_id in (anna_id, boris_id, clara_id, eva_id):
        _membership(db_url, member_id)
    (ends,), = query(db_url, "SELECT current_date + 29")
    launcher.start(db_url)
    for person in (boris, eva):
        person.send("/start")

    # /checkin asks for a code or a name; bad input is answered and the step goes on.
    (ask,) = tom.send("/checkin")
    assert ask["text"] == ("📷 Check in\nScan the member's QR card with your phone's camera, "
                           "or send the 6-digit code from their card, or part of their name, "
                           "their whole phone number or username. /cancel stops.")
    assert buttons(ask) == [["« Staff"]]
    (short,) = tom.send("x")
    assert short["text"] == ("Send the 6-digit code from the card, or 2 to 64 characters of a "
                             "name, phone number or username.")
    codes = {c for (c,) in query(db_url, "SELECT code FROM card_codes")}
    unknown = next(c for c in ("000000", "111111", "222222") if c not in codes)
    (no_card,) = tom.send(f"{unknown[:3]} {unknown[3:]}")
    assert no_card["text"] == (f"No valid card shows the code {unknown[:3]} {unknown[3:]}. Ask "
                               "the member to open /card again, or send their name.")

    # The member's card code, typed: checked in at once, both sides told.
    (shown,) = anna.send("/card")
    code = re.search(r"(\d{3}) (\d{3})", shown["caption"])
    (done,) = tom.send(code.group(1) + code.group(2))
    assert done["text"] == "✅ Anna Petrova checked in · 9 visits left"
    assert buttons(done) == NEXT
    assert _note(anna, 2)["text"] == "✅ Вход отмечен · осталось 9 посещений. Хорошей тренировки!"
    assert _visits(db_url, anna_id) == [(tom_id, "code", None)]

    # By name; commands keep working during the step.
    (again,) = tom.send("/checkin")
    assert again["text"] == ask["text"]
    (help_,) = tom.send("/help")
    assert buttons(help_)[0] == ["🛠 Staff commands"]  # the staff's commands behind it
    (found,) = tom.send("Bor")
    assert found["text"] == "Found for “Bor”. Who is checking in?"
    assert buttons(found) == [["Boris"], ["« Staff"]]  # found by name: no phone digit
    tom.press(found, "Boris")
    confirm = tom.wait_edit(found["message_id"], "Membership")
    assert confirm["text"] == (f"Boris\nMembership: Ten · active ✅ · until "
                               f"{Texts('en').date(ends)} · 10 visits left")
    assert buttons(confirm) == [["✅ Check in Boris"], ["« Back"]]
    confirm_data = button_data(confirm, "Check in Boris")
    tom.press(confirm, "Check in Boris")
    done = tom.wait_edit(found["message_id"], "checked in")
    assert done["text"] == "✅ Boris checked in · 9 visits left" and buttons(done) == NEXT
    assert _note(boris, 2)["text"] == "✅ You're checked in · 9 visits left. Have a good workout!"

    # A double tap on the confirm button records nothing and leaves the screen as it is.
    answer = press_old(emu, tom, found["message_id"], confirm_data)
    (at,), = query(db_url, "SELECT checked_in_at FROM visits WHERE member_id = %s", (boris_id,))
    assert answer["text"] == f"Boris is already checked in at {_hhmm(at)}. Nothing recorded."
    assert answer["show_alert"] is True
    assert len(_visits(db_url, boris_id)) == 1 and _left(db_url, boris_id) == 9
    assert tom.now(found["message_id"])["text"] == "✅ Boris checked in · 9 visits left"

    # A member gone since the list was shown: the old button says so and asks again.
    tom.press(done, "Check in another")
    tom.wait_edit(found["message_id"], "Scan the member's QR card")
    (listed,) = tom.send("Clara")
    query(db_url, "UPDATE members SET telegram_id = NULL, first_name = NULL, phone = NULL,"
                  " deleted_at = now() WHERE id = %s", (clara_id,))
    assert tom.press(listed, "Clara")["text"] == "This is no longer available."
    tom.wait_edit(listed["message_id"], "Scan the member's QR card")
    assert _visits(db_url, clara_id) == []

    # In Russian, by name, with bad input first.
    (ask_ru,) = ada.send("/checkin")
    assert ask_ru["text"].startswith("📷 Отметить вход\nОтсканируйте QR-код карты клиента")
    assert buttons(ask_ru) == [["« Сотрудникам"]]
    (short_ru,) = ada.send("а")
    assert short_ru["text"] == ("Отправьте 6-значный код с карты или от 2 до 64 символов "
                                "имени, номера телефона или имени пользователя.")
    (none_ru,) = ada.send("Zoe")
    assert none_ru["text"] == ("По запросу «Zoe» никого не нашлось. Попробуйте другое имя, "
                               "номер телефона, имя пользователя или 6-значный код.")
    (found_ru,) = ada.send("Eva")
    assert found_ru["text"] == "Найдено по запросу «Eva». Кого отметить?"
    ada.press(found_ru, "Eva")
    confirm_ru = ada.wait_edit(found_ru["message_id"], "Абонемент")
    assert confirm_ru["text"] == (f"Eva\nАбонемент: Ten · действует ✅ · до "
                                  f"{Texts('ru').date(ends)} · осталось 10 посещений")
    assert buttons(confirm_ru) == [["✅ Отметить вход: Eva"], ["« Назад"]]
    ada.press(confirm_ru, "Отметить вход")
    done_ru = ada.wait_edit(found_ru["message_id"], "вход отмечен")
    assert done_ru["text"] == "✅ Eva — вход отмечен · осталось 9 посещений"
    assert buttons(done_ru) == NEXT_RU
    assert _note(eva, 2)["text"] == "✅ Вход отмечен · осталось 9 посещений. Хорошей тренировки!"

    # /cancel leaves the step: a name typed afterwards is not searched.
    ada.send("/checkin")
    (cancelled,) = ada.send("/cancel")
    assert cancelled["text"] == "Отменено."
    (after,) = ada.send("Eva")
    assert "Найдено" not in after["text"]
    assert query(db_url, "SELECT count(*) FROM visits") == [(3,)]
