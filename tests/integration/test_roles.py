"""Role changes (services/roles.py) against a real PostgreSQL: the change and its audit row,
what is refused (one's own admin role, a role changed meanwhile, an actor no longer admin),
and two admins demoting each other at once."""

from __future__ import annotations

import threading
from datetime import date

import psycopg2
import pytest

from fitclub.services import roles
from fitclub.services.roles import Outcome
from tests import factories


def _one(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0] if cur.description else None


@pytest.fixture
def people(db):
    ids = {}
    for tid, name, role in ((1, "Ada", "admin"), (2, "Bea", "admin"), (3, "Anna", "member")):
        ids[name] = factories.member(db, tid, name, phone=f"+4915100000{tid}", role=role)
    db.commit()
    return ids


def _role(db, member_id):
    return _one(db, "SELECT role FROM members WHERE id = %s", (member_id,))


def test_a_change_is_made_and_audited_with_the_old_and_new_role(db, people):
    change = roles.change_role(db, people["Ada"], people["Anna"], "member", "trainer")
    db.commit()
    assert change.outcome is Outcome.CHANGED and change.person.role == "trainer"
    assert (change.old, change.new) == ("member", "trainer")
    assert _role(db, people["Anna"]) == "trainer"
    with db.cursor() as cur:
        cur.execute("SELECT actor_id, action, entity, entity_id, details FROM audit_log")
        assert cur.fetchall() == [(people["Ada"], "role.changed", "member", people["Anna"],
                                   {"from": "member", "to": "trainer"})]


def test_a_role_changed_meanwhile_is_not_overwritten(db, people):
    roles.change_role(db, people["Bea"], people["Anna"], "member", "admin")
    change = roles.change_role(db, people["Ada"], people["Anna"], "member", "trainer")
    assert change.outcome is Outcome.STALE and change.person.role == "admin"
    assert _role(db, people["Anna"]) == "admin"


def test_nobody_removes_their_own_admin_role(db, people):
    for role in ("member", "trainer"):
        assert roles.propose(db, people["Ada"], people["Ada"], role).outcome is Outcome.SELF
        change = roles.change_role(db, people["Ada"], people["Ada"], "admin", role)
        assert change.outcome is Outcome.SELF
    assert _role(db, people["Ada"]) == "admin"
    assert _one(db, "SELECT count(*) FROM audit_log") == 0


def test_an_actor_who_is_no_longer_admin_changes_nothing(db, people):
    _one(db, "UPDATE members SET role = 'trainer' WHERE id = %s", (people["Ada"],))
    change = roles.change_role(db, people["Ada"], people["Anna"], "member", "admin")
    assert change.outcome is Outcome.NOT_ADMIN and _role(db, people["Anna"]) == "member"


def test_gone_people_and_forged_roles_are_stale(db, people):
    assert roles.change_role(db, people["Ada"], 10**12, "member", "admin").outcome \
        is Outcome.STALE
    assert roles.change_role(db, people["Ada"], people["Anna"], "member", "member").outcome \
        is Outcome.STALE
    assert roles.change_role(db, people["Ada"], people["Anna"], "member", "owner").outcome \
        is Outcome.STALE
    _one(db, "UPDATE members SET registered_at = NULL WHERE id = %s", (people["Anna"],))
    assert roles.change_role(db, people["Ada"], people["Anna"], "member", "admin").outcome \
        is Outcome.STALE
    assert roles.card(db, people["Anna"], date.today()) is None
    assert _role(db, people["Anna"]) == "member"


def test_proposals_and_options(db, people):
    ready = roles.propose(db, people["Ada"], people["Anna"], "trainer")
    assert (ready.outcome, ready.old, ready.new) == (Outcome.READY, "member", "trainer")
    assert roles.propose(db, people["Ada"], people["Anna"], "member").outcome is Outcome.STALE
    assert roles.propose(db, people["Ada"], 10**12, "member").person is None
    assert roles.options("member") == ("trainer", "admin")
    assert roles.options("admin") == ("member", "trainer")
    assert _one(db, "SELECT count(*) FROM audit_log") == 0


def test_the_card_shows_the_membership(db, people):
    plan = factories.plan(db, "Ten", price_minor=100, duration_days=30, visit_count=10)
    factories.membership(db, people["Anna"], plan, starts_on=0, ends_on=29, visits_left=7)
    found = roles.card(db, people["Anna"], date.today())
    assert found.person.name == "Anna" and found.membership.visits_left == 7
    assert roles.card(db, people["Bea"], date.today()).membership is None


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db, db_url, people):
    other = psycopg2.connect(db_url)
    try:
        first = roles.change_role(db, people["Ada"], people["Bea"], "admin", "member")
        assert first.outcome is Outcome.CHANGED  # uncommitted: holds both rows
        second: list = []
        demote = threading.Thread(target=lambda: second.append(roles.change_role(
            other, people["Bea"], people["Ada"], "admin", "member")))
        demote.start()
        demote.join(0.5)
        assert demote.is_alive(), "the second change should wait for the first"
        db.commit()
        demote.join(10)
        other.commit()
        assert second[0].outcome is Outcome.NOT_ADMIN
    finally:
        other.close()
    assert _role(db, people["Ada"]) == "admin" and _role(db, people["Bea"]) == "member"
