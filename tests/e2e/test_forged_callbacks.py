"""Forged or stale callback data answers "no longer available".

Each press is injected as Telegram would deliver it (tgemu only lets a simulated user press
buttons the bot really sent), so data no button ever carried reaches the bot.
"""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg2
import pytest

from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person

STALE = "This is no longer available."

FORGED = {
    "garbage": "garbage",
    "64 bytes of junk": "\x7f" * 10 + "z" * 54,
    "unknown prefix": "zz:1:2",
    "wrong field type": "pr:abc",
    "id out of range": "pr:99999999999999999999",
    "missing plan": "pr:424242",
    "archived plan": None,  # filled in with the archived plan's id
    "menu screen that does not exist": "m:admin",
    "another member's waitlist offer": "other-offer",  # filled in with Boris's offer
    "another member's offer, declined": "other-offer-no",
}


def _offer_for_someone_else(db_url: str) -> int:
    """An open waitlist offer held for another member (Boris) on a full class, written in
    one transaction (the running bot never sees the class without the offer)."""
    conn = psycopg2.connect(db_url)
    try:
        with conn, conn.cursor() as cur:
            boris = factories.member(conn, 31337, "Boris")
            trainer = factories.member(conn, 31338, "T", role="trainer", registered=False)
            kind = factories.class_type(conn, "Yoga", default_duration_minutes=60,
                                        default_capacity=1)
            cls = factories.class_(conn, trainer, timedelta(days=1), class_type_id=kind,
                                   duration_minutes=60, capacity=1)
            place = factories.booking(conn, cls, boris, status="waitlisted")
            cur.execute("INSERT INTO waitlist_offers (booking_id, class_id, member_id,"
                        " offered_at, expires_at) VALUES (%s, %s, %s, now(),"
                        " now() + interval '30 minutes') RETURNING id", (place, cls, boris))
            return cur.fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def member(emu, launcher, db_url):
    factories.plan(db_url, "Old plan", price_minor=1000, duration_days=30, visit_count=None,
                   is_active=False)
    launcher.start(db_url)
    person = Person(emu, "Anna")
    factories.member(db_url, person.id, "Anna", phone="+4915112345")
    (menu,) = person.send("/start")
    return person, menu


def _press(emu, person, menu, data: str) -> int:
    return emu.inject_update(TOKEN, {"callback_query": {
        "id": f"forged-{time.monotonic_ns()}", "chat_instance": "1",
        "from": {"id": person.id, "is_bot": False, "first_name": "Anna",
                 "language_code": "en"},
        "message": {"message_id": menu["message_id"], "date": int(time.time()),
                    "chat": {"id": person.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"},
                    "text": menu["text"]},
        "data": data}})


@pytest.mark.parametrize("kind", list(FORGED))
def test_forged_callback_data_answers_no_longer_available(emu, db_url, member, kind):
    person, menu = member
    data = FORGED[kind]
    if data is None:
        (plan_id,), = query(db_url, "SELECT id FROM membership_plans WHERE name = 'Old plan'")
        data = f"pr:{plan_id}"
    elif data.startswith("other-offer"):
        offer_id = _offer_for_someone_else(db_url)
        data = f"of:{offer_id}:{'no' if data.endswith('-no') else 'yes'}"
    update_id = _press(emu, person, menu, data)

    def answered():
        rows = query(db_url, "SELECT params->>'text' FROM outbox WHERE update_id = %s"
                             " AND method = 'answerCallbackQuery'", (update_id,))
        return rows or None

    assert wait_until(answered, 10, "the callback answer") == [(STALE,)]
    assert query(db_url, "SELECT status FROM inbox WHERE update_id = %s",
                 (update_id,)) == [("done",)]
    assert query(db_url, "SELECT count(*) FROM plan_requests") == [(0,)]
    assert query(db_url, "SELECT status FROM waitlist_offers") in ([], [("open",)]), \
        "someone else's offer is left as it was"
    assert query(db_url, "SELECT count(*) FROM bookings WHERE status = 'booked'") == [(0,)]
    sends = query(db_url, "SELECT count(*) FROM outbox WHERE update_id = %s"
                          " AND method = 'sendMessage'", (update_id,))
    assert sends == [(0,)], "a stale press sends no new message"
