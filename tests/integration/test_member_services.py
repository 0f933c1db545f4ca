"""Member services on PostgreSQL: registration rules, plan requests, erasure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fitclub.db import members
from fitclub.services import booking, club, memberships, plan_requests, privacy, registration
from fitclub.services.booking import Outcome, Rules
from fitclub.services.plan_requests import RequestOutcome
from tests import factories

NOW = datetime.now(UTC)
RULES: Rules = club.of(None).booking


@pytest.mark.parametrize(("text", "name", "problem"), [
    ("  Anna   Petrova ", "Anna Petrova", None),
    ("Анна 💪", "Анна 💪", None),
    ("אנה", "אנה", None),
    ("<b>&", "<b>&", None),
    ("Anna\u202e\u200b", None, "reg_name_invisible"),
    ("\u202e\u200b", None, "reg_name_invisible"),
    ("x" * 64, "x" * 64, None),
    ("x" * 65, None, "reg_name_too_long"),
    ("   ", None, "reg_name_empty"),
    ("\n\t", None, "reg_name_empty"),
    (None, None, "reg_name_not_text"),
])
def test_names(text, name, problem):
    checked = registration.check_name(text)
    assert (checked.name, checked.problem) == (name, problem)


@pytest.mark.parametrize(("raw", "phone"), [
    ("79161234567", "+79161234567"), ("+49 151 123-45-67", "+491511234567"),
    ("123", None), ("", None), ("+1" + "2" * 20, None), ("abc", None),
])
def test_phones(raw, phone):
    assert registration.normalize_phone(raw) == phone


def _member(db, telegram_id=1001, name="Anna"):
    member_id = registration.complete(db, telegram_id=telegram_id, name=name,
                                      phone="+491511234567", username="anna", language="ru",
                                      admin_ids=(), notice="The notice")
    return members.by_id(db, member_id)


def _plan(db, name="10 visits", active=True):
    return factories.plan(db, name, price_minor=3500, duration_days=60, visit_count=10,
                          freeze_days=14, is_active=active)


def test_registration_records_the_member_and_an_audit_row(db):
    member = _member(db)
    assert (member.first_name, member.language, member.role) == ("Anna", "ru", "member")
    assert member.registered_at is not None
    with db.cursor() as cur:
        cur.execute("SELECT action FROM audit_log WHERE entity_id = %s", (member.id,))
        assert cur.fetchall() == [("member.registered",)]


def test_bootstrap_admins_register_as_admins(db):
    member_id = registration.complete(db, telegram_id=7, name="Boss", phone="+10000000",
                                      username=None, language="en", admin_ids=(7,),
                                      notice="The notice")
    assert members.by_id(db, member_id).role == "admin"


TODAY = date(2026, 12, 3)


def _requests(db) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT p.name, r.status FROM plan_requests r"
                    " JOIN membership_plans p ON p.id = r.plan_id ORDER BY r.id")
        return cur.fetchall()


def test_one_request_at_a_time_withdrawn_and_asked_again_told_once_a_day(db):
    admin_id = registration.complete(db, telegram_id=7, name="Boss", phone="+10000000",
                                     username=None, language="en", admin_ids=(7,),
                                      notice="The notice")
    assert admin_id
    member = _member(db)
    plan_id, other_id = _plan(db), _plan(db, "Year")
    assert plan_requests.my_request(db, member.id) is None
    first = plan_requests.request_plan(db, member.id, plan_id, TODAY)
    assert first.outcome is RequestOutcome.SENT
    assert [a.telegram_id for a in first.notify] == [7]
    assert (first.request.plan_name, first.request.pending) == ("10 visits", True)
    # While it is pending, neither the same plan nor another one is asked for again.
    for plan in (plan_id, other_id):
        again = plan_requests.request_plan(db, member.id, plan, TODAY)
        assert (again.outcome, again.notify, again.request) == (
            RequestOutcome.PENDING, [], first.request)
    assert _requests(db) == [("10 visits", "open")]
    # Withdrawn (once: a second withdrawal finds nothing), then asked for again: recorded,
    # but the admins were told of this plan today already.
    assert plan_requests.withdraw(db, member.id, first.request.id + 1) is None
    assert plan_requests.withdraw(db, member.id, first.request.id).status == "withdrawn"
    assert plan_requests.withdraw(db, member.id, first.request.id) is None
    assert plan_requests.my_request(db, member.id) is None
    repeat = plan_requests.request_plan(db, member.id, plan_id, TODAY)
    assert (repeat.outcome, repeat.notify) == (RequestOutcome.SENT, [])
    plan_requests.withdraw(db, member.id, repeat.request.id)
    year = plan_requests.request_plan(db, member.id, other_id, TODAY)
    assert [a.telegram_id for a in year.notify] == [7]
    assert _requests(db) == [("10 visits", "withdrawn"), ("10 visits", "withdrawn"),
                             ("Year", "open")]


def test_a_dismissed_request_reads_as_declined_until_a_membership_or_a_new_request(db):
    admin = _member(db, 7, "Boss")
    member = _member(db)
    plan_id = _plan(db)
    sent = plan_requests.request_plan(db, member.id, plan_id, TODAY)
    assert plan_requests.dismiss_request(db, admin.id, sent.request.id)
    declined = plan_requests.my_request(db, member.id)
    assert (declined.id, declined.status, declined.pending) == (sent.request.id, "dismissed",
                                                                False)
    assert declined.closed_at is not None
    again = plan_requests.request_plan(db, member.id, plan_id, TODAY)
    assert (again.outcome, plan_requests.my_request(db, member.id).pending) == (
        RequestOutcome.SENT, True)
    with db.cursor() as cur:  # granted: a membership since, the request closed
        cur.execute("UPDATE plan_requests SET status = 'dismissed', closed_at = now()")
    factories.membership(db, member.id, plan_id, starts_on=TODAY, ends_on=TODAY + timedelta(30))
    assert plan_requests.my_request(db, member.id) is None


@pytest.mark.parametrize(("starts", "ends", "status", "outcome"), [
    (7, 36, "active", RequestOutcome.HAS_MEMBERSHIP),  # not started yet
    (-3, 26, "active", RequestOutcome.HAS_MEMBERSHIP),
    (-3, 26, "frozen", RequestOutcome.HAS_MEMBERSHIP),
    (-40, -1, "active", RequestOutcome.SENT),  # ended yesterday
    (-3, 26, "cancelled", RequestOutcome.SENT),
])
def test_a_member_with_a_current_membership_cannot_request_a_plan(db, starts, ends, status,
                                                                   outcome):
    member = _member(db)
    plan_id = _plan(db)
    factories.membership(db, member.id, plan_id, starts_on=TODAY + timedelta(starts),
                         ends_on=TODAY + timedelta(ends), status=status)
    result = plan_requests.request_plan(db, member.id, plan_id, TODAY)
    assert result.outcome is outcome
    assert len(_requests(db)) == (outcome is RequestOutcome.SENT)


@pytest.mark.parametrize("case", ["archived", "missing"])
def test_a_request_for_a_plan_not_on_sale_is_refused(db, case):
    member = _member(db)
    plan_id = _plan(db, active=False) if case == "archived" else 999_999
    assert plan_requests.request_plan(db, member.id, plan_id, TODAY).outcome is \
        RequestOutcome.UNAVAILABLE


def test_membership_view_counts_freeze_days_and_expiry(db):
    member = _member(db)
    plan_id = _plan(db)
    membership_id = factories.membership(db, member.id, plan_id, starts_on=date(2026, 11, 1),
                                         ends_on=date(2026, 12, 31), visits_left=4)
    with db.cursor() as cur:
        cur.execute("INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                    " VALUES (%s, '2026-11-10', '2026-11-14')", (membership_id,))
    view = memberships.membership_of(db, member.id, date(2026, 11, 23))
    assert (view.status, view.visits_left, view.freeze_allowance, view.freeze_days_left) == (
        "active", 4, 14, 9)
    assert memberships.membership_of(db, member.id, date(2027, 1, 1)).status == "expired"
    # Before its first day it is current but not started: 'upcoming'.
    upcoming = memberships.membership_of(db, member.id, date(2026, 10, 31))
    assert (upcoming.status, upcoming.current) == ("upcoming", True)


def test_erasure_leaves_nothing_identifying_and_keeps_visits(db):
    member = _member(db)
    factories.visit(db, member.id, method="qr")
    assert privacy.erase_member(db, member.id, member.telegram_id, NOW, RULES) == (True, [])
    assert members.by_telegram_id(db, member.telegram_id) is None
    with db.cursor() as cur:
        cur.execute("SELECT telegram_id, first_name, phone, username FROM members"
                    " WHERE id = %s", (member.id,))
        assert cur.fetchone() == (None, None, None, None)
        cur.execute("SELECT count(*) FROM visits WHERE member_id = %s", (member.id,))
        assert cur.fetchone()[0] == 1
    assert privacy.erase_member(db, member.id, member.telegram_id, NOW, RULES) == (False, [])
    again = _member(db, name="Anna again")
    assert again.id != member.id


def test_erasure_frees_places_for_the_line_and_scrubs_what_telegram_sent(db):
    anna, boris = _member(db, 1001, "Anna"), _member(db, 1002, "Boris")
    plan_id = _plan(db)
    for who in (anna, boris):
        factories.membership(db, who.id, plan_id, starts_on=-1, ends_on=30, visits_left=5)
    type_id = factories.class_type(db, "Yoga", default_duration_minutes=60, default_capacity=1)
    class_id = factories.class_(db, boris.id, timedelta(days=2), class_type_id=type_id,
                                duration_minutes=60, capacity=1)
    with db.cursor() as cur:
        cur.execute("INSERT INTO inbox (update_id, chat_id, kind, payload, status,"
                    " processed_at) VALUES (1, 1001, 'message', '{\"contact\": {\"phone_number\":"
                    " \"+491511234567\"}}', 'done', now())")
        cur.execute("INSERT INTO outbox (chat_id, method, params, status, update_id) VALUES"
                    " (1001, 'sendMessage', '{\"text\": \"Hi Anna\"}', 'sent', 1),"
                    " (7, 'sendMessage', '{\"text\": \"Anna +491511234567\"}', 'sent', 1)")
    assert booking.book(db, anna.id, class_id, NOW, RULES).outcome is Outcome.BOOKED
    assert booking.book(db, boris.id, class_id, NOW, RULES,
                        waitlist_if_full=True).outcome is Outcome.WAITLISTED

    done, offers = privacy.erase_member(db, anna.id, anna.telegram_id, NOW, RULES)
    assert done
    assert [o.telegram_id for o in offers] == [1002], "the freed place goes to Boris"
    with db.cursor() as cur:
        cur.execute("SELECT status FROM bookings WHERE member_id = %s", (anna.id,))
        assert cur.fetchall() == [("cancelled",)]
        cur.execute("SELECT visits_left FROM memberships WHERE member_id = %s", (anna.id,))
        assert cur.fetchall() == [(5,)], "the reserved visit came back"
        cur.execute("SELECT payload::text FROM inbox")
        assert "+49" not in str(cur.fetchall())
        cur.execute("SELECT params::text FROM outbox WHERE status = 'sent'")
        assert "Anna" not in str(cur.fetchall())
