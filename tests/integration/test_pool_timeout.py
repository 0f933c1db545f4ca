"""The pool's statement timeout without session state: direct and through PgBouncer, whether
the server's default timeout is the pool's (nothing sent) or not (SET LOCAL per transaction)."""

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
        # run_alone saves BEGIN and COMMIT only when no SET LOCAL is needed.
        assert pool.run_alone(lambda conn: conn.autocommit) is not sends_set
    finally:
        pool.close()


def test_the_timeout_does_not_outlive_its_transaction_on_a_shared_server(db_url, bouncer):
    """Through PgBouncer the next client gets the same server connection: it must find the
    server's default, not the pool's timeout."""
    _set_default(db_url, "0")
    dbname = db_url.rsplit("/", 1)[1]
    url = bouncer.url(dbname)
    pool = Pool(url, minconn=1, maxconn=1, statement_timeout_ms=WANTED_MS)
    try:
        with pytest.raises(psycopg2.errors.QueryCanceled):
            pool.run(_sleep, attempts=1)
        assert pool.run(lambda conn: 1) == 1
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
