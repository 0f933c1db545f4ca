"""Booking screens from real service results: refusal lines, schedule, details, offers, .ics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import psycopg2
import pytest

from fitclub import locales
from fitclub.locales import Texts
from fitclub.screens import bookings as booking_screens
from fitclub.screens import timetable as timetable_screens
from fitclub.services import timetable
from fitclub.services.booking import Refusal, Rules
from tests.integration.test_booking import _book, _class, _member

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

    from fitclub.callbacks import OFFER
    from fitclub.locales import Texts
    from fitclub.screens.timetable import details
    from fitclub.services.timetable import ClassDetails, ClassView

    cls = ClassView(7, datetime.now(UTC) + timedelta(days=1), 60, "scheduled", "Yoga", "", "",
                    "Anna", 10, 10, 3, "waitlisted")
    screen = details(Texts(lang), ClassDetails(cls, 1, 42, True, False), None, "b")
    data = [b.callback_data for row in screen.markup.keyboard for b in row]
    assert OFFER(offer_id=42, answer="yes") in data and OFFER(offer_id=42, answer="no") in data
    plain = details(Texts(lang), ClassDetails(cls, 1, None, True, False), None, "b")
    assert not any(OFFER.parse(b.callback_data) for row in plain.markup.keyboard for b in row)
