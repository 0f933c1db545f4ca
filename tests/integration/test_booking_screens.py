"""Booking screens from real service results: refusal lines, schedule, details, offers, .ics,
the question before a cancellation (and the terms it shows) and My bookings."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import psycopg2
import pytest

from fitclub import locales
from fitclub.callbacks import CANCEL_ASK, CANCEL_YES, CLASS, LEAVE, MENU
from fitclub.locales import Texts
from fitclub.screens import bookings as booking_screens
from fitclub.screens import timetable as timetable_screens
from fitclub.services import booking, timetable
from fitclub.services.booking import Outcome, Refusal, Rules, Terms
from tests.helpers import query
from tests.integration.test_booking import RULES, START, _book, _class, _member, _run, _visits

REFUSALS = {
    "en": {Refusal.NO_MEMBERSHIP: "You need a membership to book",
           Refusal.FROZEN: "membership is frozen on that day",
           Refusal.NO_VISITS: "No visits left", Refusal.ALREADY_BOOKED: "already booked",
           Refusal.ALREADY_WAITLISTED: "already on the waitlist: number 4",
           Refusal.FULL: "The class is full", Refusal.CLOSED: "Booking for this class has closed",
           Refusal.CANCELLED: "This class is cancelled"},
    "ru": {Refusal.NO_MEMBERSHIP: "нужен абонемент", Refusal.FROZEN: "заморожен",
           Refusal.NO_VISITS: "не осталось посещений", Refusal.ALREADY_BOOKED: "уже записаны",
           Refusal.ALREADY_WAITLISTED: "уже в очереди: 4-й", Refusal.FULL: "Мест нет",
           Refusal.CLOSED: "Запись на это занятие закрыта", Refusal.CANCELLED: "отменено"},
}


#: Refusals by the membership's dates: the state, its date and the class day (10 Dec 2026 and
#: Sun 6 Dec), in one line.
DATED = {
    "en": {Refusal.NOT_STARTED: "Your membership starts on 10 Dec 2026; this class is on"
                                " Sun 6 Dec.",
           Refusal.ENDS_BEFORE: "Your membership is valid until 10 Dec 2026; this class is on"
                                " Sun 6 Dec.",
           Refusal.ENDED: "Your membership ended on 10 Dec 2026; this class is on Sun 6 Dec.",
           Refusal.FROZEN: "Your membership is frozen until 10 Dec 2026; this class is on"
                           " Sun 6 Dec."},
    "ru": {Refusal.NOT_STARTED: "Ваш абонемент начинается 10 дек. 2026 г.: на занятие вс 6 дек."
                                " записаться нельзя.",
           Refusal.ENDS_BEFORE: "Ваш абонемент действует до 10 дек. 2026 г.: на занятие вс 6 дек."
                                " записаться нельзя.",
           Refusal.ENDED: "Ваш абонемент закончился 10 дек. 2026 г.: на занятие вс 6 дек."
                          " записаться нельзя.",
           Refusal.FROZEN: "Ваш абонемент заморожен до 10 дек. 2026 г.: на занятие вс 6 дек."
                           " записаться нельзя."},
}


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("reason", list(Refusal))
def test_every_refusal_is_one_line_in_both_languages(lang, reason):
    if reason in DATED[lang]:
        line = booking_screens.refusal(Texts(lang), reason, on=date(2026, 12, 10),
                                       day=date(2026, 12, 6))
        assert line.replace("\xa0", " ") == DATED[lang][reason]
    if reason in REFUSALS[lang]:
        line = booking_screens.refusal(Texts(lang), reason, position=4)
        assert REFUSALS[lang][reason] in line and "\n" not in line


@pytest.mark.parametrize(("n", "says"), [(1, "осталось 1 место из 30"), (2, "осталось 2 места"),
                                         (5, "осталось 5 мест"), (21, "осталось 21 место")])
def test_places_use_russian_plurals(n, says):
    cls = timetable.ClassView(1, datetime.now(UTC), 60, "scheduled", "Yoga", "", "", "Tina", 30,
                             30 - n, 0, None)
    assert says in timetable_screens.places(Texts("ru"), cls)


@pytest.fixture
def berlin():
    locales.configure(timezone="Europe/Berlin", currency="EUR")
    yield Rules(ZoneInfo("Europe/Berlin"))
    locales.configure(timezone="UTC", currency="EUR")


def test_timetable_details_and_calendar_in_the_club_time_zone(db_url, berlin):
    tz = berlin.timezone
    starts = datetime(2030, 3, 31, 9, 30, tzinfo=tz)  # the first Sunday of summer time
    class_id = _class(db_url, capacity=1, starts_at=starts)
    member, other = _member(db_url, 1), _member(db_url, 2)
    now = datetime(2030, 3, 30, 12, 0, tzinfo=UTC)
    _book(db_url, member, class_id, now=now, rules=berlin)
    _book(db_url, other, class_id, now=now, rules=berlin)
    conn = psycopg2.connect(db_url)
    try:
        day = timetable.day(conn, member, date(2030, 3, 31), berlin)
        found = timetable.details(conn, member, class_id, now, berlin)
        theirs = timetable.details(conn, other, class_id, now, berlin)
    finally:
        conn.close()
    tx = Texts("en")
    page = timetable_screens.day(tx, date(2030, 3, 31), day, timetable.days(date(2030, 3, 30)))
    assert "<b>09:30</b> Yoga · Tina" in page.text and "full · waitlist 1 ✅" in page.text
    shown = timetable_screens.details(tx, found, "https://t.me/fitbot?start=c_1", "s")
    assert "You're booked" in shown.text and "start=c_1" in shown.text
    labels = [b.text for row in shown.markup.keyboard for b in row]
    assert labels == ["❌ Cancel my booking", "📅 Add to calendar", "⬅️ Back"]
    queued = timetable_screens.details(tx, theirs, None, "s")
    assert "number 1 on the waitlist" in queued.text
    assert queued.markup.keyboard[0][0].text == "🚶 Leave the waitlist"

    ics = icalendar.Calendar.from_ical(booking_screens.calendar(tx, found.cls, now))
    (event,) = ics.walk("VEVENT")
    start = event.decoded("dtstart")
    assert start == starts and start.utcoffset() == timedelta(hours=2)
    assert str(start.tzinfo) in ("Europe/Berlin",) or "Berlin" in str(start.tzinfo)
    assert event.decoded("dtend") - start == timedelta(minutes=60)
    assert [tz_.get("tzid") for tz_ in ics.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert str(event.get("summary")) == "Yoga"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_held_place_can_be_answered_from_the_class_details(lang):
    from datetime import UTC, datetime, timedelta

    from fitclub.callbacks import OFFER_AT
    from fitclub.locales import Texts
    from fitclub.screens.timetable import details
    from fitclub.services.timetable import ClassDetails, ClassView

    cls = ClassView(7, datetime.now(UTC) + timedelta(days=1), 60, "scheduled", "Yoga", "", "",
                    "Anna", 10, 10, 3, "waitlisted")
    screen = details(Texts(lang), ClassDetails(cls, 1, 42, True, False), None, "b")
    data = [b.callback_data for row in screen.markup.keyboard for b in row]
    # Answered here, the answer shows these details again (their Back to My bookings: "d").
    assert OFFER_AT(offer_id=42, answer="yes", class_id=7, at="d") in data
    assert OFFER_AT(offer_id=42, answer="no", class_id=7, at="d") in data
    plain = details(Texts(lang), ClassDetails(cls, 1, None, True, False), None, "b")
    assert not any(OFFER_AT.parse(b.callback_data) for row in plain.markup.keyboard for b in row)


# -- cancelling asks first: the terms from the service, the question in both languages --------

ASK = {
    "en": {Terms.FREE: "Your visit comes back (free cancellation until",
           Terms.LATE: "less than 3 h before the class: the visit will not come back",
           Terms.UNCOUNTED: "unlimited visits: nothing is used",
           "ask": "Cancel Yoga on", "changed": "The terms changed", "buttons": ["Yes, cancel",
                                                                                "Keep it"]},
    "ru": {Terms.FREE: "Посещение вернётся на абонемент (бесплатная отмена до",
           Terms.LATE: "До занятия меньше 3 ч: посещение не вернётся",
           Terms.UNCOUNTED: "безлимитный абонемент: посещение не списывается",
           "ask": "Отменить запись на Yoga", "changed": "Условия изменились",
           "buttons": ["Да, отменить", "Оставить"]},
}


@pytest.mark.parametrize(("before", "terms"), [
    (timedelta(hours=3), Terms.FREE), (timedelta(hours=3) - timedelta(microseconds=1), Terms.LATE),
], ids=["exactly the window", "a microsecond inside it"])
def test_the_terms_at_the_window_edge_and_a_yes_on_old_terms_cancels_nothing(db_url, before,
                                                                            terms):
    class_id, member = _class(db_url), _member(db_url, 1)
    _book(db_url, member, class_id)
    now = START - before
    assert _run(db_url, booking.cancel_terms, member, class_id, now, RULES) is terms
    other = Terms.LATE if terms is Terms.FREE else Terms.FREE
    changed = _run(db_url, booking.cancel_booking, member, class_id, now, RULES, agreed=other)
    assert changed.outcome is Outcome.CHANGED and _visits(db_url, member) == 9
    assert query(db_url, "SELECT status FROM bookings") == [("booked",)]
    done = _run(db_url, booking.cancel_booking, member, class_id, now, RULES, agreed=terms)
    assert done.outcome is (Outcome.CANCELLED if terms is Terms.FREE else Outcome.LATE)
    assert _visits(db_url, member) == (10 if terms is Terms.FREE else 9)
    assert _run(db_url, booking.cancel_terms, member, class_id, now, RULES) is None


def test_a_booking_that_holds_no_visit_costs_nothing_and_a_started_class_cannot_be_cancelled(
        db_url):
    class_id, member = _class(db_url), _member(db_url, 1, visits=None)
    _book(db_url, member, class_id)
    late = START - timedelta(minutes=5)
    assert _run(db_url, booking.cancel_terms, member, class_id, late, RULES) is Terms.UNCOUNTED
    assert _run(db_url, booking.cancel_terms, member, class_id, START, RULES) is None
    assert _run(db_url, booking.cancel_terms, _member(db_url, 2), class_id, late, RULES) is None


def test_the_question_is_asked_while_another_change_of_the_class_holds_its_row(db_url):
    """Asking only reads: it does not queue behind a booking change of the class (another
    member booking, the no-show sweep), which Yes, cancel then waits for under the lock."""
    class_id, member = _class(db_url), _member(db_url, 1)
    _book(db_url, member, class_id)
    now = START - timedelta(days=1)
    asked: list = []
    asking = threading.Thread(target=lambda: asked.append(
        _run(db_url, booking.cancel_terms, member, class_id, now, RULES)))
    other = psycopg2.connect(db_url)
    try:
        assert booking.lock_class(other, class_id) is not None  # held until it ends
        asking.start()
        asking.join(5)
        assert not asking.is_alive() and asked == [Terms.FREE]
    finally:
        other.rollback()
        other.close()
        if asking.is_alive():
            asking.join(10)


def _view(starts_at: datetime) -> timetable.ClassView:
    return timetable.ClassView(7, starts_at, 60, "scheduled", "Yoga", "", "", "Tina", 10, 1, 0,
                               "booked")


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("terms", list(Terms))
@pytest.mark.parametrize("at", ["b", "s", "d"])
def test_the_question_says_what_cancelling_costs_and_keep_it_returns_where_it_was_asked(
        lang, terms, at):
    tx = Texts(lang)
    cls = _view(START)
    screen = booking_screens.cancel_confirmation(
        tx, cls, terms, at, free_until=START - timedelta(hours=3), window_hours=3)
    plain = re.sub(r"</?b>", "", screen.text)
    assert plain.startswith(ASK[lang]["ask"]) and ASK[lang][terms] in plain
    assert ASK[lang]["changed"] not in plain
    (row,) = screen.markup.keyboard
    assert [b.text for b in row] == ASK[lang]["buttons"]
    assert row[0].callback_data == CANCEL_YES(class_id=7, at=at, terms=terms.value)
    assert row[1].callback_data == {"b": MENU(screen="bookings"),
                                    "s": CLASS(class_id=7, back="s"),
                                    "d": CLASS(class_id=7, back="b")}[at]
    again = booking_screens.cancel_confirmation(
        tx, cls, terms, at, free_until=START - timedelta(hours=3), window_hours=3,
        changed=True)
    assert again.text.startswith("⚠️") and ASK[lang]["changed"] in again.text


@pytest.mark.parametrize("back", ["s", "b"])
def test_cancel_and_leave_on_a_class_show_that_class_again_with_its_own_back(back):
    starts = datetime.now(UTC) + timedelta(days=1)
    at = "s" if back == "s" else "d"
    booked = timetable_screens.details(
        Texts("en"), timetable.ClassDetails(_view(starts), None, None, True, False), None, back)
    data = [b.callback_data for row in booked.markup.keyboard for b in row]
    assert CANCEL_ASK(class_id=7, at=at) in data
    queued = timetable_screens.details(
        Texts("en"), timetable.ClassDetails(_view(starts)._replace(my_status="waitlisted"), 2,
                                            None, True, False), None, back, note="🚶 note")
    data = [b.callback_data for row in queued.markup.keyboard for b in row]
    assert LEAVE(class_id=7, at=at) in data and queued.text.startswith("🚶 note\n\n")


@pytest.mark.parametrize(("lang", "hint", "label"), [
    ("en", "No upcoming bookings. Find a class in 🗓 Schedule.", "🗓 Schedule"),
    ("ru", "Выберите занятие в разделе «🗓 Расписание».", "🗓 Расписание"),
])
def test_empty_bookings_name_the_schedule_button_they_show(lang, hint, label):
    screen = booking_screens.my_bookings(Texts(lang), timetable.MyBookings([], []))
    assert hint in screen.text
    labels = [b.text for row in screen.markup.keyboard for b in row]
    assert labels[0] == label and MENU(screen="schedule") in [
        b.callback_data for row in screen.markup.keyboard for b in row]
    noted = booking_screens.my_bookings(Texts(lang), timetable.MyBookings([], []), note="❌ x")
    assert noted.text.startswith("❌ x\n\n")


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize(("kind", "key"), [
    ("none", "refusal_no_membership"), ("later", "refusal_not_started_on"),
    ("ended", "refusal_ended_on"), ("frozen", "refusal_frozen_on"),
])
def test_details_offer_no_book_the_membership_cannot_pay_for_and_say_why(db_url, lang, kind,
                                                                        key):
    """A class the member's membership cannot cover offers no Book (nor Join waitlist): one
    line says why, as booking would; with no membership, the way to 🎫 Membership."""
    tx = Texts(lang)
    class_id = _class(db_url, capacity=1 if kind == "frozen" else 2)
    if kind == "frozen":  # and full: no Join waitlist either
        _book(db_url, _member(db_url, 9), class_id)
    dates = {"none": {"membership": False}, "later": {"starts_on": date(2030, 6, 13)},
             "ended": {"starts_on": date(2030, 5, 1), "ends_on": date(2030, 6, 1)},
             "frozen": {"status": "frozen"}}[kind]
    member = _member(db_url, 1, **dates)
    if kind == "frozen":
        query(db_url, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                      " SELECT id, '2030-06-05', '2030-06-12' FROM memberships"
                      " WHERE member_id = %s", (member,))
    now = datetime(2030, 6, 8, 9, 0, tzinfo=UTC)
    found = _run(db_url, timetable.details, member, class_id, now, RULES)
    refused = _run(db_url, booking.book, member, class_id, now, RULES, waitlist_if_full=True)
    assert refused.outcome is Outcome.REFUSED
    line = booking_screens.refusal(tx, refused.reason, refused.position, refused.on, refused.day)
    assert line == tx(key, date=tx.date(refused.on, "long") if refused.on else "",
                      day=tx.date(START, "short"), membership=tx("menu_membership"))
    screen = timetable_screens.details(tx, found, "https://t.me/b?start=c_1", "s")
    assert line in screen.text.split("\n")
    labels = [b.text for row in screen.markup.keyboard for b in row]
    assert tx("button_book") not in labels and tx("button_join_waitlist") not in labels
    assert (tx("menu_membership") in labels) == (kind in ("none", "ended"))
    # Booked after all (the membership mended): Book is back, the line is gone.
    if kind == "later":
        query(db_url, "UPDATE memberships SET starts_on = '2030-06-01'")
        found = _run(db_url, timetable.details, member, class_id, now, RULES)
        screen = timetable_screens.details(tx, found, None, "s")
        assert line not in screen.text
        assert tx("button_book") in [b.text for row in screen.markup.keyboard for b in row]


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("status", [None, "booked"])
def test_one_blank_line_between_the_description_and_the_share_link(lang, status):
    tx = Texts(lang)
    cls = _view(START)._replace(description="Slow flow.", my_status=status)
    screen = timetable_screens.details(
        tx, timetable.ClassDetails(cls, None, None, True, False), "https://t.me/b?start=c_7", "s")
    assert "\n\n\n" not in screen.text
    assert tx("class_description", text="Slow flow.") + "\n\n" in screen.text
    assert "\n\n" + tx("class_share", link="https://t.me/b?start=c_7") in screen.text
