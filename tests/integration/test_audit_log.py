"""The audit log as admins read it: only staff actions, newest first, paged, by or on one
member (through each kind of thing an entry can name), and each entry rendered in one
language with readable action names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg2.extras import Json

from fitclub.db import members
from fitclub.locales import Texts
from fitclub.screens import audit_log as screens
from fitclub.services import audit_log
from tests import factories

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class World:
    """People, their things, and audit rows one minute apart (later rows are newer)."""

    def __init__(self, db) -> None:
        self.db = db
        self.minute = 0
        self.ada = factories.member(db, 1, "Ada", last_name="Admin", role="admin")
        self.tom = factories.member(db, 2, "Tom", role="trainer")
        self.anna = factories.member(db, 3, "Анна", last_name="Петрова")
        self.boris = factories.member(db, 4, "Boris <b>")
        plan = factories.plan(db, "Month", price_minor=5000, duration_days=30, visit_count=None)
        self.membership = factories.membership(db, self.anna, plan, starts_on=0, ends_on=30,
                                               visits_left=None)
        kind = factories.class_type(db, "Yoga", default_duration_minutes=60, default_capacity=10)
        self.cls = factories.class_(db, self.tom, timedelta(0), class_type_id=kind,
                                    duration_minutes=60, capacity=10)
        self.booking = factories.booking(db, self.cls, self.anna)
        self.visit = factories.visit(db, self.anna, method="qr")
        self.request = self.one("INSERT INTO plan_requests (member_id, plan_id) VALUES (%s, %s)"
                                " RETURNING id", (self.boris, plan))

    def one(self, sql: str, params: tuple = ()) -> int:
        with self.db.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    def log(self, actor: int | None, action: str, entity: str, entity_id: int | None = None,
            **details) -> int:
        self.minute += 1
        return self.one("INSERT INTO audit_log (at, actor_id, action, entity, entity_id,"
                        " details) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                        (T0 + timedelta(minutes=self.minute), actor, action, entity,
                         entity_id, Json(details)))


@pytest.fixture
def world(db) -> World:
    w = World(db)
    w.ids = {
        # What members do for themselves, and what the system does: not staff actions.
        "registered": w.log(w.anna, "member.registered", "member", w.anna),
        "booked": w.log(w.anna, "booking.booked", "booking", w.booking),
        "offered": w.log(None, "waitlist.offered", "waitlist_offer", 1),
        "requested": w.log(w.boris, "plan.requested", "plan_request", w.request),
        # Staff actions.
        "role": w.log(w.ada, "role.changed", "member", w.anna, role="trainer"),
        "checkin": w.log(w.tom, "checkin", "visit", w.visit, method="qr"),
        "cancel": w.log(w.ada, "class.cancelled", "class", w.cls, notified=20),
        "attended": w.log(w.tom, "attendance.attended", "booking", w.booking),
        "note": w.log(w.tom, "class.note", "class", w.cls, member_id=w.boris),
        "denied": w.log(w.boris, "denied", "staff_action", what="report.export",
                        data="qx:members"),
        "grant": w.log(w.ada, "membership.transferred", "membership", w.membership),
        "request": w.log(w.ada, "plan_request.granted", "plan_request", w.request),
    }
    return w


def _ids(page: audit_log.Page, world: World) -> list[str]:
    names = {v: k for k, v in world.ids.items()}
    return [names[e.id] for e in page.entries]


def test_staff_actions_newest_first_with_who_and_on_whom(db, world):
    page = audit_log.page(db, 0)
    assert _ids(page, world) == ["request", "grant", "denied", "note", "attended", "cancel",
                                 "checkin", "role"]
    assert not page.has_older and page.member is None
    on = {e.action: (e.actor_name, e.subject_name) for e in page.entries}
    assert on == {
        "plan_request.granted": ("Ada Admin", "Boris <b>"),
        "membership.transferred": ("Ada Admin", "Анна Петрова"),
        "denied": ("Boris <b>", None),
        "class.note": ("Tom", "Boris <b>"),
        "attendance.attended": ("Tom", "Анна Петрова"),
        "class.cancelled": ("Ada Admin", None),
        "checkin": ("Tom", "Анна Петрова"),
        "role.changed": ("Ada Admin", "Анна Петрова"),
    }


def test_pages_of_three(db, world):
    pages = [audit_log.page(db, n, size=3) for n in range(4)]
    assert [_ids(p, world) for p in pages] == [
        ["request", "grant", "denied"], ["note", "attended", "cancel"], ["checkin", "role"], []]
    assert [p.has_older for p in pages] == [True, True, False, False]


@pytest.mark.parametrize(("who", "expected"), [
    ("anna", ["grant", "attended", "checkin", "role"]),
    ("boris", ["request", "denied", "note"]),
    ("ada", ["request", "grant", "cancel", "role"]),
    ("tom", ["note", "attended", "checkin"]),
])
def test_filtered_by_a_member_as_actor_or_subject(db, world, who, expected):
    member = members.by_id(db, getattr(world, who))
    page = audit_log.page(db, 0, member)
    assert _ids(page, world) == expected and page.member == member


def test_filter_member_is_anyone_not_erased(db, world):
    assert audit_log.filter_member(db, world.anna).first_name == "Анна"
    assert audit_log.filter_member(db, 10**12) is None
    with db.cursor() as cur:
        cur.execute("UPDATE members SET telegram_id = NULL, first_name = NULL, last_name = NULL,"
                    " deleted_at = now() WHERE id = %s", (world.anna,))
    assert audit_log.filter_member(db, world.anna) is None
    # Entries on an erased member stay, without a name.
    erased = [e for e in audit_log.page(db, 0).entries if e.subject_id == world.anna]
    assert len(erased) == 4 and all(e.subject_name is None for e in erased)


def test_details_in_one_line():
    assert audit_log.summarise({}) == ""
    assert audit_log.summarise({"a": 1, "b": "x\ny", "c": {"d": [1, "е"]}}) == (
        'a: 1, b: x y, c: {"d":[1,"е"]}')
    long = audit_log.summarise({"reason": "word " * 50})
    assert len(long) == audit_log.DETAILS_MAX and long.endswith("…")


@pytest.mark.parametrize(("lang", "role", "cancel", "unknown", "whom"), [
    ("en", "Changed a role", "Cancelled a class", "membership.transferred", "class #"),
    ("ru", "Смена роли", "Занятие отменено", "membership.transferred", "занятие #"),
])
def test_entries_render_with_readable_actions_in_each_language(db, world, lang, role, cancel,
                                                               unknown, whom):
    tx = Texts(lang)
    page = audit_log.page(db, 0)
    screen = screens.page(tx, page)
    assert role in screen.text and cancel in screen.text
    assert unknown in screen.text  # an action the catalogs do not name: its identifier
    assert f"{whom}{world.cls}" in screen.text
    assert "Boris &lt;b&gt;" in screen.text and "<b>Boris" not in screen.text
    assert "data: qx:members, what: report.export" in screen.text  # jsonb orders keys
    assert screens.action_name(tx, "<script>") == "&lt;script&gt;"
    labels = [b.text for row in screen.markup.keyboard for b in row]
    assert labels == [tx("aud_filter"), tx("staff_back")]


# Written with no actor (scheduled jobs, erasure): never on the staff pages.
SYSTEM_ACTIONS = {"waitlist.offered", "waitlist.expired", "member.erased",
                  "membership.freeze_started"}


def test_every_staff_action_the_code_records_has_a_name_in_both_languages():
    """A new staff action gets a readable name in the catalogs (else /audit shows its
    identifier)."""
    src = Path(__file__).resolve().parents[2] / "src" / "fitclub"
    recorded = set()
    for path in src.rglob("*.py"):
        recorded |= set(re.findall(r'\brecord\([^;]*?\baction="([a-z_.]+)"',
                                   path.read_text()))
    staff = recorded - set(audit_log.MEMBER_ACTIONS) - SYSTEM_ACTIONS
    assert {"denied", "report.export", "role.changed"} <= staff
    for lang in ("en", "ru"):
        unnamed = sorted(a for a in staff
                         if screens.action_name(Texts(lang), a) == a)
        assert unnamed == [], lang
