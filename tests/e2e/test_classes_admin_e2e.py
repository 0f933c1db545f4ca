"""Classes: scripted admin sessions with the bot as its own process,
tgemu over HTTP and a real PostgreSQL, in English and Russian, each reply's text and buttons
checked: create a class type, schedule one class, a weekly series across a DST change,
change capacity, move and cancel a class; bad input at each typed step, double taps, old
buttons and ids of things gone. And: cancelling a class with 15 booked and 5 waitlisted
members tells all 20 exactly once and gives back 15 visits."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, buttons

BERLIN = ZoneInfo("Europe/Berlin")

T = {
    "en": {
        "types": "🧩 Class types", "classes": "📅 Classes", "staff": "« Staff",
        "back": "⬅️ Back", "cancel": "✖ Cancel", "stale": "This is no longer available.",
        "no_types": "No class types yet. Create the first one.", "new_type": "➕ New type",
        "step": "New class type · step {n} of 6", "skip": "Skip",
        "too_long": "⚠️ That's too long: at most 64",
        "no_desc": "No description", "number": "⚠️ Send a whole number from 5 to 480.",
        "range": "⚠️ The number must be from 1 to 500.", "min": "{n} min",
        "places": "{n} places", "save_title": "Save this class type?", "save": "✅ Save",
        "created": "✅ Class type created.", "len_default": "Length by default: 60 minutes",
        "cap_default": "Places by default: {n}",
        "type_buttons": [["✏️ Name", "✏️ Description"],
                         ["🌐 Name in Russian", "🌐 Description in Russian"],
                         ["✏️ Length", "✏️ Places"],
                         ["🗑 Delete"], ["« Class types"]],
        "editing": "Editing: Yoga", "saved": "✅ Saved.", "taken": "⚠️ A class type with",
        "cancelled_flow": "Cancelled, nothing changed.",
        "schedule": "➕ Schedule a class", "new_class": "New class",
        "ask_type": "Choose the class type:", "ask_trainer": "Choose the trainer:",
        "ask_day": "Choose the date, or send it as DD.MM",
        "bad_date": "⚠️ Send the date as DD.MM, e.g. 24.12.",
        "no_such_date": "⚠️ There is no such date in the calendar: check the day and the month.",
        "ask_repeat": "Just this one class, or repeat it every week?",
        "once": "📅 Just this day", "weekly": "🔁 Repeat weekly",
        "ask_time": "Send the start time as HH:MM (club time, {zone})",
        "bad_time": "⚠️ Send the time as HH:MM, e.g. 19:00.",
        "past": "⚠️ That moment has already passed",
        "dur_button": "60 min (as the type)", "cap_button": "16 places (as the type)",
        "ask_room": "Which room?", "no_room": "No room",
        "bad_room": "⚠️ The room name must be 1 to 64 characters.",
        "head": ["Type: Yoga", "Trainer: Tina Petrova", "Time: 19:00",
                 "Length: 60 minutes"],
        "one_class": "1 class:", "confirm": "✅ Confirm", "change": "✏️ Change",
        "change_rows": [["Type", "Trainer"], ["Date and repeat", "Time"],
                        ["Length", "Places"], ["Room"], ["⬅️ Back"]],
        "room_none": "Room: none", "room_studio": "Room: Studio 2", "places12": "Places: 12",
        "done_one": "✅ Scheduled: Yoga, ", "open_class": "Open the class",
        "card": ["Trainer: Tina Petrova", "Room: not set", "Booked: 0 of 12", "Waitlist: 0"],
        "card_buttons": [["👥 Change capacity", "🔁 Move"], ["✖ Cancel class"],
                         ["⬅️ Back"]],
        "series_ask": "Mark the weekdays", "made16": "that makes 16 classes",
        "continue": "Continue »",
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "tue": "Tue", "thu": "Thu", "series_head": "Every Tue, Thu for 8 weeks, from ",
        "sixteen": "16 classes:", "more": "…and 6 more",
        "done_many": "✅ Scheduled 16 classes of Yoga: ",
        "open_day": "📅 Open the first day", "hall": "Room: Hall A",
        # capacity, move, cancel
        "cap_number": "⚠️ Send a whole number from 1 to 500.", "cancelled_cmd": "Cancelled.",
        "booked3": "Booked: 3 of 3", "wait3": "Waitlist: 3",
        "cap_now": "Now 3 places: 3 booked, 0 held for the waitlist, 3 waiting.",
        "below": "⚠️ 3 places are already booked or held: capacity can't go below that.",
        "cap_done": "✅ Capacity is now 5. 2 places offered to the waitlist.",
        "held2": "Held for the waitlist: 2 places", "offer": "A place is free",
        "move_title": "Move Yoga · now ", "move_ask": "Choose the new date or send it as DD.MM.",
        "same_time": "Same time, 10:00", "new_date": "New date: ",
        "move_q": "Move Yoga?", "told": "3 booked members and 3 on the waitlist will be told.",
        "move_ok": "✅ Move the class", "moved": "✅ Moved to {when}; 6 members told.",
        "move_same": "The class is already at that time.",
        "ask_change": "What do you want to change?",
        "moved_notice": "Yoga has moved.", "now_line": "Now: {when}",
        "kept": "Your place is kept.", "still": "You're still on the waitlist.",
        "cancel_q": "Cancel Yoga on {when}?", "visits3": "3 visits go back",
        "cancel_ok": "✖ Yes, cancel the class", "keep": "No, keep it",
        "cancelled": "✖ Class cancelled. Members told: 6; visits given back: 3.",
        "is_cancelled": "✖ This class is cancelled.",
        "notice": "Yoga on {when} is cancelled.", "visit_back": "Your visit is back",
        "already": "This class is already cancelled.",
    },
    "ru": {
        "types": "🧩 Виды занятий", "classes": "📅 Занятия", "staff": "« Сотрудникам",
        "back": "⬅️ Назад", "cancel": "✖ Отмена", "stale": "Это больше недоступно.",
        "no_types": "Видов занятий пока нет. Создайте первый.", "new_type": "➕ Новый вид",
        "step": "Новый вид занятий · шаг {n} из 6", "skip": "Пропустить",
        "too_long": "⚠️ Слишком длинно: не больше 64", "no_desc": "Без описания",
        "number": "⚠️ Пришлите целое число от 5 до 480.",
        "range": "⚠️ Число должно быть от 1 до 500.", "min": "{n} мин",
        "places": "{n} мест", "save_title": "Сохранить этот вид занятий?",
        "save": "✅ Сохранить", "created": "✅ Вид занятий создан.",
        "len_default": "Длительность по умолчанию: 60 минут",
        "cap_default": "Мест по умолчанию: {n}",
        "type_buttons": [["✏️ Название", "✏️ Описание"],
                         ["🌐 Название на английском", "🌐 Описание на английском"],
                         ["✏️ Длительность", "✏️ Места"],
                         ["🗑 Удалить"], ["« Виды занятий"]],
        "editing": "Изменение: Yoga", "saved": "✅ Сохранено.",
        "taken": "⚠️ Вид занятий с таким названием уже есть.",
        "cancelled_flow": "Отменено, ничего не изменилось.",
        "schedule": "➕ Запланировать занятие", "new_class": "Новое занятие",
        "ask_type": "Выберите вид занятия:", "ask_trainer": "Выберите тренера:",
        "ask_day": "Выберите дату или пришлите её в виде ДД.ММ",
        "bad_date": "⚠️ Пришлите дату в виде ДД.ММ, например 24.12.",
        "no_such_date": "⚠️ Такой даты нет в календаре: проверьте день и месяц.",
        "ask_repeat": "Только это занятие или повторять каждую неделю?",
        "once": "📅 Только этот день", "weekly": "🔁 Каждую неделю",
        "ask_time": "Пришлите время начала в виде ЧЧ:ММ (время клуба, {zone})",
        "bad_time": "⚠️ Пришлите время в виде ЧЧ:ММ, например 19:00.",
        "past": "⚠️ Это время уже прошло",
        "dur_button": "60 мин (как у вида)", "cap_button": "16 мест (как у вида)",
        "ask_room": "В каком зале?", "no_room": "Без зала",
        "bad_room": "⚠️ Название зала — от 1 до 64 символов.",
        "head": ["Вид: Yoga", "Тренер: Tina Petrova", "Время: 19:00",
                 "Длительность: 60 минут"],
        "one_class": "1 занятие:", "confirm": "✅ Подтвердить", "change": "✏️ Изменить",
        "change_rows": [["Вид", "Тренер"], ["Дату и повтор", "Время"],
                        ["Длительность", "Места"], ["Зал"], ["⬅️ Назад"]],
        "room_none": "Зал: не указан", "room_studio": "Зал: Studio 2", "places12": "Мест: 12",
        "done_one": "✅ Запланировано: Yoga, ", "open_class": "Открыть занятие",
        "card": ["Тренер: Tina Petrova", "Зал: не указан", "Записано: 0 из 12",
                 "Лист ожидания: 0"],
        "card_buttons": [["👥 Изменить число мест", "🔁 Перенести"], ["✖ Отменить занятие"],
                         ["⬅️ Назад"]],
        "series_ask": "Отметьте дни недели", "made16": "получится 16 занятий",
        "continue": "Дальше »",
        "days": ["пн", "вт", "ср", "чт", "пт", "сб", "вс"],
        "tue": "вт", "thu": "чт", "series_head": "Каждую неделю (вт, чт), 8 недель, начиная с ",
        "sixteen": "16 занятий:", "more": "…и ещё 6",
        "done_many": "✅ Запланировано 16 занятий Yoga: ",
        "open_day": "📅 Открыть первый день", "hall": "Зал: Hall A",
        "cap_number": "⚠️ Пришлите целое число от 1 до 500.", "cancelled_cmd": "Отменено.",
        "booked3": "Записано: 3 из 3", "wait3": "Лист ожидания: 3",
        "cap_now": "Сейчас мест: 3. Записано: 3, придержано для листа ожидания: 0, ждут: 3.",
        "below": "⚠️ Мест не может быть меньше, чем уже занято: 3.",
        "cap_done": "✅ Теперь мест: 5. 2 места предложены листу ожидания.",
        "held2": "Придержано для листа ожидания: 2 места", "offer": "Освободилось место",
        "move_title": "Перенос: Yoga · сейчас ",
        "move_ask": "Выберите новую дату или пришлите её в виде ДД.ММ.",
        "same_time": "То же время, 10:00", "new_date": "Новая дата: ",
        "move_q": "Перенести Yoga?",
        "told": "Сообщение получат: 3 записавшихся и 3 из листа ожидания.",
        "move_ok": "✅ Перенести занятие",
        "moved": "✅ Перенесено на {when}. Уведомлены 6 человек.",
        "move_same": "Занятие и так в это время.", "ask_change": "Что изменить?",
        "moved_notice": "Занятие Yoga перенесено.", "now_line": "Стало: {when}",
        "kept": "Ваше место сохранено.", "still": "Вы по-прежнему в листе ожидания.",
        "cancel_q": "Отменить Yoga, {when}?", "visits3": "На абонементы вернутся 3 посещения.",
        "cancel_ok": "✖ Да, отменить занятие", "keep": "Нет, оставить",
        "cancelled": "✖ Занятие отменено. Уведомлено: 6, возвращено посещений: 3.",
        "is_cancelled": "✖ Это занятие отменено.",
        "notice": "Занятие Yoga ({when}) отменено.", "visit_back": "Посещение вернулось",
        "already": "Это занятие уже отменено.",
    },
}


# -- helpers -------------------------------------------------------------------------------------

def _admin(emu, db_url: str, lang: str) -> Person:
    admin = Person(emu, "Ada", language_code=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    return admin


def _trainer(db_url: str) -> int:
    return factories.member(db_url, 900001, "Tina", last_name="Petrova", role="trainer",
                            registered=False)


def _tap(person: Person, message_id: int, label: str, shows: str) -> dict:
    """Press a button of the message as it is now; the message once edited to show `shows`."""
    person.press(person.now(message_id), label)
    return person.wait_edit(message_id, shows)



def _reply(person: Person, text: str) -> dict:
    (message,) = person.send(text)
    return message


def _has(message: dict, *parts: str) -> dict:
    for part in parts:
        assert part in message["text"], f"{part!r} not in {message['text']!r}"
    return message


def _next_dst_change(zone: ZoneInfo, after: date) -> date:
    """The first day after `after` whose UTC offset differs from the day before's."""
    day = after
    while True:
        nxt = day + timedelta(days=1)
        if (datetime.combine(nxt, datetime.min.time(), zone).utcoffset()
                != datetime.combine(day, datetime.min.time(), zone).utcoffset()):
            return nxt
        day = nxt


# -- create a type, schedule one class, a weekly series -------------------------------------

def _create_type(emu, admin: Person, db_url: str, t: dict) -> None:
    """/staff -> Class types -> New type, step by step with bad input, Save, edit, a clash."""
    (home,) = admin.send("/staff")
    mid = home["message_id"]
    screen = _tap(admin, mid, t["types"], t["no_types"])
    assert buttons(screen) == [[t["new_type"]], [t["staff"]]]
    screen = _tap(admin, mid, t["new_type"], t["step"].format(n=1))
    assert buttons(screen) == [[t["cancel"]]]
    _has(_reply(admin, "x" * 65), t["too_long"], t["step"].format(n=1))
    screen = _has(_reply(admin, "Yoga"), t["step"].format(n=2), "Yoga")
    assert buttons(screen) == [[t["skip"]], [t["cancel"]]]  # the name in the other language
    screen = _tap(admin, screen["message_id"], t["skip"], t["step"].format(n=3))
    assert buttons(screen) == [[t["no_desc"]], [t["cancel"]]]
    screen = _has(_reply(admin, "Slow flow & breath <3"), t["step"].format(n=4),
                  "Slow flow & breath <3")
    assert buttons(screen) == [[t["skip"]], [t["cancel"]]]  # the description, likewise
    screen = _tap(admin, screen["message_id"], t["skip"], t["step"].format(n=5))
    durations = [[t["min"].format(n=n) for n in (45, 60, 90)], [t["cancel"]]]
    assert buttons(screen) == durations
    screen = _has(_reply(admin, "an hour"), t["number"], t["step"].format(n=5))
    assert buttons(screen) == durations
    screen = _tap(admin, screen["message_id"], t["min"].format(n=60), t["step"].format(n=6))
    assert buttons(screen) == [[t["places"].format(n=n) for n in (10, 15, 20)], [t["cancel"]]]
    _has(_reply(admin, "0"), t["range"], t["step"].format(n=6))
    screen = _has(_reply(admin, "15"), t["save_title"], "Yoga", t["len_default"],
                  t["cap_default"].format(n=15))
    assert buttons(screen) == [[t["save"], t["cancel"]]]
    saved_id = screen["message_id"]
    screen = _tap(admin, saved_id, t["save"], t["created"])
    _has(screen, "Yoga", "Slow flow & breath <3", t["len_default"])
    assert buttons(screen) == t["type_buttons"]
    assert query(db_url, "SELECT name, description, default_duration_minutes,"
                         " default_capacity FROM class_types") == [
        ("Yoga", "Slow flow & breath <3", 60, 15)]
    # Save tapped twice: the second press finds no flow and creates nothing.
    assert admin.inject_press(saved_id, cb.TYPE_FLOW(answer="save"))["text"] == t["stale"]
    assert query(db_url, "SELECT count(*) FROM class_types") == [(1,)]
    # Edit one field; a bad number is refused with the reason, then saved.
    _tap(admin, saved_id, t["type_buttons"][2][1], t["editing"])
    _has(_reply(admin, "0"), t["range"], t["editing"])
    screen = _has(_reply(admin, "16"), t["saved"], t["cap_default"].format(n=16))
    assert buttons(screen) == t["type_buttons"]
    # A second type named like the first in another case is refused; then cancelled.
    screen = _tap(admin, screen["message_id"], t["type_buttons"][-1][0], t["types"])
    assert buttons(screen) == [["Yoga"], [t["new_type"]], [t["staff"]]]
    screen = _tap(admin, screen["message_id"], t["new_type"], t["step"].format(n=1))
    screen = _has(_reply(admin, "YOGA"), t["taken"], t["step"].format(n=1))
    _tap(admin, screen["message_id"], t["cancel"], t["cancelled_flow"])
    assert query(db_url, "SELECT count(*) FROM class_types") == [(1,)]
    assert [a for (a,) in query(db_url, "SELECT action FROM audit_log WHERE action LIKE"
                                        " 'class_type.%%' ORDER BY id")] == [
        "class_type.created", "class_type.changed"]


def _start_flow(admin: Person, t: dict, tx: Texts, today: date) -> int:
    """/classes -> Schedule a class -> Yoga -> Tina Petrova: the date step's message id."""
    (page,) = admin.send("/classes")
    assert buttons(page)[-2:] == [[t["schedule"]], [t["staff"]]]
    mid = page["message_id"]
    screen = _tap(admin, mid, t["schedule"], t["ask_type"])
    assert buttons(screen) == [["Yoga"], [t["cancel"]]]
    screen = _tap(admin, mid, "Yoga", t["ask_trainer"])
    _has(screen, t["new_class"], t["head"][0])
    assert buttons(screen) == [["Tina Petrova", "Ada"], [t["cancel"]]]
    screen = _tap(admin, mid, "Tina Petrova", t["ask_day"])
    days = [tx.date(today + timedelta(days=i), "short") for i in range(14)]
    assert buttons(screen) == [days[i:i + 2] for i in range(0, 14, 2)] + [[t["cancel"]]]
    return mid


def _schedule_one(emu, admin: Person, db_url: str, t: dict, tx: Texts) -> None:
    today = datetime.now(BERLIN).date()
    zone = "Europe/Berlin"  # the zone named as the CSV export names it, not "CET"
    # Today at 00:00 has passed: refused; /cancel leaves the flow.
    mid = _start_flow(admin, t, tx, today)
    screen = _tap(admin, mid, tx.date(today, "short"), t["ask_repeat"])
    assert buttons(screen) == [[t["once"], t["weekly"]], [t["cancel"]]]
    # The type button again (an old button) finds the flow at another step: nothing changes.
    assert admin.inject_press(mid, cb.NEW_CLASS_TYPE(type_id=1))["text"] == t["stale"]
    screen = _tap(admin, mid, t["once"], t["ask_time"].format(zone=zone))
    assert buttons(screen) == [[t["cancel"]]]
    _has(_reply(admin, "25:00"), t["bad_time"], t["ask_time"].format(zone=zone))
    _has(_reply(admin, "00:00"), t["past"], t["ask_time"].format(zone=zone))
    assert _reply(admin, "/cancel")["text"] == t["cancelled_cmd"]

    # Tomorrow at 19:00, every step with a bad value first.
    mid = _start_flow(admin, t, tx, today)
    tomorrow = today + timedelta(days=1)
    _tap(admin, mid, tx.date(tomorrow, "short"), t["ask_repeat"])
    _tap(admin, mid, t["once"], t["ask_time"].format(zone=zone))
    screen = _has(_reply(admin, "19:00"), *t["head"][:3])
    assert buttons(screen) == [[t["dur_button"]], [t["cancel"]]]
    screen = _has(_reply(admin, "long"), t["number"])
    assert buttons(screen) == [[t["dur_button"]], [t["cancel"]]]
    screen = _tap(admin, screen["message_id"], t["dur_button"], t["head"][3])
    assert buttons(screen) == [[t["cap_button"]], [t["cancel"]]]
    _has(_reply(admin, "0"), t["range"])
    screen = _has(_reply(admin, "12"), t["ask_room"], t["places12"])
    assert buttons(screen) == [[t["no_room"]], [t["cancel"]]]
    _has(_reply(admin, "x" * 65), t["bad_room"], t["ask_room"])
    screen = _has(_reply(admin, "Studio 2"), *t["head"], t["places12"], t["room_studio"],
                  t["one_class"], tx.date(tomorrow, "short"))
    assert buttons(screen) == [[t["confirm"]], [t["change"], t["cancel"]]]
    mid = screen["message_id"]
    # Change the room before confirming.
    screen = _tap(admin, mid, t["change"], t["ask_change"])
    assert buttons(screen) == t["change_rows"]
    screen = _tap(admin, mid, t["change_rows"][3][0], t["ask_room"])
    assert buttons(screen) == [[t["no_room"]], [t["cancel"]]]
    screen = _tap(admin, mid, t["no_room"], t["room_none"])
    assert buttons(screen) == [[t["confirm"]], [t["change"], t["cancel"]]]
    screen = _tap(admin, mid, t["confirm"], t["done_one"])
    assert buttons(screen) == [[t["open_class"]], [t["staff"]]]
    # Confirm tapped twice: the second press finds no flow.
    assert admin.inject_press(mid, cb.NEW_CLASS_FLOW(answer="ok"))["text"] == t["stale"]
    ((starts_at, room, capacity),) = query(db_url, "SELECT starts_at, room, capacity"
                                                   " FROM classes")
    local = starts_at.astimezone(BERLIN)
    assert (local.date(), local.hour, local.minute, room, capacity) == (tomorrow, 19, 0, "",
                                                                        12)
    screen = _tap(admin, mid, t["open_class"], t["card"][2])
    _has(screen, "Yoga", *t["card"])
    assert buttons(screen) == t["card_buttons"]


def _schedule_series(admin: Person, db_url: str, t: dict, tx: Texts) -> None:
    """Tue and Thu at 19:00 for 8 weeks from 10 days before the next DST change."""
    today = datetime.now(BERLIN).date()
    first = _next_dst_change(BERLIN, today) - timedelta(days=10)
    mid = _start_flow(admin, t, tx, today)
    _has(_reply(admin, "31.02"), t["no_such_date"], t["ask_day"])
    screen = _has(_reply(admin, first.strftime("%d.%m.%Y")), t["ask_repeat"],
                  tx.date(first, "short"))
    mid = screen["message_id"]
    screen = _tap(admin, mid, t["weekly"], t["series_ask"])
    names = t["days"]
    marked = [("✓" if i + 1 == first.isoweekday() else "") + names[i] for i in range(7)]
    weeks = [("•" if n == 4 else "") + str(n) for n in range(1, 13)]
    assert buttons(screen) == [marked[:4], marked[4:], weeks[:6], weeks[6:],
                               [t["continue"], t["once"]], [t["cancel"]]]
    for day in {first.isoweekday()} ^ {2, 4}:  # end with Tuesday and Thursday only
        label = names[day - 1]
        before = admin.now(mid)["reply_markup"]
        admin.press(admin.now(mid), label)
        wait_until(lambda b=before: admin.now(mid)["reply_markup"] != b, 15, "a toggle")
    screen = _tap(admin, mid, "8", t["made16"])
    assert buttons(screen)[0][1].startswith("✓") and buttons(screen)[0][3].startswith("✓")
    screen = _tap(admin, mid, t["continue"], t["ask_time"].format(zone="Europe/Berlin"))
    screen = _has(_reply(admin, "19:00"), t["series_head"] + tx.date(first, "short"))
    screen = _tap(admin, screen["message_id"], t["dur_button"], t["head"][3])
    screen = _tap(admin, screen["message_id"], t["cap_button"], t["ask_room"])
    screen = _has(_reply(admin, "Hall A"), t["sixteen"], t["more"], t["hall"])
    screen = _tap(admin, screen["message_id"], t["confirm"], t["done_many"])
    assert buttons(screen) == [[t["open_day"]], [t["staff"]]]
    rows = query(db_url, "SELECT starts_at FROM classes WHERE series_id IS NOT NULL"
                         " ORDER BY starts_at")
    local = [r[0].astimezone(BERLIN) for r in rows]
    assert len(local) == 16
    assert {(m.hour, m.minute) for m in local} == {(19, 0)}
    assert [m.isoweekday() for m in local] == [2, 4] * 8 if local[0].isoweekday() == 2 \
        else [4, 2] * 8
    assert len({m.utcoffset() for m in local}) == 2, "the series crosses a DST change"
    assert query(db_url, "SELECT weekdays, weeks FROM class_series") == [([2, 4], 8)]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_admin_creates_a_type_schedules_a_class_and_a_weekly_series_across_dst(
        emu, launcher, db_url, lang):
    t = T[lang]
    tx = Texts(lang)
    admin = _admin(emu, db_url, lang)
    _trainer(db_url)
    launcher.start(db_url, CLUB_TIMEZONE="Europe/Berlin")
    _create_type(emu, admin, db_url, t)
    _schedule_one(emu, admin, db_url, t, tx)
    _schedule_series(admin, db_url, t, tx)
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'class.scheduled'"
                         " AND actor_id = (SELECT id FROM members WHERE role = 'admin')") == [
        (17,)]


# -- capacity, move, cancel --------------------------------------------------------------------

def _seed_class(db_url: str, booked: list[Person], line: list[Person], lang: str,
                starts_at: datetime) -> int:
    """A Yoga class, full with `booked` (a visit reserved each), `line` on its waitlist."""
    plan_id = factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    type_id = factories.class_type(db_url, "Yoga", default_duration_minutes=60,
                                   default_capacity=10)
    trainer_id = _trainer(db_url)
    class_id = factories.class_(db_url, trainer_id, starts_at, class_type_id=type_id,
                                duration_minutes=60, capacity=len(booked))
    for person in booked + line:  # one after another: the waitlist keeps this order
        seat = person in booked
        member_id = factories.member(db_url, person.id, person.user.data.first_name,
                                     phone=f"+1000{person.id}", language=lang)
        membership_id = factories.membership(db_url, member_id, plan_id, starts_on=-1,
                                             ends_on=30, visits_left=9 if seat else 10)
        factories.booking(db_url, class_id, member_id,
                          status="booked" if seat else "waitlisted",
                          membership_id=membership_id if seat else None, visit_reserved=seat)
    return class_id


def _visits(db_url: str, people: list[Person]) -> list[int]:
    return [r[0] for r in query(db_url, "SELECT ms.visits_left FROM memberships ms JOIN members"
                                        " m ON m.id = ms.member_id WHERE m.telegram_id ="
                                        " ANY(%s) ORDER BY m.telegram_id",
                                ([p.id for p in people],))]


def _with(person: Person, text: str) -> list[dict]:
    return [m for m in person.messages() if text in (m["text"] or "")]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_admin_changes_capacity_moves_and_cancels_a_class(emu, launcher, db_url, lang):
    t = T[lang]
    tx = Texts(lang)
    admin = _admin(emu, db_url, lang)
    booked = [Person(emu, f"B{i}", language_code=lang) for i in range(3)]
    line = [Person(emu, f"W{i}", language_code=lang) for i in range(3)]
    emu.open_chats(TOKEN, [p.user for p in booked + line])
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    starts_at = datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(hours=10)
    class_id = _seed_class(db_url, booked, line, lang, starts_at)
    launcher.start(db_url, JOB_POLL_SECONDS="0.2")

    (page,) = admin.send("/classes")
    mid = page["message_id"]
    _tap(admin, mid, f"{tx.date(tomorrow, 'short')} ▶", "10:00")
    screen = _tap(admin, mid, "10:00 Yoga · 3/3", t["booked3"])
    _has(screen, t["wait3"])
    assert buttons(screen) == t["card_buttons"]

    # Capacity: below the places booked is refused with the number; 5 offers 2 places.
    screen = _tap(admin, mid, t["card_buttons"][0][0], t["cap_now"])
    assert buttons(screen) == [["4", "5", "8"], ["13"], [t["back"]]]
    screen = _has(_reply(admin, "2"), t["below"], t["cap_now"])
    screen = _has(_reply(admin, "many"), t["cap_number"], t["cap_now"])
    assert buttons(screen) == [["4", "5", "8"], ["13"], [t["back"]]]
    mid = screen["message_id"]
    screen = _tap(admin, mid, "5", t["cap_done"])
    _has(screen, t["held2"])
    assert buttons(screen) == t["card_buttons"]
    for person in line[:2]:
        wait_until(lambda p=person: _with(p, t["offer"]), 15, "an offer")
    assert query(db_url, "SELECT capacity FROM classes") == [(5,)]
    assert query(db_url, "SELECT count(*) FROM waitlist_offers WHERE status = 'open'") == [(2,)]

    # Move: a typed date and time, each wrong once; everyone booked or waiting is told.
    screen = _tap(admin, mid, t["card_buttons"][0][1], t["move_ask"])
    _has(screen, t["move_title"])
    day_labels = [tx.date(tomorrow - timedelta(days=1) + timedelta(days=i), "short")
                  for i in range(14)]
    assert buttons(screen) == [day_labels[i:i + 2] for i in range(0, 14, 2)] + [[t["back"]]]
    screen = _has(_reply(admin, "soon"), t["bad_date"], t["move_ask"])
    new_day = tomorrow + timedelta(days=1)
    screen = _tap(admin, screen["message_id"], tx.date(new_day, "short"), t["new_date"])
    assert buttons(screen) == [[t["same_time"]], [t["back"]]]
    _has(_reply(admin, "7pm"), t["bad_time"], t["new_date"] + tx.date(new_day, "short"))
    screen = _has(_reply(admin, "18:30"), t["move_q"], t["told"])
    assert buttons(screen) == [[t["move_ok"]], [t["back"]]]
    new_start = datetime.combine(new_day, datetime.min.time(), UTC) + timedelta(hours=18,
                                                                                 minutes=30)
    when = tx.datetime(new_start)
    mid = screen["message_id"]
    screen = _tap(admin, mid, t["move_ok"], t["moved"].format(when=when))
    assert buttons(screen) == t["card_buttons"]
    assert query(db_url, "SELECT starts_at FROM classes") == [(new_start,)]
    for person in booked + line:
        wait_until(lambda p=person: _with(p, t["moved_notice"]), 15, "a move notice")
    for person in booked + line:
        (notice,) = _with(person, t["moved_notice"])
        _has(notice, t["now_line"].format(when=when),
             t["kept"] if person in booked else t["still"])
        assert buttons(notice) == [[t["open_class"]]]
    # Move confirmed twice: the second press finds the class there already.
    again = admin.inject_press(mid, cb.CLASS_MOVE_OK(class_id=class_id, day=new_day,
                                                     minute=18 * 60 + 30))
    assert again["text"] == t["move_same"]

    # Cancel: No keeps it; Yes tells each member once and gives the visits back.
    screen = _tap(admin, mid, t["card_buttons"][1][0], t["cancel_q"].format(when=when))
    _has(screen, t["told"], t["visits3"])
    assert buttons(screen) == [[t["cancel_ok"]], [t["keep"]]]
    screen = _tap(admin, mid, t["keep"], t["card"][-1].split(":")[0])
    assert buttons(screen) == t["card_buttons"]
    _tap(admin, mid, t["card_buttons"][1][0], t["cancel_q"].format(when=when))
    screen = _tap(admin, mid, t["cancel_ok"], t["cancelled"])
    _has(screen, t["is_cancelled"])
    assert buttons(screen) == [[t["back"]]]
    for person in booked + line:
        wait_until(lambda p=person: _with(p, t["notice"].format(when=when)), 15,
                   "a cancellation notice")
    assert _visits(db_url, booked) == [10, 10, 10] and _visits(db_url, line) == [10, 10, 10]
    assert query(db_url, "SELECT DISTINCT status FROM waitlist_offers") == [("withdrawn",)]
    # Double taps and old buttons change nothing and tell nobody again.
    assert admin.inject_press(mid, cb.CLASS_CANCEL_OK(class_id=class_id))["text"] == \
        t["already"]
    assert admin.inject_press(mid, cb.CLASS_SET_CAPACITY(class_id=class_id,
                                                         capacity=8))["text"] == t["already"]
    assert admin.inject_press(mid, cb.ADMIN_CLASS(class_id=999999))["text"] == t["stale"]
    time.sleep(0.5)
    for person in booked + line:
        (notice,) = _with(person, t["notice"].format(when=when))
        assert (t["visit_back"] in notice["text"]) is (person in booked)
    assert query(db_url, "SELECT status, capacity FROM classes") == [("cancelled", 5)]
    assert [a for (a,) in query(db_url, "SELECT action FROM audit_log WHERE action LIKE"
                                        " 'class.%%' ORDER BY id")] == [
        "class.capacity", "class.moved", "class.cancelled"]


# -- acceptance: 15 booked and 5 waitlisted --------------------------------------------------

def test_cancelling_a_class_with_15_booked_and_5_waitlisted_tells_all_20_once(
        emu, launcher, db_url):
    t = T["en"]
    tx = Texts("en")
    admin = _admin(emu, db_url, "en")
    booked = [Person(emu, f"B{i}") for i in range(15)]
    line = [Person(emu, f"W{i}") for i in range(5)]
    emu.open_chats(TOKEN, [p.user for p in booked + line])
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    starts_at = datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(hours=10)
    class_id = _seed_class(db_url, booked, line, "en", starts_at)
    launcher.start(db_url)

    (page,) = admin.send("/classes")
    mid = page["message_id"]
    _tap(admin, mid, f"{tx.date(tomorrow, 'short')} ▶", "10:00")
    _tap(admin, mid, "10:00 Yoga · 15/15", "Booked: 15 of 15")
    screen = _tap(admin, mid, t["card_buttons"][1][0], "Cancel Yoga on")
    _has(screen, "15 booked members and 5 on the waitlist will be told.",
         "15 visits go back to members' memberships.")
    _tap(admin, mid, t["cancel_ok"], "Members told: 20; visits given back: 15.")

    notice = t["notice"].format(when=tx.datetime(starts_at))
    wait_until(lambda: all(_with(p, notice) for p in booked + line), 20,
               "every member told")
    time.sleep(0.5)  # anything sent twice would arrive by now
    for person in booked + line:
        assert len(person.messages()) == 1, person.messages()
        (message,) = _with(person, notice)
        assert ("Your visit is back" in message["text"]) is (person in booked)
    assert _visits(db_url, booked) == [10] * 15 and _visits(db_url, line) == [10] * 5
    assert query(db_url, "SELECT count(*) FROM outbox WHERE method = 'sendMessage'"
                         " AND chat_id = ANY(%s)", ([p.id for p in booked + line],)) == [(20,)]
    assert query(db_url, "SELECT status, booked_count FROM classes WHERE id = %s",
                 (class_id,)) == [("cancelled", 0)]


def test_a_forged_move_confirm_a_year_away_is_refused(emu, launcher, db_url):
    admin = _admin(emu, db_url, "en")
    trainer_id = _trainer(db_url)
    type_id = factories.class_type(db_url, "Yoga", default_duration_minutes=60,
                                   default_capacity=10)
    starts_at = datetime.combine(date.today() + timedelta(days=1), datetime.min.time(),
                                 UTC) + timedelta(hours=10)
    class_id = factories.class_(db_url, trainer_id, starts_at, class_type_id=type_id,
                                duration_minutes=60, capacity=10)
    launcher.start(db_url)
    (timetable,) = admin.send("/classes")
    # No screen offers this day: it is past the year the date step allows.
    far = date.today() + timedelta(days=400)
    forged = admin.inject_press(timetable["message_id"],
                                cb.CLASS_MOVE_OK(class_id=class_id, day=far, minute=10 * 60))
    assert forged["text"] == T["en"]["stale"]
    assert query(db_url, "SELECT starts_at FROM classes") == [(starts_at,)]
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'class.moved'") == [
        (0,)]
