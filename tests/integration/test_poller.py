"""The poller against tgemu: store before acknowledging, odd updates, where it resumes."""

from __future__ import annotations

import time

import pytest

from fitclub.db.pool import Pool
from fitclub.runtime.poller import Poller, store_updates
from fitclub.runtime.telegram import BotApi
from tests.helpers import query as _rows
from tgemu import Emulator

TOKEN = "515151:" + "P" * 35


@pytest.fixture
def pool(db_url):
    p = Pool(db_url, minconn=1, maxconn=4)
    yield p
    p.close()


def test_nul_characters_are_dropped_rather_than_stopping_ingest(db_url, pool):
    upd = {"update_id": 9, "message": {"message_id": 1, "date": 0, "text": "a\x00b",
                                       "chat": {"id": 3, "type": "private"}}}
    assert store_updates(pool, [upd]) == [(9, 3)]
    assert _rows(db_url, "SELECT payload->'message'->>'text', status FROM inbox") == [
        ("ab", "pending")]


@pytest.mark.parametrize("age_days, expected", [(1, 101), (8, None)])
def test_resume_offset_trusts_only_a_recent_maximum(db_url, pool, age_days, expected):
    _rows(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, received_at) VALUES "
          "(100, 1, 'message', '{}', now() - make_interval(days => %s))", (age_days,))
    poller = Poller(pool=pool, api=None, on_stored=lambda rows: None, backlog=lambda: 0,
                    backlog_limit=10)
    poller._resume_offset()
    assert poller.offset == expected


def test_updates_are_stored_before_the_offset_confirms_them(db_url, pool):
    with Emulator(global_rate=None, per_chat_rate=None) as emu:
        users = [emu.create_user(first_name=f"P{i}") for i in range(3)]
        ids = [u.send_text(TOKEN, f"m{i}") for i in range(4) for u in users]
        # At the moment each getUpdates arrives, every update below its offset (which Telegram
        # then forgets) must already be committed in inbox.
        offsets: list[int] = []
        unsafe: list[tuple[int, list[int]]] = []
        dispatch = emu.call

        def checking(token, method, params):
            if method == "getUpdates" and params.get("offset"):
                offset = int(params.get("offset"))
                offsets.append(offset)
                stored = {r[0] for r in _rows(db_url, "SELECT update_id FROM inbox")}
                missing = [u for u in ids if u < offset and u not in stored]
                if missing:
                    unsafe.append((offset, missing))
            return dispatch(token, method, params)

        emu.call = checking
        announced: list = []
        api = BotApi(emu.base_url, TOKEN)
        poller = Poller(pool=pool, api=api, on_stored=announced.extend, backlog=lambda: 0,
                        backlog_limit=10, timeout=1)
        poller.batch_limit = 5  # small batches, so the offset moves several times
        poller.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not offsets or offsets[-1] <= ids[-1]):
            time.sleep(0.02)
        poller.stop()
        time.sleep(0.2)
        api.close()
    assert offsets and offsets[-1] == ids[-1] + 1, offsets
    assert not unsafe, f"offsets confirmed updates not yet stored: {unsafe}"
    assert sorted(u for u, _ in announced) == ids


def test_a_running_poller_drops_its_offset_after_a_silence_telegram_restarts_ids_after(
        db_url, pool):
    """A bot polling through a long silence: Telegram may number the next update below the
    offset the bot holds (after a week without updates it picks ids at random). Once no update
    came for `offset_ttl`, the poller sends no offset, so that update is delivered, not
    confirmed away unseen. (Here the silence is 1.5 s, and the new update arrives while no
    getUpdates is in flight, as it would between two polls.)"""
    with Emulator(global_rate=None, per_chat_rate=None) as emu:
        user = emu.create_user(first_name="Quiet")
        first = [user.send_text(TOKEN, f"m{i}") for i in range(3)]
        stored: list = []
        held = [False]
        api = BotApi(emu.base_url, TOKEN)
        poller = Poller(pool=pool, api=api, on_stored=stored.extend,
                        backlog=lambda: 10**6 if held[0] else 0, backlog_limit=10, timeout=1)
        poller.offset_ttl = 1.5
        poller.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(stored) < 3:
                time.sleep(0.02)
            assert sorted(u for u, _ in stored) == first
            held[0] = True  # the poller stops asking (as between two long polls)...
            time.sleep(1.2)  # ...and the poll in flight ends
            # The stored ones are a week old by now (a new update with an old id is stored).
            _rows(db_url, "UPDATE inbox SET received_at = received_at - interval '8 days',"
                          " processed_at = now() - interval '8 days', status = 'done'")
            emu.set_next_update_id(TOKEN, 1)
            again = user.send_text(TOKEN, "after a week")
            assert again == 1 < poller.offset
            time.sleep(0.6)  # past offset_ttl since the last update
            held[0] = False
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(stored) < 4:
                time.sleep(0.02)
        finally:
            poller.stop()
            time.sleep(0.2)
            api.close()
    assert [u for u, _ in stored][3:] == [1]
    assert _rows(db_url, "SELECT payload->'message'->>'text' FROM inbox WHERE update_id = 1"
                 ) == [("after a week",)]
