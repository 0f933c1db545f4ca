"""Check-in rules (services/checkin.py) against a real PostgreSQL: the visit, the balance, the
booking window, every refusal, the dedup window, tokens and codes, and two scans at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from fitclub.db import members
from fitclub.services import attendance, card, checkin
from fitclub.services.card import Invalid
from fitclub.services.checkin import Outcome, Refusal
from tests import factories

SECRET = "integration-card-secret-" + "k" * 16
NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
RULES = checkin.Rules(ZoneInfo("Europe/Berlin"), window_minutes=30, dedup_minutes=10,
                      card_secret=SECRET, card_minutes=5)
TODAY = NOW.astimezone(RULES.timezone).date()


def _one(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0] if cur.description else None


@pytest.fixture
def club(db):
    """A trainer, a member (Anna Petrova), a 10-visit plan and a Yoga class type."""
    ids = {
        "staff": factories.member(db, 100, "Tom", phone="+4915100000100", role="trainer"),
        "anna": factories.member(db, 200, "Anna", last_name="Petrova", phone="+79161234567",
                                 language="ru"),
        "plan": factories.plan(db, "Ten", price_minor=5000, duration_days=30, visit_count=10,
                               freeze_days=14),
        "type": factories.class_type(db, "Yoga", default_duration_minutes=60,
                                     default_capacity=10),
    }
    db.commit()
    return ids


def _membership(db, club, *, status="active", starts=-5, ends=25, visits: int | None = 10):
    membership_id = factories.membership(db, club["anna"], club["plan"],
                                         starts_on=TODAY + timedelta(days=starts),
                                         ends_on=TODAY + timedelta(days=ends),
                                         visits_left=visits, status=status)
    db.commit()
    return membership_id


def _booking(db, club, starts_in_minutes: float, membership_id: int, *,
             status="booked") -> tuple[int, int]:
    class_id = factories.class_(db, club["staff"], NOW + timedelta(minutes=starts_in_minutes),
                                class_type_id=club["type"], duration_minutes=60, capacity=10)
    booking_id = factories.booking(db, class_id, club["anna"], status=status,
                                   membership_id=membership_id, visit_reserved=True)
    db.commit()
    return class_id, booking_id


def _visits(db, club) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT class_id, checked_in_by, method, membership_id FROM visits"
                    " WHERE member_id = %s ORDER BY id", (club["anna"],))
        return cur.fetchall()


def _left(db, membership_id):
    return _one(db, "SELECT visits_left FROM memberships WHERE id = %s", (membership_id,))


def _check_in(db, club, now=NOW, method="manual"):
    result = checkin.check_in(db, club["staff"], club["anna"], now, RULES, method=method)
    db.commit()
    return result


def test_a_check_in_records_one_visit_takes_one_from_the_balance_and_is_audited(db, club):
    membership_id = _membership(db, club)
    result = _check_in(db, club, method="qr")
    assert result.outcome is Outcome.CHECKED_IN
    assert result.person.name == "Anna Petrova" and result.person.language == "ru"
    assert result.visits_left == 9 and result.class_name is None and result.at == NOW
    assert _left(db, membership_id) == 9
    assert _visits(db, club) == [(None, club["staff"], "qr", membership_id)]
    with db.cursor() as cur:
        cur.execute("SELECT actor_id, action, entity_id, details->>'member_id' FROM audit_log")
        assert cur.fetchall() == [(club["staff"], "checkin", result.visit_id, str(club["anna"]))]


def test_an_unlimited_membership_keeps_no_count(db, club):
    membership_id = _membership(db, club, visits=None)
    result = _check_in(db, club)
    assert result.outcome is Outcome.CHECKED_IN and result.visits_left is None
    assert _left(db, membership_id) is None and len(_visits(db, club)) == 1


def test_a_second_check_in_within_the_dedup_window_records_nothing(db, club):
    membership_id = _membership(db, club)
    assert _check_in(db, club).outcome is Outcome.CHECKED_IN
    again = _check_in(db, club, now=NOW + timedelta(minutes=9, seconds=59))
    assert again.outcome is Outcome.ALREADY and again.at == NOW
    assert _left(db, membership_id) == 9 and len(_visits(db, club)) == 1
    # Once the window has passed, it is a new visit.
    later = _check_in(db, club, now=NOW + timedelta(minutes=10, seconds=1))
    assert later.outcome is Outcome.CHECKED_IN and later.visits_left == 8
    assert len(_visits(db, club)) == 2


@pytest.mark.parametrize(("kind", "refusal", "on"), [
    ("none", Refusal.NO_MEMBERSHIP, None),
    ("not_started", Refusal.NOT_STARTED, TODAY + timedelta(days=2)),
    ("past_end", Refusal.EXPIRED, TODAY - timedelta(days=1)),
    ("status_expired", Refusal.EXPIRED, TODAY - timedelta(days=3)),
    ("status_frozen", Refusal.FROZEN, None),
    ("freeze_today", Refusal.FROZEN, TODAY + timedelta(days=4)),
    # Ends on the 10th, frozen 5th-20th, seen on the 12th: the end moves only at the thaw.
    ("frozen_past_end", Refusal.FROZEN, TODAY + timedelta(days=8)),
    ("freeze_past_end", Refusal.FROZEN, TODAY + timedelta(days=8)),
    ("cancelled", Refusal.CANCELLED, None),
    ("no_visits", Refusal.NO_VISITS, None),
])
def test_each_refusal_says_why_and_records_nothing(db, club, kind, refusal, on):
    membership_id = None
    if kind == "not_started":
        membership_id = _membership(db, club, starts=2, ends=30)
    elif kind == "past_end":
        membership_id = _membership(db, club, starts=-30, ends=-1)
    elif kind == "status_expired":
        membership_id = _membership(db, club, status="expired", starts=-33, ends=-3)
    elif kind == "status_frozen":
        membership_id = _membership(db, club, status="frozen")
    elif kind == "freeze_today":
        membership_id = _membership(db, club)
        _one(db, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                 " VALUES (%s, %s, %s)", (membership_id, TODAY - timedelta(days=1),
                                          TODAY + timedelta(days=4)))
        db.commit()
    elif kind in ("frozen_past_end", "freeze_past_end"):
        status = "frozen" if kind == "frozen_past_end" else "active"
        membership_id = _membership(db, club, status=status, starts=-20, ends=-2)
        _one(db, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                 " VALUES (%s, %s, %s)", (membership_id, TODAY - timedelta(days=7),
                                          TODAY + timedelta(days=8)))
        db.commit()
    elif kind == "cancelled":
        membership_id = _membership(db, club, status="cancelled")
    elif kind == "no_visits":
        membership_id = _membership(db, club, visits=0)
    left = _left(db, membership_id) if membership_id else None
    result = _check_in(db, club)
    assert (result.outcome, result.refusal, result.on) == (Outcome.REFUSED, refusal, on)
    assert result.person.name == "Anna Petrova"
    assert _visits(db, club) == []
    if membership_id:
        assert _left(db, membership_id) == left
    assert _one(db, "SELECT count(*) FROM audit_log") == 0


@pytest.mark.parametrize(("starts_in", "attends"), [
    (-30.01, False), (-30, True), (0, True), (12, True), (30, True), (30.01, False)])
def test_a_booking_within_the_window_is_attended_and_uses_its_reserved_visit(
        db, club, starts_in, attends):
    membership_id = _membership(db, club, visits=9)  # one was reserved by the booking
    class_id, booking_id = _booking(db, club, starts_in, membership_id)
    result = _check_in(db, club)
    assert result.outcome is Outcome.CHECKED_IN
    status = _one(db, "SELECT status FROM bookings WHERE id = %s", (booking_id,))
    if attends:
        assert status == "attended" and result.class_name == "Yoga"
        assert result.class_starts_at == NOW + timedelta(minutes=starts_in)
        assert _left(db, membership_id) == 9 and result.visits_left == 9
        assert _visits(db, club) == [(class_id, club["staff"], "manual", membership_id)]
    else:
        assert status == "booked" and result.class_name is None
        assert _left(db, membership_id) == 8
        assert _visits(db, club) == [(None, club["staff"], "manual", membership_id)]


def test_the_nearest_booked_class_is_the_one_attended_and_a_booking_covers_an_empty_balance(
        db, club):
    membership_id = _membership(db, club, visits=0)
    _booking(db, club, -25, membership_id)
    near_class, near_booking = _booking(db, club, 10, membership_id)
    result = _check_in(db, club)
    assert result.outcome is Outcome.CHECKED_IN and result.visits_left == 0
    assert _one(db, "SELECT status FROM bookings WHERE id = %s", (near_booking,)) == "attended"
    assert _visits(db, club)[0][0] == near_class


def test_a_cancelled_class_or_a_cancelled_booking_is_not_attended(db, club):
    membership_id = _membership(db, club)
    class_id, _ = _booking(db, club, 5, membership_id)
    _one(db, "UPDATE classes SET status = 'cancelled' WHERE id = %s", (class_id,))
    _booking(db, club, -5, membership_id, status="cancelled")
    db.commit()
    result = _check_in(db, club)
    assert result.outcome is Outcome.CHECKED_IN and result.class_name is None
    assert _left(db, membership_id) == 9


def test_a_class_visit_the_trainer_already_marked_counts_as_checked_in(db, club):
    membership_id = _membership(db, club, visits=9)
    class_id, _ = _booking(db, club, -20, membership_id, status="attended")
    marked = NOW - timedelta(minutes=15)
    factories.visit(db, club["anna"], membership_id=membership_id, class_id=class_id,
                    checked_in_at=marked, checked_in_by=club["staff"], method="class")
    db.commit()
    result = _check_in(db, club)
    assert result.outcome is Outcome.ALREADY and result.at == marked
    assert _left(db, membership_id) == 9 and len(_visits(db, club)) == 1


def test_a_member_who_is_gone_is_not_checked_in(db, club):
    _membership(db, club)
    assert checkin.check_in(db, club["staff"], 10**12, NOW, RULES,
                            method="manual").outcome is Outcome.GONE
    _one(db, "UPDATE members SET telegram_id = NULL, first_name = NULL, last_name = NULL,"
             " phone = NULL, deleted_at = now() WHERE id = %s", (club["anna"],))
    assert _check_in(db, club).outcome is Outcome.GONE
    assert _visits(db, club) == []


def test_two_scans_at_once_record_one_visit(db, db_url, club):
    membership_id = _membership(db, club)
    other = psycopg2.connect(db_url)
    try:
        first = checkin.check_in(db, club["staff"], club["anna"], NOW, RULES, method="qr")
        assert first.outcome is Outcome.CHECKED_IN  # holds the membership row, uncommitted
        second: list = []
        scan = threading.Thread(target=lambda: second.append(checkin.check_in(
            other, club["staff"], club["anna"], NOW + timedelta(seconds=2), RULES,
            method="qr")))
        scan.start()
        scan.join(0.5)
        assert scan.is_alive(), "the second scan should wait for the first"
        db.commit()
        scan.join(10)
        other.commit()
        assert second[0].outcome is Outcome.ALREADY and second[0].at == NOW
    finally:
        other.close()
    assert len(_visits(db, club)) == 1 and _left(db, membership_id) == 9


def test_a_trainer_mark_committed_while_the_door_waits_counts_as_checked_in(db, db_url, club):
    # The booking's visit came from the membership before this one, so the trainer's class
    # visit does not queue on the current membership's lock: only the booking's lock orders
    # the two, and its recheck does not see the visit the trainer recorded.
    earlier = _membership(db, club, status="expired", starts=-31, ends=-1, visits=0)
    membership_id = _membership(db, club, starts=0, ends=30, visits=10)
    class_id, booking_id = _booking(db, club, 10, earlier)
    trainer = psycopg2.connect(db_url)
    try:
        marked = NOW - timedelta(minutes=1)
        mark = attendance.mark(trainer, club["staff"], class_id, booking_id,
                               attendance.Mark.ATTENDED, marked,
                               attendance.Rules(RULES.timezone))
        assert mark.outcome is attendance.Outcome.MARKED  # holds the booking, uncommitted
        door: list = []
        scan = threading.Thread(target=lambda: door.append(_check_in(db, club)))
        scan.start()
        scan.join(0.5)
        assert scan.is_alive(), "the door check-in should wait for the trainer's mark"
        trainer.commit()
        scan.join(10)
    finally:
        trainer.close()
    assert door[0].outcome is Outcome.ALREADY and door[0].at == marked
    assert _left(db, membership_id) == 10 and _left(db, earlier) == 0
    assert _visits(db, club) == [(class_id, club["staff"], "class", earlier)]
    assert _one(db, "SELECT count(*) FROM audit_log WHERE action = 'checkin'") == 0


# -- a scanned card and a typed code ---------------------------------------------------------


def _staff(db, club):
    return members.by_id(db, club["staff"])


def test_a_scan_by_staff_checks_the_member_in(db, club):
    _membership(db, club)
    token = card.make_token(club["anna"], NOW - timedelta(minutes=2), SECRET)
    result = checkin.scan(db, _staff(db, club), card.PREFIX + token, NOW, RULES)
    assert result.outcome is Outcome.CHECKED_IN
    assert _visits(db, club)[0][2] == "qr"


@pytest.mark.parametrize("role", ["member", None])
def test_a_scan_by_anyone_else_is_refused_audited_and_checks_nothing(db, club, role):
    _membership(db, club)
    scanner = None
    if role is not None:
        scanner = members.by_id(db, club["anna"])
    token = card.make_token(club["anna"], NOW, SECRET)
    result = checkin.scan(db, scanner, card.PREFIX + token, NOW, RULES)
    assert result.outcome is Outcome.NOT_STAFF
    assert _visits(db, club) == []
    with db.cursor() as cur:
        cur.execute("SELECT action, details->>'what' FROM audit_log")
        assert cur.fetchall() == [("denied", "checkin.scan")]


def test_an_unregistered_trainer_row_is_not_staff(db, club):
    _one(db, "UPDATE members SET registered_at = NULL WHERE id = %s", (club["staff"],))
    assert not checkin.is_staff(members.by_id(db, club["staff"]))


def _tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(("make", "problem"), [
    (lambda a: card.make_token(a, NOW - timedelta(minutes=7), SECRET), Invalid.EXPIRED),
    (lambda a: _tampered(card.make_token(a, NOW, SECRET)), Invalid.FORGED),
    (lambda a: card.make_token(a, NOW, "another-secret-" + "x" * 20), Invalid.FORGED),
    (lambda a: "not-a-token", Invalid.MALFORMED),
    (lambda a: card.make_token(a, NOW + timedelta(minutes=5), SECRET), Invalid.NOT_YET),
])
def test_a_refused_token_records_nothing(db, club, make, problem):
    _membership(db, club)
    result = checkin.scan(db, _staff(db, club), card.PREFIX + make(club["anna"]), NOW, RULES)
    assert (result.outcome, result.invalid) == (Outcome.INVALID, problem)
    assert _visits(db, club) == []


def test_the_card_of_an_erased_member_is_refused(db, club):
    token = card.make_token(club["anna"], NOW, SECRET)
    _one(db, "UPDATE members SET telegram_id = NULL, first_name = NULL, last_name = NULL,"
             " phone = NULL, deleted_at = now() WHERE id = %s", (club["anna"],))
    result = checkin.scan(db, _staff(db, club), token, NOW, RULES)
    assert (result.outcome, result.invalid) == (Outcome.INVALID, Invalid.NO_MEMBER)


def test_a_typed_code_checks_in_and_an_unknown_one_does_not(db, club):
    _membership(db, club)
    issued = card.issue(db, club["anna"], NOW - timedelta(minutes=1), SECRET, 5)
    assert checkin.by_code(db, club["staff"], "000000" if issued.code != "000000" else "999999",
                           NOW, RULES).outcome is Outcome.UNKNOWN_CODE
    spaced = f"{issued.code[:3]} {issued.code[3:]}"
    result = checkin.by_code(db, club["staff"], spaced, NOW, RULES)
    assert result.outcome is Outcome.CHECKED_IN and _visits(db, club)[0][2] == "code"
    # An expired card's code no longer works.
    expired = checkin.by_code(db, club["staff"], issued.code, NOW + timedelta(minutes=30),
                              RULES)
    assert expired.outcome is Outcome.UNKNOWN_CODE


@pytest.mark.parametrize(("text", "code"), [("123456", True), ("123 456", True),
                                            (" 12 34 56 ", True), ("12345", False),
                                            ("1234567", False), ("١٢٣٤٥٦", False),
                                            ("Anna", False)])
def test_what_reads_as_a_code(text, code):
    assert checkin.looks_like_code(text) is code


def test_the_preview_shows_the_member_and_their_membership(db, club):
    _membership(db, club)
    person, view = checkin.preview(db, club["anna"], TODAY)
    assert person.name == "Anna Petrova" and view.plan_name == "Ten" and view.visits_left == 10
    assert checkin.preview(db, 10**12, TODAY) is None


# -- a card checks in once; a new card replaces the earlier ones (issue 17) -------------------


def test_a_scanned_card_checks_in_once_even_after_the_dedup_window(db, club):
    _membership(db, club)
    token = card.PREFIX + card.make_token(club["anna"], NOW, SECRET)
    assert checkin.scan(db, _staff(db, club), token, NOW, RULES).outcome is Outcome.CHECKED_IN
    db.commit()
    # Inside its validity but (with a longer-lived card) after the dedup window: refused.
    later = NOW + timedelta(minutes=5)
    long_rules = RULES._replace(dedup_minutes=1)
    again = checkin.scan(db, _staff(db, club), token, later, long_rules)
    assert (again.outcome, again.invalid, again.at) == (Outcome.INVALID, Invalid.USED, NOW)
    assert len(_visits(db, club)) == 1


def test_a_typed_code_checks_in_once_and_its_qr_code_too(db, club):
    _membership(db, club)
    issued = card.issue(db, club["anna"], NOW - timedelta(minutes=1), SECRET, 5)
    first = checkin.by_code(db, club["staff"], issued.code, NOW, RULES)
    assert first.outcome is Outcome.CHECKED_IN
    long_rules = RULES._replace(dedup_minutes=1)
    later = NOW + timedelta(minutes=3)
    again = checkin.by_code(db, club["staff"], issued.code, later, long_rules)
    assert (again.outcome, again.invalid, again.at) == (Outcome.INVALID, Invalid.USED, NOW)
    scanned = checkin.scan(db, _staff(db, club), issued.token, later, long_rules)
    assert (scanned.outcome, scanned.invalid) == (Outcome.INVALID, Invalid.USED)
    assert len(_visits(db, club)) == 1


def test_a_refused_check_in_does_not_use_the_card(db, club):
    issued = card.issue(db, club["anna"], NOW - timedelta(minutes=1), SECRET, 5)
    refused = checkin.by_code(db, club["staff"], issued.code, NOW, RULES)
    assert refused.refusal is Refusal.NO_MEMBERSHIP  # nothing recorded, the card still good
    _membership(db, club)
    assert checkin.by_code(db, club["staff"], issued.code, NOW, RULES).outcome \
        is Outcome.CHECKED_IN


def test_a_new_card_replaces_the_earlier_codes_and_tokens(db, club):
    _membership(db, club)
    old = card.issue(db, club["anna"], NOW - timedelta(minutes=2), SECRET, 5)
    new = card.issue(db, club["anna"], NOW - timedelta(minutes=1), SECRET, 5)  # Refresh
    by_code = checkin.by_code(db, club["staff"], old.code, NOW, RULES)
    assert (by_code.outcome, by_code.invalid) == (Outcome.INVALID, Invalid.REPLACED)
    scanned = checkin.scan(db, _staff(db, club), old.token, NOW, RULES)
    assert (scanned.outcome, scanned.invalid) == (Outcome.INVALID, Invalid.REPLACED)
    assert _visits(db, club) == []
    assert checkin.by_code(db, club["staff"], new.code, NOW, RULES).outcome \
        is Outcome.CHECKED_IN


def test_a_refresh_in_the_same_minute_keeps_the_new_card_working(db, club):
    _membership(db, club)
    old = card.issue(db, club["anna"], NOW, SECRET, 5)
    new = card.issue(db, club["anna"], NOW + timedelta(seconds=20), SECRET, 5)
    assert new.token == old.token  # one token a minute: the QR code is the same one
    refused = checkin.by_code(db, club["staff"], old.code, NOW, RULES)
    assert refused.invalid is Invalid.REPLACED
    assert checkin.scan(db, _staff(db, club), new.token, NOW + timedelta(seconds=30),
                        RULES).outcome is Outcome.CHECKED_IN
