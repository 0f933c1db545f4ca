"""Trainers: /myclasses, rosters (booked, waitlisted, checked in), marks
attended and no-show, toggling back, refusals, in English and Russian, with the bot as its own
process, tgemu over HTTP and a real PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, button_data, buttons

# What a person reads, per language (dates and times come from the locale's formats).
WORDS = {
    "en": {
        "title": "🏋 My classes",
        "intro": "Your classes over the next 7 days, and recent ones whose marks can still "
                 "change. Tap a class for its roster.",
        "line": "{time} · Yoga · booked {booked}/{capacity}",
        "waiting": " · waitlist {n}",
        "staff": "« Staff",
        "meta": "60 min · trainer Tom",
        "room": "Room: Studio 2",
        "counts": "Booked: {booked} of {capacity} · waitlist: {waiting} · checked in: {checked}",
        "open": "Members not marked by {noshow} are recorded as no-shows. Marks can be changed "
                "until {until}.",
        "before": "Attendance can be marked from {attended}, a no-show once the class starts "
                  "at {start}.",
        "booked_h": "Booked", "waiting_h": "Waitlist", "in_h": "Checked in",
        "unmarked": "▫️ not marked", "attended": "✅ attended", "no_show": "❌ no-show",
        "in_at": " · in at {time}",
        "offered": " · place offered",
        "door": "card at the door", "marked_by": "marked by the trainer",
        "refresh": "🔄 Refresh", "back": "« My classes",
        "toast_attended": "{name}: attended", "toast_no_show": "{name}: no-show",
        "again": "{name} is already marked as attended.",
        "early": "Too early: attendance can be marked from {time}.",
        "stale": "This is no longer available.",
        "none": "You don't teach any classes in the next 7 days.",
        "section": "🏋 My classes",
    },
    "ru": {
        "title": "🏋 Мои занятия",
        "intro": "Ваши занятия на ближайшие 7 дней и недавние, отметки которых ещё можно "
                 "изменить. Нажмите на занятие, чтобы открыть список участников.",
        "line": "{time} · Yoga · записано {booked}/{capacity}",
        "waiting": " · в листе ожидания {n}",
        "staff": "« Сотрудникам",
        "meta": "60 мин · тренер Tom",
        "room": "Зал: Studio 2",
        "counts": "Записано: {booked} из {capacity} · в листе ожидания: {waiting} · "
                  "пришли: {checked}",
        "open": "Кто не будет отмечен к {noshow}, получит неявку. Отметки можно менять до "
                "{until}.",
        "before": "Явку можно отметить с {attended}, неявку — после начала занятия в {start}.",
        "booked_h": "Записались", "waiting_h": "Лист ожидания", "in_h": "Пришли",
        "unmarked": "▫️ не отмечено", "attended": "✅ явка", "no_show": "❌ неявка",
        "in_at": " · вход в {time}",
        "offered": " · место предложено",
        "door": "карта на входе", "marked_by": "отметил тренер",
        "refresh": "🔄 Обновить", "back": "« Мои занятия",
        "toast_attended": "{name}: явка", "toast_no_show": "{name}: неявка",
        "again": "{name}: явка уже отмечена.",
        "early": "Рано: явку можно отметить с {time}.",
        "stale": "Это больше недоступно.",
        "none": "В ближайшие 7 дней у вас нет занятий.",
        "section": "🏋 Мои занятия",
    },
}


def _person(db_url: str, telegram_id: int, first: str, last: str | None, role: str = "member",
            lang: str = "en") -> int:
    return factories.member(db_url, telegram_id, first, last_name=last,
                            phone=f"+1555{telegram_id}", role=role, language=lang)


def _member_with_visits(db_url: str, telegram_id: int, first: str, last: str | None) -> int:
    member_id = _person(db_url, telegram_id, first, last)
    factories.membership(db_url, member_id, starts_on=-1, ends_on=30, visits_left=9)
    return member_id


def _class(db_url: str, trainer_id: int, starts_at: datetime, capacity: int) -> int:
    return factories.class_(db_url, trainer_id, starts_at, duration_minutes=60,
                            capacity=capacity, room="Studio 2")


def _book(db_url: str, member_id: int, class_id: int, status: str, minutes_ago: int) -> int:
    """A place as the booking rules leave it (a booked one reserved its visit)."""
    (membership_id,), = query(db_url, "SELECT id FROM memberships WHERE member_id = %s",
                              (member_id,))
    return factories.booking(db_url, class_id, member_id, status=status,
                             membership_id=membership_id, visit_reserved=status == "booked",
                             created_at=-timedelta(minutes=minutes_ago))


def _world(db_url: str, tom: Person, ada: Person, lang: str) -> dict:
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=10)
    w = {"tom": _person(db_url, tom.id, "Tom", None, "trainer", lang),
         "ada": _person(db_url, ada.id, "Ada", None, "admin", lang),
         "oleg": _person(db_url, 900001, "Oleg", None, "trainer")}
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    w["now_start"] = now - timedelta(minutes=10)
    w["later_start"] = now + timedelta(days=1)
    w["now"] = _class(db_url, w["tom"], w["now_start"], 4)
    w["later"] = _class(db_url, w["tom"], w["later_start"], 10)
    w["other"] = _class(db_url, w["oleg"], now + timedelta(hours=2), 10)
    for key, tid, first, last in (("anna", 900011, "Anna", "Petrova"),
                                  ("boris", 900012, "Boris", "Ivanov"),
                                  ("clara", 900013, "Clara", None),
                                  ("dima", 900014, "Dima", None), ("eva", 900015, "Eva", None)):
        w[key] = _member_with_visits(db_url, tid, first, last)
    for n, key in enumerate(("anna", "boris", "clara")):
        w[f"{key}_b"] = _book(db_url, w[key], w["now"], "booked", 300 - n)
    for n, key in enumerate(("dima", "eva")):
        w[f"{key}_b"] = _book(db_url, w[key], w["now"], "waitlisted", 200 - n)
    # Eva's place is held for her by an offer; Anna checked in at the door 2 minutes early.
    query(db_url, "INSERT INTO waitlist_offers (booking_id, class_id, member_id, offered_at,"
                  " expires_at) VALUES (%s, %s, %s, now(), now() + interval '1 hour')",
          (w["eva_b"], w["now"], w["eva"]))
    w["anna_in"] = w["now_start"] - timedelta(minutes=2)
    factories.visit(db_url, w["anna"], class_id=w["now"], checked_in_at=w["anna_in"],
                    method="qr")
    w["later_b"] = _book(db_url, w["boris"], w["later"], "booked", 100)
    w["other_b"] = _book(db_url, w["clara"], w["other"], "booked", 100)
    return w


def _marks(db_url: str, class_id: int) -> dict[int, str]:
    return dict(query(db_url, "SELECT member_id, status FROM bookings WHERE class_id = %s",
                      (class_id,)))


def _class_visit(db_url: str, member_id: int, class_id: int) -> list[tuple]:
    return query(db_url, "SELECT method, checked_in_by, checked_in_at FROM visits"
                         " WHERE member_id = %s AND class_id = %s", (member_id, class_id))


def _forged_press(emu, person: Person, message_id: int, data: str) -> dict:
    """Callback data no button of this message carried (as a crafted client sends it); the
    bot's answer."""
    before = len(person.events())
    emu.inject_update(TOKEN, {"callback_query": {
        "id": f"forged-{time.monotonic_ns()}", "chat_instance": "1",
        "from": {"id": person.id, "is_bot": False, "first_name": "Tom"},
        "message": {"message_id": message_id, "date": int(time.time()),
                    "chat": {"id": person.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"}, "text": "-"},
        "data": data}})
    return wait_until(lambda: next((e for e in person.events()[before:]
                                    if e["kind"] == "callback_answer"), None),
                      15, f"an answer to the forged press of {data!r}")


def _lines(message: dict) -> list[str]:
    return (message.get("text") or "").split("\n")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_trainer_lists_classes_opens_a_roster_and_marks_attendance(emu, launcher, db_url,
                                                                     lang):
    words, tx = WORDS[lang], Texts(lang)
    tom, ada = Person(emu, "Tom", language_code=lang), Person(emu, "Ada", language_code=lang)
    w = _world(db_url, tom, ada, lang)
    launcher.start(db_url)

    # The list: her two classes (not Oleg's), the day headings and one button per class.
    (listing,) = tom.send("/myclasses")
    now_time, later_time = tx.time(w["now_start"]), tx.time(w["later_start"])
    assert _lines(listing) == [
        words["title"], "", words["intro"],
        "", tx.date(w["now_start"], "short"),
        words["line"].format(time=now_time, booked=3, capacity=4)
        + words["waiting"].format(n=2),
        "", tx.date(w["later_start"], "short"),
        words["line"].format(time=later_time, booked=1, capacity=10)]
    assert buttons(listing) == [
        [f"{tx.date(w['now_start'], 'day')} {now_time} · Yoga · 3/4"],
        [f"{tx.date(w['later_start'], 'day')} {later_time} · Yoga · 1/10"],
        [words["staff"]]]

    # The roster, in place: booked with marks (Anna checked in at the door), the waitlist in
    # order (Eva holds an offered place), who checked in; a pair of mark buttons per place.
    tom.press(listing, f"{now_time} · Yoga")
    ends = w["now_start"] + timedelta(minutes=60)
    head = [f"Yoga · {tx.datetime(w['now_start'])}", words["meta"], words["room"]]
    window = words["open"].format(noshow=tx.time(ends + timedelta(minutes=30)),
                                  until=tx.datetime(ends + timedelta(hours=24)))
    roster = tom.wait_edit(listing["message_id"], "Anna Petrova")
    anna_in = words["in_at"].format(time=tx.time(w["anna_in"]))
    assert _lines(roster) == [
        *head, words["counts"].format(booked=3, capacity=4, waiting=2, checked=1), window,
        "", words["booked_h"],
        f"1. Anna Petrova · {words['unmarked']}{anna_in}",
        f"2. Boris Ivanov · {words['unmarked']}",
        f"3. Clara · {words['unmarked']}",
        "", words["waiting_h"], "1. Dima", f"2. Eva{words['offered']}",
        "", words["in_h"], f"Anna Petrova · {tx.time(w['anna_in'])} · {words['door']}"]
    place_buttons = [["✅ Anna Petrova", "❌ Anna Petrova"], ["✅ Boris Ivanov", "❌ Boris Ivanov"],
                     ["✅ Clara", "❌ Clara"]]
    assert buttons(roster) == [*place_buttons, [words["refresh"], words["back"]]]

    # Attended: the booking, one class visit by the trainer, the balance untouched.
    answer = tom.press(roster, "✅ Boris")
    assert answer["text"] == words["toast_attended"].format(name="Boris Ivanov")
    roster = tom.wait_edit(listing["message_id"], words["attended"])
    ((method, by, boris_in),) = _class_visit(db_url, w["boris"], w["now"])
    assert (method, by) == ("class", w["tom"])
    assert _lines(roster)[3] == words["counts"].format(booked=3, capacity=4, waiting=2,
                                                       checked=2)
    assert (f"2. Boris Ivanov · {words['attended']}"
            f"{words['in_at'].format(time=tx.time(boris_in))}") in _lines(roster)
    assert f"Boris Ivanov · {tx.time(boris_in)} · {words['marked_by']}" in _lines(roster)
    assert buttons(roster) == [*place_buttons, [words["refresh"], words["back"]]]

    # No-show for Clara; then Boris toggled to no-show (his class visit goes) and back.
    answer = tom.press(roster, "❌ Clara")
    assert answer["text"] == words["toast_no_show"].format(name="Clara")
    tom.wait_edit(listing["message_id"], f"3. Clara · {words['no_show']}")
    answer = tom.press(tom.now(listing["message_id"]), "❌ Boris")
    assert answer["text"] == words["toast_no_show"].format(name="Boris Ivanov")
    roster = tom.wait_edit(listing["message_id"], f"2. Boris Ivanov · {words['no_show']}")
    assert _class_visit(db_url, w["boris"], w["now"]) == []
    assert words["marked_by"] not in roster["text"]
    answer = tom.press(roster, "✅ Boris")
    assert answer["text"] == words["toast_attended"].format(name="Boris Ivanov")
    roster = tom.wait_edit(listing["message_id"], f"2. Boris Ivanov · {words['attended']}")
    assert len(_class_visit(db_url, w["boris"], w["now"])) == 1

    # A double tap changes nothing and says so.
    answer = tom.press(roster, "✅ Boris")
    assert answer["text"] == words["again"].format(name="Boris Ivanov")
    assert _marks(db_url, w["now"]) == {w["anna"]: "booked", w["boris"]: "attended",
                                        w["clara"]: "no_show", w["dima"]: "waitlisted",
                                        w["eva"]: "waitlisted"}
    assert query(db_url, "SELECT visits_left FROM memberships WHERE member_id = ANY(%s)",
                 ([w["boris"], w["clara"]],)) == [(9,), (9,)]
    assert query(db_url, "SELECT actor_id, action, entity_id FROM audit_log"
                         " WHERE action LIKE 'attendance.%%' ORDER BY id") == [
        (w["tom"], "attendance.attended", w["boris_b"]),
        (w["tom"], "attendance.no_show", w["clara_b"]),
        (w["tom"], "attendance.no_show", w["boris_b"]),
        (w["tom"], "attendance.attended", w["boris_b"])]

    # An old button of a place that is gone: no longer available, the roster refreshed.
    query(db_url, "DELETE FROM bookings WHERE id = %s", (w["clara_b"],))
    answer = tom.press(roster, "✅ Clara")
    assert answer["text"] == words["stale"]
    roster = tom.wait_edit(listing["message_id"], words["counts"].format(
        booked=2, capacity=4, waiting=2, checked=2))
    assert "Clara" not in roster["text"]

    # Tomorrow's class: marking attended before the check-in window opens is refused.
    tom.press(roster, words["back"])
    listing = tom.wait_edit(listing["message_id"], words["intro"])
    tom.press(listing, f"{later_time} · Yoga")
    later = tom.wait_edit(listing["message_id"], "Boris Ivanov")
    opens = w["later_start"] - timedelta(minutes=30)
    assert _lines(later)[4] == words["before"].format(attended=tx.time(opens),
                                                      start=later_time)
    answer = tom.press(later, "✅ Boris")
    assert answer["text"] == words["early"].format(time=tx.time(opens))
    assert _marks(db_url, w["later"]) == {w["boris"]: "booked"}

    # Oleg's class and his place, by forged data: no longer available, nothing changed; the
    # press shows her own list again (or her class's roster, when the class named is hers).
    forged = [(cb.TRAINER_ROSTER(class_id=w["other"], page=0), words["intro"]),
              (cb.TRAINER_MARK(class_id=w["other"], booking_id=w["other_b"], mark="n", page=0),
               words["intro"]),
              (cb.TRAINER_MARK(class_id=w["later"], booking_id=w["other_b"], mark="n", page=0),
               words["before"].format(attended=tx.time(opens), start=later_time))]
    for data, shown in forged:
        answer = _forged_press(emu, tom, listing["message_id"], data)
        assert answer["text"] == words["stale"]
        tom.wait_edit(listing["message_id"], shown)
    assert _marks(db_url, w["other"]) == {w["clara"]: "booked"}

    # The staff home's section opens the same list, in place.
    (home,) = tom.send("/staff")
    tom.press(home, words["section"])
    assert _lines(tom.wait_edit(home["message_id"], words["intro"]))[0] == words["title"]
    assert len(tom.messages()) == 2  # everything else happened in place

    # An admin who teaches nothing is told so.
    (none,) = ada.send("/myclasses")
    assert _lines(none) == [words["title"], "", words["none"]]
    assert buttons(none) == [[words["staff"]]]
    assert wait_until(lambda: query(db_url, "SELECT count(*) FROM inbox WHERE status <> 'done'")
                      == [(0,)], 10, "every update done")
    assert button_data(roster, words["refresh"]) == cb.TRAINER_ROSTER(class_id=w["now"], page=0)
