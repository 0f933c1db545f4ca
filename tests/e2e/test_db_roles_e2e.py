"""The bot as fitclub_bot (deploy/roles.sql) through PgBouncer in transaction pooling, after
`bot.py migrate` ran as fitclub_owner: a member registers, books, cancels, checks in with her
card and erases her data, and nothing needed more than the role's rows; DDL is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest

from fitclub.locales import Texts
from tests import factories
from tests.db_roles import BOT, DBNAME, RolesDb, set_up
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, button_data, buttons
from tests.pgbouncer import PgBouncer, missing_reason

PHONE = "+15550004417"


@pytest.fixture
def bounced_roles_db(private_pg, tmp_path: Path) -> Iterator[tuple[RolesDb, PgBouncer]]:
    """A database set up with deploy/roles.sql and a PgBouncer in front of its server."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    db = set_up(private_pg, tmp_path)
    with PgBouncer(private_pg, users=[BOT]) as bouncer:
        yield db, bouncer


def _code(message: dict) -> str:
    found = re.search(r"(\d{3}) (\d{3})", message["caption"])
    assert found, message["caption"]
    return found.group(1) + found.group(2)


def test_a_member_journey_as_the_bot_role_through_pgbouncer(emu, launcher, bounced_roles_db):
    db, bouncer = bounced_roles_db
    tx = Texts("en")
    admin = db.admin_url  # the test's own setup and checks, straight to PostgreSQL
    tom, mira = Person(emu, "Tom"), Person(emu, "Mira", phone_number=PHONE)
    tom_id = factories.member(admin, tom.id, "Tom", role="trainer", phone="+15550004401")
    plan_id = factories.plan(admin, "Ten", visit_count=10, duration_days=30)
    factories.class_type(admin, "Yoga")
    class_id = factories.class_(admin, tom_id, timedelta(days=1), capacity=10)
    bot = launcher.start(bouncer.url(DBNAME, user=BOT))

    # She registers.
    mira.send("/start")
    mira.send("Mira Lindqvist")
    mira.share_contact(expect=2)
    ((her_id,),) = query(admin, "SELECT id FROM members WHERE telegram_id = %s", (mira.id,))
    factories.membership(admin, her_id, plan_id, starts_on=-1, visits_left=10)

    # She books, then cancels: the visit comes back.
    (details,) = mira.send(f"/start c_{class_id}")
    assert mira.press(details, "Book")["text"].startswith("Booked")
    assert query(admin, "SELECT visits_left FROM memberships WHERE member_id = %s",
                 (her_id,)) == [(9,)]
    mira.press(mira.now(details["message_id"]), "Cancel my booking")
    question = wait_until(lambda: (m := mira.now(details["message_id"])) and "Yes, cancel" in str(
        buttons(m)) and m, 15, "the question")
    mira.press(question, "Yes, cancel")
    mira.wait_edit(details["message_id"], "cancelled")
    assert query(admin, "SELECT status FROM bookings WHERE member_id = %s", (her_id,)) == [
        ("cancelled",)]

    # Her card checks her in at the trainer's /checkin.
    (card,) = mira.send("/card")
    tom.send("/checkin")
    (done,) = tom.send(_code(card))
    assert "Mira Lindqvist checked in" in done["text"]

    # She erases her data.
    (privacy,) = mira.send("/privacy")
    mira.press(privacy, "🗑")
    confirm = wait_until(lambda: (m := mira.now(privacy["message_id"])) and tx(
        "privacy_confirm_button") in str(buttons(m)) and m, 15, "the question")
    mira.press_data(privacy["message_id"], button_data(confirm, tx("privacy_confirm_button")))
    mira.wait_edit(privacy["message_id"], tx("privacy_deleted")[:20])
    assert query(admin, "SELECT first_name, phone, telegram_id FROM members WHERE id = %s",
                 (her_id,)) == [(None, None, None)]
    assert query(admin, "SELECT count(*) FROM visits WHERE member_id = %s", (her_id,)) == [(1,)]

    # All of it went through PgBouncer, as fitclub_bot, in transaction pooling, and nothing
    # was refused to the role.
    (pool,) = bouncer.pools(DBNAME)
    assert (pool["user"], pool["pool_mode"]) == (BOT, "transaction")
    clients = [c for c in bouncer.show("CLIENTS") if c["database"] == DBNAME]
    assert {c["user"] for c in clients} == {BOT} and len(clients) >= 2
    assert bot.alive()
    log = bot.log_text()
    assert "permission denied" not in log and "InsufficientPrivilege" not in log
    assert "unsupported startup parameter" not in log


@pytest.mark.parametrize("statement", [
    "CREATE TABLE intruder (id int)",
    "ALTER TABLE members ADD COLUMN extra text",
    "DROP TABLE inbox",
    "TRUNCATE outbox",
])
def test_ddl_through_pgbouncer_is_refused_to_the_bot_role(bounced_roles_db, statement):
    _db, bouncer = bounced_roles_db
    conn = psycopg2.connect(bouncer.url(DBNAME, user=BOT))
    try:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()
