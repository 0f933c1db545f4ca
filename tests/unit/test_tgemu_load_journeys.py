"""The load driver as given Telegram ids (the members a bench seeded in the bot's database)."""

import threading

import pytest

from tgemu import Emulator
from tgemu.load import StopLoad, run_load

TOKEN = "123456789:" + "L" * 35


@pytest.fixture
def emu():
    emulator = Emulator(port=0).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_user_ids_are_the_simulated_users_existing_ones_reused(emu):
    existing = emu.create_user(first_name="Seeded", user_id=700_000_001)
    seen: set[int] = set()
    lock = threading.Lock()

    def scenario(u):
        with lock:
            seen.add(u.id)
        raise StopLoad

    ids = [700_000_000, 700_000_001, 700_000_002]
    report = run_load(emu, TOKEN, scenario, user_ids=ids, users=99, duration=2)
    assert report["users"] == 3
    assert seen == set(ids)
    assert emu.user(700_000_001).data is existing.data  # reused, not replaced
    assert emu.has_user(700_000_002)


def test_user_ids_must_be_unique(emu):
    with pytest.raises(ValueError, match="unique"):
        run_load(emu, TOKEN, lambda u: None, user_ids=[5, 5], duration=1)


def test_without_user_ids_new_users_as_before(emu):
    seen: set[int] = set()

    def scenario(u):
        seen.add(u.id)
        raise StopLoad

    report = run_load(emu, TOKEN, scenario, users=4, duration=2)
    assert report["users"] == 4 and len(seen) == 4
