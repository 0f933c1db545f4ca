"""My bookings and a class's details: cancelling asks first and says whether the visit comes
back, the terms are checked again at Yes, every answer edits the screen the member was on, and
the empty list offers the way to the schedule; with the bot as its own process, tgemu over HTTP
and a real PostgreSQL, in English and Russian."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fitclub import callbacks as cb
from tests import factories
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, buttons

TEXT = {
    "en": {"title": "My bookings", "ask": "Cancel Pilates on", "ask_yoga": "Cancel Yoga on",
           "free": "Your visit comes back", "late": "the visit will not come back",
           "changed": "The terms changed while you were deciding", "yes": "Yes, cancel",
           "keep": "Keep it", "done_free": "cancelled, the visit is back on your membership",
           "done_late": "the visit is used", "none": "Find a class in 🗓 Schedule",
           "schedule": "🗓 Schedule", "timetable": "Schedule ·", "booked": "You're booked",
           "cancel": "Cancel my booking", "book": "Book"},
    "ru": {"title": "Мои записи", "ask": "Отменить запись на Pilates",
           "ask_yoga": "Отменить запись на Yoga", "free": "Посещение вернётся",
           "late": "посещение не вернётся", "changed": "Условия изменились", "yes": "Да, отменить",
           "keep": "Оставить", "done_free": "запись отменена, посещение вернулось на абонемент",
           "done_late": "посещение списано", "none": "в разделе «🗓 Расписание»",
           "schedule": "🗓 Расписание", "timetable": "Расписание ·", "booked": "Вы записаны",
           "cancel": "Отменить запись", "book": "Записаться"},
}


def _setup(db_url: str, telegram_id: int, lang: str) -> tuple[int, int, int]:
    """A member in `lang` with 8 of 10 visits left, booked (a visit each) on Yoga in two days
    and Pilates in an hour (inside the 3-hour window); (member, yoga, pilates) ids."""
    factories.plan(db_url)
    trainer = factories.member(db_url, 1, "Tina", role="trainer", registered=False)
    # Reminders off: the one for Pilates would be due at once.
    member = factories.member(db_url, telegram_id, "Anna", language=lang,
                              reminders_enabled=False)
    membership = factories.membership(db_url, member, starts_on=-1, visits_left=8)
    yoga_type = factories.class_type(db_url, "Yoga")
    pilates_type = factories.class_type(db_url, "Pilates")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    yoga = factories.class_(db_url, trainer, now + timedelta(days=2), class_type_id=yoga_type)
    pilates = factories.class_(db_url, trainer, now + timedelta(hours=1),
                               class_type_id=pilates_type)
    for class_id in (yoga, pilates):
        factories.booking(db_url, class_id, member, membership_id=membership,
                          visit_reserved=True)
    query(db_url, "UPDATE classes SET booked_count = 1")
    return member, yoga, pilates


def _booking(db_url: str, class_id: int) -> tuple:
    return query(db_url, "SELECT b.status, b.late_cancel, ms.visits_left FROM bookings b"
                         " JOIN memberships ms ON ms.id = b.membership_id"
                         " WHERE b.class_id = %s", (class_id,))[0]


def _labels(message: dict) -> list[str]:
    return [label for row in buttons(message) for label in row]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_cancelling_from_my_bookings_asks_first_and_rechecks_the_terms_at_yes(
        emu, launcher, db_url, lang):
    t = TEXT[lang]
    anna = Person(emu, "Anna", language_code=lang)
    _, yoga, pilates = _setup(db_url, anna.id, lang)
    launcher.start(db_url)
    (mine,) = anna.send("/bookings")
    shown = len(anna.messages())
    screen = mine["message_id"]

    # The item's button asks, in place, and says the visit comes back; nothing is cancelled.
    anna.press(mine, "Yoga")
    ask = anna.wait_edit(screen, t["ask_yoga"])
    assert t["free"] in ask["text"] and _labels(ask) == [t["yes"], t["keep"]]
    assert _booking(db_url, yoga) == ("booked", False, 8)
    # Keep it: back to the list as it was.
    anna.press(ask, t["keep"])
    again = anna.wait_edit(screen, t["title"])
    assert "Yoga" in str(buttons(again)) and _booking(db_url, yoga) == ("booked", False, 8)

    # The free window closes while the member looks at the question: Yes cancels nothing and
    # shows the new terms; a second Yes cancels on them.
    anna.press(again, "Yoga")
    ask = anna.wait_edit(screen, t["free"])
    query(db_url, "UPDATE classes SET starts_at = now() + interval '2 hours' WHERE id = %s",
          (yoga,))
    anna.press(ask, t["yes"])
    changed = anna.wait_edit(screen, t["changed"])
    assert t["late"] in changed["text"] and t["free"] not in changed["text"]
    assert _booking(db_url, yoga) == ("booked", False, 8)
    query(db_url, "UPDATE classes SET starts_at = now() + interval '2 days' WHERE id = %s",
          (yoga,))
    anna.press(changed, t["yes"])
    changed = anna.wait_edit(screen, t["free"])  # and back: free again, asked again
    assert t["changed"] in changed["text"] and _booking(db_url, yoga) == ("booked", False, 8)
    anna.press(changed, t["yes"])
    done = anna.wait_edit(screen, t["done_free"])
    assert t["title"] in done["text"] and "Yoga" not in str(buttons(done))
    assert _booking(db_url, yoga) == ("cancelled", False, 9)

    # A late cancellation says the visit will not come back, before and after.
    anna.press(done, "Pilates")
    late = anna.wait_edit(screen, t["ask"])
    assert t["late"] in late["text"]
    anna.press(late, t["yes"])
    done = anna.wait_edit(screen, t["done_late"])
    assert _booking(db_url, pilates) == ("cancelled", True, 9)

    # Nothing left: the hint names the Schedule button, and the button is there.
    assert t["none"] in done["text"]
    assert t["schedule"] in _labels(done)
    anna.press(done, t["schedule"])
    anna.wait_edit(screen, t["timetable"])
    assert len(anna.messages()) == shown  # every step edited the one message


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_cancelling_from_a_class_asks_first_and_keep_it_returns_to_the_class(
        emu, launcher, db_url, lang):
    t = TEXT[lang]
    anna = Person(emu, "Anna", language_code=lang)
    _, yoga, _ = _setup(db_url, anna.id, lang)
    launcher.start(db_url)
    (details,) = anna.send(f"/start c_{yoga}")
    screen = details["message_id"]
    anna.press(details, t["cancel"])
    ask = anna.wait_edit(screen, t["ask_yoga"])
    assert t["free"] in ask["text"] and _booking(db_url, yoga) == ("booked", False, 8)
    anna.press(ask, t["keep"])
    back = anna.wait_edit(screen, t["booked"])
    assert t["cancel"] in str(buttons(back))
    anna.press(back, t["cancel"])
    anna.press(anna.wait_edit(screen, t["ask_yoga"]), t["yes"])
    done = anna.wait_edit(screen, t["done_free"])
    # The class again, with the result above it and Book in place of Cancel.
    assert "Tina" in done["text"] and t["booked"] not in done["text"]
    assert t["book"] in str(buttons(done)) and t["cancel"] not in str(buttons(done))
    assert _booking(db_url, yoga) == ("cancelled", False, 9)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_empty_bookings_offer_the_schedule_the_hint_names(emu, launcher, db_url, lang):
    t = TEXT[lang]
    anna = Person(emu, "Anna", language_code=lang)
    factories.member(db_url, anna.id, "Anna", language=lang)
    launcher.start(db_url)
    (mine,) = anna.send("/bookings")
    assert t["none"] in mine["text"]
    assert t["schedule"] in _labels(mine)
    anna.press(mine, t["schedule"])
    anna.wait_edit(mine["message_id"], t["timetable"])


OFFERS = {
    "en": {"offer": "A place is free", "take": "Take the place", "taken": "You're booked: Yoga",
           "booked": "You're booked.", "stale": "This is no longer available."},
    "ru": {"offer": "Освободилось место", "take": "Занять место", "taken": "Вы записаны: Yoga",
           "booked": "Вы записаны.", "stale": "Это больше недоступно."},
}


def _offered(emu, launcher, db_url: str, lang: str) -> tuple[Person, Person, list[int], int,
                                                             dict]:
    """Anna (in `lang`) in line for a full Yoga in two days behind Olga, who cancels in the
    running bot: the place is offered to Anna. (anna, olga, their member ids, yoga, the offer
    message)."""
    o = OFFERS[lang]
    anna, olga = Person(emu, "Anna", language_code=lang), Person(emu, "Olga")
    factories.plan(db_url)
    trainer = factories.member(db_url, 1, "Tina", role="trainer", registered=False)
    ids = [factories.member(db_url, anna.id, "Anna", language=lang),
           factories.member(db_url, olga.id, "Olga")]
    factories.memberships(db_url, ids, starts_on=-1, visits_left=9)
    factories.class_type(db_url, "Yoga")
    yoga = factories.class_(db_url, trainer, timedelta(days=2), capacity=1)
    (olga_ms,) = query(db_url, "SELECT id FROM memberships WHERE member_id = %s", (ids[1],))[0]
    factories.booking(db_url, yoga, ids[1], membership_id=olga_ms, visit_reserved=True)
    factories.booking(db_url, yoga, ids[0], status="waitlisted")
    query(db_url, "UPDATE classes SET booked_count = 1")
    launcher.start(db_url)
    anna.send("/bookings")  # she has talked to the bot: it may write to her

    (theirs,) = olga.send(f"/start c_{yoga}")
    olga.press(theirs, "Cancel my booking")
    olga.press(olga.wait_edit(theirs["message_id"], "Your visit comes back"), "Yes, cancel")
    offer = wait_until(lambda: next((m for m in anna.messages()
                                     if o["offer"] in (m["text"] or "")), None), 15, "the offer")
    return anna, olga, ids, yoga, offer


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_place_taken_on_the_class_shows_the_class_and_the_old_offer_says_so(
        emu, launcher, db_url, lang):
    t, o = TEXT[lang], OFFERS[lang]
    # Olga cancels: the place is offered to Anna, who takes it on the class's screen.
    anna, olga, ids, yoga, offer = _offered(emu, launcher, db_url, lang)
    (details,) = anna.send(f"/start c_{yoga}")
    anna.press(details, o["take"])
    shown = anna.wait_edit(details["message_id"], o["taken"])
    assert o["booked"] in shown["text"] and "Tina" in shown["text"]  # the class, not a note
    assert t["cancel"] in str(buttons(shown))
    # The offer message's Take is stale now: it says the place is hers, and keeps only Back.
    assert anna.press(offer, o["take"])["text"] == o["stale"]
    now = anna.wait_edit(offer["message_id"], o["taken"])
    assert t["title"] not in now["text"] and len(buttons(now)) == 1
    assert query(db_url, "SELECT status FROM bookings WHERE member_id = %s",
                 (ids[0],)) == [("booked",)]

    # No visits left: the class's screen says why and offers no Join the waitlist; an older
    # Join is refused with the same line, on the class's screen too, not only in the pop-up.
    query(db_url, "UPDATE memberships SET visits_left = 0 WHERE member_id = %s", (ids[1],))
    (again,) = olga.send(f"/start c_{yoga}")
    assert "No visits left" in again["text"] and "Join the waitlist" not in str(buttons(again))
    assert "No visits left" in olga.inject_press(
        again["message_id"], cb.BOOK(class_id=yoga, back="s"))["text"]
    olga.wait_edit(again["message_id"], "No visits left")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_offer_answered_naming_another_class_shows_the_offers_own_class(
        emu, launcher, db_url, lang):
    """A press of an offer's Take naming a class the offer is not of (forged, or mixed up)
    answers for the offer's own class: Yoga, never the class named, and never an error."""
    o = OFFERS[lang]
    anna, _, ids, yoga, _ = _offered(emu, launcher, db_url, lang)
    ((offer_id, trainer),) = query(db_url, "SELECT o.id, c.trainer_id FROM waitlist_offers o"
                                           " JOIN classes c ON c.id = o.class_id"
                                           " WHERE o.status = 'open' AND o.class_id = %s",
                                     (yoga,))
    pilates = factories.class_(db_url, trainer, timedelta(days=3),
                               class_type_id=factories.class_type(db_url, "Pilates"))
    (details,) = anna.send(f"/start c_{pilates}")
    screen = details["message_id"]

    # Naming no class at all: the place is taken, and the screen shows Yoga with the result.
    anna.inject_press(screen, cb.OFFER_AT(offer_id=offer_id, answer="yes", class_id=999999,
                                          at="s"))
    shown = anna.wait_edit(screen, o["taken"])
    assert o["booked"] in shown["text"] and "Pilates" not in shown["text"]
    assert query(db_url, "SELECT status FROM bookings WHERE member_id = %s",
                 (ids[0],)) == [("booked",)]

    # Again, naming Pilates: no longer available, and the screen is Yoga's as it is now.
    answer = anna.inject_press(screen, cb.OFFER_AT(offer_id=offer_id, answer="yes",
                                                   class_id=pilates, at="s"))
    assert answer["text"] == o["stale"]
    now = wait_until(lambda: (m := anna.now(screen)) and m["text"] != shown["text"] and m, 15,
                     "the screen shown again")
    assert "Yoga" in now["text"] and "Pilates" not in now["text"]
    assert o["booked"] in now["text"]
