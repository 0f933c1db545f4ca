"""One rule for a free cancellation, at its exact edge: cancelling exactly CANCEL_WINDOW_HOURS
before the start still gives the visit back, a microsecond later does not. Cancelling a
booking, the reminder's Cancel button and the reminder's offer of that button all agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from telebot import types

from fitclub.callbacks import REMINDER_CANCEL
from fitclub.handlers import settings as settings_handlers
from fitclub.jobs import reminders as reminder_jobs
from fitclub.locales import Texts
from fitclub.runtime.context import UpdateContext
from fitclub.runtime.jobs import JobContext
from fitclub.services import booking, club
from fitclub.services.booking import Outcome
from tests import factories

RULES = club.of(None).booking  # the defaults: a 3-hour window, in UTC
WINDOW = timedelta(hours=RULES.cancel_window_hours)
TICK = timedelta(microseconds=1)  # PostgreSQL keeps microseconds: the edge survives a round trip
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
TELEGRAM_ID = 4242
VISITS = 10

# (how long before the start the member cancels, whether the visit comes back)
EDGE = pytest.mark.parametrize(("before", "free"), [
    (WINDOW + TICK, True),
    (WINDOW, True),
    (WINDOW - TICK, False),
], ids=["window+1us", "exactly the window", "window-1us"])


class Place(NamedTuple):
    member_id: int
    class_id: int
    booking_id: int


def _booked(db) -> Place:
    """Anna's booked place in a class at START, holding one of her visits."""
    trainer = factories.member(db, 1, "Tina", role="trainer")
    member_id = factories.member(db, TELEGRAM_ID, "Anna")
    factories.plan(db)
    membership_id = factories.membership(db, member_id, visits_left=VISITS - 1)
    factories.class_type(db)
    class_id = factories.class_(db, trainer, START)
    booking_id = factories.booking(db, class_id, member_id, membership_id=membership_id,
                                   visit_reserved=True)
    return Place(member_id, class_id, booking_id)


def _state(db, place: Place) -> tuple[str, bool, int]:
    """The booking's status and late mark, and the visits left on the membership."""
    with db.cursor() as cur:
        cur.execute("SELECT b.status, b.late_cancel, ms.visits_left FROM bookings b"
                    " JOIN memberships ms ON ms.id = b.membership_id WHERE b.id = %s",
                    (place.booking_id,))
        return cur.fetchone()


def _sent(db, method: str) -> list[dict]:
    with db.cursor() as cur:
        cur.execute("SELECT params FROM outbox WHERE method = %s ORDER BY id", (method,))
        return [params for (params,) in cur.fetchall()]


@EDGE
def test_cancelling_a_booking_gives_the_visit_back_up_to_exactly_the_window(db, before, free):
    place = _booked(db)
    now = START - before
    assert booking.cancel_is_free(START, now, RULES) is free
    result = booking.cancel_booking(db, place.member_id, place.class_id, now, RULES)
    assert result.outcome is (Outcome.CANCELLED if free else Outcome.LATE)
    assert _state(db, place) == ("cancelled", not free, VISITS if free else VISITS - 1)


@EDGE
def test_the_reminders_cancel_button_cancels_exactly_when_cancelling_is_free(db, before, free):
    place = _booked(db)
    ctx = UpdateContext(db, chat_id=TELEGRAM_ID, user_id=TELEGRAM_ID, update_id=1)
    ctx.now = lambda: START - before
    press = types.CallbackQuery.de_json({
        "id": "7", "chat_instance": "1", "data": REMINDER_CANCEL(class_id=place.class_id),
        "from": {"id": TELEGRAM_ID, "is_bot": False, "first_name": "Anna"},
        "message": {"message_id": 5, "date": 0, "text": "",
                    "chat": {"id": TELEGRAM_ID, "type": "private"}}})
    deps = SimpleNamespace(context=lambda: ctx, club=club.of(None))

    settings_handlers.cancel_from_reminder(deps, press)

    tx = Texts("en")
    if free:
        assert _state(db, place) == ("cancelled", False, VISITS)
        assert [p["text"] for p in _sent(db, "editMessageText")] == [
            tx("reminder_cancelled", when=tx.datetime(START))]
    else:
        assert _state(db, place) == ("booked", False, VISITS - 1)
        assert [(p["text"], p["show_alert"]) for p in _sent(db, "answerCallbackQuery")] == [
            (tx("reminder_cancel_too_late", until=tx.time(START - WINDOW),
                bookings=tx("menu_bookings")), True)]


@EDGE
def test_a_reminder_offers_cancel_exactly_while_cancelling_is_free(db, before, free):
    place = _booked(db)
    ctx = JobContext(db, job=None, now=START - before, settings=None)

    reminder_jobs.class_reminder(ctx, {"booking_id": place.booking_id})

    (sent,) = _sent(db, "sendMessage")
    tx = Texts("en")
    assert (tx("reminder_cancel_until", until=tx.time(START - WINDOW)) in sent["text"]) is free
    offered = [button["callback_data"] for row in sent.get("reply_markup", {}).get(
        "inline_keyboard", []) for button in row]
    assert offered == ([REMINDER_CANCEL(class_id=place.class_id)] if free else [])
