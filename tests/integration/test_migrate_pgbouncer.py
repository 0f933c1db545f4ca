"""migrate's session lock through PgBouncer's transaction pooling: the statement after the lock
may run on another server connection, which holds no lock; migrate stops and says why."""

from __future__ import annotations

import psycopg2
import pytest

from fitclub.db.migrate import MigrationError, Migrator
from tests.helpers import query
from tests.pgbouncer import PgBouncer, missing_reason


@pytest.fixture
def bouncer(private_pg):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with PgBouncer(private_pg, pool_size=2) as running:
        yield running


def test_migrate_stops_when_its_lock_stayed_on_another_server_connection(
        private_pg, bouncer, monkeypatch):
    url = private_pg.create_database("moved")
    through = bouncer.url("moved")
    other = psycopg2.connect(through)
    take_lock = Migrator._lock

    def lock_then_lose_it(self, conn):
        take_lock(self, conn)
        # Another client's transaction takes the server connection the lock is on (PgBouncer
        # hands out the one used last), so migrate's next statement runs on the other one.
        with other.cursor() as cur:
            cur.execute("SELECT 1")

    monkeypatch.setattr(Migrator, "_lock", lock_then_lose_it)
    try:
        with pytest.raises(MigrationError, match=r"lost the migration lock.*PgBouncer"):
            Migrator(through).migrate()
    finally:
        other.close()
    assert query(url, "SELECT to_regclass('members')") == [(None,)]


def test_migrate_straight_to_postgresql_keeps_its_lock(private_pg):
    url = private_pg.create_database("straight")
    assert Migrator(url).migrate()
    assert query(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
