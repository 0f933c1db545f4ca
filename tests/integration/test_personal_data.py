"""'Download my data' on PostgreSQL: the JSON file holds every row the club keeps about the
member (profile, memberships with freezes and visit adjustments, bookings and waitlist places,
offers, visits, plan requests, staff notes, cards, announcements, audit entries), each compared
with the database row by row; nothing of another member; times in the club's zone with its
offset; one copy per ten minutes; nothing for an erased member."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from fitclub.services import personal_data, privacy
from fitclub.services.booking import Rules
from tests import factories
from tests.helpers import query, rows_as_in_file

TZ = ZoneInfo("Europe/Berlin")


def _rows(db_url: str, sql: str, params) -> list[list]:
    return rows_as_in_file(db_url, sql, params, TZ)




def _sql(db_url: str, statement: str, params=()) -> int:
    (found,), = query(db_url, statement + " RETURNING id", params)
    return found


@pytest.fixture
def club(db_url):
    """Anna (Russian) with two memberships, a freeze, adjustments, bookings of every kind, a
    waitlist offer, visits by each method, plan requests, notes, a used card, an announcement
    and audit entries; Boris with rows of his own on the same classes and plans."""
    ids = {}
    ids["ada"] = factories.member(db_url, 501, "Ada", role="admin")
    ids["tom"] = factories.member(db_url, 502, "Tom", role="trainer")
    ids["anna"] = factories.member(db_url, 503, "Анна", last_name="Петрова",
                                   phone="+79161234567", username="anna_p", language="ru",
                                   reminders_enabled=False)
    ids["boris"] = factories.member(db_url, 504, "Boris", phone="+4915100000004")
    # Anna registered after the privacy notice; Boris, created by staff, never saw it.
    query(db_url, "UPDATE members SET privacy_notice_at = '2026-11-20T09:00:00Z',"
                  " privacy_notice = 'Notice as it was shown then' WHERE id = %s",
          (ids["anna"],))
    month = factories.plan(db_url, "Month", duration_days=30, visit_count=12, freeze_days=10,
                           name_tr="Месяц")
    opn = factories.plan(db_url, "Open", duration_days=90, visit_count=None)
    ids["old"] = factories.membership(db_url, ids["anna"], opn, starts_on=-120, ends_on=-30,
                                      visits_left=None, status="expired")
    ids["cur"] = factories.membership(db_url, ids["anna"], month, starts_on=-5, ends_on=40,
                                      visits_left=7)
    ids["boris_ms"] = factories.membership(db_url, ids["boris"], month)
    ids["freeze"] = _sql(db_url, "INSERT INTO membership_freezes (membership_id, frozen_from,"
                         " frozen_until, created_by) VALUES (%s, current_date + 3,"
                         " current_date + 9, %s)", (ids["cur"], ids["ada"]))
    ids["old_freeze"] = _sql(db_url, "INSERT INTO membership_freezes (membership_id,"
                             " frozen_from, frozen_until, ended_at) VALUES (%s,"
                             " current_date - 100, current_date - 95, now() - interval"
                             " '95 days')", (ids["old"],))
    for delta, after, reason in ((2, 9, "paid in cash"), (-2, 7, "двойная отметка")):
        _sql(db_url, "INSERT INTO membership_adjustments (membership_id, actor_id, delta,"
             " visits_after, reason) VALUES (%s, %s, %s, %s, %s)",
             (ids["cur"], ids["ada"], delta, after, reason))
    _sql(db_url, "INSERT INTO membership_adjustments (membership_id, actor_id, delta,"
         " visits_after, reason) VALUES (%s, %s, 1, 11, 'Boris only')",
         (ids["boris_ms"], ids["ada"]))
    yoga = factories.class_type(db_url, "Yoga", name_tr="Йога")
    box = factories.class_type(db_url, "Box")
    past = factories.class_(db_url, ids["tom"], timedelta(days=-2), class_type_id=yoga,
                            room="Studio 2", status="completed")
    gone = factories.class_(db_url, ids["tom"], timedelta(days=-1), class_type_id=box)
    soon = factories.class_(db_url, ids["tom"], timedelta(days=1), class_type_id=yoga)
    full = factories.class_(db_url, ids["tom"], timedelta(days=2), class_type_id=box,
                            capacity=1)
    factories.booking(db_url, past, ids["anna"], status="attended")
    late = factories.booking(db_url, gone, ids["anna"], status="cancelled")
    query(db_url, "UPDATE bookings SET cancelled_at = now() - interval '1 day 2 hours',"
                  " late_cancel = true WHERE id = %s", (late,))
    factories.booking(db_url, soon, ids["anna"], membership_id=ids["cur"], visit_reserved=True)
    factories.booking(db_url, full, ids["boris"])
    ids["wait"] = factories.booking(db_url, full, ids["anna"], status="waitlisted")
    factories.booking(db_url, soon, ids["boris"])
    _sql(db_url, "INSERT INTO waitlist_offers (booking_id, class_id, member_id, offered_at,"
         " expires_at, status, resolved_at) VALUES (%s, %s, %s, now() - interval '3 hours',"
         " now() - interval '1 hour', 'expired', now() - interval '1 hour')",
         (ids["wait"], full, ids["anna"]))
    factories.visit(db_url, ids["anna"], method="class", class_id=past,
                    checked_in_at=timedelta(days=-2), checked_in_by=ids["tom"],
                    membership_id=ids["cur"])
    factories.visit(db_url, ids["anna"], method="qr", checked_in_at=timedelta(days=-40),
                    membership_id=ids["old"])
    factories.visit(db_url, ids["anna"], method="code", checked_in_at=timedelta(hours=-3),
                    checked_in_by=ids["ada"], membership_id=ids["cur"])
    factories.visit(db_url, ids["boris"], method="manual", checked_in_by=ids["ada"])
    for plan, status, closed in ((month, "granted", True), (opn, "withdrawn", True),
                                 (opn, "open", False)):
        _sql(db_url, "INSERT INTO plan_requests (member_id, plan_id, status, closed_at)"
             " VALUES (%s, %s, %s, CASE WHEN %s THEN now() END)",
             (ids["anna"], plan, status, closed))
    for who, body in (("anna", "Колено: без прыжков"), ("anna", "Prefers mornings"),
                      ("boris", "Boris's own note")):
        _sql(db_url, "INSERT INTO member_notes (member_id, author_id, body) VALUES (%s, %s,"
             " %s)", (ids[who], ids["ada"], body))
    query(db_url, "INSERT INTO card_codes (code, member_id, token, issued_at, expires_at,"
                  " revoked_at) VALUES ('123456', %s, 'tok-a', now() - interval '3 hours',"
                  " now() + interval '1 hour', NULL), ('654321', %s, 'tok-b', now(),"
                  " now() + interval '4 hours', NULL)", (ids["anna"], ids["anna"]))
    query(db_url, "INSERT INTO card_spent (token, member_id, reason, at, expires_at) VALUES"
                  " ('tok-a', %s, 'used', now() - interval '3 hours', now() + interval"
                  " '1 hour')", (ids["anna"],))
    ann = _sql(db_url, "INSERT INTO announcements (author_id, text, audience, status, total,"
               " sent_at) VALUES (%s, 'Closed on Sunday', 'all', 'sending', 2, now())",
               (ids["ada"],))
    query(db_url, "INSERT INTO announcement_deliveries (announcement_id, member_id, outbox_id)"
                  " VALUES (%s, %s, 1), (%s, %s, 2)", (ann, ids["anna"], ann, ids["boris"]))
    for actor, action, entity, entity_id, details in (
            ("anna", "member.registered", "member", ids["anna"], {}),
            ("ada", "membership.visits_adjusted", "membership", ids["cur"],
             {"member_id": ids["anna"], "reason": "paid in cash"}),
            ("ada", "member.note_added", "member", ids["anna"], {}),
            (None, "waitlist.expired", "booking", ids["wait"], {}),
            ("ada", "membership.granted", "membership", ids["boris_ms"],
             {"member_id": ids["boris"]})):
        query(db_url, "INSERT INTO audit_log (actor_id, action, entity, entity_id, details)"
                      " VALUES (%s, %s, %s, %s, %s)",
              (ids[actor] if actor else None, action, entity, entity_id, json.dumps(details)))
    return ids


def _copy(db_url: str, member_id: int, lang: str = "ru", now: datetime | None = None):
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            return personal_data.make_copy(conn, member_id, now or datetime.now(UTC), TZ,
                                           lang)
    finally:
        conn.close()


def _cooldown(db_url: str, member_id: int):
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            return personal_data.cooldown(conn, member_id)
    finally:
        conn.close()


def test_the_copy_holds_every_row_about_the_member_and_nothing_of_others(db_url, club):
    anna = club["anna"]
    now = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)
    copy = _copy(db_url, anna, "ru", now)
    assert copy.filename == "fitclub-my-data-2026-12-06.json"
    found = json.loads(copy.data.decode("utf-8"))
    assert tuple(found) == personal_data.KEYS
    assert found["format"] == "fitclub-personal-data" and found["version"] == 1
    assert found["generated_at"] == "2026-12-06T08:30:00+01:00"
    assert found["time_zone"] == "Europe/Berlin"
    assert set(found["about"]) == {"dates", "consents", "staff_notes", "not_included"}
    assert "privacy_notice" in found["about"]["consents"]  # in Russian, naming the kind
    assert "согласи" in found["about"]["consents"]

    # The profile: the member's row, field by field.
    (row,) = _rows(db_url, "SELECT id, telegram_id, first_name, last_name, phone, username,"
                           " language, role, registered_at, created_at, reminders_enabled,"
                           " blocked_at FROM members WHERE id = %s", (anna,))
    assert list(found["profile"].values()) == row
    assert found["profile"]["telegram_id"] == 503
    assert found["profile"]["phone"] == "+79161234567"
    assert found["profile"]["registered_at"].endswith("+01:00")

    # Memberships with their plan's name in Russian, freezes and adjustments (reasons too).
    expected = _rows(db_url, "SELECT ms.id, ms.plan_id, coalesce(CASE WHEN p.lang = 'ru'"
                             " THEN p.name ELSE p.name_tr END, p.name), ms.starts_on,"
                             " ms.ends_on, ms.visits_left, ms.status, ms.created_at"
                             " FROM memberships ms JOIN membership_plans p ON p.id = ms.plan_id"
                             " WHERE ms.member_id = %s ORDER BY ms.created_at, ms.id", (anna,))
    got = found["memberships"]
    assert [[m[k] for k in ("id", "plan_id", "plan_name", "starts_on", "ends_on",
                            "visits_left", "status", "created_at")] for m in got] == expected
    assert [m["plan_name"] for m in got] == ["Open", "Месяц"]
    for m in got:
        assert [list(f.values()) for f in m["freezes"]] == _rows(
            db_url, "SELECT id, frozen_from, frozen_until, created_at, ended_at"
                    " FROM membership_freezes WHERE membership_id = %s ORDER BY id", (m["id"],))
        assert [list(a.values()) for a in m["visit_adjustments"]] == _rows(
            db_url, "SELECT id, delta, visits_after, reason, created_at"
                    " FROM membership_adjustments WHERE membership_id = %s ORDER BY id",
            (m["id"],))
    assert [f["id"] for m in got for f in m["freezes"]] == [club["old_freeze"], club["freeze"]]
    assert [a["reason"] for a in got[1]["visit_adjustments"]] == ["paid in cash",
                                                                  "двойная отметка"]

    # Bookings (the waitlist place among them), offers, visits, plan requests.
    assert [list(b.values()) for b in found["bookings"]] == _rows(
        db_url, "SELECT b.id, b.class_id, coalesce(CASE WHEN t.lang = 'ru' THEN t.name"
                " ELSE t.name_tr END, t.name), c.starts_at, c.room, c.status, b.status,"
                " b.created_at, b.updated_at, b.cancelled_at, b.late_cancel, b.membership_id,"
                " b.visit_reserved FROM bookings b JOIN classes c ON c.id = b.class_id"
                " JOIN class_types t ON t.id = c.class_type_id WHERE b.member_id = %s"
                " ORDER BY b.id", (anna,))
    assert [b["status"] for b in found["bookings"]] == [
        "attended", "cancelled", "booked", "waitlisted"]
    assert found["bookings"][0]["class_type"] == "Йога"
    assert found["bookings"][1]["late_cancel"] is True
    assert [list(o.values()) for o in found["waitlist_offers"]] == _rows(
        db_url, "SELECT id, booking_id, class_id, offered_at, expires_at, status, resolved_at"
                " FROM waitlist_offers WHERE member_id = %s ORDER BY id", (anna,))
    assert len(found["waitlist_offers"]) == 1
    assert [list(v.values()) for v in found["visits"]] == _rows(
        db_url, "SELECT id, checked_in_at, method, class_id, membership_id,"
                " checked_in_by IS NOT NULL FROM visits WHERE member_id = %s"
                " ORDER BY checked_in_at, id", (anna,))
    assert [v["method"] for v in found["visits"]] == ["qr", "class", "code"]
    assert [list(r.values()) for r in found["plan_requests"]] == _rows(
        db_url, "SELECT r.id, r.plan_id, coalesce(CASE WHEN p.lang = 'ru' THEN p.name"
                " ELSE p.name_tr END, p.name), r.status, r.created_at, r.closed_at"
                " FROM plan_requests r JOIN membership_plans p ON p.id = r.plan_id"
                " WHERE r.member_id = %s ORDER BY r.created_at, r.id", (anna,))
    assert [r["status"] for r in found["plan_requests"]] == ["granted", "withdrawn", "open"]
    assert found["payments"] == []
    assert found["consents"] == [{"kind": "privacy_notice",
                                  "given_at": "2026-11-20T10:00:00+01:00",
                                  "notice": "Notice as it was shown then"}]

    # Staff notes (without their author), cards, announcements, audit entries.
    assert [list(n.values()) for n in found["staff_notes"]] == _rows(
        db_url, "SELECT id, body, created_at FROM member_notes WHERE member_id = %s"
                " ORDER BY created_at, id", (anna,))
    assert [n["body"] for n in found["staff_notes"]] == ["Колено: без прыжков",
                                                         "Prefers mornings"]
    assert [list(c.values()) for c in found["cards"]] == _rows(
        db_url, "SELECT c.code, c.issued_at, c.expires_at, c.revoked_at, s.at"
                " FROM card_codes c LEFT JOIN card_spent s ON s.token = c.token"
                " WHERE c.member_id = %s ORDER BY c.issued_at", (anna,))
    assert found["cards"][0]["used_at"] is not None and found["cards"][1]["used_at"] is None
    assert [(a["text"], a["with_photo"]) for a in found["announcements"]] == [
        ("Closed on Sunday", False)]
    assert [(e["action"], e["actor"]) for e in found["audit_log"]] == [
        ("member.registered", "you"), ("membership.visits_adjusted", "staff"),
        ("member.note_added", "staff"), ("waitlist.expired", "system")]

    # Nothing of Boris, nor any staff member's name.
    text = copy.data.decode("utf-8")
    for other in ("Boris", "+4915100000004", "Boris's own note", "Boris only", "Ada", "Tom"):
        assert other not in text
    boris_ids = {r[0] for r in query(db_url, "SELECT id FROM bookings WHERE member_id = %s",
                                     (club["boris"],))}
    assert not boris_ids & {b["id"] for b in found["bookings"]}

    # The copy is audited, by the member, with no details.
    assert query(db_url, "SELECT actor_id, entity, entity_id, details FROM audit_log"
                         " WHERE action = 'member.data_copy'") == [(anna, "member", anna, {})]


def test_times_are_in_the_club_zone_in_summer_too(db_url, club):
    found = json.loads(_copy(db_url, club["anna"], "en",
                             datetime(2026, 7, 1, 22, 30, tzinfo=UTC)).data)
    assert found["generated_at"] == "2026-07-02T00:30:00+02:00"
    assert found["memberships"][1]["plan_name"] == "Month"  # English for an English reader
    assert "consents lists when you shared your number" in found["about"]["consents"]


def test_one_copy_per_ten_minutes(db_url, club):
    anna, boris = club["anna"], club["boris"]
    assert _cooldown(db_url, anna) is None
    _copy(db_url, anna)
    wait = _cooldown(db_url, anna)
    assert wait is not None and wait.next_at - wait.sent_at == timedelta(minutes=10)
    assert _cooldown(db_url, boris) is None  # per member
    # Eleven minutes later a copy may go again.
    query(db_url, "UPDATE audit_log SET at = at - interval '11 minutes'"
                  " WHERE action = 'member.data_copy'")
    assert _cooldown(db_url, anna) is None


def test_nothing_for_an_erased_member(db_url, club):
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            privacy.erase_member(conn, club["anna"], 503, datetime.now(UTC), Rules(TZ))
        with conn:
            assert personal_data.make_copy(conn, club["anna"], datetime.now(UTC), TZ,
                                           "en") is None
    finally:
        conn.close()
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'member.data_copy'"
                 ) == [(0,)]
