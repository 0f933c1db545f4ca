"""Backup and restore as docs/deployment.md tells it: `pg_dump -Fc` of the bot's database as
its owner role, `pg_restore` into a fresh database on a fresh server prepared with
deploy/roles.sql, and the bot, logged in as its own role, answers a member with the restored
data."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres, find_bindir
from tests import factories
from tests.e2e.harness import ROOT, query
from tests.e2e.session import Person, buttons


def pg_tool(dev: DevPostgres | None, name: str, *args: str) -> subprocess.CompletedProcess:
    """pg_dump or pg_restore of the server's own version (a dump is read by the same
    major version or a newer one); None: of the binaries the test servers run."""
    bindir = dev.bindir if dev else find_bindir()
    return subprocess.run([str(bindir / name), *args], capture_output=True, text=True,
                          timeout=300, check=False)


ROLES_SQL = ROOT / "deploy" / "roles.sql"


def as_role(url: str, role: str) -> str:
    """The same database, logged in as another role (the test servers trust 127.0.0.1)."""
    return url.replace("postgresql://fitclub@", f"postgresql://{role}@", 1)


def prepared_database(dev: DevPostgres) -> str:
    """A new database `fitclub` with the deployment's roles, as the superuser sets it up."""
    url = dev.create_database("fitclub")
    query(url, ROLES_SQL.read_text())
    return url


def club(db_url: str, telegram_id: int) -> dict[str, int]:
    """A plan, a trainer, Anna (telegram_id) with a membership and a booking on Yoga in two
    days, and twenty other members; the ids."""
    factories.plan(db_url)
    trainer = factories.member(db_url, 1, "Tina", role="trainer", registered=False)
    anna = factories.member(db_url, telegram_id, "Anna", reminders_enabled=False)
    membership = factories.membership(db_url, anna, starts_on=-1, visits_left=8)
    factories.class_type(db_url, "Yoga")
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    yoga = factories.class_(db_url, trainer, starts)
    factories.booking(db_url, yoga, anna, membership_id=membership, visit_reserved=True)
    query(db_url, "UPDATE classes SET booked_count = 1")
    factories.members(db_url, [{"telegram_id": 900_000 + n, "first_name": f"M{n}"}
                               for n in range(20)])
    return {"anna": anna, "yoga": yoga}


TABLES = ("members", "memberships", "classes", "bookings", "membership_plans", "schema_migrations")


def counts(db_url: str) -> dict[str, int]:
    return {t: query(db_url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def test_a_restored_dump_serves_members_on_a_fresh_server(emu, launcher, tmp_path: Path):
    anna = Person(emu, "Anna")
    dump = tmp_path / "fitclub.dump"
    with DevPostgres() as old:
        source = as_role(prepared_database(old), "fitclub_owner")
        Migrator(source).migrate()
        ids = club(source, anna.id)
        before = counts(source)
        done = pg_tool(old, "pg_dump", "--format=custom", f"--file={dump}", source)
        assert done.returncode == 0, done.stderr
    # The old server and its files are gone; only the dump is left.
    assert dump.stat().st_size > 0

    with DevPostgres() as new:
        target = as_role(prepared_database(new), "fitclub_owner")
        done = pg_tool(new, "pg_restore", "--exit-on-error", "--single-transaction",
                       "--no-owner", f"--dbname={target}", str(dump))
        assert done.returncode == 0, done.stderr
        assert counts(target) == before
        assert Migrator(target).status()[1] == [], "the restored schema has pending migrations"
        assert query(target, "SELECT DISTINCT tableowner FROM pg_tables"
                             " WHERE schemaname = 'public'") == [("fitclub_owner",)]

        launcher.start(as_role(target, "fitclub_bot"))
        (mine,) = anna.send("/bookings")
        assert "My bookings" in mine["text"]
        assert any("Yoga" in label for row in buttons(mine) for label in row)
        # Sequences were restored too: someone new gets an id after the restored ones.
        newcomer = Person(emu, "Nina")
        (ask,) = newcomer.send("/start")
        assert "What's your name?" in ask["text"]
        newcomer.send("Nina")
        newcomer.share_contact()
        (nina,) = query(target, "SELECT id FROM members WHERE telegram_id = %s",
                        (newcomer.id,))
        assert nina[0] > ids["anna"]


def test_a_damaged_dump_restores_nothing(db_url: str, empty_db_url: str, tmp_path: Path):
    """--single-transaction with --exit-on-error: a dump cut short leaves the new database
    empty rather than half restored."""
    dump = tmp_path / "fitclub.dump"
    factories.members(db_url, [{"telegram_id": 800_000 + n} for n in range(50)])
    done = pg_tool(None, "pg_dump", "--format=custom", f"--file={dump}", db_url)
    assert done.returncode == 0, done.stderr
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) * 2 // 3])

    done = pg_tool(None, "pg_restore", "--exit-on-error", "--single-transaction",
                   f"--dbname={empty_db_url}", str(dump))
    assert done.returncode != 0
    assert query(empty_db_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") \
        == [(0,)]


@pytest.mark.parametrize("bad", [b"", b"PGDMP not really a dump"])
def test_pg_restore_refuses_what_is_not_a_dump(empty_db_url: str, tmp_path: Path, bad: bytes):
    dump = tmp_path / "bad.dump"
    dump.write_bytes(bad)
    done = pg_tool(None, "pg_restore", "--exit-on-error", "--single-transaction",
                   f"--dbname={empty_db_url}", str(dump))
    assert done.returncode != 0 and done.stderr
