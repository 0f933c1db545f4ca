"""Shared fixtures: a real PostgreSQL per test session and a fresh database per test.

With TEST_DATABASE_URL set (any database on a server where that role may CREATE DATABASE),
that server is used; otherwise each pytest worker starts its own throwaway server.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator

import psycopg2
import pytest
from psycopg2 import sql

from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres, create_database
from tests.pgbouncer import PgBouncer, missing_reason


class Server:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, admin_url: str, dev: DevPostgres | None = None) -> None:
        self.admin_url = admin_url
        self.dev = dev

    def url(self, dbname: str) -> str:
        """URL of another database on the same server."""
        base, _, _ = self.admin_url.partition("?")
        return re.sub(r"/[^/]*$", f"/{dbname}", base)

    def execute(self, statement: sql.Composable | str, params: tuple = ()) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        conn = psycopg2.connect(self.admin_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement, params)
        finally:
            conn.close()

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (optionally a copy of a template); returns its URL."""
        create_database(self.admin_url, name, template)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database even if a test left connections open."""
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """The session's PostgreSQL server (its own throwaway one unless TEST_DATABASE_URL)."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield Server(given)
        return
    with DevPostgres() as dev:
        yield Server(dev.url(), dev)


@pytest.fixture(scope="session")
def template_db(pg_server: Server) -> Iterator[str]:
    """Name of a database with every migration applied, copied for each test."""
    name = f"fitclub_tmpl_{_worker()}_{os.getpid()}"
    pg_server.drop_database(name)
    url = pg_server.create_database(name)
    Migrator(url).migrate()
    yield name
    pg_server.drop_database(name)


_counter = itertools.count()


@pytest.fixture
def db_url(pg_server: Server, template_db: str) -> Iterator[str]:
    """URL of a fresh, fully migrated database for this test alone."""
    name = f"fitclub_t_{_worker()}_{os.getpid()}_{next(_counter)}"
    url = pg_server.create_database(name, template=template_db)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def empty_db_url(pg_server: Server) -> Iterator[str]:
    """URL of a fresh database with no migrations applied."""
    name = f"fitclub_e_{_worker()}_{os.getpid()}_{next(_counter)}"
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection to this test's database; autocommit off, closed afterwards."""
    conn = psycopg2.connect(db_url)
    yield conn
    conn.close()


@pytest.fixture
def private_pg() -> Iterator[DevPostgres]:
    """A throwaway server of this test's own, for tests that stop or restart it."""
    with DevPostgres() as dev:
        yield dev


@pytest.fixture(scope="session")
def pgbouncer(pg_server: Server) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling in front of the session's server (`.url(dbname)`).

    Skips when pgbouncer is not installed (with tools/servers.py's reason) or when the tests
    run on a server of TEST_DATABASE_URL, which a PgBouncer of ours cannot log in to.
    """
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    if pg_server.dev is None:
        pytest.skip("PgBouncer tests need the throwaway server (TEST_DATABASE_URL is set)")
    with PgBouncer(pg_server.dev) as bouncer:
        yield bouncer
