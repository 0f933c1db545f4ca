"""Migrations: order, bookkeeping, refusal of edited files, concurrency, the command line."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from fitclub.db.migrate import (
    EXIT_UNREACHABLE,
    SQL_DIR,
    MigrationError,
    Migrator,
    discover,
    refused_for_now,
    split_statements,
)
from fitclub.devdb import DevPostgres, free_port
from tests.e2e.harness import wait_until
from tests.helpers import query as _query

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_TABLES = {
    "schema_migrations", "members", "membership_plans", "memberships", "membership_freezes",
    "class_types", "classes", "bookings", "visits", "audit_log",
}


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    """A private copy of sql/ that a test may add to or edit."""
    dest = tmp_path / "sql"
    shutil.copytree(SQL_DIR, dest)
    return dest


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env["DATABASE_URL"] = url
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), "migrate", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_all_migrations_apply_to_an_empty_database_and_a_second_run_does_nothing(empty_db_url):
    files = discover()
    first = Migrator(empty_db_url).migrate()
    assert [m.name for m in first] == [f.name for f in files]
    assert Migrator(empty_db_url).migrate() == []
    recorded = _query(empty_db_url, "SELECT name, sha256 FROM schema_migrations ORDER BY name")
    assert recorded == [(f.name, f.sha256) for f in files]


def test_schema_has_the_expected_tables(db_url):
    tables = {r[0] for r in _query(
        db_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables >= EXPECTED_TABLES


@pytest.mark.parametrize("table, kind", [
    ("bookings", "u"), ("bookings", "f"), ("classes", "c"), ("memberships", "c"),
    ("memberships", "f"), ("members", "u"), ("visits", "f"),
])
def test_schema_has_constraints(db_url, table, kind):
    rows = _query(db_url, "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                  "AND contype = %s", (table, kind))
    assert rows, f"{table} has no constraint of kind {kind}"


def test_indexes_from_the_index_file_exist_and_are_valid(db_url):
    index_file = next(m for m in discover() if not m.transactional)
    names = re.findall(r"CREATE INDEX CONCURRENTLY IF NOT EXISTS (\w+)", index_file.sql, re.I)
    assert names
    rows = dict(_query(db_url, "SELECT c.relname, i.indisvalid FROM pg_index i "
                       "JOIN pg_class c ON c.oid = i.indexrelid"))
    for name in names:
        assert rows.get(name) is True, f"index {name} missing or invalid"


def test_edited_applied_file_is_refused_by_name(empty_db_url, sql_copy):
    Migrator(empty_db_url, sql_copy).migrate()
    first = sorted(sql_copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationError, match=f"{first.name} was edited after it was applied"):
        Migrator(empty_db_url, sql_copy).migrate()
    with pytest.raises(MigrationError, match=first.name):
        Migrator(empty_db_url, sql_copy).status()


def test_failed_file_rolls_back_entirely_and_is_not_recorded(empty_db_url, sql_copy):
    (sql_copy / "9000_broken.sql").write_text(
        "CREATE TABLE half_done (x int);\nSELECT * FROM no_such_table;\n")
    with pytest.raises(MigrationError, match=r"9000_broken\.sql failed: .*no_such_table"):
        Migrator(empty_db_url, sql_copy).migrate()
    names = [r[0] for r in _query(empty_db_url, "SELECT name FROM schema_migrations")]
    assert "9000_broken.sql" not in names
    assert len(names) == len(discover())
    assert _query(empty_db_url, "SELECT to_regclass('half_done')") == [(None,)]


def test_no_transaction_file_runs_concurrent_index_builds(empty_db_url, sql_copy):
    (sql_copy / "9001_table.sql").write_text("CREATE TABLE widgets (id int, name text);\n")
    (sql_copy / "9002_index.sql").write_text(
        "-- migrate: no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_name ON widgets (name);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_id ON widgets (id);\n")
    applied = Migrator(empty_db_url, sql_copy).migrate()
    assert [m.transactional for m in applied][-1] is False
    rows = _query(empty_db_url, "SELECT count(*) FROM pg_indexes WHERE tablename = 'widgets'")
    assert rows == [(2,)]


def test_a_migration_outlasts_the_bots_statement_timeout(empty_db_url, sql_copy):
    """The single-server install sets the database's statement_timeout to the bot's (15 s);
    migrate, on the same database and role, is not cut off by it."""
    dbname = empty_db_url.rsplit("/", 1)[1]
    _query(empty_db_url, f"ALTER DATABASE {dbname} SET statement_timeout = '200ms'")
    (sql_copy / "9000_slow.sql").write_text("SELECT pg_sleep(0.6);\n")
    (sql_copy / "9001_slow_index.sql").write_text(
        "-- migrate: no-transaction\nSELECT pg_sleep(0.6);\n")
    applied = Migrator(empty_db_url, sql_copy).migrate()
    assert [m.name for m in applied][-2:] == ["9000_slow.sql", "9001_slow_index.sql"]
    # The default stays what the bot reads.
    assert _query(empty_db_url, "SHOW statement_timeout") == [("200ms",)]


def test_two_migrators_at_once_apply_each_file_exactly_once(empty_db_url, sql_copy):
    # A slow file keeps the first migrator busy while the second one arrives.
    (sql_copy / "9000_slow.sql").write_text(
        "SELECT pg_sleep(1);\nCREATE TABLE once_only (x int);\n")
    results: list = [None, None]

    def go(i: int) -> None:
        try:
            results[i] = Migrator(empty_db_url, sql_copy).migrate()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, list) for r in results), results
    applied = sorted(m.name for r in results for m in r)
    assert applied == sorted(m.name for m in discover(sql_copy))
    counts = _query(empty_db_url, "SELECT name, count(*) FROM schema_migrations GROUP BY name "
                    "HAVING count(*) > 1")
    assert counts == []


def test_cli_status_dry_run_and_apply(empty_db_url):
    names = [m.name for m in discover()]
    status = _cli(empty_db_url, "--status")
    assert status.returncode == 0, status.stderr
    assert [ln.split()[1] for ln in status.stdout.splitlines() if ln.startswith("pending")] == names

    dry = _cli(empty_db_url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [ln.split()[2] for ln in dry.stdout.splitlines()] == names
    assert _query(empty_db_url, "SELECT to_regclass('members')") == [(None,)]

    run = _cli(empty_db_url)
    assert run.returncode == 0, run.stderr
    assert [ln.split()[1] for ln in run.stdout.splitlines()] == names

    after = _cli(empty_db_url, "--status")
    assert "up to date" in after.stdout
    assert [ln.split()[1] for ln in after.stdout.splitlines() if ln.startswith("applied")] == names


def test_cli_refused_for_good_fails_at_once_in_one_line(pg_server):
    """No such database: waiting would not help, so migrate does not wait."""
    started = time.monotonic()
    res = _cli(pg_server.url("no_such_database_here"))
    assert time.monotonic() - started < 20
    assert res.returncode == 1
    assert res.stderr.startswith("migrate: the database refused the connection")
    assert "does not exist" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_migrate_started_before_the_database_waits_for_it_and_applies_everything(tmp_path):
    """At boot the database may come up after fitclub-migrate starts: migrate logs one line per
    retry while nothing listens, then applies every file once the server starts, and exits 0."""
    server = DevPostgres()  # initdb'd, not started: nothing listens on its port yet
    log = tmp_path / "migrate.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_",
                                                                   "MIGRATE_"))}
    env["DATABASE_URL"] = server.url()
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "migrate"],
                                    stdout=out, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL)
        try:
            def retried() -> bool:
                assert proc.poll() is None, f"migrate exited {proc.returncode}: {log.read_text()}"
                return log.read_text().count("database not reachable yet") >= 2

            wait_until(retried, 30, "migrate to retry twice")
            server.start()
            assert proc.wait(60) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        retries = [ln for ln in log.read_text().splitlines() if "not reachable yet" in ln]
        assert all("Connection refused" in ln and "up to 60s" in ln for ln in retries), retries
        recorded = _query(server.url(), "SELECT name FROM schema_migrations ORDER BY name")
        assert [r[0] for r in recorded] == [m.name for m in discover()]
    finally:
        server.destroy()


def test_migrator_gives_up_after_its_wait_with_a_line_per_retry(caplog):
    nowhere = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="fitclub.db.migrate"), \
            pytest.raises(psycopg2.OperationalError, match="Connection refused"):
        Migrator(nowhere, connect_wait=1.5).migrate()
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 15
    retries = [r.getMessage() for r in caplog.records if "not reachable yet" in r.getMessage()]
    assert len(retries) >= 2, retries


def test_cli_exits_75_when_the_database_stays_away(tmp_path):
    """The status fitclub-migrate.service runs migrate again on (its Restart=on-failure
    spares 1 and 2), after the retry lines, with one line of its own at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_",
                                                                   "MIGRATE_"))}
    env["DATABASE_URL"] = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    env["PYTHONPATH"] = str(ROOT / "src")
    # The real command with a 1.5 s wait instead of 60 s.
    code = ("import sys, fitclub.db.migrate as m; m.CONNECT_WAIT = 1.5; "
            "from fitclub.cli import main; sys.exit(main(['migrate']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60, check=False, cwd=tmp_path)
    assert res.returncode == EXIT_UNREACHABLE == 75
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("migrate: cannot reach the database (waited 1.5s): ")
    assert len(lines) >= 2 and all("not reachable yet" in ln for ln in lines[:-1]), lines


@pytest.mark.parametrize(("message", "passing"), [
    ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', True),
    ('could not translate host name "db" to address: Name or service not known', True),
    ("connection to server at \"db\", port 5432 failed: FATAL:  the database system is "
     "starting up", True),
    ("connection to server at \"db\", port 5432 failed: FATAL:  password authentication "
     "failed for user \"fitclub_owner\"", False),
    ("connection to server at \"db\", port 5432 failed: FATAL:  no pg_hba.conf entry", False),
])
def test_which_refusals_are_waited_for(message, passing):
    assert refused_for_now(psycopg2.OperationalError(message)) is passing


@pytest.mark.parametrize("name", ["1_short.sql", "0003_Upper.sql", "notes.sql"])
def test_badly_named_file_is_refused(tmp_path, name):
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_description"):
        discover(tmp_path)


def test_two_files_with_one_number_are_refused(tmp_path):
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share the number 0001"):
        discover(tmp_path)


@pytest.mark.parametrize("sql, expected", [
    ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("SELECT ';'; -- a ; comment\nSELECT 2", ["SELECT ';'", "-- a ; comment\nSELECT 2"]),
    ("SELECT $$a;b$$; SELECT $x$;$x$", ["SELECT $$a;b$$", "SELECT $x$;$x$"]),
    ("/* ; */ SELECT \"a;b\";\n-- only a comment;\n", ['/* ; */ SELECT "a;b"']),
    ("SELECT 'it''s; fine'", ["SELECT 'it''s; fine'"]),
])
def test_split_statements(sql, expected):
    assert split_statements(sql) == expected
