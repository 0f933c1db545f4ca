"""Attendance on PostgreSQL (no Telegram): trainers' classes, rosters, marks, the no-show sweep."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from fitclub.db.migrate import SQL_DIR
from fitclub.services import attendance, booking, checkin
from fitclub.services.attendance import Mark, Outcome, Rules
from tests import factories
from tests.helpers import in_transaction as _run
from tests.helpers import query

NOW = datetime(2030, 6, 10, 12, 0, tzinfo=UTC)
START = NOW
RULES = Rules(ZoneInfo("UTC"), checkin_window_minutes=30, mark_hours=24, grace_minutes=30)
BOOKING_RULES = booking.Rules(ZoneInfo("UTC"))


def _person(db_url: str, telegram_id: int, name: str, role: str = "member") -> int:
    return factories.member(db_url, telegram_id, name, role=role)


@pytest.fixture
def club(db_url):
    """A plan, a class type, two trainers and an admin; the ids by name."""
    factories.plan(db_url, "Ten", price_minor=100, duration_days=60, visit_count=10)
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=10)
    return {"tina": _person(db_url, 1, "Tina", "trainer"),
            "oleg": _person(db_url, 2, "Oleg", "trainer"),
            "ada": _person(db_url, 3, "Ada", "admin")}


def _class(db_url: str, trainer_id: int, starts_at: datetime, *, status: str = "scheduled",
           capacity: int = 10, duration: int = 60) -> int:
    return factories.class_(db_url, trainer_id, starts_at, duration_minutes=duration,
                            capacity=capacity, status=status)


def _member(db_url: str, n: int, name: str | None = None) -> int:
    member_id = _person(db_url, 1000 + n, name or f"M{n}")
    factories.membership(db_url, member_id, starts_on=date(2030, 1, 1),
                         ends_on=date(2030, 12, 31), visits_left=10)
    return member_id


def _book(db_url: str, member_id: int, class_id: int, *, starts_at: datetime) -> int:
    """Book through the booking rules (a visit is reserved), a day before the class."""
    result = _run(db_url, booking.book, member_id, class_id, starts_at - timedelta(days=1),
                  BOOKING_RULES, waitlist_if_full=True)
    assert result.outcome in (booking.Outcome.BOOKED, booking.Outcome.WAITLISTED)
    return query(db_url, "SELECT id FROM bookings WHERE member_id = %s AND class_id = %s",
                 (member_id, class_id))[0][0]


def _insert_booking(db_url: str, member_id: int, class_id: int, status: str) -> int:
    return factories.booking(db_url, class_id, member_id, status=status)


def _status(db_url: str, booking_id: int) -> str:
    return query(db_url, "SELECT status FROM bookings WHERE id = %s", (booking_id,))[0][0]


def _audit(db_url: str, action_prefix: str = "attendance.") -> list[tuple]:
    return query(db_url, "SELECT actor_id, action, entity_id, details->>'from' FROM audit_log"
                         " WHERE action LIKE %s ORDER BY id", (action_prefix + "%",))


def _mark(db_url, actor_id, booking_id, what, now, class_id=None):
    """Mark through the service; the class is the booking's unless given (a forged pair)."""
    if class_id is None:
        found = query(db_url, "SELECT class_id FROM bookings WHERE id = %s", (booking_id,))
        class_id = found[0][0] if found else 1
    return _run(db_url, attendance.mark, actor_id, class_id, booking_id, what, now, RULES)


# -- the list ------------------------------------------------------------------------------------


def test_a_trainer_sees_their_classes_from_today_for_seven_days_and_recent_markable_ones(
        db_url, club):
    tina = club["tina"]
    yesterday_evening = _class(db_url, tina, NOW - timedelta(hours=18))  # ended 17 h ago
    _class(db_url, tina, NOW - timedelta(hours=26))  # ended 25 h ago: marks closed
    this_morning = _class(db_url, tina, NOW - timedelta(hours=4))
    cancelled = _class(db_url, tina, NOW + timedelta(hours=2), status="cancelled")
    last_day = _class(db_url, tina, datetime(2030, 6, 16, 22, 0, tzinfo=UTC))
    _class(db_url, tina, datetime(2030, 6, 17, 0, 0, tzinfo=UTC))  # the eighth day
    _class(db_url, club["oleg"], NOW + timedelta(hours=1))  # not hers
    members = [_member(db_url, n) for n in range(3)]
    for member_id in members[:2]:
        _insert_booking(db_url, member_id, this_morning, "booked")
    _insert_booking(db_url, members[2], this_morning, "waitlisted")

    found = _run(db_url, attendance.taught, tina, NOW, RULES)
    assert [c.id for c in found] == [yesterday_evening, this_morning, cancelled, last_day]
    morning = found[1]
    assert (morning.name, morning.booked, morning.capacity, morning.waiting) == ("Yoga", 2, 10, 1)
    assert found[2].status == "cancelled"


def test_the_list_follows_the_club_time_zone(db_url, club):
    tokyo = RULES._replace(timezone=ZoneInfo("Asia/Tokyo"))
    # 2030-06-10 12:00 UTC is 21:00 in Tokyo; the Tokyo day began at 15:00 UTC the day before.
    early = _class(db_url, club["tina"], datetime(2030, 6, 9, 15, 30, tzinfo=UTC))
    _class(db_url, club["tina"], datetime(2030, 6, 9, 10, 0, tzinfo=UTC),
           duration=30)  # the Tokyo day before and marks closed (ended 25.5 h ago)
    assert [c.id for c in _run(db_url, attendance.taught, club["tina"], NOW, tokyo)] == [early]


def test_an_admin_sees_only_the_classes_they_teach(db_url, club):
    _class(db_url, club["tina"], NOW + timedelta(hours=1))
    assert _run(db_url, attendance.taught, club["ada"], NOW, RULES) == []
    own = _class(db_url, club["ada"], NOW + timedelta(hours=2))
    assert [c.id for c in _run(db_url, attendance.taught, club["ada"], NOW, RULES)] == [own]


# -- the roster ----------------------------------------------------------------------------------


def test_the_roster_has_booked_places_the_waitlist_in_order_and_check_ins(db_url, club):
    starts_at = NOW + timedelta(minutes=10)
    class_id = _class(db_url, club["tina"], starts_at, capacity=2)
    anna, boris, clara, dima = (_member(db_url, 1, "Anna"), _member(db_url, 2, "Boris"),
                                _member(db_url, 3, "Clara"), _member(db_url, 4, "Dima"))
    for member_id in (anna, boris, clara, dima):
        _book(db_url, member_id, class_id, starts_at=starts_at)
    factories.visit(db_url, anna, class_id=class_id, checked_in_at=NOW, method="qr")

    found = _run(db_url, attendance.roster, club["tina"], class_id, RULES)
    assert [(p.name, p.status, p.checked_in_at) for p in found.places] == [
        ("Anna", "booked", NOW), ("Boris", "booked", None)]
    assert [(w.name, w.offered) for w in found.waiting] == [("Clara", False), ("Dima", False)]
    assert [(c.name, c.method) for c in found.checked_in] == [("Anna", "qr")]
    assert found.window == attendance.Window(starts_at - timedelta(minutes=30), starts_at,
                                             starts_at + timedelta(minutes=90),
                                             starts_at + timedelta(hours=25))
    assert found.cls.trainer == "Tina"


def test_a_roster_is_for_its_trainer_and_admins_only(db_url, club):
    class_id = _class(db_url, club["tina"], NOW)
    assert _run(db_url, attendance.roster, club["oleg"], class_id, RULES) is None
    assert _run(db_url, attendance.roster, club["ada"], class_id, RULES) is not None
    assert _run(db_url, attendance.roster, club["tina"], class_id + 100, RULES) is None
    query(db_url, "UPDATE members SET role = 'trainer' WHERE id = %s", (club["ada"],))
    assert _run(db_url, attendance.roster, club["ada"], class_id, RULES) is None


def test_an_erased_member_has_no_name_on_the_roster(db_url, club):
    class_id = _class(db_url, club["tina"], NOW)
    member_id = _member(db_url, 1)
    _insert_booking(db_url, member_id, class_id, "booked")
    query(db_url, "UPDATE members SET telegram_id = NULL, first_name = NULL, phone = NULL,"
                  " deleted_at = now() WHERE id = %s", (member_id,))
    (place,) = _run(db_url, attendance.roster, club["tina"], class_id, RULES).places
    assert place.name is None


# -- marks ---------------------------------------------------------------------------------------


def _visits(db_url: str, member_id: int) -> list[tuple]:
    return query(db_url, "SELECT class_id, method, checked_in_by, membership_id IS NOT NULL"
                         " FROM visits WHERE member_id = %s ORDER BY id", (member_id,))


def _left(db_url: str, member_id: int) -> int:
    return query(db_url, "SELECT visits_left FROM memberships WHERE member_id = %s",
                 (member_id,))[0][0]


def test_attended_records_one_class_visit_and_keeps_the_reserved_balance(db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(minutes=5))
    anna = _member(db_url, 1, "Anna")
    booking_id = _book(db_url, anna, class_id, starts_at=NOW - timedelta(minutes=5))
    assert _left(db_url, anna) == 9

    result = _mark(db_url, club["tina"], booking_id, Mark.ATTENDED, NOW)
    assert (result.outcome, result.class_id, result.name) == (Outcome.MARKED, class_id, "Anna")
    again = _mark(db_url, club["tina"], booking_id, Mark.ATTENDED, NOW)
    assert again.outcome is Outcome.UNCHANGED

    assert _status(db_url, booking_id) == "attended"
    assert _visits(db_url, anna) == [(class_id, "class", club["tina"], True)]
    assert _left(db_url, anna) == 9
    assert _audit(db_url) == [(club["tina"], "attendance.attended", booking_id, "booked")]


def test_no_show_after_attended_removes_the_class_visit_and_toggling_back_restores_it(
        db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(hours=2))
    anna = _member(db_url, 1)
    booking_id = _book(db_url, anna, class_id, starts_at=NOW - timedelta(hours=2))
    for what in (Mark.ATTENDED, Mark.NO_SHOW):
        assert _mark(db_url, club["tina"], booking_id, what, NOW).outcome is Outcome.MARKED
    assert (_status(db_url, booking_id), _visits(db_url, anna)) == ("no_show", [])
    assert _mark(db_url, club["tina"], booking_id, Mark.ATTENDED, NOW).outcome is Outcome.MARKED
    assert _status(db_url, booking_id) == "attended"
    assert _visits(db_url, anna) == [(class_id, "class", club["tina"], True)]
    assert _left(db_url, anna) == 9
    assert [a[1:] for a in _audit(db_url)] == [
        ("attendance.attended", booking_id, "booked"),
        ("attendance.no_show", booking_id, "attended"),
        ("attendance.attended", booking_id, "no_show")]


def test_a_door_check_in_of_a_place_not_yet_marked_makes_attended_without_a_second_visit(
        db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(hours=2))
    anna = _member(db_url, 1)
    booking_id = _insert_booking(db_url, anna, class_id, "booked")
    factories.visit(db_url, anna, class_id=class_id, method="qr")
    assert _mark(db_url, club["tina"], booking_id, Mark.ATTENDED, NOW).outcome is Outcome.MARKED
    assert [v[:2] for v in _visits(db_url, anna)] == [(class_id, "qr")]  # not a second one


def _checked_in_at_the_door(db_url, club, starts_at: datetime, at: datetime,
                            method: str = "qr") -> tuple[int, int, int]:
    """Anna books a class and is checked in at the door at `at` (the check-in service, which
    marks her place attended); the class, Anna, her booking."""
    class_id = _class(db_url, club["tina"], starts_at)
    anna = _member(db_url, 1, "Anna")
    booking_id = _book(db_url, anna, class_id, starts_at=starts_at)
    result = _run(db_url, checkin.check_in, club["oleg"], anna, at,
                  checkin.Rules(ZoneInfo("UTC")), method=method)
    assert result.outcome is checkin.Outcome.CHECKED_IN and result.class_name == "Yoga"
    assert _status(db_url, booking_id) == "attended"
    return class_id, anna, booking_id


@pytest.mark.parametrize("method", ["qr", "code", "manual"])
def test_a_member_checked_in_at_the_door_cannot_be_marked_a_no_show(db_url, club, method):
    door = NOW - timedelta(minutes=37)
    class_id, anna, booking_id = _checked_in_at_the_door(
        db_url, club, NOW - timedelta(minutes=30), door, method)
    before = _visits(db_url, anna)
    for actor in (club["tina"], club["ada"]):
        result = _mark(db_url, actor, booking_id, Mark.NO_SHOW, NOW)
        assert (result.outcome, result.class_id, result.name, result.checked_in_at) == (
            Outcome.CHECKED_IN, class_id, "Anna", door)
    assert (_status(db_url, booking_id), _visits(db_url, anna)) == ("attended", before)
    assert _audit(db_url) == []
    # Attended is already what she is; the roster offers her no mark at all.
    assert _mark(db_url, club["tina"], booking_id, Mark.ATTENDED,
                 NOW).outcome is Outcome.UNCHANGED
    found = _run(db_url, attendance.roster, club["tina"], class_id, RULES)
    (place,) = found.places
    assert (place.status, place.door_at) == ("attended", door)
    assert attendance.offered(found, place, NOW) == []


def test_a_no_show_recorded_before_a_door_check_in_is_refused_as_checked_in(db_url, club):
    """Marked a no-show at the start, Anna then came in late: the door made her attended, and
    the no-show cannot be set again, even where the window would allow it."""
    starts_at = NOW - timedelta(minutes=20)
    class_id = _class(db_url, club["tina"], starts_at)
    anna = _member(db_url, 1, "Anna")
    booking_id = _book(db_url, anna, class_id, starts_at=starts_at)
    assert _mark(db_url, club["tina"], booking_id, Mark.NO_SHOW,
                 starts_at).outcome is Outcome.MARKED
    _run(db_url, checkin.check_in, club["oleg"], anna, NOW, checkin.Rules(ZoneInfo("UTC")),
         method="qr")
    assert _status(db_url, booking_id) == "attended"
    result = _mark(db_url, club["tina"], booking_id, Mark.NO_SHOW, NOW + timedelta(hours=3))
    assert (result.outcome, result.checked_in_at) == (Outcome.CHECKED_IN, NOW)
    assert _status(db_url, booking_id) == "attended"


def _someone_waits_for_a_lock(db_url: str) -> bool:
    """Whether a session of this database waits for a lock (polled for up to 10 s)."""
    for _ in range(100):
        if query(db_url, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                         " current_database() AND wait_event_type = 'Lock'")[0][0]:
            return True
        time.sleep(0.1)
    return False


def test_a_no_show_pressed_during_a_door_check_in_waits_for_it_and_is_refused(
        db_url, club, monkeypatch):
    """The door has found Anna's booking and is about to record her visit when the trainer
    presses ❌: the mark waits for the check-in (no deadlock between them), then sees her door
    visit and is refused."""
    starts_at = NOW - timedelta(minutes=10)
    class_id = _class(db_url, club["tina"], starts_at)
    anna = _member(db_url, 1, "Anna")
    booking_id = _book(db_url, anna, class_id, starts_at=starts_at)
    found, go = threading.Event(), threading.Event()
    record = checkin._record

    def paused(*args, **kwargs):
        found.set()
        assert go.wait(10)
        return record(*args, **kwargs)

    monkeypatch.setattr(checkin, "_record", paused)
    outcomes: dict[str, object] = {}

    def run(who, fn, *args, **kwargs):
        try:
            outcomes[who] = _run(db_url, fn, *args, **kwargs)
        except psycopg2.Error as e:
            outcomes[who] = e

    door = threading.Thread(target=run, args=("door", checkin.check_in, club["oleg"], anna, NOW,
                                              checkin.Rules(ZoneInfo("UTC"))),
                            kwargs={"method": "qr"})
    door.start()
    assert found.wait(10)
    trainer = threading.Thread(target=run, args=("trainer", attendance.mark, club["tina"],
                                                 class_id, booking_id, Mark.NO_SHOW, NOW, RULES))
    trainer.start()
    try:
        assert _someone_waits_for_a_lock(db_url)  # the trainer, for the door's transaction
    finally:
        go.set()
        door.join(10)
        trainer.join(10)
    assert outcomes["door"].outcome is checkin.Outcome.CHECKED_IN
    assert (outcomes["trainer"].outcome, outcomes["trainer"].checked_in_at) == (
        Outcome.CHECKED_IN, NOW)
    assert _status(db_url, booking_id) == "attended"
    assert [v[:2] for v in _visits(db_url, anna)] == [(class_id, "qr")]
    assert _audit(db_url) == []


def test_a_trainer_marked_visit_does_not_lock_the_no_show(db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(minutes=10))
    anna = _member(db_url, 1)
    booking_id = _book(db_url, anna, class_id, starts_at=NOW - timedelta(minutes=10))
    assert _mark(db_url, club["tina"], booking_id, Mark.ATTENDED, NOW).outcome is Outcome.MARKED
    found = _run(db_url, attendance.roster, club["tina"], class_id, RULES)
    assert found.places[0].door_at is None
    assert attendance.offered(found, found.places[0], NOW) == [Mark.NO_SHOW]
    assert _mark(db_url, club["tina"], booking_id, Mark.NO_SHOW, NOW).outcome is Outcome.MARKED


@pytest.mark.parametrize(("at", "offered"), [
    (START - timedelta(minutes=31), []),
    (START - timedelta(minutes=30), [Mark.ATTENDED]),
    (START, [Mark.ATTENDED, Mark.NO_SHOW]),
    (START + timedelta(hours=25), [Mark.ATTENDED, Mark.NO_SHOW]),
    (START + timedelta(hours=25, seconds=1), []),
])
def test_a_roster_offers_the_marks_the_service_would_make(db_url, club, at, offered):
    class_id = _class(db_url, club["tina"], START)
    booking_id = _insert_booking(db_url, _member(db_url, 1), class_id, "booked")
    found = _run(db_url, attendance.roster, club["tina"], class_id, RULES)
    assert attendance.offered(found, found.places[0], at) == offered
    for what in Mark:
        made = _mark(db_url, club["tina"], booking_id, what, at).outcome is Outcome.MARKED
        assert made == (what in offered)
        query(db_url, "UPDATE bookings SET status = 'booked' WHERE id = %s", (booking_id,))



@pytest.mark.parametrize(("what", "at", "outcome"), [
    (Mark.ATTENDED, START - timedelta(minutes=31), Outcome.TOO_EARLY),
    (Mark.ATTENDED, START - timedelta(minutes=30), Outcome.MARKED),
    (Mark.NO_SHOW, START - timedelta(minutes=1), Outcome.TOO_EARLY),
    (Mark.NO_SHOW, START, Outcome.MARKED),
    (Mark.NO_SHOW, START + timedelta(hours=25), Outcome.MARKED),  # end + 24 h exactly
    (Mark.ATTENDED, START + timedelta(hours=25, seconds=1), Outcome.CLOSED),
])
def test_marks_open_and_close_with_the_class(db_url, club, what, at, outcome):
    class_id = _class(db_url, club["tina"], START)
    booking_id = _insert_booking(db_url, _member(db_url, 1), class_id, "booked")
    result = _mark(db_url, club["tina"], booking_id, what, at)
    assert result.outcome is outcome
    assert _status(db_url, booking_id) == (what.value if outcome is Outcome.MARKED else "booked")
    if outcome is Outcome.TOO_EARLY:
        assert result.opens_at == (START - timedelta(minutes=30) if what is Mark.ATTENDED
                                   else START)
    if outcome is Outcome.CLOSED:
        assert result.closed_at == START + timedelta(hours=25)
    assert len(_audit(db_url)) == (1 if outcome is Outcome.MARKED else 0)


def test_nothing_is_marked_in_a_cancelled_class(db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(minutes=10), status="cancelled")
    booking_id = _insert_booking(db_url, _member(db_url, 1), class_id, "booked")
    assert _mark(db_url, club["tina"], booking_id, Mark.NO_SHOW, NOW).outcome is Outcome.CANCELLED
    assert _status(db_url, booking_id) == "booked"


def test_a_trainer_cannot_mark_another_trainers_class_and_an_admin_can(db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(minutes=10))
    booking_id = _insert_booking(db_url, _member(db_url, 1), class_id, "booked")
    result = _mark(db_url, club["oleg"], booking_id, Mark.ATTENDED, NOW)
    assert (result.outcome, result.class_id) == (Outcome.UNAVAILABLE, None)
    assert (_status(db_url, booking_id), _audit(db_url)) == ("booked", [])
    assert _mark(db_url, club["ada"], booking_id, Mark.ATTENDED, NOW).outcome is Outcome.MARKED
    assert _audit(db_url) == [(club["ada"], "attendance.attended", booking_id, "booked")]


@pytest.mark.parametrize("status", ["waitlisted", "cancelled"])
def test_places_not_taken_cannot_be_marked(db_url, club, status):
    class_id = _class(db_url, club["tina"], NOW - timedelta(minutes=10))
    booking_id = _insert_booking(db_url, _member(db_url, 1), class_id, status)
    result = _mark(db_url, club["tina"], booking_id, Mark.ATTENDED, NOW)
    assert (result.outcome, result.class_id) == (Outcome.UNAVAILABLE, class_id)
    assert _status(db_url, booking_id) == status


def test_an_unknown_booking_is_unavailable(db_url, club):
    assert _mark(db_url, club["tina"], 424242, Mark.ATTENDED, NOW).outcome is Outcome.UNAVAILABLE


def test_a_place_of_another_class_named_with_my_class_is_unavailable(db_url, club):
    mine = _class(db_url, club["tina"], NOW - timedelta(minutes=10))
    theirs = _class(db_url, club["oleg"], NOW - timedelta(minutes=10))
    booking_id = _insert_booking(db_url, _member(db_url, 1), theirs, "booked")
    result = _mark(db_url, club["tina"], booking_id, Mark.NO_SHOW, NOW, class_id=mine)
    assert (result.outcome, result.class_id) == (Outcome.UNAVAILABLE, mine)
    assert _status(db_url, booking_id) == "booked"


# -- the no-show sweep ---------------------------------------------------------------------------


def _statuses(db_url: str, class_id: int) -> dict[int, str]:
    return dict(query(db_url, "SELECT id, status FROM bookings WHERE class_id = %s",
                      (class_id,)))


def test_the_sweep_records_exactly_the_unmarked_places_once(db_url, club):
    # Ended 31 minutes ago with a 30-minute grace: due. Ended 29 minutes ago: not yet.
    due = _class(db_url, club["tina"], NOW - timedelta(minutes=91))
    early = _class(db_url, club["tina"], NOW - timedelta(minutes=89))
    cancelled = _class(db_url, club["tina"], NOW - timedelta(hours=3), status="cancelled")
    people = [_member(db_url, n, f"P{n}") for n in range(6)]
    attended, no_show, open_a, open_b, waiting = (
        _insert_booking(db_url, people[i], due, s)
        for i, s in enumerate(["attended", "no_show", "booked", "booked", "waitlisted"]))
    not_yet = _insert_booking(db_url, people[5], early, "booked")
    in_cancelled = _insert_booking(db_url, people[5], cancelled, "booked")

    assert _run(db_url, attendance.due_classes, NOW, RULES) == [due]
    found = _run(db_url, attendance.record_no_shows, due, NOW, RULES)
    assert [(m.booking_id, m.name) for m in found.marked] == [(open_a, "P2"), (open_b, "P3")]
    assert found.notice.telegram_id == 1
    assert _statuses(db_url, due) == {attended: "attended", no_show: "no_show",
                                      open_a: "no_show", open_b: "no_show",
                                      waiting: "waitlisted"}
    assert _status(db_url, not_yet) == "booked"
    assert _status(db_url, in_cancelled) == "booked"

    again = _run(db_url, attendance.record_no_shows, due, NOW, RULES)
    assert (again.marked, again.notice) == ([], None)
    assert _run(db_url, attendance.due_classes, NOW, RULES) == []
    assert _audit(db_url) == [(None, "attendance.no_show", open_a, "booked"),
                              (None, "attendance.no_show", open_b, "booked")]


def test_the_sweep_never_records_a_member_checked_in_at_the_door_as_a_no_show(db_url, club):
    """A place still unmarked whose member checked in at the door for the class (however the
    mark was lost) is recorded as attended, not as a no-show, and the summary leaves it out."""
    due = _class(db_url, club["tina"], NOW - timedelta(hours=3))
    came, away, by_trainer = (_member(db_url, n, name) for n, name in
                              ((1, "Came"), (2, "Away"), (3, "Marked")))
    came_b, away_b, by_trainer_b = (_insert_booking(db_url, m, due, "booked")
                                    for m in (came, away, by_trainer))
    factories.visit(db_url, came, class_id=due, method="code",
                    checked_in_at=NOW - timedelta(hours=3, minutes=5))
    # A visit the trainer marked (and then the status was lost) is no door check-in.
    factories.visit(db_url, by_trainer, class_id=due, method="class", checked_in_by=club["tina"])
    # A door check-in for another class does not count for this one.
    other = _class(db_url, club["tina"], NOW - timedelta(hours=5))
    factories.visit(db_url, away, class_id=other, method="qr")

    found = _run(db_url, attendance.record_no_shows, due, NOW, RULES)
    assert [m.name for m in found.marked] == ["Away", "Marked"]
    assert [m.name for m in found.notice.marked] == ["Away", "Marked"]
    assert _statuses(db_url, due) == {came_b: "attended", away_b: "no_show",
                                      by_trainer_b: "no_show"}
    assert sorted(_audit(db_url), key=lambda row: row[2]) == [
        (None, "attendance.attended", came_b, "booked"),
        (None, "attendance.no_show", away_b, "booked"),
        (None, "attendance.no_show", by_trainer_b, "booked")]
    assert _run(db_url, attendance.due_classes, NOW, RULES) == []


def test_migration_0022_makes_no_shows_checked_in_at_the_door_attended(db_url, club):
    """Before this release a trainer could mark a member who checked in at the door as a
    no-show; the migration (run again here) sets those places attended, and only those."""
    class_id = _class(db_url, club["tina"], NOW - timedelta(hours=3))
    came, away, waiting = (_member(db_url, n) for n in range(3))
    came_b, away_b = (_insert_booking(db_url, m, class_id, "no_show") for m in (came, away))
    waiting_b = _insert_booking(db_url, waiting, class_id, "waitlisted")
    factories.visit(db_url, came, class_id=class_id, method="qr")
    factories.visit(db_url, away)  # a visit of the day, for no class
    factories.visit(db_url, waiting, class_id=class_id, method="manual")
    (path,) = SQL_DIR.glob("0022_*.sql")
    query(db_url, path.read_text())
    assert _statuses(db_url, class_id) == {came_b: "attended", away_b: "no_show",
                                           waiting_b: "waitlisted"}
    assert query(db_url, "SELECT actor_id, action, entity_id, details->>'from', details->>'by'"
                         " FROM audit_log") == [
        (None, "attendance.attended", came_b, "no_show", "checked_in")]


def test_a_class_moved_later_since_it_was_found_is_left_alone(db_url, club):
    class_id = _class(db_url, club["tina"], NOW + timedelta(hours=1))
    booking_id = _insert_booking(db_url, _member(db_url, 1), class_id, "booked")
    found = _run(db_url, attendance.record_no_shows, class_id, NOW, RULES)
    assert found.marked == []
    assert _status(db_url, booking_id) == "booked"


def test_an_unreachable_trainer_gets_no_summary(db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(hours=3))
    _insert_booking(db_url, _member(db_url, 1), class_id, "booked")
    query(db_url, "UPDATE members SET blocked_at = now() WHERE id = %s", (club["tina"],))
    found = _run(db_url, attendance.record_no_shows, class_id, NOW, RULES)
    assert (len(found.marked), found.notice) == (1, None)


def test_two_sweeps_at_once_record_each_place_once(db_url, club):
    class_id = _class(db_url, club["tina"], NOW - timedelta(hours=3))
    places = [_insert_booking(db_url, _member(db_url, n), class_id, "booked") for n in range(8)]
    barrier = threading.Barrier(2)
    marked: list[int] = []

    def sweep():
        conn = psycopg2.connect(db_url)
        try:
            with conn:
                barrier.wait()
                found = attendance.record_no_shows(conn, class_id, NOW, RULES)
            marked.extend(m.booking_id for m in found.marked)
        finally:
            conn.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(marked) == sorted(places)
    assert len(_audit(db_url)) == len(places)


def test_a_mark_made_while_the_sweep_waits_is_kept(db_url, club):
    """The trainer's mark holds the class row; the sweep waits, then skips that place."""
    class_id = _class(db_url, club["tina"], NOW - timedelta(hours=3))
    marked, unmarked = (_insert_booking(db_url, _member(db_url, n), class_id, "booked")
                        for n in range(2))
    trainer = psycopg2.connect(db_url)
    try:
        assert attendance.mark(trainer, club["tina"], class_id, marked, Mark.ATTENDED, NOW,
                               RULES).outcome is Outcome.MARKED
        done: list = []
        sweeper = threading.Thread(target=lambda: done.append(
            _run(db_url, attendance.record_no_shows, class_id, NOW, RULES)))
        sweeper.start()
        sweeper.join(0.5)
        assert sweeper.is_alive()  # waiting for the class row
        trainer.commit()
        sweeper.join(10)
    finally:
        trainer.close()
    assert [m.booking_id for m in done[0].marked] == [unmarked]
    assert _statuses(db_url, class_id) == {marked: "attended", unmarked: "no_show"}
