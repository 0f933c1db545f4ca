"""Trainers: /myclasses (one list of buttons, paged), rosters (booked, waitlisted, checked
in), marks attended and no-show offered only when they can be made, toggling back, refusals
(a member checked in at the door is never a no-show), in English and Russian, with the bot as
its own process, tgemu over HTTP and a real PostgreSQL."""

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
        "staff": "« Staff",
        "meta": "60 min · trainer Tom",
        "room": "Room: Studio 2",
        "counts": "Booked: {booked} of {capacity} · waitlist: {waiting} · checked in: {checked}",
        "open": "Members not marked by {noshow} are recorded as no-shows. Marks can be changed "
                "until {until}.",
        "before": "Marking opens at {opens} (a no-show from the start at {start}).",
        "attended_now": "Attendance can be marked now, a no-show from the start at {start}.",
        "no_show_later": "Nothing to mark now: a no-show can be marked from the start at "
                         "{start}.",
        "booked_h": "Booked", "waiting_h": "Waitlist", "in_h": "Checked in",
        "unmarked": "⏳ not marked yet", "attended": "✅ attended", "no_show": "❌ no-show",
        "door_mark": "✅ checked in at {time}",
        "in_at": " · in at {time}",
        "offered": " · place offered",
        "door": "card at the door", "marked_by": "marked by the trainer",
        "refresh": "🔄 Refresh", "back": "« My classes",
        "toast_attended": "{name}: attended", "toast_no_show": "{name}: no-show",
        "again": "{name} is already marked as attended.",
        "early": "Too early: attendance can be marked from {time}.",
        "early_no_show": "Too early: a no-show can be marked once the class starts at {time}.",
        "checked_in": "{name} checked in at {time} and can't be marked as a no-show.",
        "stale": "This is no longer available.",
        "none": "You don't teach any classes in the next 7 days.",
        "section": "🏋 My classes",
        "page": "Page {page} of {pages}", "next": "Next ›", "prev": "‹ Previous",
        "cancelled": "✖ cancelled",
    },
    "ru": {
        "title": "🏋 Мои занятия",
        "staff": "« Сотрудникам",
        "meta": "60 мин · тренер Tom",
        "room": "Зал: Studio 2",
        "counts": "Записано: {booked} из {capacity} · в листе ожидания: {waiting} · "
                  "пришли: {checked}",
        "open": "Кто не будет отмечен к {noshow}, получит неявку. Отметки можно менять до "
                "{until}.",
        "before": "Отметки откроются в {opens} (неявку — с начала занятия в {start}).",
        "attended_now": "Явку можно отметить уже сейчас, неявку — с начала занятия в {start}.",
        "no_show_later": "Сейчас отмечать нечего: неявку можно отметить с начала занятия в "
                         "{start}.",
        "booked_h": "Записались", "waiting_h": "Лист ожидания", "in_h": "Пришли",
        "unmarked": "⏳ пока не отмечено", "attended": "✅ явка", "no_show": "❌ неявка",
        "door_mark": "✅ вход в {time}",
        "in_at": " · вход в {time}",
        "offered": " · место предложено",
        "door": "карта на входе", "marked_by": "отметил тренер",
        "refresh": "🔄 Обновить", "back": "« Мои занятия",
        "toast_attended": "{name}: явка", "toast_no_show": "{name}: неявка",
        "again": "{name}: явка уже отмечена.",
        "early": "Рано: явку можно отметить с {time}.",
        "early_no_show": "Рано: неявку можно отметить после начала занятия в {time}.",
        "checked_in": "{name}: вход в {time} — неявку отметить нельзя.",
        "stale": "Это больше недоступно.",
        "none": "В ближайшие 7 дней у вас нет занятий.",
        "section": "🏋 Мои занятия",
        "page": "Страница {page} из {pages}", "next": "Дальше ›", "prev": "‹ Назад",
        "cancelled": "✖ отменено",
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


def _opens(tx: Texts, moment: datetime) -> str:
    """When marking opens, as the roster says it: the time today, else with its day."""
    same_day = tx.local(moment).date() == tx.local(datetime.now(UTC)).date()
    return tx.time(moment) if same_day else tx.datetime(moment)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_trainer_lists_classes_opens_a_roster_and_marks_attendance(emu, launcher, db_url,
                                                                     lang):
    words, tx = WORDS[lang], Texts(lang)
    tom, ada = Person(emu, "Tom", language_code=lang), Person(emu, "Ada", language_code=lang)
    w = _world(db_url, tom, ada, lang)
    launcher.start(db_url)

    # The list: her two classes (not Oleg's), one button each and no copy of them as text.
    (listing,) = tom.send("/myclasses")
    now_time, later_time = tx.time(w["now_start"]), tx.time(w["later_start"])
    assert _lines(listing) == [words["title"]]
    assert buttons(listing) == [
        [f"{tx.date(w['now_start'], 'short')} {now_time} · Yoga · 3/4"],
        [f"{tx.date(w['later_start'], 'short')} {later_time} · Yoga · 1/10"],
        [words["staff"]]]

    # The roster, in place: booked with marks (Anna checked in at the door: that is her mark,
    # and she has no buttons), the waitlist in order (Eva holds an offered place), who checked
    # in; the marks that would change a place, as buttons.
    tom.press(listing, f"{now_time} · Yoga")
    ends = w["now_start"] + timedelta(minutes=60)
    head = [f"Yoga · {tx.datetime(w['now_start'])}", words["meta"], words["room"]]
    window = words["open"].format(noshow=tx.time(ends + timedelta(minutes=30)),
                                  until=tx.datetime(ends + timedelta(hours=24)))
    roster = tom.wait_edit(listing["message_id"], "Anna Petrova")
    assert _lines(roster) == [
        *head, words["counts"].format(booked=3, capacity=4, waiting=2, checked=1), window,
        "", words["booked_h"],
        f"1. Anna Petrova · {words['door_mark'].format(time=tx.time(w['anna_in']))}",
        f"2. Boris Ivanov · {words['unmarked']}",
        f"3. Clara · {words['unmarked']}",
        "", words["waiting_h"], "1. Dima", f"2. Eva{words['offered']}",
        "", words["in_h"], f"Anna Petrova · {tx.time(w['anna_in'])} · {words['door']}"]
    nav = [words["refresh"], words["back"]]
    assert buttons(roster) == [["✅ Boris Ivanov", "❌ Boris Ivanov"], ["✅ Clara", "❌ Clara"],
                               nav]

    # Attended: the booking, one class visit by the trainer, the balance untouched; the place
    # then offers only the no-show.
    boris_attended = button_data(roster, "✅ Boris")
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
    assert buttons(roster) == [["❌ Boris Ivanov"], ["✅ Clara", "❌ Clara"], nav]

    # No-show for Clara; then Boris toggled to no-show (his class visit goes) and back.
    answer = tom.press(roster, "❌ Clara")
    assert answer["text"] == words["toast_no_show"].format(name="Clara")
    tom.wait_edit(listing["message_id"], f"3. Clara · {words['no_show']}")
    answer = tom.press(tom.now(listing["message_id"]), "❌ Boris")
    assert answer["text"] == words["toast_no_show"].format(name="Boris Ivanov")
    roster = tom.wait_edit(listing["message_id"], f"2. Boris Ivanov · {words['no_show']}")
    assert _class_visit(db_url, w["boris"], w["now"]) == []
    assert words["marked_by"] not in roster["text"]
    assert buttons(roster) == [["✅ Boris Ivanov"], ["✅ Clara"], nav]
    answer = tom.press(roster, "✅ Boris")
    assert answer["text"] == words["toast_attended"].format(name="Boris Ivanov")
    roster = tom.wait_edit(listing["message_id"], f"2. Boris Ivanov · {words['attended']}")
    assert len(_class_visit(db_url, w["boris"], w["now"])) == 1

    # A double tap (the first keyboard's ✅ again) changes nothing and says so, on the roster
    # too.
    answer = _forged_press(emu, tom, listing["message_id"], boris_attended)
    again = words["again"].format(name="Boris Ivanov")
    assert answer["text"] == again
    roster = tom.wait_edit(listing["message_id"], again)
    assert _lines(roster)[:3] == [again, "", head[0]]
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

    # Tomorrow's class: no marks yet, and the roster says when they open; a press of a mark
    # made before that (an old keyboard's) is refused with the reason, on the roster too.
    tom.press(roster, words["back"])
    listing = tom.wait_edit(listing["message_id"], words["title"])
    tom.press(listing, f"{later_time} · Yoga")
    later = tom.wait_edit(listing["message_id"], "Boris Ivanov")
    opens = w["later_start"] - timedelta(minutes=30)
    before = words["before"].format(opens=_opens(tx, opens), start=later_time)
    assert _lines(later)[4] == before
    assert buttons(later) == [nav]
    early = words["early"].format(time=tx.time(opens))
    answer = _forged_press(emu, tom, listing["message_id"], cb.TRAINER_MARK(
        class_id=w["later"], booking_id=w["later_b"], mark="a", page=0))
    assert answer["text"] == early
    later = tom.wait_edit(listing["message_id"], early)
    assert _lines(later)[:3] == [early, "", f"Yoga · {tx.datetime(w['later_start'])}"]
    assert buttons(later) == [nav]
    assert _marks(db_url, w["later"]) == {w["boris"]: "booked"}

    # Oleg's class and his place, by forged data: no longer available, nothing changed; the
    # press shows her own list again (or her class's roster, when the class named is hers).
    forged = [(cb.TRAINER_ROSTER(class_id=w["other"], page=0), words["title"]),
              (cb.TRAINER_MARK(class_id=w["other"], booking_id=w["other_b"], mark="n", page=0),
               words["title"]),
              (cb.TRAINER_MARK(class_id=w["later"], booking_id=w["other_b"], mark="n", page=0),
               before)]
    for data, shown in forged:
        answer = _forged_press(emu, tom, listing["message_id"], data)
        assert answer["text"] == words["stale"]
        tom.wait_edit(listing["message_id"], shown)
    assert _marks(db_url, w["other"]) == {w["clara"]: "booked"}

    # The staff home's section opens the same list, in place.
    (home,) = tom.send("/staff")
    tom.press(home, words["section"])
    assert _lines(tom.wait_edit(home["message_id"], words["title"])) == [words["title"]]
    assert len(tom.messages()) == 2  # everything else happened in place

    # An admin who teaches nothing is told so.
    (none,) = ada.send("/myclasses")
    assert _lines(none) == [words["title"], "", words["none"]]
    assert buttons(none) == [[words["staff"]]]
    assert wait_until(lambda: query(db_url, "SELECT count(*) FROM inbox WHERE status <> 'done'")
                      == [(0,)], 10, "every update done")
    assert button_data(roster, words["refresh"]) == cb.TRAINER_ROSTER(class_id=w["now"], page=0)


def _door_check_in(tom: Person, db_url: str, name: str, member_id: int) -> datetime:
    """Tom checks a member in at the door with /checkin, by name; when it was recorded."""
    tom.send("/checkin")
    (found,) = tom.send(name)
    tom.press(found, name)
    confirm = wait_until(lambda: (m := tom.now(found["message_id"])) and any(
        name in label and "✅" in label for row in buttons(m) for label in row) and m,
        15, "the check-in's confirmation")
    tom.press(confirm, f"{name}")
    ((at,),) = wait_until(lambda: query(db_url, "SELECT checked_in_at FROM visits"
                                                " WHERE member_id = %s", (member_id,)),
                          15, "the visit")
    return at


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_member_checked_in_at_the_door_cannot_be_marked_a_no_show(emu, launcher, db_url,
                                                                    lang):
    words, tx = WORDS[lang], Texts(lang)
    tom = Person(emu, "Tom", language_code=lang)
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=10)
    tom_id = _person(db_url, tom.id, "Tom", None, "trainer", lang)
    starts = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    class_id = _class(db_url, tom_id, starts, 10)
    emma = _member_with_visits(db_url, 900021, "Emma", "Johnson")
    boris = _member_with_visits(db_url, 900022, "Boris", "Ivanov")
    emma_b = _book(db_url, emma, class_id, "booked", 300)
    _book(db_url, boris, class_id, "booked", 200)
    launcher.start(db_url)

    # The roster while Emma is on her way: a mark of each kind for each of them.
    (listing,) = tom.send("/myclasses")
    tom.press(listing, "Yoga")
    roster = tom.wait_edit(listing["message_id"], "Emma Johnson")
    nav = [words["refresh"], words["back"]]
    assert buttons(roster) == [["✅ Emma Johnson", "❌ Emma Johnson"],
                               ["✅ Boris Ivanov", "❌ Boris Ivanov"], nav]
    old_no_show = button_data(roster, "❌ Emma")

    # She checks in at the door: the check-in counts for the class she booked.
    at = _door_check_in(tom, db_url, "Emma", emma)
    assert _marks(db_url, class_id)[emma] == "attended"

    # Refreshed, the roster shows her as checked in, with no mark to make.
    tom.press(roster, words["refresh"])
    door_line = f"1. Emma Johnson · {words['door_mark'].format(time=tx.time(at))}"
    roster = tom.wait_edit(listing["message_id"], door_line)
    assert door_line in _lines(roster)
    assert buttons(roster) == [["✅ Boris Ivanov", "❌ Boris Ivanov"], nav]

    # The no-show button of the roster from before, and the same data forged: refused in one
    # line saying why, on the roster too; nothing changes.
    why = words["checked_in"].format(name="Emma Johnson", time=tx.time(at))
    answer = _forged_press(emu, tom, listing["message_id"], old_no_show)
    assert answer["text"] == why
    roster = tom.wait_edit(listing["message_id"], why)
    assert _lines(roster)[:2] == [why, ""] and door_line in _lines(roster)
    answer = _forged_press(emu, tom, listing["message_id"], cb.TRAINER_MARK(
        class_id=class_id, booking_id=emma_b, mark="n", page=0))
    assert answer["text"] == why
    assert _marks(db_url, class_id)[emma] == "attended"
    assert query(db_url, "SELECT action FROM audit_log WHERE action LIKE 'attendance.%%'") == []
    assert len(_class_visit(db_url, emma, class_id)) == 1


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_my_classes_is_one_list_of_buttons_and_marks_show_only_when_they_can_be_made(
        emu, launcher, db_url, lang):
    words, tx = WORDS[lang], Texts(lang)
    tom = Person(emu, "Tom", language_code=lang)
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=10)
    tom_id = _person(db_url, tom.id, "Tom", None, "trainer", lang)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Soon (the half hour before it: attendance only), in 2 hours (nothing yet), then ten more
    # over the week, one of them cancelled.
    starts = [now + timedelta(minutes=20), now + timedelta(hours=2),
              *(now + timedelta(hours=12 * n) for n in range(1, 11))]
    classes = [_class(db_url, tom_id, at, 10) for at in starts]
    query(db_url, "UPDATE classes SET status = 'cancelled' WHERE id = %s", (classes[5],))
    ann = _member_with_visits(db_url, 900031, "Ann", None)
    for class_id in classes[:2]:
        _book(db_url, ann, class_id, "booked", 100)
    launcher.start(db_url)

    def label(n: int) -> str:
        head = f"{tx.date(starts[n], 'short')} {tx.time(starts[n])} · Yoga · "
        return head + (words["cancelled"] if n == 5 else f"{1 if n < 2 else 0}/10")

    # Ten classes a page, each one button; the text is the heading and the page.
    (listing,) = tom.send("/myclasses")
    assert _lines(listing) == [words["title"], words["page"].format(page=1, pages=2)]
    assert buttons(listing) == [*([label(n)] for n in range(10)), [words["next"]],
                                [words["staff"]]]
    tom.press(listing, words["next"])
    second = tom.wait_edit(listing["message_id"], words["page"].format(page=2, pages=2))
    assert buttons(second) == [[label(10)], [label(11)], [words["prev"]], [words["staff"]]]
    tom.press(second, words["prev"])
    listing = tom.wait_edit(listing["message_id"], words["page"].format(page=1, pages=2))

    # In 2 hours: no mark buttons; the roster says when marking opens.
    tom.press(listing, label(1))
    opens = starts[1] - timedelta(minutes=30)
    before = words["before"].format(opens=_opens(tx, opens), start=tx.time(starts[1]))
    roster = tom.wait_edit(listing["message_id"], before)
    assert f"1. Ann · {words['unmarked']}" in _lines(roster)
    nav = [words["refresh"], words["back"]]
    assert buttons(roster) == [nav]
    # A no-show pressed before the class starts: refused with the reason, on the roster too.
    (booking_id,), = query(db_url, "SELECT id FROM bookings WHERE class_id = %s", (classes[1],))
    early = words["early_no_show"].format(time=tx.time(starts[1]))
    answer = _forged_press(emu, tom, listing["message_id"], cb.TRAINER_MARK(
        class_id=classes[1], booking_id=booking_id, mark="n", page=0))
    assert answer["text"] == early
    assert _lines(tom.wait_edit(listing["message_id"], early))[:2] == [early, ""]
    assert _marks(db_url, classes[1]) == {ann: "booked"}

    # In 20 minutes: attendance may be marked already, the no-show not yet.
    tom.press(tom.now(listing["message_id"]), words["back"])
    listing = tom.wait_edit(listing["message_id"], words["page"].format(page=1, pages=2))
    tom.press(listing, label(0))
    roster = tom.wait_edit(listing["message_id"], words["attended_now"].format(
        start=tx.time(starts[0])))
    assert buttons(roster) == [["✅ Ann"], nav]
    assert tom.press(roster, "✅ Ann")["text"] == words["toast_attended"].format(name="Ann")
    roster = tom.wait_edit(listing["message_id"], f"1. Ann · {words['attended']}")
    assert buttons(roster) == [nav]  # the no-show opens at the start
    # ... and the roster says so, not that attendance can be marked now.
    assert words["no_show_later"].format(start=tx.time(starts[0])) in _lines(roster)
    assert words["attended_now"].format(start=tx.time(starts[0])) not in _lines(roster)
