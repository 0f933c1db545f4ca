"""Acceptance: a stream of 2000 updates from 200 chats, processed exactly once and in order."""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import Stream

CHATS = 200
PER_CHAT = 10


@pytest.mark.xdist_group("e2e-heavy")
def test_2000_updates_from_200_chats_run_exactly_once_and_in_order(emu, launcher, db_url):
    """Every update has exactly one committed effect and is marked done; each chat gets
    `ack 1` .. `ack 10` exactly once each, in the order it sent them."""
    launcher.start(db_url)
    stream = Stream(emu, CHATS)
    started = time.monotonic()
    stream.send(PER_CHAT)
    assert stream.total == CHATS * PER_CHAT

    stream.wait_processed(db_url, timeout=60)
    print(f"{stream.total} updates processed and answered in "
          f"{time.monotonic() - started:.1f}s")

    stream.assert_effects_exactly_once(db_url)
    stream.assert_replies_exactly_once_in_order()
