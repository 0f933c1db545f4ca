"""The sender against tgemu over HTTP: once, in order, within limits, and Telegram's refusals."""

from __future__ import annotations

import time

import pytest
from psycopg2.extras import Json

from fitclub.db.pool import Pool
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.sender import Sender
from fitclub.runtime.telegram import BotApi
from tests.helpers import query as _execute
from tgemu import Emulator

TOKEN = "424242:" + "S" * 35


def _enqueue(db_url: str, chat_id: int, text: str, priority: int = 0) -> None:
    _execute(db_url, "INSERT INTO outbox (chat_id, method, params, priority) VALUES "
             "(%s, 'sendMessage', %s, %s)",
             (chat_id, Json({"chat_id": chat_id, "text": text, "parse_mode": "HTML"}), priority))


def _wait_settled(db_url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        open_rows = _execute(db_url, "SELECT count(*) FROM outbox "
                             "WHERE status IN ('pending', 'sending')")[0][0]
        if open_rows == 0:
            return
        time.sleep(0.05)
    raise AssertionError("outbox rows still open")


@pytest.fixture
def emu():
    with Emulator(global_rate=None, per_chat_rate=None) as e:
        yield e


@pytest.fixture
def make_sender(db_url, emu):
    made = []

    def make(**kw):
        pool = Pool(db_url, minconn=1, maxconn=10)
        api = BotApi(emu.base_url, TOKEN)
        metrics = Metrics()
        opts = {"rate": 200, "per_chat_rate": 50, "threads": 4}
        opts.update(kw)
        sender = Sender(pool=pool, api=api, metrics=metrics, **opts)
        sender.start()
        made.append((sender, pool, api))
        return sender, metrics

    yield make
    for sender, pool, api in made:
        sender.stop(5)
        api.close()
        pool.close()


def _users(emu, n: int) -> list:
    users = [emu.create_user(first_name=f"U{i}") for i in range(n)]
    for u in users:
        u.send_text(TOKEN, "/start")  # a chat exists only once the user wrote to the bot
    return users


def test_every_row_is_delivered_once_in_order_per_chat(db_url, emu, make_sender):
    users = _users(emu, 5)
    for k in range(10):
        for u in users:
            _enqueue(db_url, u.id, f"m{k}")
    sender, metrics = make_sender()
    sender.wake()
    _wait_settled(db_url)
    for u in users:
        texts = [e["text"] for e in emu.transcript(TOKEN, u.id) if e.get("text", "")
                 .startswith("m")]
        assert texts == [f"m{k}" for k in range(10)]
    rows = _execute(db_url, "SELECT status, count(*), count(result_message_id) FROM outbox "
                    "GROUP BY status")
    assert rows == [("sent", 50, 50)]
    assert b"fitclub_outbox_sent_total" in metrics.render()[0]


def test_blocked_user_is_recorded_and_gets_nothing_more(db_url, emu, make_sender):
    (user,) = _users(emu, 1)
    _execute(db_url, "INSERT INTO members (telegram_id, first_name) VALUES (%s, 'B')", (user.id,))
    user.block(TOKEN)
    for k in range(3):
        _enqueue(db_url, user.id, f"m{k}")
    sender, metrics = make_sender()
    sender.wake()
    _wait_settled(db_url)
    assert _execute(db_url, "SELECT blocked_at IS NOT NULL FROM members") == [(True,)]
    assert _execute(db_url, "SELECT status, count(*) FROM outbox GROUP BY status") == [
        ("dropped", 3)]
    assert emu.stats(TOKEN)["calls"].get("sendMessage", 0) == 1  # the one that got 403
    assert metrics.telegram_403._value.get() == 1


def test_bad_request_is_marked_failed_with_telegrams_words(db_url, emu, make_sender):
    (user,) = _users(emu, 1)
    _enqueue(db_url, user.id, "<b>unclosed")
    _enqueue(db_url, user.id, "after the bad one")
    sender, _ = make_sender()
    sender.wake()
    _wait_settled(db_url)
    rows = _execute(db_url, "SELECT status, error FROM outbox ORDER BY id")
    assert rows[0][0] == "failed"
    assert "can't parse entities" in rows[0][1]
    assert rows[1] == ("sent", None)


def test_429s_are_waited_out_and_nothing_is_lost_or_doubled(db_url, emu, make_sender):
    emu.configure(per_chat_rate=1.0, per_chat_burst=1)
    users = _users(emu, 2)
    for k in range(4):
        for u in users:
            _enqueue(db_url, u.id, f"m{k}")
    sender, metrics = make_sender(per_chat_rate=20)  # deliberately faster than Telegram allows
    sender.wake()
    _wait_settled(db_url, timeout=30)
    for u in users:
        texts = [e["text"] for e in emu.transcript(TOKEN, u.id)
                 if e.get("text", "").startswith("m")]
        assert texts == ["m0", "m1", "m2", "m3"]
    assert metrics.telegram_429._value.get() >= 1


def test_replies_go_before_announcements(db_url, emu, make_sender):
    users = _users(emu, 31)
    for u in users[:30]:
        _enqueue(db_url, u.id, "announcement", priority=2)
    _enqueue(db_url, users[30].id, "reply", priority=0)
    sender, _ = make_sender(rate=10, threads=1)
    sender.wake()
    _wait_settled(db_url, timeout=30)
    order = _execute(db_url, "SELECT params->>'text' FROM outbox ORDER BY sent_at, id")
    assert [r[0] for r in order].index("reply") < 3
