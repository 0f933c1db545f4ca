"""Schedule, booking, cancellation and the waitlist with timed offers, with
the bot as its own process, tgemu over HTTP and a real PostgreSQL."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from fitclub import callbacks as cb
from tests import factories
from tests.e2e import harness
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, buttons

OFFER = "A place is free"


def _club(db_url: str) -> None:
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    factories.class_type(db_url, "Yoga", description="Slow flow", default_duration_minutes=60,
                         default_capacity=20)
    factories.member(db_url, 1, "Tina", role="trainer", registered=False)


def _class(db_url: str, capacity: int, starts_in: timedelta) -> int:
    (trainer_id,), = query(db_url, "SELECT id FROM members WHERE telegram_id = 1")
    return factories.class_(db_url, trainer_id,
                            (datetime.now(UTC) + starts_in).replace(second=0, microsecond=0),
                            duration_minutes=60, capacity=capacity, room="Studio 2")


def _members(db_url: str, people: list[Person]) -> None:
    """Registered members with a 10-visit membership, all in one statement per table."""
    ids = factories.members(db_url, [{"telegram_id": p.id, "first_name": f"M{p.id}",
                                      "phone": f"+1000{p.id}"} for p in people])
    factories.memberships(db_url, ids, starts_on=-1, ends_on=30, visits_left=10)


def _visits(db_url: str, person: Person) -> int:
    return query(db_url, "SELECT visits_left FROM memberships JOIN members m ON m.id = member_id"
                         " WHERE m.telegram_id = %s", (person.id,))[0][0]


def _status(db_url: str, person: Person, class_id: int) -> tuple:
    return query(db_url, "SELECT b.status, b.late_cancel FROM bookings b JOIN members m"
                         " ON m.id = b.member_id WHERE m.telegram_id = %s AND b.class_id = %s",
                 (person.id, class_id))[0]


def _open(person: Person, class_id: int) -> dict:
    (details,) = person.send(f"/start c_{class_id}")
    assert "Yoga" in details["text"]
    return details


def _cancel(person: Person, message_id: int) -> tuple[str, str]:
    """Cancel my booking on the class shown in message_id, then Yes: the question, and the
    screen's text after Yes."""
    person.press(person.now(message_id), "Cancel my booking")
    question = wait_until(lambda: (m := person.now(message_id)) and "Yes, cancel" in str(
        buttons(m)) and m, 15, "the question")
    person.press(question, "Yes, cancel")
    return question["text"], person.wait_edit(message_id, "cancelled")["text"]


def _offer_to(person: Person, count: int = 1, timeout: float = 20) -> dict:
    wait_until(lambda: len([m for m in person.messages() if OFFER in (m["text"] or "")]) >= count,
               timeout, f"an offer to user {person.id}")
    return [m for m in person.messages() if OFFER in (m["text"] or "")][-1]


def test_two_hundred_members_press_book_on_twenty_places_at_once(emu, launcher, db_url):
    _club(db_url)
    class_id = _class(db_url, 20, timedelta(days=1))
    people = [Person(emu, f"P{i}") for i in range(200)]
    _members(db_url, people)
    launcher.start(db_url)
    details = {}

    def open_class(person):
        details[person.id] = _open(person, class_id)

    threads = [threading.Thread(target=open_class, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers: dict[int, str] = {}
    start = threading.Barrier(len(people))

    def press(person):
        start.wait()
        answers[person.id] = person.press(details[person.id], "Book", timeout=60).get("text", "")

    threads = [threading.Thread(target=press, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert query(db_url, "SELECT status, count(*) FROM bookings GROUP BY status ORDER BY 1") == [
        ("booked", 20), ("waitlisted", 180)]
    assert query(db_url, "SELECT booked_count FROM classes")[0][0] == 20
    assert query(db_url, "SELECT sum(10 - visits_left) FROM memberships")[0][0] == 20
    # The line is served in commit order: every place was taken under the class row lock, so
    # the order of (created_at, id) is the order of the ids, which is the commit order.
    line = query(db_url, "SELECT id FROM bookings WHERE status = 'waitlisted'"
                         " ORDER BY created_at, id")
    assert line == sorted(line)
    assert Counter(a.startswith("Booked") for a in answers.values()) == {True: 20, False: 180}
    numbers = sorted(int(a.split("number ")[1].split()[0]) for a in answers.values()
                     if "waitlist" in a)
    assert numbers == list(range(1, 181))
    assert query(db_url, "SELECT count(*) FROM inbox WHERE status <> 'done'")[0][0] == 0


def test_cancel_offer_accept_decline_expire_late_cancel_and_close(emu, launcher, db_url):
    _club(db_url)
    class_id = _class(db_url, 1, timedelta(days=2))
    anna, boris, clara, dima = people = [Person(emu, n) for n in ("Anna", "Boris", "Clara",
                                                                  "Dima")]
    _members(db_url, people)
    launcher.start(db_url, WAITLIST_OFFER_MINUTES="0.05", JOB_POLL_SECONDS="0.2",
                   CLUB_TIMEZONE="Europe/Berlin")
    shown = {p.id: _open(p, class_id) for p in people}
    assert "Book" in str(buttons(shown[anna.id]))
    assert anna.press(shown[anna.id], "Book")["text"].startswith("Booked")
    for n, person in enumerate((boris, clara, dima), 1):
        assert f"number {n} on the waitlist" in person.press(shown[person.id], "Book")["text"]
    assert _visits(db_url, anna) == 9 and _visits(db_url, boris) == 10

    # Add to calendar: an .ics in the club's time zone, matching the class.
    anna.press(anna.wait_edit(shown[anna.id]["message_id"], "You're booked"), "Add to calendar")
    doc = wait_until(lambda: next((m for m in anna.messages() if m.get("document")), None), 15,
                     "the .ics document")
    (event,) = icalendar.Calendar.from_ical(doc["document"]["bytes"]).walk("VEVENT")
    starts = query(db_url, "SELECT starts_at FROM classes WHERE id = %s", (class_id,))[0][0]
    assert event.decoded("dtstart") == starts and str(event["location"]) == "Studio 2"
    assert event["dtstart"].params["TZID"] == "Europe/Berlin"

    # An early cancel gives the visit back; the first in line gets one offer.
    question, done = _cancel(anna, shown[anna.id]["message_id"])
    assert "Your visit comes back" in question and _visits(db_url, anna) == 10
    assert "the visit is back" in done
    offer = _offer_to(boris)
    assert buttons(offer)[0] == ["✅ Take the place", "✖ No, thanks"]
    # Declined: passes to Clara, who lets it expire: passes to Dima, who accepts.
    boris.press(offer, "No, thanks")
    assert "turned the place down" in boris.wait_edit(offer["message_id"], "turned")["text"]
    _offer_to(clara)
    wait_until(lambda: any("gone to the next" in (m["text"] or "") for m in clara.messages()), 20,
               "Clara's offer to expire")
    dima_offer = _offer_to(dima)
    dima.press(dima_offer, "Take the place")
    dima.wait_edit(dima_offer["message_id"], "You're booked")
    assert _status(db_url, dima, class_id) == ("booked", False) and _visits(db_url, dima) == 9
    assert query(db_url, "SELECT status FROM waitlist_offers ORDER BY id") == [
        ("declined",), ("expired",), ("accepted",)]
    for person in people:
        assert len([m for m in person.messages() if OFFER in (m["text"] or "")]) == (
            0 if person is anna else 1)

    # A late cancel keeps the visit and is marked late.
    soon = _class(db_url, 5, timedelta(hours=1))
    soon_details = _open(anna, soon)
    anna.press(soon_details, "Book")
    assert _visits(db_url, anna) == 9
    question, done = _cancel(anna, soon_details["message_id"])
    assert "the visit will not come back" in question and "the visit is used" in done
    assert _status(db_url, anna, soon) == ("cancelled", True) and _visits(db_url, anna) == 9

    # Booking after the close is refused (the class started while the screen was open).
    later = _class(db_url, 5, timedelta(hours=5))
    later_details = _open(boris, later)
    query(db_url, "UPDATE classes SET starts_at = now() - interval '1 minute' WHERE id = %s",
          (later,))
    assert "Booking for this class has closed" in boris.press(later_details, "Book")["text"]
    assert query(db_url, "SELECT count(*) FROM bookings WHERE class_id = %s", (later,)) == [(0,)]


def test_schedule_pages_and_details_are_edits_and_refusals_say_why(emu, launcher, db_url):
    _club(db_url)
    class_id = _class(db_url, 20, timedelta(days=1))
    anna = Person(emu, "Anna")
    _members(db_url, [anna])
    query(db_url, "UPDATE memberships SET visits_left = 0")
    launcher.start(db_url)
    (page,) = anna.send("/schedule")
    before = len(anna.messages())
    anna.press(page, "▶")
    tomorrow = anna.wait_edit(page["message_id"], "Yoga")
    assert "20 of 20 left" in tomorrow["text"]
    anna.press(tomorrow, "Yoga")
    details = anna.wait_edit(page["message_id"], "Trainer: Tina")
    assert "Room: Studio 2" in details["text"] and f"start=c_{class_id}" in details["text"]
    # No visits left: said on the details, which offer no Book; an older Book says it too.
    assert "No visits left" in details["text"] and "Book" not in str(buttons(details))
    assert "No visits left" in anna.inject_press(
        page["message_id"], cb.BOOK(class_id=class_id, back="s"))["text"]
    anna.press(anna.now(page["message_id"]), "Back")
    anna.wait_edit(page["message_id"], "20 of 20 left")
    assert len(anna.messages()) == before  # every step was an edit of the one message


def test_a_shared_class_link_opens_the_class_after_registration(emu, launcher, db_url):
    _club(db_url)
    class_id = _class(db_url, 20, timedelta(days=1))
    launcher.start(db_url)
    newcomer = Person(emu, "Nina")
    (ask,) = newcomer.send(f"/start c_{class_id}")
    assert "What's your name?" in ask["text"]
    newcomer.send("Nina")
    done, landed = newcomer.share_contact(expect=2)
    assert "You're registered" in done["text"]
    assert "Yoga" in landed["text"] and "Trainer: Tina" in landed["text"]
    # No membership yet: why it cannot be booked, and the way to a membership instead of Book.
    assert "You need a membership to book" in landed["text"]
    assert buttons(landed)[0] == ["🎫 Membership"]


@pytest.fixture
def jobs_bot(monkeypatch):
    """Processes run the probe bot that can start without polling (E2E_POLLING=0)."""
    monkeypatch.setattr(harness, "PROBE_BOT", Path(__file__).with_name("jobs_probe_bot.py"))


def test_two_processes_and_a_restart_expire_each_offer_once(emu, launcher, db_url, jobs_bot):
    _club(db_url)
    class_id = _class(db_url, 3, timedelta(days=1))
    booked = [Person(emu, f"B{i}") for i in range(3)]
    line = [Person(emu, f"W{i}") for i in range(12)]
    _members(db_url, booked + line)
    fast = {"WAITLIST_OFFER_MINUTES": "0.04", "JOB_POLL_SECONDS": "0.2", "OUTBOX_LEASE": "8"}
    polling = launcher.start(db_url, **fast)
    quiet = launcher.start(db_url, wait=False, E2E_POLLING="0", **fast)
    for person in booked + line:
        details = _open(person, class_id)
        person.press(details, "Book" if "Book" in str(buttons(details)) else "Join the waitlist")
    assert query(db_url, "SELECT count(*) FROM bookings WHERE status = 'waitlisted'") == [(12,)]
    for person in booked:
        _cancel(person, person.messages()[-1]["message_id"])
    # Offers run out every 2.4 s, three at a time: four rounds for twelve people in line.
    wait_until(lambda: query(db_url, "SELECT count(*) FROM waitlist_offers")[0][0] >= 6, 30,
               "the second round of offers")
    polling.signal(signal.SIGTERM)
    assert polling.wait(15) == 0
    polling = launcher.start(db_url, **fast)
    wait_until(lambda: query(db_url, "SELECT count(*) FROM waitlist_offers"
                                     " WHERE status = 'expired'")[0][0] == 12, 60,
               "every offer to expire")
    assert quiet.alive()
    per_member = query(db_url, "SELECT member_id, count(*) FROM waitlist_offers GROUP BY 1")
    assert len(per_member) == 12 and {n for _, n in per_member} == {1}
    expired = Counter(query(db_url, "SELECT entity_id FROM audit_log"
                                    " WHERE action = 'waitlist.expired'"))
    assert len(expired) == 12 and set(expired.values()) == {1}
    assert query(db_url, "SELECT status, count(*) FROM jobs WHERE kind = 'offer_expiry'"
                         " GROUP BY 1") == [("done", 12)]
    for person in line:
        wait_until(lambda p=person: any("gone to the next" in (m["text"] or "")
                                        for m in p.messages()), 20, "the expiry message")
        assert len([m for m in person.messages() if OFFER in (m["text"] or "")]) == 1
