"""The connection pool: bounded waiting, self-healing, transactions, retries."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg2
import psycopg2.pool
import pytest

from fitclub.db import pool as poolmod
from fitclub.db.pool import Pool, PoolTimeout


def test_200_threads_share_50_connections_without_pool_errors(db_url):
    app = f"pooltest-{uuid.uuid4().hex[:8]}"
    pool = Pool(db_url, minconn=5, maxconn=50, timeout=60, application_name=app)
    errors: list[BaseException] = []
    done = []
    peak = [0]
    stop = threading.Event()
    start = threading.Barrier(201)

    def borrower() -> None:
        start.wait()
        try:
            for _ in range(3):
                with pool.transaction() as conn, conn.cursor() as cur:
                    cur.execute("SELECT pg_sleep(0.02), pg_backend_pid()")
                    cur.fetchone()
            done.append(1)
        except BaseException as exc:
            errors.append(exc)

    def monitor() -> None:
        monitor_conn = psycopg2.connect(db_url)
        monitor_conn.autocommit = True
        try:
            with monitor_conn.cursor() as cur:
                while not stop.is_set():
                    cur.execute("SELECT count(*) FROM pg_stat_activity "
                                "WHERE application_name = %s", (app,))
                    peak[0] = max(peak[0], cur.fetchone()[0])
                    time.sleep(0.005)
        finally:
            monitor_conn.close()

    watcher = threading.Thread(target=monitor)
    watcher.start()
    threads = [threading.Thread(target=borrower) for _ in range(200)]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    pool.close()

    assert errors == []
    assert len(done) == 200
    assert not any(isinstance(e, psycopg2.pool.PoolError) for e in errors)
    assert 40 <= peak[0] <= 50, f"server saw {peak[0]} connections at peak"


def test_borrower_waits_then_gets_a_clear_timeout(db_url):
    pool = Pool(db_url, minconn=1, maxconn=2, timeout=0.3)
    with pool.connection(), pool.connection():
        started = time.monotonic()
        with pytest.raises(PoolTimeout, match=r"no database connection came free within 0\.3s"), \
                pool.connection():
            pass
        assert time.monotonic() - started >= 0.29
    assert pool.stats().in_use == 0
    pool.close()


def test_waiting_borrower_gets_connection_when_one_returns(db_url):
    pool = Pool(db_url, minconn=1, maxconn=1, timeout=5)
    got = threading.Event()

    def waiter() -> None:
        with pool.connection():
            got.set()

    with pool.connection():
        t = threading.Thread(target=waiter)
        t.start()
        deadline = time.monotonic() + 2
        while pool.stats().waiting != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.stats().waiting == 1
        assert not got.is_set()
    t.join(5)
    assert got.is_set()
    assert pool.stats().waiting == 0
    pool.close()


def test_idle_connections_survive_a_server_restart(private_pg):
    pool = Pool(private_pg.url(), minconn=5, maxconn=10, timeout=5)
    held = [pool._borrow() for _ in range(5)]
    for conn in held:
        pool._give_back(conn, broken=False)
    assert pool.stats().idle >= 5

    private_pg.restart()

    for _ in range(10):
        with pool.transaction() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    assert pool.stats().discarded >= 5
    pool.close()


def test_connection_killed_in_use_is_discarded_not_reused(db_url):
    pool = Pool(db_url, minconn=1, maxconn=1, timeout=2)
    with pytest.raises(psycopg2.OperationalError), pool.connection() as conn, \
            conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert pool.stats().discarded == 1
    with pool.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT 42")
        assert cur.fetchone() == (42,)
    pool.close()


def test_transaction_commits_on_success_and_rolls_back_on_error(db_url):
    pool = Pool(db_url, minconn=1, maxconn=2)
    with pool.transaction() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (x int)")
        cur.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError), pool.transaction() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO t VALUES (2)")
        _ = 1 / 0
    with pool.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT array_agg(x) FROM t")
        assert cur.fetchone() == ([1],)
    assert pool.stats().in_use == 0
    pool.close()


def test_run_retries_a_transaction_whose_connection_died(db_url):
    pool = Pool(db_url, minconn=1, maxconn=2)
    calls = []

    def work(conn):
        calls.append(1)
        with conn.cursor() as cur:
            if len(calls) == 1:
                cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            cur.execute("SELECT 7")
            return cur.fetchone()[0]

    assert pool.run(work) == 7
    assert len(calls) == 2
    pool.close()


def test_run_does_not_retry_a_programming_error(db_url):
    pool = Pool(db_url, minconn=1, maxconn=2)
    calls = []

    def work(conn):
        calls.append(1)
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM no_such_table")

    with pytest.raises(psycopg2.errors.UndefinedTable):
        pool.run(work)
    assert len(calls) == 1
    pool.close()


def test_settings_are_applied(db_url):
    pool = Pool(db_url, minconn=1, maxconn=1, statement_timeout_ms=1234,
                application_name="fitclub-settings-test")
    with pool.transaction() as conn, conn.cursor() as cur:
        cur.execute("SHOW statement_timeout")
        assert cur.fetchone()[0] == "1234ms"
        cur.execute("SELECT current_setting('application_name')")
        assert cur.fetchone()[0] == "fitclub-settings-test"
        with pytest.raises(psycopg2.errors.QueryCanceled):
            cur.execute("SELECT pg_sleep(2)")
    # A statement timeout does not break the connection: it is kept.
    assert pool.stats().discarded == 0
    pool.close()


def test_stats_report_in_use_and_idle(db_url):
    pool = Pool(db_url, minconn=2, maxconn=4)
    with pool.connection(), pool.connection(), pool.connection():
        stats = pool.stats()
        assert (stats.in_use, stats.max) == (3, 4)
    assert pool.stats().in_use == 0
    assert pool.stats().idle == 3
    pool.close()


def test_singleton_is_created_once_and_closed(db_url):
    first = poolmod.init_pool(db_url, minconn=1, maxconn=2)
    try:
        assert poolmod.init_pool(db_url, minconn=1, maxconn=2) is first
        assert poolmod.get_pool() is first
        with poolmod.transaction() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        poolmod.close_pool()
    with pytest.raises(poolmod.PoolClosed):
        poolmod.get_pool()


def test_unreachable_database_fails_fast_with_operational_error(pg_server):
    bad = "postgresql://nobody@127.0.0.1:1/none"
    with pytest.raises(psycopg2.OperationalError):
        Pool(bad, minconn=1, maxconn=2, connect_timeout=1)
