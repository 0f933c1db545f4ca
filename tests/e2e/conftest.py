"""End-to-end fixtures: tgemu in this process, the bot as its own process, real PostgreSQL.

Every bot process is killed by pid at teardown, and when a test fails the tail of each bot
log is printed with the failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tests.e2e.harness import Launcher
from tgemu import Emulator


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
