"""Classes for admins on PostgreSQL (no Telegram): class types, scheduling one class or a
weekly series, capacity, moving and cancelling a class."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from telebot import types

from fitclub import callbacks as cb
from fitclub.handlers import class_types as type_handlers
from fitclub.locales import Texts, shown
from fitclub.runtime.context import UpdateContext
from fitclub.screens import class_types as type_screens
from fitclub.screens import classes as class_screens
from fitclub.services import (
    booking,
    checkin,
    class_planner,
    class_types,
    classes,
    reminders,
    timetable,
)
from fitclub.services.booking import Outcome as BookingOutcome
from fitclub.services.booking import Rules
from fitclub.services.class_planner import Draft
from fitclub.services.classes import Outcome
from tests import factories
from tests.helpers import in_transaction as _run
from tests.helpers import query

NOW = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
START = datetime(2030, 6, 10, 18, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
RULES = Rules(UTC_ZONE, closes_minutes=0, cancel_window_hours=3, offer_minutes=30)


def _person(db_url: str, telegram_id: int, role: str = "member", lang: str = "en") -> int:
    return factories.member(db_url, telegram_id, f"P{telegram_id}", role=role, language=lang)


def _type(db_url: str, name: str = "Yoga", duration: int = 60, capacity: int = 10) -> int:
    return factories.class_type(db_url, name, default_duration_minutes=duration,
                                default_capacity=capacity)


def _class(db_url: str, trainer_id: int, capacity: int = 20, starts_at: datetime = START,
           type_id: int | None = None) -> int:
    type_id = type_id or query(db_url, "SELECT min(id) FROM class_types")[0][0] or _type(db_url)
    return factories.class_(db_url, trainer_id, starts_at, class_type_id=type_id,
                            duration_minutes=60, capacity=capacity)


def _members(db_url: str, first: int, count: int, visits: int | None = 10) -> list[int]:
    """Registered members with a current membership (visits None: unlimited)."""
    if not query(db_url, "SELECT 1 FROM membership_plans WHERE name = 'Ten'"):
        factories.plan(db_url, "Ten", price_minor=100, duration_days=365, visit_count=10)
    ids = []
    for n in range(first, first + count):
        member_id = _person(db_url, n)
        factories.membership(db_url, member_id, starts_on=date(2030, 1, 1),
                             ends_on=date(2030, 12, 31), visits_left=visits)
        ids.append(member_id)
    return ids


def _book_all(db_url: str, class_id: int, member_ids: list[int]) -> None:
    for member_id in member_ids:
        _run(db_url, booking.book, member_id, class_id, NOW, RULES, waitlist_if_full=True)


def _visits(db_url: str, member_ids: list[int]) -> list[int | None]:
    return [r[0] for r in query(db_url, "SELECT visits_left FROM memberships"
                                        " WHERE member_id = ANY(%s) ORDER BY member_id",
                                (member_ids,))]


def _audit(db_url: str, action: str) -> list[tuple]:
    return query(db_url, "SELECT actor_id, entity_id, details FROM audit_log WHERE action = %s"
                         " ORDER BY id", (action,))


@pytest.fixture
def admin(db_url) -> int:
    return _person(db_url, 1, "admin")


@pytest.fixture
def trainer(db_url) -> int:
    return _person(db_url, 2, "trainer")


# -- class types -----------------------------------------------------------------------------

def test_a_type_name_is_checked_for_length_and_for_another_type_in_any_case(db):
    assert class_types.check_name(db, "  ").problem.code == "empty"
    assert class_types.check_name(db, "x" * 65).problem.code == "long"
    assert class_types.check_name(db, "  Hot   Yoga ").value == "Hot Yoga"
    class_types.create(db, None, "Hot Yoga", "", 60, 10)
    assert class_types.check_name(db, "hot yoga").problem.code == "taken"
    assert class_types.create(db, None, "HOT YOGA", "", 60, 10).problem.code == "taken"


CLASS_COUNTS = {
    "en": ["No classes yet", "no classes to come", "Classes: 1 class to come (1 in all)",
           "Classes: 2 classes to come (3 in all)", "Classes: none to come (3 in all)"],
    "ru": ["Занятий пока нет", "предстоящих занятий нет",
           "Занятия: 1 предстоящее занятие (всего 1)",
           "Занятия: 2 предстоящих занятия (всего 3)", "Занятия: предстоящих нет (всего 3)"],
}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_types_classes_are_counted_in_words_and_none_is_said_as_such(db_url, trainer, lang):
    """A new type has no classes yet (never "0 classes to come (0 in all)"); then how many are
    to come of how many, with plurals; none to come once they are past."""
    tx, said = Texts(lang), CLASS_COUNTS[lang]
    type_id = _type(db_url, "Yoga")

    def card() -> str:
        kind = _run(db_url, class_types.get, type_id, NOW)
        return type_screens.card(tx, kind).text

    def listed() -> str:
        return type_screens.type_list(tx, _run(db_url, class_types.all_types, NOW)).text

    assert said[0] in card().splitlines()
    assert said[1] in listed()
    _class(db_url, trainer, type_id=type_id)
    assert said[2] in card()
    _class(db_url, trainer, type_id=type_id, starts_at=START + timedelta(days=1))
    _class(db_url, trainer, type_id=type_id, starts_at=NOW - timedelta(days=1))
    assert said[3] in card()
    later = START + timedelta(days=7)
    assert said[4] in type_screens.card(tx, _run(db_url, class_types.get, type_id, later)).text


def test_a_description_keeps_its_lines_and_a_dash_means_none():
    assert class_types.check_description("  Slow   flow\n\n breath ").value == "Slow flow\n\nbreath"
    assert class_types.check_description("-").value == ""
    assert class_types.check_description("x" * 501).problem == class_types.Problem("long",
                                                                                   high=500)


@pytest.mark.parametrize(("text", "code"), [("", "number"), ("abc", "number"), ("-5", "number"),
                                            ("4", "range"), ("481", "range"), ("٣", "number")])
def test_a_duration_must_be_whole_minutes_within_limits(text, code):
    assert class_types.check_duration(text).problem.code == code


def test_creating_and_editing_a_type_is_audited_and_a_type_with_classes_is_never_deleted(
        db_url, admin, trainer):
    saved = _run(db_url, class_types.create, admin, "Pilates", "Core", 55, 12)
    assert saved.problem is None
    assert _run(db_url, class_types.update, admin, saved.type_id, "cap", 14).problem is None
    other = _type(db_url, "Yoga")
    clash = _run(db_url, class_types.update, admin, saved.type_id, "name", "yoga")
    assert clash.problem.code == "taken"
    row = query(db_url, "SELECT name, description, default_duration_minutes, default_capacity"
                        " FROM class_types WHERE id = %s", (saved.type_id,))
    assert row == [("Pilates", "Core", 55, 14)]
    assert [(a, e) for a, e, _ in _audit(db_url, "class_type.created")] == [(admin,
                                                                            saved.type_id)]
    assert _audit(db_url, "class_type.changed")[0][2] == {"field": "capacity", "from": 12,
                                                         "to": 14}
    _class(db_url, trainer, type_id=other)
    assert _run(db_url, class_types.delete, admin, other) is False
    assert _run(db_url, class_types.delete, admin, saved.type_id) is True
    assert query(db_url, "SELECT name FROM class_types") == [("Yoga",)]


@pytest.mark.parametrize(("meanwhile", "toast"), [
    ("a class", "This type has classes, so it can't be deleted."),
    ("deleted", "This is no longer available.")])
def test_a_type_changed_after_its_delete_read_it_is_not_reported_deleted(
        db, db_url, admin, trainer, monkeypatch, meanwhile, toast):
    type_id = _type(db_url, "Pilates")
    read = class_types.get

    def read_then_change(conn, *args):
        """The handler's read, then another admin's change, committed before the delete."""
        kind = read(conn, *args)
        if kind is not None and not kind.classes:
            if meanwhile == "a class":
                _class(db_url, trainer, type_id=type_id)
            else:
                query(db_url, "DELETE FROM class_types WHERE id = %s", (type_id,))
        return kind

    monkeypatch.setattr(class_types, "get", read_then_change)
    ctx = UpdateContext(db, chat_id=1, user_id=1, update_id=1)  # the admin's chat
    call = types.CallbackQuery.de_json({
        "id": "7", "chat_instance": "1", "data": cb.TYPE_DELETE(type_id=type_id, step="yes"),
        "from": {"id": 1, "is_bot": False, "first_name": "P1"},
        "message": {"message_id": 5, "date": 0, "text": "",
                    "chat": {"id": 1, "type": "private"}}})
    type_handlers.delete_type(SimpleNamespace(context=lambda: ctx), call)
    db.commit()
    assert query(db_url, "SELECT params->>'text' FROM outbox"
                         " WHERE method = 'answerCallbackQuery'") == [(toast,)]
    assert _audit(db_url, "class_type.deleted") == []


# -- typed dates and times -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("19:00", time(19, 0)), ("7.30", time(7, 30)), (" 07:05 ", time(7, 5)),
    ("24:00", None), ("19:60", None), ("1900", None), ("seven", None)])
def test_time_is_typed_as_hours_and_minutes(text, expected):
    assert classes.check_time(text).value == expected


@pytest.mark.parametrize(("text", "expected", "problem"), [
    ("24.06", date(2030, 6, 24), None),
    ("01.03", date(2031, 3, 1), None),  # DD.MM already passed this year: next year's
    ("1/6", date(2030, 6, 1), None),
    ("31.05.2030", None, "past"),
    ("03.06.31", None, "far"),
    ("31.02", None, "nodate"),  # reads as a date, but there is none
    ("29.02", None, "far"),  # a day of the calendar: the next leap day, 2032, too far
    ("tomorrow", None, "date")])
def test_a_typed_date_is_the_next_such_day_within_a_year(text, expected, problem):
    checked = classes.check_day(text, date(2030, 6, 1))
    assert (checked.value, checked.problem.code if checked.problem else None) == (expected,
                                                                                   problem)


def test_a_local_time_the_clocks_skip_does_not_exist_and_a_repeated_one_is_the_first():
    assert classes.local_start(date(2030, 3, 31), time(2, 30), BERLIN) is None
    assert classes.local_start(date(2030, 10, 27), time(2, 30), BERLIN) == datetime(
        2030, 10, 27, 0, 30, tzinfo=UTC)
    assert classes.local_start(date(2030, 6, 10), time(19, 0), BERLIN) == datetime(
        2030, 6, 10, 17, 0, tzinfo=UTC)


# -- scheduling ------------------------------------------------------------------------------

def _draft(type_id: int, trainer_id: int, **kw) -> Draft:
    values = {"type_id": type_id, "trainer_id": trainer_id, "day": date(2030, 6, 10),
              "at": time(19, 0), "duration": 60, "capacity": 12, "room": "Studio 2"}
    values.update(kw)
    return Draft(**values)


def test_a_draft_survives_the_flow_state_as_json(db_url):
    draft = _draft(1, 2, weekdays=(2, 4), weeks=8, room="")
    assert Draft.from_data(draft.to_data()) == draft


def test_one_class_is_scheduled_with_an_audit_row(db_url, admin, trainer):
    type_id = _type(db_url)
    made = _run(db_url, class_planner.create, admin, _draft(type_id, trainer), NOW, BERLIN)
    assert made.problem is None and len(made.class_ids) == 1
    assert query(db_url, "SELECT class_type_id, trainer_id, starts_at, duration_minutes,"
                         " capacity, room, series_id, status FROM classes") == [
        (type_id, trainer, datetime(2030, 6, 10, 17, 0, tzinfo=UTC), 60, 12, "Studio 2", None,
         "scheduled")]
    ((actor, entity, details),) = _audit(db_url, "class.scheduled")
    assert (actor, entity, details["room"]) == (admin, made.class_ids[0], "Studio 2")


def test_tuesday_and_thursday_for_eight_weeks_across_a_dst_change_is_sixteen_classes_at_1900(
        db_url, admin, trainer):
    type_id = _type(db_url)
    # Berlin moves its clocks on Sunday 2030-03-31: the series straddles it.
    draft = _draft(type_id, trainer, day=date(2030, 3, 4), weekdays=(2, 4), weeks=8)
    made = _run(db_url, class_planner.create, admin, draft,
                datetime(2030, 3, 1, tzinfo=UTC), BERLIN)
    assert len(made.class_ids) == 16
    starts = [r[0] for r in query(db_url, "SELECT starts_at FROM classes ORDER BY starts_at")]
    local = [s.astimezone(BERLIN) for s in starts]
    assert {(t.hour, t.minute) for t in local} == {(19, 0)}
    assert [t.strftime("%a") for t in local] == ["Tue", "Thu"] * 8
    assert local[0].date() == date(2030, 3, 5) and local[-1].date() == date(2030, 4, 25)
    assert {s.astimezone(UTC).hour for s in starts} == {18, 17}  # +01:00, then +02:00
    assert query(db_url, "SELECT weekdays, weeks, created_by FROM class_series") == [
        ([2, 4], 8, admin)]
    assert query(db_url, "SELECT count(DISTINCT series_id), count(*) FROM classes") == [(1, 16)]
    assert len(_audit(db_url, "class.scheduled")) == 16


@pytest.mark.parametrize(("change", "code"), [
    ({"day": date(2030, 6, 1), "at": time(9, 0)}, "past"),
    ({"day": date(2030, 3, 31), "at": time(2, 30)}, "gap"),
    ({"weekdays": (), "weeks": 4}, "weekdays"),
])
def test_a_class_in_the_past_or_at_a_skipped_time_is_refused_and_nothing_is_written(
        db_url, admin, trainer, change, code):
    type_id = _type(db_url)
    now = NOW if code != "gap" else datetime(2030, 3, 1, tzinfo=UTC)
    made = _run(db_url, class_planner.create, admin, _draft(type_id, trainer, **change),
                now, BERLIN)
    assert made.problem.code == code and made.class_ids == ()
    assert query(db_url, "SELECT count(*) FROM classes") == [(0,)]


def test_a_series_with_one_day_in_the_past_is_refused_whole(db_url, admin, trainer):
    type_id = _type(db_url)
    # 2030-06-01 is a Saturday; 09:00 has passed at NOW, the Sundays after have not.
    draft = _draft(type_id, trainer, day=date(2030, 6, 1), at=time(9, 0), weekdays=(6, 7),
                   weeks=2)
    assert _run(db_url, class_planner.create, admin, draft, NOW, BERLIN).problem.code == \
        "past"
    assert query(db_url, "SELECT count(*) FROM classes") == [(0,)]


def test_only_trainers_and_admins_may_lead_a_class(db_url, admin):
    type_id = _type(db_url)
    member = _person(db_url, 50)
    made = _run(db_url, class_planner.create, admin, _draft(type_id, member), NOW, BERLIN)
    assert made.problem.code == "gone"
    assert [t.id for t in _run(db_url, class_planner.trainers)] == [admin]


def test_the_trainers_overlapping_classes_are_found_for_a_warning(db_url, admin, trainer):
    type_id = _type(db_url)
    busy = _class(db_url, trainer, starts_at=datetime(2030, 6, 10, 16, 30, tzinfo=UTC))
    _class(db_url, trainer, starts_at=datetime(2030, 6, 10, 18, 0, tzinfo=UTC))  # ends at it
    # 17:00-18:00 overlaps 16:30-17:30 only.
    found = _run(db_url, class_planner.preview, _draft(type_id, trainer, at=time(17, 0)),
                 NOW, UTC_ZONE)
    assert [(o.id, o.total) for o in found.overlaps] == [(busy, 1)]
    made = _run(db_url, class_planner.create, admin,
                _draft(type_id, trainer, at=time(17, 0)), NOW, UTC_ZONE)
    assert made.problem is None, "an overlap warns, it does not refuse"


# -- capacity --------------------------------------------------------------------------------

def test_capacity_never_goes_below_the_places_booked(db_url, admin, trainer):
    class_id = _class(db_url, trainer, capacity=3)
    _book_all(db_url, class_id, _members(db_url, 100, 3))
    result = _run(db_url, classes.set_capacity, admin, class_id, 2, NOW, RULES)
    assert (result.outcome, result.taken) == (Outcome.BELOW, 3)
    assert query(db_url, "SELECT capacity FROM classes") == [(3,)]
    assert _audit(db_url, "class.capacity") == []


def test_raising_capacity_by_two_offers_exactly_two_places_to_the_line(db_url, admin, trainer):
    class_id = _class(db_url, trainer, capacity=2)
    people = _members(db_url, 100, 5)
    _book_all(db_url, class_id, people)
    result = _run(db_url, classes.set_capacity, admin, class_id, 4, NOW, RULES)
    assert result.outcome is Outcome.DONE
    assert sorted(o.telegram_id for o in result.offers) == [102, 103]
    assert query(db_url, "SELECT member_id, status FROM waitlist_offers ORDER BY id") == [
        (people[2], "open"), (people[3], "open")]
    assert query(db_url, "SELECT count(*) FROM jobs WHERE kind = 'offer_expiry'") == [(2,)]
    assert _audit(db_url, "class.capacity")[0][2] == {"from": 2, "to": 4, "offered": 2}
    # The same number again changes nothing; fewer than booked + held is refused.
    assert _run(db_url, classes.set_capacity, admin, class_id, 4, NOW, RULES).outcome is \
        Outcome.SAME
    assert _run(db_url, classes.set_capacity, admin, class_id, 3, NOW, RULES).taken == 4


def test_a_started_or_cancelled_class_keeps_its_capacity(db_url, admin, trainer):
    class_id = _class(db_url, trainer)
    late = START + timedelta(minutes=1)
    assert _run(db_url, classes.set_capacity, admin, class_id, 30, late, RULES).outcome is \
        Outcome.STARTED
    _run(db_url, classes.cancel, admin, class_id, NOW)
    assert _run(db_url, classes.set_capacity, admin, class_id, 30, NOW, RULES).outcome is \
        Outcome.CANCELLED


# -- moving ----------------------------------------------------------------------------------

def test_moving_tells_every_booked_and_waitlisted_member_and_reminders_follow(
        db_url, admin, trainer):
    class_id = _class(db_url, trainer, capacity=2)
    people = _members(db_url, 100, 3)
    _book_all(db_url, class_id, people)
    later = START + timedelta(days=1, hours=1)
    moved = _run(db_url, classes.move, admin, class_id, later, NOW, RULES)
    assert moved.outcome is Outcome.DONE
    assert (moved.old_start, moved.new_start) == (START, later)
    assert sorted((n.telegram_id, n.status) for n in moved.attendees) == [
        (100, "booked"), (101, "booked"), (102, "waitlisted")]
    assert query(db_url, "SELECT starts_at FROM classes") == [(later,)]
    assert query(db_url, "SELECT status, count(*) FROM bookings GROUP BY 1 ORDER BY 1") == [
        ("booked", 2), ("waitlisted", 1)]
    keys = [d.key for d in _run(db_url, reminders.due, later - timedelta(hours=1),
                                later.date(), 2)]
    assert sorted(k.split("@")[1] for k in keys) == [str(int(later.timestamp()))] * 2
    ((_, _, details),) = _audit(db_url, "class.moved")
    assert details["told"] == 3
    # Moving it to the same time again, or to the past, changes nothing.
    assert _run(db_url, classes.move, admin, class_id, later, NOW, RULES).outcome is \
        Outcome.SAME
    assert _run(db_url, classes.move, admin, class_id, NOW - timedelta(hours=1), NOW,
                RULES).outcome is Outcome.PAST


def _checked_in(db_url: str, staff_id: int, member_id: int, at: datetime) -> None:
    """The member checks in at the door, within the window: their booking becomes attended."""
    result = _run(db_url, checkin.check_in, staff_id, member_id, at,
                  checkin.Rules(UTC_ZONE, window_minutes=30), method="manual")
    assert result.outcome is checkin.Outcome.CHECKED_IN and result.class_name == "Yoga"


def test_a_member_who_checked_in_is_told_of_a_move_as_booked(db_url, admin, trainer):
    class_id = _class(db_url, trainer, capacity=2)
    came, booked, waiting = _members(db_url, 100, 3)
    _book_all(db_url, class_id, [came, booked, waiting])
    _checked_in(db_url, trainer, came, START - timedelta(minutes=20))
    moved = _run(db_url, classes.move, admin, class_id, START + timedelta(hours=2),
                 START - timedelta(minutes=10), RULES)
    assert moved.outcome is Outcome.DONE
    assert [(n.telegram_id, n.status, n.checked_in) for n in moved.attendees] == [
        (100, "booked", True), (101, "booked", False), (102, "waitlisted", False)]


@pytest.mark.parametrize(("days", "outcome"), [(classes.DAYS_TYPED, Outcome.DONE),
                                               (classes.DAYS_TYPED + 1, Outcome.FAR)])
def test_a_class_moves_at_most_a_year_ahead(db_url, admin, trainer, days, outcome):
    class_id = _class(db_url, trainer)
    to = datetime.combine(NOW.date() + timedelta(days=days), time(23, 0), UTC)
    assert _run(db_url, classes.move, admin, class_id, to, NOW, RULES).outcome is outcome
    expected = to if outcome is Outcome.DONE else START
    assert query(db_url, "SELECT starts_at FROM classes") == [(expected,)]


def test_an_open_offer_is_never_held_past_the_moved_class_booking_close(db_url, admin, trainer):
    rules = RULES._replace(closes_minutes=60, offer_minutes=600)
    class_id = _class(db_url, trainer, capacity=1)
    first, second = _members(db_url, 100, 2)
    for member_id in (first, second):
        _run(db_url, booking.book, member_id, class_id, NOW, rules, waitlist_if_full=True)
    cancelled = _run(db_url, booking.cancel_booking, first, class_id, NOW, rules)
    assert cancelled.outcome is BookingOutcome.CANCELLED and len(cancelled.offers) == 1
    offer_id = cancelled.offers[0].offer_id
    sooner = NOW + timedelta(hours=5)  # booking now closes at NOW + 4h, before the offer's end
    assert _run(db_url, classes.move, admin, class_id, sooner, NOW, rules).outcome is \
        Outcome.DONE
    expected = sooner - timedelta(minutes=60)
    assert query(db_url, "SELECT expires_at, status FROM waitlist_offers WHERE id = %s",
                 (offer_id,)) == [(expected, "open")]
    assert query(db_url, "SELECT run_at, status FROM jobs WHERE kind = 'offer_expiry'"
                         " AND dedup_key = %s", (f"offer:{offer_id}",)) == [(expected,
                                                                           "pending")]


# -- cancelling --------------------------------------------------------------------------------

def test_cancelling_tells_all_twenty_once_gives_back_fifteen_visits_and_withdraws_offers(
        db_url, admin, trainer):
    class_id = _class(db_url, trainer, capacity=16)
    booked = _members(db_url, 100, 15)
    unlimited = _members(db_url, 200, 1, visits=None)
    line = _members(db_url, 300, 5)
    _book_all(db_url, class_id, booked + unlimited + line)
    # One of the line holds an offer for a freed place.
    _run(db_url, booking.cancel_booking, unlimited[0], class_id, NOW, RULES)
    assert query(db_url, "SELECT count(*) FROM waitlist_offers WHERE status = 'open'") == [(1,)]
    assert _visits(db_url, booked) == [9] * 15

    result = _run(db_url, classes.cancel, admin, class_id, NOW)

    assert result.outcome is Outcome.DONE
    assert sorted(n.telegram_id for n in result.attendees) == list(range(100, 115)) + list(
        range(300, 305))
    assert sum(n.visit_back for n in result.attendees) == 15
    assert (result.visits_returned, result.offers_withdrawn) == (15, 1)
    assert _visits(db_url, booked) == [10] * 15 and _visits(db_url, unlimited) == [None]
    assert query(db_url, "SELECT status, booked_count FROM classes") == [("cancelled", 0)]
    assert query(db_url, "SELECT DISTINCT status FROM bookings") == [("cancelled",)]
    assert query(db_url, "SELECT status FROM waitlist_offers") == [("withdrawn",)]
    assert query(db_url, "SELECT status FROM jobs WHERE kind = 'offer_expiry'") == [
        ("cancelled",)]
    ((actor, entity, details),) = _audit(db_url, "class.cancelled")
    assert (actor, entity) == (admin, class_id)
    assert {k: details[k] for k in ("booked", "waitlisted", "visits_returned")} == {
        "booked": 15, "waitlisted": 5, "visits_returned": 15}
    # Cancelled once: a second cancel, a late member cancel or a booking changes nothing.
    assert _run(db_url, classes.cancel, admin, class_id, NOW).outcome is Outcome.CANCELLED
    assert _run(db_url, booking.cancel_booking, booked[0], class_id, NOW,
                RULES).outcome is BookingOutcome.UNAVAILABLE
    assert _visits(db_url, booked[:1]) == [10]


def test_cancelling_tells_a_member_who_checked_in_and_keeps_their_visit(
        db_url, admin, trainer):
    class_id = _class(db_url, trainer)
    came, booked = _members(db_url, 100, 2)
    _book_all(db_url, class_id, [came, booked])
    _checked_in(db_url, trainer, came, START - timedelta(minutes=20))
    assert _visits(db_url, [came, booked]) == [9, 9]

    result = _run(db_url, classes.cancel, admin, class_id, START - timedelta(minutes=10))

    assert result.outcome is Outcome.DONE
    assert [(n.telegram_id, n.visit_back, n.checked_in) for n in result.attendees] == [
        (100, False, True), (101, True, False)]
    assert result.visits_returned == 1 and _visits(db_url, [came, booked]) == [9, 10]
    # They came in: the booking ends, the visit they used stays recorded and used.
    assert query(db_url, "SELECT member_id, status, visit_reserved FROM bookings"
                         " ORDER BY member_id") == [(came, "cancelled", True),
                                                    (booked, "cancelled", False)]
    assert query(db_url, "SELECT member_id, class_id FROM visits") == [(came, class_id)]
    assert _audit(db_url, "class.cancelled")[0][2]["checked_in"] == 1
    tx = Texts("en")
    told = {n.telegram_id: class_screens.cancelled_notice(tx, n, "Yoga", START).text
            for n in result.attendees}
    assert tx("cls_cancelled_visit_kept") in told[100]
    assert tx("cls_cancelled_visit_back") not in told[100]
    assert tx("cls_cancelled_visit_kept") not in told[101]


def test_a_started_class_is_not_cancelled(db_url, admin, trainer):
    class_id = _class(db_url, trainer)
    _book_all(db_url, class_id, _members(db_url, 100, 1))
    result = _run(db_url, classes.cancel, admin, class_id, START)
    assert result.outcome is Outcome.STARTED
    assert query(db_url, "SELECT status FROM classes") == [("scheduled",)]
    assert _run(db_url, classes.cancel, admin, 999999, NOW).outcome is Outcome.GONE


# -- class types in both languages ------------------------------------------------------------

def test_a_type_given_in_both_languages_is_shown_to_each_member_in_theirs(db_url, admin,
                                                                          trainer):
    saved = _run(db_url, class_types.create, admin, "Yoga", "Slow flow", 60, 10, lang="en",
                 name_tr="Йога", description_tr="Медленный поток")
    assert saved.problem is None
    kind = _run(db_url, class_types.get, saved.type_id, NOW)
    assert [shown(kind.name, "en"), shown(kind.name, "ru")] == ["Yoga", "Йога"]
    assert [shown(kind.description, "en"), shown(kind.description, "ru")] == [
        "Slow flow", "Медленный поток"]
    ((_, _, details),) = _audit(db_url, "class_type.created")
    assert (details["name_ru"], details["description_ru"]) == ("Йога", "Медленный поток")
    # The timetable, the class, the member's bookings and the admin's day carry both.
    class_id = _class(db_url, trainer, type_id=saved.type_id)
    (member,) = _members(db_url, 300, 1)
    _book_all(db_url, class_id, [member])
    (listed,) = _run(db_url, timetable.day, member, START.date(), RULES)
    opened = _run(db_url, timetable.details, member, class_id, NOW, RULES)
    (mine,) = _run(db_url, timetable.upcoming, member, NOW)
    admin_view = _run(db_url, classes.get, class_id)
    for name in (listed.name, opened.cls.name, mine.name, admin_view.name):
        assert [shown(name, "en"), shown(name, "ru")] == ["Yoga", "Йога"]
    assert shown(opened.cls.description, "ru") == "Медленный поток"
    # A translation may not be another type's name (in any letter case the database folds).
    other = _run(db_url, class_types.create, admin, "Pilates", "", 60, 10, name_tr="YOGA")
    assert other.problem.code == "taken"
    assert _run(db_url, class_types.create, admin, "Йога", "", 60, 10, lang="ru").problem.code \
        == "taken"


@pytest.mark.parametrize(("name", "translation", "field"), [
    ("Pilates", "Йога", "name_tr"), ("Yoga", None, "name")])
def test_a_name_taken_while_a_type_is_created_names_the_step_it_concerns(
        db_url, admin, name, translation, field):
    """Another admin's Yoga (Йога) commits while this type waits on the unique index: the
    refusal says which name was taken, the admin's own or the translation."""
    first = psycopg2.connect(db_url)
    try:
        assert class_types.create(first, admin, "Yoga", "", 60, 10,
                                  name_tr="Йога").problem is None
        done: list = []
        racing = threading.Thread(target=lambda: done.append(_run(
            db_url, class_types.create, admin, name, "", 60, 10, name_tr=translation)))
        racing.start()
        racing.join(0.5)
        assert racing.is_alive()  # waiting for the first one's commit
        first.commit()
        racing.join(10)
    finally:
        first.close()
    assert (done[0].type_id, done[0].problem.code, done[0].field) == (None, "taken", field)
    assert query(db_url, "SELECT name FROM class_types") == [("Yoga",)]


def test_a_types_name_and_description_in_each_language_are_changed_and_removed(db_url, admin):
    type_id = _run(db_url, class_types.create, admin, "Yoga", "Slow flow", 60, 10).type_id

    def texts() -> tuple:
        return query(db_url, "SELECT lang, name, name_tr, description, description_tr"
                             " FROM class_types WHERE id = %s", (type_id,))[0]

    for field, lang, value in (("name", "ru", "Йога"), ("desc", "ru", "Медленный поток"),
                               ("desc", "en", None)):
        assert _run(db_url, class_types.set_text, admin, type_id, field, lang,
                    value).problem is None
    assert texts() == ("en", "Yoga", "Йога", "", "Медленный поток")
    kind = _run(db_url, class_types.get, type_id, NOW)
    # No English description: English readers see the Russian one.
    assert shown(kind.description, "en") == "Медленный поток"
    # The English name goes: the Russian texts become the type's as typed.
    assert _run(db_url, class_types.set_text, admin, type_id, "name", "en", None).problem is None
    assert texts() == ("ru", "Йога", None, "Медленный поток", None)
    last = _run(db_url, class_types.set_text, admin, type_id, "name", "ru", None)
    assert last.problem.code == "last"
    taken = _type(db_url, "Pilates")
    assert _run(db_url, class_types.set_text, admin, type_id, "name", "en",
                "pilates").problem.code == "taken"
    assert taken and texts() == ("ru", "Йога", None, "Медленный поток", None)
    assert [d["field"] for _, _, d in _audit(db_url, "class_type.changed")] == [
        "name_ru", "description_ru", "description_en", "name_en"]
