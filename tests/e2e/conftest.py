"""End-to-end fixtures: tgemu in this process, the bot as its own process, real PostgreSQL.

Every bot process is killed by pid at teardown, and when a test fails the tail of each bot
log is printed with the failure.

With FITCLUB_TEST_PGBOUNCER=1 (`make test-pgbouncer`) every bot process gets its DATABASE_URL
through a PgBouncer in transaction pooling in front of the session's server (the tests' own
checks still go straight to PostgreSQL); a database of another server (a test's private one)
stays direct.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tests.e2e.harness import Launcher
from tests.pgbouncer import PgBouncer, missing_reason
from tgemu import Emulator

SWITCH = "FITCLUB_TEST_PGBOUNCER"


def through_pgbouncer(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """Whether the switch asks for PgBouncer; anything but empty, 0 or 1 is refused."""
    value = environ.get(SWITCH, "").strip()
    if value not in ("", "0", "1"):
        raise pytest.UsageError(f"{SWITCH} must be 1 (through PgBouncer) or 0, not {value!r}")
    return value == "1"


@pytest.fixture(scope="session")
def switch_pgbouncer(pg_server) -> Iterator[PgBouncer]:
    """The PgBouncer of the switch, sized as deploy/pgbouncer/pgbouncer.ini sizes one: 40 server
    connections a database and role (the harness's DB_POOL_MAX), 10 more for a client kept
    waiting 2 s."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    if pg_server.dev is None:
        pytest.skip("PgBouncer tests need the throwaway server (TEST_DATABASE_URL is set)")
    with PgBouncer(pg_server.dev, pool_size=40,
                   settings={"reserve_pool_size": "10", "reserve_pool_timeout": "2"}) as bouncer:
        yield bouncer


class BouncedLauncher(Launcher):
    """A Launcher whose bot processes reach the session's server through PgBouncer."""

    def __init__(self, tmp_path: Path, emu: Emulator, bouncer: PgBouncer) -> None:
        super().__init__(tmp_path, emu)
        self.bouncer = bouncer

    def env(self, db_url: str | None, metrics_port: int | None = None,
            **settings: Any) -> dict[str, str]:
        """The bot's environment, its DATABASE_URL through PgBouncer."""
        env = super().env(db_url, metrics_port, **settings)
        if env.get("DATABASE_URL"):
            env["DATABASE_URL"] = self.bouncer.route(env["DATABASE_URL"])
        return env


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item so fixtures can tell that a test failed."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """tgemu on a free port, with its own rate limits off (the bot's limits are under test)."""
    emulator = Emulator(port=0, global_rate=None, per_chat_rate=None)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def launcher(request, tmp_path: Path, emu: Emulator) -> Iterator[Launcher]:
    """Starts bot processes; kills them all at teardown and prints their logs on failure."""
    if through_pgbouncer():
        bots: Launcher = BouncedLauncher(tmp_path, emu, request.getfixturevalue("switch_pgbouncer"))
    else:
        bots = Launcher(tmp_path, emu)
    try:
        yield bots
    finally:
        rep = getattr(request.node, "rep_call", None)
        bots.close(failed=rep is None or rep.failed)


@pytest.fixture
def private_db() -> Iterator[tuple[DevPostgres, str]]:
    """A PostgreSQL server of this test's own (to stop or restart) and a migrated database."""
    with DevPostgres() as dev:
        url = dev.create_database("fitclub_e2e")
        Migrator(url).migrate()
        yield dev, url
