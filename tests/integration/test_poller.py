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
