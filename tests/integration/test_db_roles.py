"""deploy/roles.sql: the owner migrates, the bot's role reads and writes rows and nothing more,
later migrations are covered, and the role's statement timeout is the bot's."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest

from fitclub.config import Settings
from fitclub.db.migrate import SQL_DIR, Migrator, discover
from fitclub.db.pool import Pool
from tests.db_roles import (
    BOT,
    DBNAME,
    OWNER,
    ROLES_SQL,
    RolesDb,
    cli_migrate,
    run_roles_sql,
    set_up,
)
from tests.helpers import query


@pytest.fixture
def roles_db(private_pg, tmp_path: Path) -> Iterator[RolesDb]:
    yield set_up(private_pg, tmp_path)


def _as(url: str, statement: str) -> None:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_migrate_goes_to_migrate_database_url_and_the_owner_owns_everything(roles_db):
    applied = query(roles_db.admin_url, "SELECT name FROM schema_migrations ORDER BY name")
    assert [name for (name,) in applied] == [m.name for m in discover()]
    owners = query(roles_db.admin_url,
                   "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
                   " JOIN pg_namespace n ON n.oid = c.relnamespace"
                   " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'i')")
    assert owners == [(OWNER,)]


def test_migrate_without_any_database_url_is_a_config_error(tmp_path):
    done = cli_migrate(tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("config error: DATABASE_URL is not set (nor "
                                  "MIGRATE_DATABASE_URL)")


def test_migrate_falls_back_to_database_url(empty_db_url, tmp_path):
    done = cli_migrate(tmp_path, DATABASE_URL=empty_db_url)
    assert done.returncode == 0, done.stderr
    assert query(empty_db_url, "SELECT count(*) FROM schema_migrations") == [(len(discover()),)]


def test_the_bot_role_may_use_every_table_sequence_and_function(roles_db):
    tables = query(roles_db.admin_url, f"""
        SELECT c.relname,
               has_table_privilege('{BOT}', c.oid, 'SELECT, INSERT, UPDATE, DELETE'),
               has_table_privilege('{BOT}', c.oid, 'TRUNCATE'),
               has_table_privilege('{BOT}', c.oid, 'REFERENCES'),
               has_table_privilege('{BOT}', c.oid, 'TRIGGER')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'""")
    assert len(tables) >= 10
    assert [t for t in tables if t[1:] != (True, False, False, False)] == []
    sequences = query(roles_db.admin_url, f"""
        SELECT c.relname, has_sequence_privilege('{BOT}', c.oid, 'USAGE, SELECT'),
               has_sequence_privilege('{BOT}', c.oid, 'UPDATE')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'S'""")
    assert sequences and [s for s in sequences if s[1:] != (True, False)] == []
    functions = query(roles_db.admin_url, f"""
        SELECT p.proname, has_function_privilege('{BOT}', p.oid, 'EXECUTE')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'""")
    assert functions and [f for f in functions if not f[1]] == []


@pytest.mark.parametrize("statement", [
    "CREATE TABLE intruder (id int)",
    "CREATE TEMP TABLE scratch (id int)",
    "ALTER TABLE members ADD COLUMN extra text",
    "DROP TABLE outbox",
    "TRUNCATE audit_log",
    "CREATE INDEX members_extra ON members (id)",
    "CREATE FUNCTION nothing() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA side",
])
def test_ddl_is_refused_to_the_bot_role(roles_db, statement):
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _as(roles_db.bot_url, statement)


def test_a_table_of_a_later_migration_is_the_bot_roles_to_use(roles_db, tmp_path):
    later = tmp_path / "sql"
    shutil.copytree(SQL_DIR, later)
    (later / "9999_later_table.sql").write_text(
        "CREATE TABLE later_things (id bigserial PRIMARY KEY, note text);\n"
        "CREATE FUNCTION later_count() RETURNS bigint LANGUAGE sql"
        " AS 'SELECT count(*) FROM later_things';\n")
    assert [m.name for m in Migrator(roles_db.owner_url, later).migrate()] == [
        "9999_later_table.sql"]
    _as(roles_db.bot_url, "INSERT INTO later_things (note) VALUES ('x')")
    _as(roles_db.bot_url, "UPDATE later_things SET note = 'y'")
    assert query(roles_db.bot_url, "SELECT later_count()") == [(1,)]
    _as(roles_db.bot_url, "DELETE FROM later_things")


def test_other_roles_may_not_connect(roles_db):
    _as(roles_db.admin_url, "CREATE ROLE stranger LOGIN")
    stranger = roles_db.bot_url.replace(BOT, "stranger")
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(stranger)


PRIVILEGES = """
    SELECT c.relname, c.relacl::text, pg_get_userbyid(c.relowner)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' ORDER BY 1"""
DEFAULTS = "SELECT defaclobjtype, defaclacl::text FROM pg_default_acl ORDER BY 1"
DATABASE = "SELECT datacl::text FROM pg_database WHERE datname = current_database()"


def test_roles_sql_run_again_changes_nothing(roles_db):
    before = [query(roles_db.admin_url, q) for q in (PRIVILEGES, DEFAULTS, DATABASE)]
    run_roles_sql(roles_db.admin_url)
    assert [query(roles_db.admin_url, q) for q in (PRIVILEGES, DEFAULTS, DATABASE)] == before


def test_a_database_migrated_by_another_role_is_handed_to_the_owner(private_pg, tmp_path):
    """As docs/operations.md says: REASSIGN OWNED BY that role, then roles.sql again."""
    admin_url = private_pg.create_database(DBNAME)
    _as(admin_url, "CREATE ROLE legacy LOGIN; GRANT CREATE ON SCHEMA public TO legacy")
    legacy_url = admin_url.replace("fitclub@", "legacy@", 1)
    Migrator(legacy_url).migrate()
    run_roles_sql(admin_url)
    _as(admin_url, f"REASSIGN OWNED BY legacy TO {OWNER}")
    run_roles_sql(admin_url)
    bot_url = admin_url.replace("fitclub@", f"{BOT}@", 1)
    assert query(bot_url, "SELECT nextval(pg_get_serial_sequence('members', 'id'))") == [(1,)]
    _as(bot_url, "DELETE FROM outbox")
    later = tmp_path / "sql"
    shutil.copytree(SQL_DIR, later)
    (later / "9999_later_table.sql").write_text("CREATE TABLE later_things (id int);\n")
    owner_url = admin_url.replace("fitclub@", f"{OWNER}@", 1)
    assert [m.name for m in Migrator(owner_url, later).migrate()] == ["9999_later_table.sql"]
    _as(bot_url, "INSERT INTO later_things VALUES (1)")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _as(bot_url, "DROP TABLE members")


def test_the_roles_statement_timeout_is_the_bots_so_no_set_local_is_sent(roles_db):
    default_ms = Settings.from_env({}, require=(), dotenv_path=None).db_statement_timeout_ms
    said = re.search(r"ALTER ROLE fitclub_bot SET statement_timeout = '(\d+)s'",
                     ROLES_SQL.read_text())
    assert said and int(said.group(1)) * 1000 == default_ms
    pool = Pool(roles_db.bot_url, minconn=1, maxconn=1, statement_timeout_ms=default_ms)
    try:
        with pool.transaction() as conn:
            assert not pool.needs_timeout(conn)
            with conn.cursor() as cur:
                cur.execute("SHOW statement_timeout")
                assert cur.fetchone()[0] == "15s"
    finally:
        pool.close()
