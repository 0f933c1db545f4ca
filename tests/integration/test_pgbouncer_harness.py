"""The test PgBouncer: transaction pooling in front of the session's server, gone at stop."""

from __future__ import annotations

import os

import psycopg2
import pytest

from tests.pgbouncer import PgBouncer, PgBouncerError


def _backend_pid(url: str) -> tuple[int, int]:
    """Backend pids of two transactions on one client connection."""
    conn = psycopg2.connect(url)
    try:
        pids = []
        for _ in range(2):
            with conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pids.append(cur.fetchone()[0])
            conn.commit()
        return pids[0], pids[1]
    finally:
        conn.close()


def test_a_client_reaches_the_database_as_its_role_in_transaction_mode(pgbouncer, db_url):
    dbname = db_url.rsplit("/", 1)[1]
    conn = psycopg2.connect(pgbouncer.url(dbname))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_database(), current_user")
            assert cur.fetchone() == (dbname, "fitclub")
        conn.commit()
    finally:
        conn.close()
    pools = pgbouncer.pools(dbname)
    assert [p["pool_mode"] for p in pools] == ["transaction"]


def test_startup_options_are_refused_as_pgbouncer_refuses_them(pgbouncer, db_url):
    dbname = db_url.rsplit("/", 1)[1]
    with pytest.raises(psycopg2.OperationalError, match="unsupported startup parameter"):
        psycopg2.connect(pgbouncer.url(dbname), options="-c statement_timeout=1000")


def test_a_role_not_in_the_auth_file_is_refused_until_added(pgbouncer, db_url):
    dbname = db_url.rsplit("/", 1)[1]
    stranger = f"postgresql://nobody_here@127.0.0.1:{pgbouncer.port}/{dbname}"
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(stranger)
    for bad in ('bad"name', "two\nlines", ""):
        with pytest.raises(PgBouncerError, match="unusable role name"):
            pgbouncer.add_user(bad)
    with pytest.raises(PgBouncerError, match="unusable role name"):
        PgBouncer(pgbouncer.dev, users=['x" "y'])


def test_server_connections_are_shared_between_clients(private_pg):
    private_pg.create_database("shared")
    with PgBouncer(private_pg, pool_size=1) as bouncer:
        url = bouncer.url("shared")
        first = _backend_pid(url)
        second = _backend_pid(url)
    # One server connection served every transaction of both clients.
    assert len({*first, *second}) == 1


def test_stop_kills_the_process_and_removes_its_files(private_pg):
    bouncer = PgBouncer(private_pg).start()
    pid, root = bouncer.proc.pid, bouncer.root
    bouncer.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not root.exists()


def test_show_refuses_anything_but_a_subject(pgbouncer):
    with pytest.raises(PgBouncerError):
        pgbouncer.show("POOLS; SHUTDOWN")
    assert pgbouncer.show("VERSION")


def test_route_sends_urls_of_its_server_through_it_and_leaves_others(pgbouncer):
    port = pgbouncer.dev.port
    assert pgbouncer.route(f"postgresql://fitclub@127.0.0.1:{port}/db1") == pgbouncer.url("db1")
    assert pgbouncer.route(f"postgresql://fitclub_bot@127.0.0.1:{port}/db1?sslmode=disable") \
        == pgbouncer.url("db1", user="fitclub_bot") + "?sslmode=disable"
    assert "fitclub_bot" in pgbouncer.users
    for other in (f"postgresql://fitclub@127.0.0.1:{port + 1}/db1",  # another server
                  f"postgresql://fitclub:secret@127.0.0.1:{port}/db1",  # a password to check
                  f"postgresql://fitclub@127.0.0.1:{port}/",  # no database
                  "host=127.0.0.1 dbname=db1"):  # not a URL
        assert pgbouncer.route(other) == other
