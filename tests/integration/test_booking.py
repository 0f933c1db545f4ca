"""Booking rules on PostgreSQL (no Telegram): book, refusals, cancel, waitlist and offers."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from fitclub.services import booking, timetable
from fitclub.services.booking import Outcome, Refusal, Rules
from tests import factories
from tests.helpers import in_transaction as _run
from tests.helpers import query

START = datetime(2030, 6, 10, 18, 0, tzinfo=UTC)
EARLY = START - timedelta(days=1)
RULES = Rules(ZoneInfo("UTC"), closes_minutes=0, cancel_window_hours=3, offer_minutes=30)


def _member(db_url: str, n: int, *, visits: int | None = 10, status: str = "active",
            starts_on: date = date(2030, 1, 1), ends_on: date = date(2030, 12, 31),
            membership: bool = True) -> int:
    member_id = factories.member(db_url, 1000 + n, f"M{n}")
    if membership:
        factories.membership(db_url, member_id, starts_on=starts_on, ends_on=ends_on,
                             visits_left=visits, status=status)
    return member_id


def _class(db_url: str, capacity: int = 2, starts_at: datetime = START,
           status: str = "scheduled") -> int:
    trainer = query(db_url, "SELECT id FROM members WHERE telegram_id = 1")
    if not trainer:  # the first class of the test: the plan, the class type, the trainer
        factories.plan(db_url, "Ten", price_minor=100, duration_days=60, visit_count=10)
        factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=10)
        trainer = [(factories.member(db_url, 1, "Tina", role="trainer", registered=False),)]
    return factories.class_(db_url, trainer[0][0], starts_at, duration_minutes=60,
                            capacity=capacity, status=status)


def _book(db_url, member_id, class_id, now=EARLY, rules=RULES, waitlist=True):
    return _run(db_url, booking.book, member_id, class_id, now, rules, waitlist_if_full=waitlist)


def _visits(db_url: str, member_id: int) -> int | None:
    return query(db_url, "SELECT visits_left FROM memberships WHERE member_id = %s",
                 (member_id,))[0][0]


def _offers(db_url: str, class_id: int) -> list[tuple]:
    return query(db_url, "SELECT o.id, o.member_id, o.status, o.expires_at FROM waitlist_offers o"
                         " WHERE class_id = %s ORDER BY id", (class_id,))


def test_booking_reserves_one_visit(db_url):
    class_id = _class(db_url)
    member = _member(db_url, 1)
    assert _book(db_url, member, class_id).outcome is Outcome.BOOKED
    assert _visits(db_url, member) == 9
    assert query(db_url, "SELECT booked_count FROM classes")[0][0] == 1


def test_an_unlimited_membership_books_without_counting(db_url):
    class_id = _class(db_url)
    member = _member(db_url, 1, visits=None)
    assert _book(db_url, member, class_id).outcome is Outcome.BOOKED
    assert _visits(db_url, member) is None


@pytest.mark.parametrize(("setup", "reason", "on"), [
    ({"membership": False}, Refusal.NO_MEMBERSHIP, None),
    ({"status": "frozen"}, Refusal.FROZEN, None),
    # Booked on 9 June for a class on the 10th: the membership's dates name the date.
    ({"ends_on": date(2030, 6, 9)}, Refusal.ENDS_BEFORE, date(2030, 6, 9)),
    ({"ends_on": date(2030, 6, 8)}, Refusal.ENDED, date(2030, 6, 8)),
    ({"starts_on": date(2030, 6, 11)}, Refusal.NOT_STARTED, date(2030, 6, 11)),
    ({"visits": 0}, Refusal.NO_VISITS, None),
])
def test_a_membership_that_does_not_allow_the_class_is_refused(db_url, setup, reason, on):
    class_id = _class(db_url)
    member = _member(db_url, 1, **setup)
    result = _book(db_url, member, class_id)
    assert (result.outcome, result.reason, result.on) == (Outcome.REFUSED, reason, on)
    assert result.day == (START.date() if on else None)
    assert query(db_url, "SELECT count(*) FROM bookings")[0][0] == 0


def test_a_freeze_covering_the_class_day_refuses(db_url):
    class_id = _class(db_url)
    member = _member(db_url, 1)
    query(db_url, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                  " SELECT id, '2030-06-09', '2030-06-12' FROM memberships")
    result = _book(db_url, member, class_id)
    assert (result.reason, result.on, result.day) == (Refusal.FROZEN, date(2030, 6, 12),
                                                      START.date())


def test_a_frozen_membership_books_classes_after_its_freeze_but_not_during_it(db_url):
    """Frozen from 9 to 12 June (the class is on the 10th): a class on the 14th is bookable
    while the membership is frozen; one on the 10th is not."""
    during = _class(db_url)
    after = _class(db_url, starts_at=START + timedelta(days=4))
    member = _member(db_url, 1, status="frozen")
    query(db_url, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                  " SELECT id, '2030-06-09', '2030-06-12' FROM memberships")
    assert _book(db_url, member, during).reason is Refusal.FROZEN
    assert _book(db_url, member, after).outcome is Outcome.BOOKED


def test_booking_twice_is_refused(db_url):
    class_id = _class(db_url)
    member = _member(db_url, 1)
    _book(db_url, member, class_id)
    assert _book(db_url, member, class_id).reason is Refusal.ALREADY_BOOKED
    assert _visits(db_url, member) == 9


def test_a_full_class_is_refused_or_queued(db_url):
    class_id = _class(db_url, capacity=1)
    _book(db_url, _member(db_url, 1), class_id)
    second = _member(db_url, 2)
    refused = _book(db_url, second, class_id, waitlist=False)
    assert (refused.outcome, refused.reason) == (Outcome.REFUSED, Refusal.FULL)
    queued = _book(db_url, second, class_id)
    assert (queued.outcome, queued.position) == (Outcome.WAITLISTED, 1)
    assert _visits(db_url, second) == 10  # a waitlist place reserves nothing
    again = _book(db_url, second, class_id)
    assert (again.reason, again.position) == (Refusal.ALREADY_WAITLISTED, 1)


@pytest.mark.parametrize("closes_minutes", [0, 30])
def test_booking_after_the_close_is_refused(db_url, closes_minutes):
    class_id = _class(db_url)
    rules = RULES._replace(closes_minutes=closes_minutes)
    member = _member(db_url, 1)
    at_close = START - timedelta(minutes=closes_minutes)
    assert _book(db_url, member, class_id, now=at_close, rules=rules).reason is Refusal.CLOSED
    ok = _book(db_url, member, class_id, now=at_close - timedelta(seconds=1), rules=rules)
    assert ok.outcome is Outcome.BOOKED


def test_a_cancelled_class_is_refused(db_url):
    class_id = _class(db_url, status="cancelled")
    assert _book(db_url, _member(db_url, 1), class_id).reason is Refusal.CANCELLED


def test_an_unknown_class_is_unavailable(db_url):
    _class(db_url)
    assert _book(db_url, _member(db_url, 1), 999_999).outcome is Outcome.UNAVAILABLE


def test_an_early_cancel_gives_the_visit_back_and_offers_the_place(db_url):
    class_id = _class(db_url, capacity=1)
    first, second, third = (_member(db_url, n) for n in (1, 2, 3))
    _book(db_url, first, class_id)
    _book(db_url, second, class_id)
    _book(db_url, third, class_id)
    now = START - timedelta(hours=3)
    result = _run(db_url, booking.cancel_booking, first, class_id, now, RULES)
    assert result.outcome is Outcome.CANCELLED
    assert _visits(db_url, first) == 10
    (offer,) = result.offers
    assert (offer.telegram_id, offer.expires_at) == (1002, now + timedelta(minutes=30))
    assert query(db_url, "SELECT kind, dedup_key, run_at FROM jobs") == [
        ("offer_expiry", f"offer:{offer.offer_id}", offer.expires_at)]
    # The held place is nobody else's: a newcomer queues behind.
    newcomer = _book(db_url, _member(db_url, 4), class_id, now=now)
    assert (newcomer.outcome, newcomer.position) == (Outcome.WAITLISTED, 3)


def test_a_late_cancel_keeps_the_visit_and_is_marked(db_url):
    class_id = _class(db_url)
    member = _member(db_url, 1)
    _book(db_url, member, class_id)
    late = START - timedelta(hours=3) + timedelta(seconds=1)
    assert _run(db_url, booking.cancel_booking, member, class_id, late,
                RULES).outcome is Outcome.LATE
    assert _visits(db_url, member) == 9
    assert query(db_url, "SELECT status, late_cancel FROM bookings") == [("cancelled", True)]


def test_cancelling_after_the_start_is_refused(db_url):
    class_id = _class(db_url)
    member = _member(db_url, 1)
    _book(db_url, member, class_id)
    assert _run(db_url, booking.cancel_booking, member, class_id, START,
                RULES).reason is Refusal.CLOSED


def _full_with_line(db_url, line: int = 2, **member_kw):
    class_id = _class(db_url, capacity=1)
    members = [_member(db_url, n, **member_kw) for n in range(1, line + 2)]
    for m in members:
        _book(db_url, m, class_id)
    cancelled = _run(db_url, booking.cancel_booking, members[0], class_id, EARLY, RULES)
    return class_id, members, cancelled.offers[0]


def test_accepting_an_offer_books_and_reserves_a_visit(db_url):
    class_id, members, offer = _full_with_line(db_url)
    result = _run(db_url, booking.accept_offer, members[1], offer.offer_id, EARLY, RULES)
    assert result.outcome is Outcome.BOOKED
    assert _visits(db_url, members[1]) == 9
    assert query(db_url, "SELECT status FROM jobs") == [("cancelled",)]
    assert [o[2] for o in _offers(db_url, class_id)] == ["accepted"]
    # Someone else's or an answered offer is no longer available.
    again = _run(db_url, booking.accept_offer, members[1], offer.offer_id, EARLY, RULES)
    assert again.outcome is Outcome.UNAVAILABLE
    foreign = _run(db_url, booking.decline_offer, members[2], offer.offer_id, EARLY, RULES)
    assert foreign.outcome is Outcome.UNAVAILABLE


@pytest.mark.parametrize("answer", ["decline", "expire", "leave"])
def test_a_declined_expired_or_abandoned_offer_passes_on(db_url, answer):
    class_id, members, offer = _full_with_line(db_url)
    if answer == "decline":
        result = _run(db_url, booking.decline_offer, members[1], offer.offer_id, EARLY, RULES)
        offers = result.offers
    elif answer == "expire":
        result = _run(db_url, booking.expire_offer, offer.offer_id, offer.expires_at, RULES)
        assert result.expired.telegram_id == 1002
        offers = result.offers
        assert _run(db_url, booking.expire_offer, offer.offer_id, offer.expires_at,
                    RULES) == (None, ())  # a second run changes nothing
    else:
        offers = _run(db_url, booking.leave_waitlist, members[1], class_id, EARLY, RULES).offers
    (passed,) = offers
    assert passed.telegram_id == 1003
    assert query(db_url, "SELECT status FROM bookings WHERE member_id = %s",
                 (members[1],)) == [("cancelled",)]
    assert [o[1] for o in _offers(db_url, class_id)] == [members[1], members[2]]


def test_an_accept_the_membership_no_longer_allows_says_why_and_passes_on(db_url):
    class_id, members, offer = _full_with_line(db_url)
    query(db_url, "UPDATE memberships SET visits_left = 0 WHERE member_id = %s", (members[1],))
    result = _run(db_url, booking.accept_offer, members[1], offer.offer_id, EARLY, RULES)
    assert (result.outcome, result.reason) == (Outcome.REFUSED, Refusal.NO_VISITS)
    assert [o.telegram_id for o in result.offers] == [1003]
    assert [o[2] for o in _offers(db_url, class_id)] == ["refused", "open"]


def test_offer_expiry_is_capped_at_the_close(db_url):
    class_id = _class(db_url, capacity=1)
    first, second = _member(db_url, 1), _member(db_url, 2)
    _book(db_url, first, class_id)
    _book(db_url, second, class_id)
    rules = RULES._replace(closes_minutes=10, cancel_window_hours=0)
    now = START - timedelta(minutes=20)
    (offer,) = _run(db_url, booking.cancel_booking, first, class_id, now, rules).offers
    assert offer.expires_at == START - timedelta(minutes=10)
    # After the close no place is offered at all.
    after = _run(db_url, booking.decline_offer, second, offer.offer_id,
                 START - timedelta(minutes=5), rules)
    assert after.outcome is Outcome.DECLINED and after.offers == ()


def test_concurrent_bookings_never_exceed_capacity(db_url):
    class_id = _class(db_url, capacity=5)
    members = [_member(db_url, n) for n in range(1, 31)]
    barrier = threading.Barrier(len(members))
    results = {}

    def press(member_id):
        conn = psycopg2.connect(db_url)
        try:
            barrier.wait()
            with conn:
                results[member_id] = booking.book(conn, member_id, class_id, EARLY, RULES,
                                                  waitlist_if_full=True)
        finally:
            conn.close()

    threads = [threading.Thread(target=press, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = [r.outcome for r in results.values()]
    assert outcomes.count(Outcome.BOOKED) == 5
    assert sorted(r.position for r in results.values() if r.position) == list(range(1, 26))
    assert query(db_url, "SELECT sum(10 - visits_left) FROM memberships")[0][0] == 5
    assert query(db_url, "SELECT booked_count FROM classes")[0][0] == 5


def test_a_day_and_its_times_follow_the_club_time_zone_across_dst(db_url):
    """Europe/Berlin springs forward on 29 March 2026 (02:00 -> 03:00): a 23-hour day."""
    berlin = Rules(ZoneInfo("Europe/Berlin"))
    tz = berlin.timezone
    before = _class(db_url, starts_at=datetime(2026, 3, 29, 0, 30, tzinfo=tz))  # 23:30 UTC on 28th
    after = _class(db_url, starts_at=datetime(2026, 3, 29, 23, 30, tzinfo=tz))  # 21:30 UTC
    _class(db_url, starts_at=datetime(2026, 3, 30, 0, 0, tzinfo=tz))  # the next day
    _class(db_url, starts_at=datetime(2026, 3, 28, 23, 59, tzinfo=tz))  # the day before
    start, end = booking.day_bounds(date(2026, 3, 29), berlin)
    assert end - start == timedelta(hours=23)
    member = _member(db_url, 1, ends_on=date(2026, 3, 28), starts_on=date(2026, 1, 1))
    conn = psycopg2.connect(db_url)
    try:
        shown = timetable.day(conn, member, date(2026, 3, 29), berlin)
    finally:
        conn.close()
    assert [c.id for c in shown] == [before, after]
    assert [c.starts_at.astimezone(tz).strftime("%H:%M") for c in shown] == ["00:30", "23:30"]
    # The class is on the 29th in Berlin (the 28th in UTC): the membership ends on the 28th.
    now = datetime(2026, 3, 1, tzinfo=UTC)
    result = _book(db_url, member, before, now=now, rules=berlin)
    assert (result.reason, result.on, result.day) == (Refusal.ENDS_BEFORE, date(2026, 3, 28),
                                                      date(2026, 3, 29))
    assert _book(db_url, member, before, now=now,
                 rules=RULES).outcome is Outcome.BOOKED  # the same class, counted in UTC
