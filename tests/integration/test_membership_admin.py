"""Memberships as admins manage them, on PostgreSQL: grant, extend, freeze and unfreeze (with
the freeze jobs run by the real job runner), cancel, adjust visits, notes, plan requests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import fitclub.jobs.freezes  # noqa: F401 - registers the freeze job kinds
from fitclub import notify
from fitclub.db.pool import Pool
from fitclub.runtime.jobs import reschedule
from fitclub.runtime.jobs.metrics import JobMetrics
from fitclub.runtime.jobs.runner import Runner
from fitclub.services import (
    freezes,
    member_card,
    membership_change,
    memberships,
    plan_requests,
    privacy,
)
from fitclub.services import membership_admin as ma
from fitclub.services.booking import Rules
from fitclub.services.membership_change import Outcome, Refusal
from tests import factories
from tests.helpers import in_transaction as _run
from tests.helpers import query

RULES = Rules(ZoneInfo("UTC"))
NOW = datetime.now(UTC)
TODAY = NOW.date()


def _days(n: int) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def club(db_url):
    """An admin, a member (Anna, Russian) and two plans: Month (30 days, 12 visits, 10 freeze
    days) and Open (90 days, unlimited, 0 freeze days)."""
    ids = {}
    for key, tg, name, role, lang in (("admin", 501, "Ada", "admin", "en"),
                                      ("anna", 502, "Anna", "member", "ru")):
        ids[key] = factories.member(db_url, tg, name, phone=f"+4915100{tg}", role=role,
                                    language=lang)
    ids["month"] = factories.plan(db_url, "Month", price_minor=5000, duration_days=30,
                                  visit_count=12, freeze_days=10)
    ids["open"] = factories.plan(db_url, "Open", price_minor=9000, duration_days=90,
                                 visit_count=None, freeze_days=0)
    return ids


def _grant(db_url, club, plan="month", start=TODAY, now=NOW):
    return _run(db_url, ma.grant, club["admin"], club["anna"], club[plan], start, now, RULES)


def _row(db_url: str, membership_id: int) -> tuple:
    return query(db_url, "SELECT status, starts_on, ends_on, visits_left FROM memberships"
                         " WHERE id = %s", (membership_id,))[0]


def _audit(db_url: str, action: str) -> list[tuple]:
    return query(db_url, "SELECT actor_id, entity_id, details FROM audit_log WHERE action = %s"
                         " ORDER BY id", (action,))


@pytest.fixture
def runner(db_url):
    pool = Pool(db_url, minconn=1, maxconn=4)
    yield Runner(pool=pool, threads=1, poll_seconds=0.05, metrics=JobMetrics(),
                 after_job=notify.deliver)
    pool.close()


# -- grant and extend --------------------------------------------------------------------------

def test_grant_sells_the_plan_from_its_start_closes_requests_and_tells_the_member(db_url, club):
    request = query(db_url, "INSERT INTO plan_requests (member_id, plan_id) VALUES (%s, %s)"
                            " RETURNING id", (club["anna"], club["month"]))[0][0]
    other = query(db_url, "INSERT INTO plan_requests (member_id, plan_id) VALUES (%s, %s)"
                          " RETURNING id", (club["anna"], club["open"]))[0][0]
    result = _grant(db_url, club, start=TODAY + _days(2))
    assert result.outcome is Outcome.DONE
    m = result.membership
    assert _row(db_url, m.id) == ("active", TODAY + _days(2), TODAY + _days(31), 12)
    assert (m.plan_name, m.freeze_left) == ("Month", 10)
    assert query(db_url, "SELECT id, status FROM plan_requests ORDER BY id") == [
        (request, "granted"), (other, "dismissed")]
    assert result.notice.telegram_id == 502 and result.notice.language == "ru"
    assert result.notice.kind == "granted"
    (actor, entity, details), = _audit(db_url, "membership.granted")
    assert (actor, entity, details["plan_id"]) == (club["admin"], m.id, club["month"])
    assert sorted(details["requests_closed"]) == sorted([request, other])


def test_grant_is_refused_while_a_membership_is_current(db_url, club):
    first = _grant(db_url, club)
    again = _grant(db_url, club, plan="open")
    assert (again.outcome, again.reason) == (Outcome.REFUSED, Refusal.HAS_CURRENT)
    assert again.membership.id == first.membership.id
    assert query(db_url, "SELECT count(*) FROM memberships")[0][0] == 1


def test_a_membership_past_its_end_does_not_block_a_new_grant(db_url, club):
    old = _grant(db_url, club, now=NOW - _days(40), start=TODAY - _days(40)).membership
    result = _grant(db_url, club, plan="open")
    assert result.outcome is Outcome.DONE
    assert _row(db_url, old.id)[0] == "expired"
    assert _row(db_url, result.membership.id) == ("active", TODAY, TODAY + _days(89), None)


@pytest.mark.parametrize(("change", "outcome", "reason"), [
    ("archived", Outcome.REFUSED, Refusal.PLAN_OFF_SALE),
    ("yesterday", Outcome.REFUSED, Refusal.BAD_START),
    ("next_year", Outcome.REFUSED, Refusal.BAD_START),
    ("no_plan", Outcome.UNAVAILABLE, None),
    ("erased_member", Outcome.UNAVAILABLE, None),
    ("unregistered_member", Outcome.UNAVAILABLE, None),
])
def test_grant_refuses_what_cannot_be_sold(db_url, club, change, outcome, reason):
    start, plan = TODAY, club["month"]
    if change == "archived":
        query(db_url, "UPDATE membership_plans SET is_active = false")
    elif change == "yesterday":
        start = TODAY - _days(1)
    elif change == "next_year":
        start = TODAY + _days(ma.MAX_START_AHEAD_DAYS + 1)
    elif change == "no_plan":
        plan = 999_999
    elif change == "unregistered_member":
        query(db_url, "UPDATE members SET registered_at = NULL WHERE id = %s", (club["anna"],))
    else:
        query(db_url, "UPDATE members SET deleted_at = now(), telegram_id = NULL,"
                      " first_name = NULL, phone = NULL WHERE id = %s", (club["anna"],))
    result = _run(db_url, ma.grant, club["admin"], club["anna"], plan, start, NOW, RULES)
    assert (result.outcome, result.reason) == (outcome, reason)
    assert query(db_url, "SELECT count(*) FROM memberships")[0][0] == 0


@pytest.mark.parametrize(("first", "by", "visits"), [("month", "month", 24),
                                                      ("month", "open", None),
                                                      ("open", "month", None)])
def test_extend_adds_the_plans_days_and_visits_once(db_url, club, first, by, visits):
    m = _grant(db_url, club, plan=first).membership
    days = {"month": 30, "open": 90}[by]
    result = _run(db_url, ma.extend, club["admin"], m.id, club[by], m.ends_on, NOW, RULES)
    assert result.outcome is Outcome.DONE
    assert _row(db_url, m.id)[2:] == (m.ends_on + _days(days), visits)
    assert result.notice.kind == "extended"
    # The same button pressed again carries the old end date: nothing changes.
    again = _run(db_url, ma.extend, club["admin"], m.id, club[by], m.ends_on, NOW, RULES)
    assert again.outcome is Outcome.UNAVAILABLE
    assert _row(db_url, m.id)[2:] == (m.ends_on + _days(days), visits)


# -- freezes -----------------------------------------------------------------------------------

def _freeze(db_url, club, membership_id, days, start, now=NOW):
    return _run(db_url, freezes.freeze, club["admin"], membership_id, days, start, now, RULES)


def test_a_freeze_then_its_job_moves_the_end_date_by_the_frozen_days(db_url, club, runner):
    # Set up five days ago, so its last day was yesterday and its end job is due now.
    then = NOW - _days(5)
    m = _grant(db_url, club, now=then, start=TODAY - _days(5)).membership
    result = _freeze(db_url, club, m.id, 5, TODAY - _days(5), now=then)
    assert result.outcome is Outcome.DONE and result.notice.kind == "frozen"
    assert _row(db_url, m.id)[0] == "frozen"
    assert result.membership.freeze_left == 5
    assert query(db_url, "SELECT kind, run_at FROM jobs ORDER BY id") == [
        ("freeze_end", datetime.combine(TODAY, datetime.min.time(), UTC))]
    assert runner.run_due() == 1
    assert _row(db_url, m.id)[0] == "active"
    assert _row(db_url, m.id)[2] == m.ends_on + _days(5)
    assert query(db_url, "SELECT frozen_from, frozen_until, ended_at IS NOT NULL"
                         " FROM membership_freezes") == [(TODAY - _days(5), TODAY - _days(1),
                                                          True)]
    # The member is told, in Russian, through the outbox; the audit names the system.
    (text,), = query(db_url, "SELECT params->>'text' FROM outbox WHERE chat_id = 502")
    assert "снова действует" in text and "5 дней" in text
    (actor, _, details), = _audit(db_url, "membership.unfrozen")
    assert actor is None and details["days_frozen"] == 5 and details["early"] is False
    # A second run of the same job (a retry, another instance) changes nothing.
    _run(db_url, reschedule, "freeze_end", query(db_url, "SELECT dedup_key FROM jobs")[0][0],
         None)
    assert runner.run_due() == 1
    assert _row(db_url, m.id)[2] == m.ends_on + _days(5)
    assert query(db_url, "SELECT count(*) FROM outbox")[0][0] == 1


def test_a_freeze_of_a_member_who_erased_their_data_still_ends_and_nobody_is_told(
        db_url, club, runner):
    then = NOW - _days(5)
    m = _grant(db_url, club, now=then, start=TODAY - _days(5)).membership
    _freeze(db_url, club, m.id, 5, TODAY - _days(5), now=then)
    query(db_url, "DELETE FROM outbox")
    assert _run(db_url, privacy.erase_member, club["anna"], 502, NOW, RULES) == (True, [])
    assert runner.run_due() == 1
    assert query(db_url, "SELECT status, attempts FROM jobs") == [("done", 1)]
    assert _row(db_url, m.id)[0] == "active"
    assert _row(db_url, m.id)[2] == m.ends_on + _days(5)
    assert query(db_url, "SELECT frozen_until, ended_at IS NOT NULL"
                         " FROM membership_freezes") == [(TODAY - _days(1), True)]
    assert query(db_url, "SELECT count(*) FROM outbox")[0][0] == 0
    (actor, _, details), = _audit(db_url, "membership.unfrozen")
    assert actor is None and details["days_frozen"] == 5


def test_an_early_unfreeze_counts_only_the_days_frozen(db_url, club):
    then = NOW - _days(3)
    m = _grant(db_url, club, now=then, start=TODAY - _days(3)).membership
    _freeze(db_url, club, m.id, 10, TODAY - _days(3), now=then)
    result = _run(db_url, freezes.unfreeze, club["admin"], m.id, NOW, RULES)
    assert result.outcome is Outcome.DONE and result.notice.kind == "unfrozen"
    assert result.notice.days == 3
    assert _row(db_url, m.id)[0] == "active"
    assert _row(db_url, m.id)[2] == m.ends_on + _days(3)
    assert result.membership.freeze_left == 7  # 10 allowed, 3 used
    assert query(db_url, "SELECT frozen_until FROM membership_freezes")[0][0] == (
        TODAY - _days(1))
    assert query(db_url, "SELECT status FROM jobs") == [("cancelled",)]
    again = _run(db_url, freezes.unfreeze, club["admin"], m.id, NOW, RULES)
    assert (again.outcome, again.reason) == (Outcome.REFUSED, Refusal.NO_FREEZE)


def test_unfreezing_on_the_first_day_freezes_nothing(db_url, club):
    m = _grant(db_url, club).membership
    _freeze(db_url, club, m.id, 4, TODAY)
    result = _run(db_url, freezes.unfreeze, club["admin"], m.id, NOW, RULES)
    assert result.notice.days == 0
    assert _row(db_url, m.id)[0::2] == ("active", m.ends_on)
    assert result.membership.freeze_left == 10
    assert query(db_url, "SELECT count(*) FROM membership_freezes")[0][0] == 0


def test_a_planned_freeze_begins_on_its_day_or_is_called_off(db_url, club, runner):
    then = NOW - _days(2)
    m = _grant(db_url, club, now=then, start=TODAY - _days(2)).membership
    result = _freeze(db_url, club, m.id, 4, TODAY - _days(1), now=then)
    assert result.notice.kind == "frozen" and result.membership.status == "active"
    assert _row(db_url, m.id)[0] == "active"  # nothing frozen yet when it was set up
    assert runner.run_due() == 1  # freeze_start, due yesterday at midnight
    assert _row(db_url, m.id)[0] == "frozen"
    assert query(db_url, "SELECT kind, status FROM jobs ORDER BY id") == [
        ("freeze_start", "done"), ("freeze_end", "pending")]

    other = factories.member(db_url, 503, "Bob")
    planned = _run(db_url, ma.grant, club["admin"], other, club["month"], TODAY, NOW,
                   RULES).membership
    _freeze(db_url, club, planned.id, 3, TODAY + _days(5))
    called_off = _run(db_url, freezes.unfreeze, club["admin"], planned.id, NOW, RULES)
    assert called_off.notice.kind == "freeze_cancelled"
    assert _row(db_url, planned.id)[0::2] == ("active", planned.ends_on)
    assert query(db_url, "SELECT count(*) FROM membership_freezes"
                         " WHERE membership_id = %s", (planned.id,))[0][0] == 0


@pytest.mark.parametrize(("days", "left", "reason"), [(11, 10, Refusal.OVER_ALLOWANCE),
                                                      (0, 10, Refusal.OVER_ALLOWANCE)])
def test_a_freeze_beyond_the_allowance_is_refused_with_the_numbers(db_url, club, days, left,
                                                                   reason):
    m = _grant(db_url, club).membership
    result = _freeze(db_url, club, m.id, days, TODAY)
    assert (result.outcome, result.reason, result.left, result.asked) == (
        Outcome.REFUSED, reason, left, days)
    assert _row(db_url, m.id)[0] == "active"
    assert query(db_url, "SELECT count(*) FROM membership_freezes")[0][0] == 0


def test_the_allowance_counts_earlier_freezes_and_one_freeze_at_a_time(db_url, club):
    then = NOW - _days(6)
    m = _grant(db_url, club, now=then, start=TODAY - _days(6)).membership
    _freeze(db_url, club, m.id, 6, TODAY - _days(6), now=then)
    _run(db_url, freezes.finish, query(db_url, "SELECT id FROM membership_freezes")[0][0],
         NOW, RULES)
    result = _freeze(db_url, club, m.id, 5, TODAY)
    assert (result.reason, result.left, result.asked) == (Refusal.OVER_ALLOWANCE, 4, 5)
    assert _freeze(db_url, club, m.id, 2, TODAY + _days(1)).outcome is Outcome.DONE
    assert _freeze(db_url, club, m.id, 1, TODAY).reason is Refusal.FREEZE_OPEN
    query(db_url, "UPDATE memberships SET status = 'cancelled' WHERE id = %s", (m.id,))
    open_plan = _grant(db_url, club, plan="open").membership
    # A plan without freezing says so (not "no days left").
    assert _freeze(db_url, club, open_plan.id, 1, TODAY).reason is Refusal.FREEZE_NOT_ALLOWED


def test_a_freeze_running_past_the_old_end_leaves_the_membership_frozen_not_expired(db_url,
                                                                                     club):
    m = _grant(db_url, club, now=NOW - _days(30), start=TODAY - _days(30)).membership
    assert m.ends_on == TODAY - _days(1)
    _freeze(db_url, club, m.id, 5, TODAY - _days(2), now=NOW - _days(2))
    assert _run(db_url, memberships.membership_of, club["anna"], TODAY).status == "frozen"
    assert _run(db_url, membership_change.membership_of, club["anna"], TODAY).status == "frozen"
    _run(db_url, freezes.finish, query(db_url, "SELECT id FROM membership_freezes")[0][0],
         NOW + _days(3), RULES)
    assert _run(db_url, memberships.membership_of, club["anna"], TODAY).ends_on == (
        TODAY + _days(4))


def test_a_freeze_past_the_membership_end_is_refused_to_start(db_url, club):
    m = _grant(db_url, club).membership
    result = _freeze(db_url, club, m.id, 2, m.ends_on + _days(1))
    assert result.reason is Refusal.BAD_START


def test_a_freeze_cancels_classes_booked_on_its_days_with_their_visits_back(db_url, club):
    m = _grant(db_url, club).membership
    trainer = factories.member(db_url, 9, "Tina", role="trainer", registered=False)
    type_id = factories.class_type(db_url, "Yoga", default_duration_minutes=60,
                                   default_capacity=10)
    classes = [factories.class_(db_url, trainer, when, class_type_id=type_id,
                                duration_minutes=60, capacity=10)
               for when in (NOW + _days(2), NOW + _days(9))]
    for class_id in classes:
        factories.booking(db_url, class_id, club["anna"], status="booked", membership_id=m.id,
                          visit_reserved=True)
    query(db_url, "UPDATE memberships SET visits_left = 10 WHERE id = %s", (m.id,))
    result = _freeze(db_url, club, m.id, 5, TODAY + _days(1))
    assert result.notice.bookings_cancelled == 1
    assert query(db_url, "SELECT class_id, status FROM bookings ORDER BY class_id") == [
        (classes[0], "cancelled"), (classes[1], "booked")]
    assert _row(db_url, m.id)[3] == 11


def test_cancel_ends_a_running_freeze_where_it_is(db_url, club):
    then = NOW - _days(2)
    m = _grant(db_url, club, now=then, start=TODAY - _days(2)).membership
    _freeze(db_url, club, m.id, 5, TODAY - _days(2), now=then)
    result = _run(db_url, ma.cancel, club["admin"], m.id, NOW, RULES)
    assert result.outcome is Outcome.DONE and result.notice.kind == "cancelled"
    assert _row(db_url, m.id)[0::2] == ("cancelled", m.ends_on)
    assert query(db_url, "SELECT frozen_until, ended_at IS NOT NULL FROM membership_freezes"
                 ) == [(TODAY - _days(1), True)]
    assert query(db_url, "SELECT status FROM jobs") == [("cancelled",)]
    again = _run(db_url, ma.cancel, club["admin"], m.id, NOW, RULES)
    assert (again.outcome, again.reason) == (Outcome.REFUSED, Refusal.NOT_CURRENT)


# -- adjust, notes -----------------------------------------------------------------------------

def test_visits_are_adjusted_with_a_reason_never_below_zero(db_url, club):
    m = _grant(db_url, club).membership
    added = _run(db_url, ma.adjust, club["admin"], m.id, 3, "Bonus for referral", NOW, RULES)
    assert added.outcome is Outcome.DONE and added.membership.visits_left == 15
    assert (added.notice.kind, added.notice.delta) == ("adjusted", 3)
    too_many = _run(db_url, ma.adjust, club["admin"], m.id, -16, "Mistake", NOW, RULES)
    assert (too_many.reason, too_many.left, too_many.asked) == (Refusal.BELOW_ZERO, 15, 16)
    taken = _run(db_url, ma.adjust, club["admin"], m.id, -15, "Paid by mistake", NOW, RULES)
    assert taken.membership.visits_left == 0
    assert query(db_url, "SELECT delta, visits_after, reason FROM membership_adjustments"
                         " ORDER BY id") == [(3, 15, "Bonus for referral"),
                                             (-15, 0, "Paid by mistake")]
    details = [d for _, _, d in _audit(db_url, "membership.visits_adjusted")]
    assert [(d["visits_before"], d["visits_after"]) for d in details] == [(12, 15), (15, 0)]


def test_unlimited_memberships_have_no_visits_to_adjust(db_url, club):
    m = _grant(db_url, club, plan="open").membership
    result = _run(db_url, ma.adjust, club["admin"], m.id, 1, "Gift", NOW, RULES)
    assert result.reason is Refusal.UNLIMITED
    assert query(db_url, "SELECT count(*) FROM membership_adjustments")[0][0] == 0


def test_notes_show_on_the_card_and_go_with_the_members_data(db_url, club):
    for body in ("Paid cash", "Knee injury: no jumps", "Prefers mornings", "Bring towel"):
        assert _run(db_url, member_card.add_note, club["admin"], club["anna"], body)
    card = _run(db_url, member_card.card, club["anna"], NOW, RULES)
    assert [n.body for n in card.notes] == ["Bring towel", "Prefers mornings",
                                            "Knee injury: no jumps"]
    assert card.notes[0].author == "Ada" and card.membership is None
    query(db_url, "UPDATE members SET deleted_at = now(), telegram_id = NULL,"
                  " first_name = NULL, phone = NULL WHERE id = %s", (club["anna"],))
    assert query(db_url, "SELECT count(*) FROM member_notes")[0][0] == 0
    assert not _run(db_url, member_card.add_note, club["admin"], club["anna"], "Too late")
    assert _run(db_url, member_card.card, club["anna"], NOW, RULES) is None


def test_no_note_on_someone_who_never_finished_registering(db_url, club):
    query(db_url, "UPDATE members SET registered_at = NULL WHERE id = %s", (club["anna"],))
    assert not _run(db_url, member_card.add_note, club["admin"], club["anna"], "Paid cash")
    assert query(db_url, "SELECT count(*) FROM member_notes")[0][0] == 0
    assert _audit(db_url, "member.note_added") == []


# -- plan requests -----------------------------------------------------------------------------

def test_requests_are_granted_or_dismissed_once(db_url, club):
    first = query(db_url, "INSERT INTO plan_requests (member_id, plan_id, created_at) VALUES"
                          " (%s, %s, now() - interval '1 hour') RETURNING id",
                  (club["anna"], club["month"]))[0][0]
    bob = factories.member(db_url, 503, "Bob")
    second = query(db_url, "INSERT INTO plan_requests (member_id, plan_id) VALUES (%s, %s)"
                           " RETURNING id", (bob, club["open"]))[0][0]
    items, total = _run(db_url, plan_requests.open_requests)
    assert [r.id for r in items] == [second, first] and total == 2
    granted = _run(db_url, plan_requests.grant_request, club["admin"], first, NOW, RULES)
    assert granted.outcome is Outcome.DONE and granted.membership.plan_name == "Month"
    assert _run(db_url, plan_requests.grant_request, club["admin"], first, NOW, RULES).outcome is (
        Outcome.UNAVAILABLE)
    assert _run(db_url, plan_requests.dismiss_request, club["admin"], second)
    assert not _run(db_url, plan_requests.dismiss_request, club["admin"], second)
    assert query(db_url, "SELECT status FROM plan_requests ORDER BY id") == [("granted",),
                                                                            ("dismissed",)]
    assert _run(db_url, plan_requests.open_requests) == ([], 0)


def test_a_request_of_a_member_with_a_current_membership_stays_open(db_url, club):
    _grant(db_url, club)
    request = query(db_url, "INSERT INTO plan_requests (member_id, plan_id) VALUES (%s, %s)"
                            " RETURNING id", (club["anna"], club["open"]))[0][0]
    result = _run(db_url, plan_requests.grant_request, club["admin"], request, NOW, RULES)
    assert (result.outcome, result.reason) == (Outcome.REFUSED, Refusal.HAS_CURRENT)
    assert query(db_url, "SELECT status FROM plan_requests") == [("open",)]


def test_today_is_the_clubs_day(db_url, club):
    """Dates follow the club's time zone: 23:30 UTC is already tomorrow in Moscow."""
    late = datetime(2030, 3, 1, 23, 30, tzinfo=UTC)
    moscow = Rules(ZoneInfo("Europe/Moscow"))
    result = _run(db_url, ma.grant, club["admin"], club["anna"], club["month"],
                  date(2030, 3, 2), late, moscow)
    assert result.outcome is Outcome.DONE
