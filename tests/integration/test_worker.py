"""Workers on a real database: order per chat, exactly-once effects, failures, flood control."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg2
import pytest

from fitclub import flows
from fitclub.db.pool import Pool
from fitclub.runtime.chat_queue import ChatQueue
from fitclub.runtime.context import current
from fitclub.runtime.dispatcher import Outcome, Workers
from fitclub.runtime.poller import store_updates
from tests.helpers import query as _rows


def _msg(update_id: int, chat: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "T", "language_code": "en"}}}


class Harness:
    """A pool, a chat queue and workers whose handler records and may misbehave."""

    def __init__(self, db_url: str, handle, **kw) -> None:
        self.pool = Pool(db_url, minconn=1, maxconn=12, timeout=10)
        self.queue = ChatQueue()
        opts = {"threads": 6, "max_attempts": 3, "flood_rate": 100.0, "flood_burst": 1000,
                "retry_delays": (0.05,)}
        opts.update(kw)
        self.workers = Workers(pool=self.pool, queue=self.queue, handle=handle, **opts)

    def feed(self, updates: list[dict]) -> None:
        for _update_id, chat in store_updates(self.pool, updates):
            self.queue.add(chat)

    def run_until_done(self, db_url: str, timeout: float = 20) -> None:
        self.workers.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = _rows(db_url, "SELECT count(*) FROM inbox WHERE status = 'pending'")[0][0]
            if left == 0:
                return
            time.sleep(0.05)
        raise AssertionError("updates still pending")

    def close(self) -> None:
        self.workers.stop(5)
        self.pool.close()


@pytest.fixture
def harness_factory(db_url):
    made = []

    def make(handle, **kw):
        h = Harness(db_url, handle, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def test_each_chat_runs_in_update_order_and_chats_run_in_parallel(db_url, harness_factory):
    seen: dict[int, list[int]] = {}
    running = set()
    overlap = []
    lock = threading.Lock()

    def handle(payload):
        chat = payload["message"]["chat"]["id"]
        with lock:
            if chat in running:
                overlap.append(chat)
            running.add(chat)
            if len(running) > 1:
                overlap.append("parallel")
        time.sleep(0.002)
        with lock:
            running.discard(chat)
            seen.setdefault(chat, []).append(payload["update_id"])
        current().reply("ok")

    h = harness_factory(handle)
    updates = [_msg(i, 100 + i % 10, "x") for i in range(1, 301)]
    h.feed(updates)
    h.run_until_done(db_url)
    for chat, ids in seen.items():
        assert ids == sorted(ids), f"chat {chat} out of order"
    assert sum(len(v) for v in seen.values()) == 300
    assert [c for c in overlap if c != "parallel"] == []  # never two at once in one chat
    assert "parallel" in overlap  # but different chats did overlap
    assert _rows(db_url, "SELECT count(*) FROM outbox")[0][0] == 300


def test_redelivered_or_rerun_update_has_no_second_effect(db_url, harness_factory):
    calls = []
    h = harness_factory(lambda p: calls.append(p["update_id"]))
    h.feed([_msg(1, 5, "a")])
    h.run_until_done(db_url)
    assert store_updates(h.pool, [_msg(1, 5, "a")]) == []  # Telegram sent it again
    # The chat is announced again (a resync, another instance, a lost acknowledgement): each
    # time a worker really takes it and finds its update already processed.
    passes: list[Outcome] = []
    process = h.workers.process_chat

    def counted(chat_id: int) -> Outcome:
        passes.append(process(chat_id))
        return passes[-1]

    h.workers.process_chat = counted
    for n in range(1, 4):
        h.queue.add(5)
        deadline = time.monotonic() + 5
        while len(passes) < n and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(passes) >= 3, "the chat was never taken again"
    assert all(outcome.empty for outcome in passes)
    assert calls == [1]


def test_failing_handler_rolls_back_retries_then_fails_with_an_apology(db_url, harness_factory):
    attempts = []

    def handle(payload):
        attempts.append(payload["update_id"])
        current().reply("this reply must never be sent")
        if payload["message"]["text"] == "boom":
            raise RuntimeError("poison")

    h = harness_factory(handle, max_attempts=3)
    h.feed([_msg(1, 7, "boom"), _msg(2, 7, "fine")])
    h.run_until_done(db_url)
    assert attempts == [1, 1, 1, 2]
    status = dict(_rows(db_url, "SELECT update_id, status FROM inbox"))
    assert status == {1: "failed", 2: "done"}
    texts = [r[0] for r in _rows(db_url, "SELECT params->>'text' FROM outbox ORDER BY id")]
    assert texts == ["Something went wrong on our side. Please try again in a moment.",
                     "this reply must never be sent"]
    assert _rows(db_url, "SELECT attempts, error FROM inbox WHERE update_id = 1") == [
        (3, "RuntimeError: poison")]


def test_flood_control_warns_once_then_skips(db_url, harness_factory):
    handled = []
    h = harness_factory(lambda p: handled.append(p["update_id"]), flood_rate=0.01,
                        flood_burst=3)
    h.feed([_msg(i, 8, "spam") for i in range(1, 8)])
    h.run_until_done(db_url)
    assert handled == [1, 2, 3]
    statuses = [r[0] for r in _rows(db_url, "SELECT status FROM inbox ORDER BY update_id")]
    assert statuses == ["done"] * 3 + ["skipped"] * 4
    warnings = _rows(db_url, "SELECT count(*) FROM outbox WHERE params->>'text' LIKE "
                     "'You''re sending messages too fast%%'")
    assert warnings == [(1,)]


def test_conversation_state_commits_with_the_update(db_url, harness_factory):
    left = []

    def handle(payload):
        ctx = current()
        if payload["message"]["text"] == "leave":
            left.append(flows.leave(ctx))
            return
        flows.enter(ctx, "asking_name", {"step": 2, "name": "Ann <&>"})
        if payload["message"]["text"] == "fail":
            raise RuntimeError("roll it back")

    h = harness_factory(handle, max_attempts=1)
    h.feed([_msg(1, 11, "ok"), _msg(2, 12, "fail"), _msg(3, 13, "ok"), _msg(4, 13, "leave")])
    h.run_until_done(db_url)
    # Chat 12's state rolled back with its update; chat 13 left its flow.
    assert _rows(db_url, "SELECT chat_id, user_id, state, data - '_flow', "
                         "(data #>> '{_flow,v}')::int > 0 FROM conversation_state") == [
        (11, 11, "asking_name", {"step": 2, "name": "Ann <&>"}, True)]
    assert left == [True]


def test_store_updates_ignores_duplicates_and_keeps_the_chat(db_url):
    pool = Pool(db_url, minconn=1, maxconn=2)
    first = store_updates(pool, [_msg(1, 3, "a"), _msg(2, 4, "b")])
    again = store_updates(pool, [_msg(2, 4, "b"), _msg(3, 4, "c")])
    pool.close()
    assert sorted(first) == [(1, 3), (2, 4)]
    assert again == [(3, 4)]


@pytest.mark.parametrize("misbehaviour", ["swallowed_db_error", "closed_cursor"])
def test_handler_database_misuse_fails_the_update_instead_of_sticking(db_url, harness_factory,
                                                                      misbehaviour):
    def handle(payload):
        ctx = current()
        if payload["update_id"] == 1:
            cur = ctx.cursor()
            if misbehaviour == "swallowed_db_error":
                # The classic mistake: carry on after the error.
                with contextlib.suppress(psycopg2.Error):
                    cur.execute("SELECT * FROM no_such_table")
            else:
                cur.close()
                cur.execute("SELECT 1")  # InterfaceError: cursor already closed
        ctx.reply(f"handled {payload['update_id']}")

    h = harness_factory(handle, max_attempts=2)
    h.feed([_msg(1, 21, "a"), _msg(2, 21, "b")])
    h.run_until_done(db_url, timeout=10)
    assert dict(_rows(db_url, "SELECT update_id, status FROM inbox")) == {1: "failed", 2: "done"}
    assert h.pool.stats().discarded == 0  # a handler's bug is not a dead connection
