"""The audit log as admins read it: only staff actions, newest first, paged, by or on one
member (through each kind of thing an entry can name), with the names each entry is shown by
(the class, plan, class type and trainer it names), and each entry as a sentence in the admin's
language: no field names, ids or raw values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
        self.plan = factories.plan(db, "Month", price_minor=5000, duration_days=30,
                                   visit_count=None)
        self.membership = factories.membership(db, self.anna, self.plan, starts_on=0,
                                               ends_on=30, visits_left=None)
        self.kind = factories.class_type(db, "Yoga", default_duration_minutes=60,
                                         default_capacity=10)
        self.starts = T0 + timedelta(days=1)
        self.cls = factories.class_(db, self.tom, self.starts, class_type_id=self.kind,
                                    duration_minutes=60, capacity=10)
        self.booking = factories.booking(db, self.cls, self.anna)
        self.visit = factories.visit(db, self.anna, method="code", class_id=self.cls)
        self.request = self.one("INSERT INTO plan_requests (member_id, plan_id) VALUES (%s, %s)"
                                " RETURNING id", (self.boris, self.plan))

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
        # Staff actions, with details as the code writes them.
        "role": w.log(w.ada, "role.changed", "member", w.anna, **{"from": "member",
                                                                  "to": "trainer"}),
        "checkin": w.log(w.tom, "checkin", "visit", w.visit, member_id=w.anna, method="code",
                         class_id=None, booking_id=None, visits_left=None),
        "cancel": w.log(w.ada, "class.cancelled", "class", w.cls,
                        starts_at=w.starts.isoformat(), booked=1, waitlisted=0, checked_in=0,
                        visits_returned=1, offers_withdrawn=0),
        "attended": w.log(w.tom, "attendance.attended", "booking", w.booking,
                          class_id=w.cls, member_id=w.anna, **{"from": "booked"}),
        "note": w.log(w.tom, "class.note", "class", w.cls, member_id=w.boris),
        "denied": w.log(w.boris, "denied", "staff_action", what="report.export",
                        role="member", telegram_id=4, data="qx:members"),
        "grant": w.log(w.ada, "membership.transferred", "membership", w.membership),
        "request": w.log(w.ada, "plan_request.granted", "plan_request", w.request,
                         membership_id=w.membership),
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


def test_each_entry_comes_with_the_names_it_names(db, world):
    """The class of a booking, a visit or a class; the plan of a membership or a plan
    request; the class type and trainer a scheduled class's details name."""
    scheduled = world.log(world.ada, "class.scheduled", "class", world.cls, type_id=world.kind,
                          trainer_id=world.tom, starts_at=world.starts.isoformat())
    named = {e.id: (e.class_name, e.class_starts_at, e.plan_name, e.type_name, e.trainer_name)
             for e in audit_log.page(db, 0).entries}
    at = world.starts
    assert named[world.ids["attended"]] == ("Yoga", at, None, None, None)
    assert named[world.ids["checkin"]] == ("Yoga", at, None, None, None)
    assert named[world.ids["cancel"]] == ("Yoga", at, None, None, None)
    assert named[world.ids["grant"]] == (None, None, "Month", None, None)
    assert named[world.ids["request"]] == (None, None, "Month", None, None)
    assert named[world.ids["role"]] == (None, None, None, None, None)
    assert named[scheduled] == ("Yoga", at, None, "Yoga", "Tom")


@pytest.mark.parametrize(("lang", "lines"), [
    ("en", ["Ada Admin granted Boris &lt;b&gt;'s request for the plan Month",
            "Ada Admin: membership.transferred",
            "⛔ Refused: Boris &lt;b&gt; (member) tried to use reports",
            "Tom: class.note",
            "Tom marked Анна Петрова attended at Yoga on Wed 11 Mar, 09:00",
            "Ada Admin cancelled Yoga on Wed 11 Mar, 09:00 · 1 booked · 1 visit returned",
            "Tom checked in Анна Петрова by 6-digit code · for Yoga on Wed 11 Mar, 09:00",
            "Ada Admin changed the role of Анна Петрова · member → trainer"]),
    ("ru", ["Ada Admin: одобрена заявка на тариф «Month» — Boris &lt;b&gt;",
            "Ada Admin: membership.transferred",
            "⛔ Отказано: Boris &lt;b&gt; (участник) — отчёты",
            "Tom: class.note",
            "Tom: отмечена явка (занятие «Yoga», ср 11 мар., 09:00) — Анна Петрова",
            "Ada Admin: отменено занятие «Yoga», ср 11 мар., 09:00 · было записано: 1 · "
            "возвращено посещений: 1",
            "Tom: отмечен приход по 6-значному коду — Анна Петрова · на занятие «Yoga», "
            "ср 11 мар., 09:00",
            "Ada Admin: изменена роль — Анна Петрова · участник → тренер"]),
])
def test_entries_are_sentences_in_the_admins_language(db, world, lang, lines):
    """Each entry: when (bold), then what happened in words; nothing raw (the visit's class
    is found through the visit, its unlimited balance, None, left out)."""
    tx = Texts(lang)
    screen = screens.page(tx, audit_log.page(db, 0))
    blocks = [b.split("\n") for b in screen.text.split("\n\n")[1:]]
    assert [b[1] for b in blocks] == lines
    assert all(len(b) == 2 and b[0].startswith("<b>") for b in blocks)
    for raw in ("None", "True", "class_id", "telegram_id", "what:", "qx:members", "#"):
        assert raw not in screen.text
    labels = [b.text for row in screen.markup.keyboard for b in row]
    assert labels == [tx("aud_filter"), tx("staff_back")]
