"""The pool's statement timeout without session state: direct and through PgBouncer, whether
the server's default timeout is the pool's (nothing sent) or not (SET LOCAL per transaction;
in run_alone's autocommit, SET LOCAL in the same string as each statement)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest
from psycopg2 import sql

from fitclub.db.pool import Pool
from tests.pgbouncer import PgBouncer, missing_reason

WANTED_MS = 700
IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


def _sleep(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(5)")


def _set_default(db_url: str, setting: str) -> None:
    """ALTER DATABASE ... SET statement_timeout: the default of every new server connection."""
    dbname = db_url.rsplit("/", 1)[1]
    conn = psycopg2.connect(db_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("ALTER DATABASE {} SET statement_timeout = {}").format(
                sql.Identifier(dbname), sql.Literal(setting)))
    finally:
        conn.close()


@pytest.fixture
def bouncer(pg_server) -> Iterator[PgBouncer]:
    """A PgBouncer of one server connection per pool: every client shares it."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    if pg_server.dev is None:
        pytest.skip("PgBouncer tests need the throwaway server (TEST_DATABASE_URL is set)")
    with PgBouncer(pg_server.dev, pool_size=1) as running:
        yield running


@pytest.fixture(params=["direct", "pgbouncer"])
def route(request) -> PgBouncer | None:
    """None for a direct connection, else the PgBouncer to go through."""
    return None if request.param == "direct" else request.getfixturevalue("bouncer")


def _pool_url(db_url: str, bouncer: PgBouncer | None) -> str:
    return db_url if bouncer is None else bouncer.url(db_url.rsplit("/", 1)[1])


@pytest.mark.parametrize("default", [f"{WANTED_MS}ms", "0", "20s"],
                         ids=["default-equal", "default-none", "default-longer"])
@pytest.mark.parametrize("way", ["run", "run_alone"])
def test_a_statement_over_the_timeout_is_cancelled(db_url, route, default, way):
    _set_default(db_url, default)
    pool = Pool(_pool_url(db_url, route), minconn=1, maxconn=2, statement_timeout_ms=WANTED_MS)
    try:
        started = time.monotonic()
        with pytest.raises(psycopg2.errors.QueryCanceled):
            getattr(pool, way)(_sleep, attempts=1)
        assert time.monotonic() - started < 3.0
        # The cancelled statement did not break the connection, which is kept.
        assert pool.stats().discarded == 0
        assert pool.run(lambda conn: 1) == 1
    finally:
        pool.close()


@pytest.mark.parametrize(("default", "sends_set"), [(f"{WANTED_MS}ms", False), ("0", True)],
                         ids=["default-equal", "default-none"])
def test_set_local_is_sent_only_when_the_default_differs(db_url, route, default, sends_set):
    _set_default(db_url, default)
    pool = Pool(_pool_url(db_url, route), minconn=1, maxconn=1, statement_timeout_ms=WANTED_MS)
    try:
        with pool.transaction() as conn:
            # Before the caller's first statement: a transaction is open only if SET LOCAL ran.
            assert (conn.info.transaction_status != IDLE) is sends_set
            with conn.cursor() as cur:
                cur.execute("SELECT setting::integer FROM pg_settings "
                            "WHERE name = 'statement_timeout'")
                assert cur.fetchone()[0] == WANTED_MS
        # run_alone saves BEGIN and COMMIT either way: its statement carries the SET LOCAL in
        # the same string (one round trip), only when it is needed.
        sent, autocommit, timeout = pool.run_alone(_setting_in_one_string)
        assert autocommit is True
        assert timeout == WANTED_MS
        assert sent.startswith(f"SET LOCAL statement_timeout = {WANTED_MS}; SELECT") is \
            sends_set
        assert sent.startswith("SELECT") is not sends_set
    finally:
        pool.close()


def _setting_in_one_string(conn) -> tuple[str, bool, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT setting::integer FROM pg_settings WHERE name = %(name)s",
                    {"name": "statement_timeout"})
        return cur.query.decode(), conn.autocommit, cur.fetchone()[0]


@pytest.mark.parametrize("statement", ["composed", "bytes", "executemany"])
def test_run_alone_times_out_every_form_of_statement(db_url, statement):
    """psycopg2.sql objects, bytes (execute_values sends those) and executemany get the
    timeout too."""
    _set_default(db_url, "0")
    pool = Pool(db_url, minconn=1, maxconn=1, statement_timeout_ms=WANTED_MS)

    def sleep(conn):
        with conn.cursor() as cur:
            if statement == "composed":
                cur.execute(sql.SQL("SELECT pg_sleep({})").format(sql.Literal(5)))
            elif statement == "bytes":
                cur.execute(b"SELECT pg_sleep(5)")
            else:
                cur.executemany("SELECT pg_sleep(%s)", [(0,), (5,)])

    try:
        started = time.monotonic()
        with pytest.raises(psycopg2.errors.QueryCanceled):
            pool.run_alone(sleep, attempts=1)
        assert time.monotonic() - started < 3.0
    finally:
        pool.close()


@pytest.mark.parametrize("cursor", ["cursor_factory", "named"])
def test_run_alone_refuses_a_cursor_that_would_skip_the_timeout(db_url, cursor):
    _set_default(db_url, "0")
    pool = Pool(db_url, minconn=1, maxconn=1, statement_timeout_ms=WANTED_MS)

    def other_cursor(conn):
        if cursor == "named":
            return conn.cursor(name="c")
        return conn.cursor(cursor_factory=psycopg2.extensions.cursor)

    try:
        with pytest.raises(psycopg2.ProgrammingError, match="pool's own cursors"):
            pool.run_alone(other_cursor, attempts=1)
        # Outside run_alone (and in it with the default equal), any cursor goes.
        assert pool.run(lambda conn: other_cursor(conn).close()) is None
    finally:
        pool.close()


@pytest.mark.parametrize("way", ["run", "run_alone"])
def test_the_timeout_does_not_outlive_its_transaction_on_a_shared_server(db_url, bouncer, way):
    """Through PgBouncer the next client gets the same server connection: it must find the
    server's default, not the pool's timeout."""
    _set_default(db_url, "0")
    dbname = db_url.rsplit("/", 1)[1]
    url = bouncer.url(dbname)
    pool = Pool(url, minconn=1, maxconn=1, statement_timeout_ms=WANTED_MS)
    try:
        with pytest.raises(psycopg2.errors.QueryCanceled):
            getattr(pool, way)(_sleep, attempts=1)
        assert pool.run_alone(_setting_in_one_string)[2] == WANTED_MS
    finally:
        pool.close()
    other = psycopg2.connect(url)
    try:
        with other.cursor() as cur:
            cur.execute("SELECT current_setting('statement_timeout')")
            setting = cur.fetchone()[0]
        other.rollback()
    finally:
        other.close()
    assert setting == "0"
    servers = [p["sv_idle"] + p["sv_used"] + p["sv_active"] for p in bouncer.pools(dbname)]
    assert servers == [1]  # one server connection served both clients


def test_a_negative_timeout_is_refused(db_url):
    with pytest.raises(ValueError, match="statement_timeout_ms"):
        Pool(db_url, minconn=1, maxconn=1, statement_timeout_ms=-1)


def test_a_changed_default_reaches_new_pools_through_pgbouncer_after_reconnect(db_url,
                                                                              bouncer):
    """What the operations guide says to do after ALTER ROLE / ALTER DATABASE: PgBouncer's
    server connection keeps the old default (a pool made then would read it and skip SET
    LOCAL) until RECONNECT; a pool made after that reads the new one."""
    _set_default(db_url, "0")
    dbname = db_url.rsplit("/", 1)[1]
    url = bouncer.url(dbname)

    def read_default() -> bool:
        pool = Pool(url, minconn=1, maxconn=1, statement_timeout_ms=WANTED_MS)
        try:
            return pool.run(pool.needs_timeout)
        finally:
            pool.close()

    assert read_default() is True  # the server connection is made, with no default
    _set_default(db_url, f"{WANTED_MS}ms")
    assert read_default() is True  # the same server connection: the old default still
    bouncer.command("RECONNECT")
    assert read_default() is False  # a new server connection: the new default
