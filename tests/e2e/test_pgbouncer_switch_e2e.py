"""FITCLUB_TEST_PGBOUNCER: the bot processes of the e2e tests reach PostgreSQL through
PgBouncer in transaction pooling, and still answer."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SWITCH, BouncedLauncher, through_pgbouncer
from tests.e2e.session import Person


@pytest.mark.parametrize(("value", "on"), [("1", True), ("0", False), ("", False), (" 1 ", True)])
def test_the_switch_reads_one_or_zero(value, on):
    assert through_pgbouncer({SWITCH: value}) is on
    assert through_pgbouncer({}) is False


@pytest.mark.parametrize("value", ["yes", "true", "2"])
def test_the_switch_refuses_anything_else(value):
    with pytest.raises(pytest.UsageError, match=SWITCH):
        through_pgbouncer({SWITCH: value})


def test_a_bot_started_by_the_switched_launcher_answers_through_pgbouncer(
        tmp_path, emu, switch_pgbouncer, db_url):
    pgbouncer = switch_pgbouncer
    dbname = db_url.rsplit("/", 1)[1]
    bots = BouncedLauncher(tmp_path, emu, pgbouncer)
    try:
        assert bots.env(db_url)["DATABASE_URL"] == pgbouncer.url(dbname)
        bots.start(db_url)
        anna = Person(emu, "Anna")
        (reply,) = anna.send("/start")
        assert reply["text"]
        clients = [c for c in pgbouncer.show("CLIENTS") if c["database"] == dbname]
        assert clients and {c["application_name"] for c in clients} >= {"fitclub-bot"}
        assert [p["pool_mode"] for p in pgbouncer.pools(dbname)] == ["transaction"]
        sizes = [(d["pool_size"], d["reserve_pool"]) for d in pgbouncer.show("DATABASES")
                 if d["name"] == dbname]
        assert sizes == [(40, 10)]  # as deploy/pgbouncer/pgbouncer.ini
    finally:
        bots.close(failed=False)
