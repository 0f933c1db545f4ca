"""The sender against tgemu over HTTP: once, in order, within limits, and Telegram's refusals."""

from __future__ import annotations

import itertools
import logging
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from psycopg2.extras import Json

from fitclub.app import create_app
from fitclub.config import Settings
from fitclub.db.pool import Pool
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.processes import ProcessIdentity
from fitclub.runtime.sender import Sender
from fitclub.runtime.telegram import BotApi
from tests import factories
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


def test_a_sent_files_bytes_are_not_kept(db_url, emu, make_sender):
    """A document (a CSV export with everyone's phones, say) is in the outbox only until it
    is delivered: the row stays, its bytes go."""
    (user,) = _users(emu, 1)
    _execute(db_url, "INSERT INTO outbox (chat_id, method, params, file_field, file_name,"
             " file_bytes) VALUES (%s, 'sendDocument', %s, 'document', 'members.csv', %s)",
             (user.id, Json({"chat_id": user.id}), b"name,phone\nAnna,+491234\n"))
    sender, _ = make_sender()
    sender.wake()
    _wait_settled(db_url)
    assert _execute(db_url, "SELECT status, file_name, file_bytes FROM outbox") == [
        ("sent", "members.csv", None)]
    assert [e["kind"] for e in emu.transcript(TOKEN, user.id)][-1] == "message"


def test_blocked_user_is_recorded_and_gets_nothing_more(db_url, emu, make_sender):
    (user,) = _users(emu, 1)
    factories.member(db_url, user.id, "B", registered=False)
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


def test_someone_who_never_started_the_bot_is_not_marked_blocked(db_url, emu, make_sender):
    """403 "can't initiate conversation": that message is dropped, but the person has not
    blocked the bot (Telegram sends no update when they start it later), so they are not
    marked, and once they start the bot a message reaches them."""
    user = emu.create_user(first_name="New")
    factories.member(db_url, user.id, "N", registered=False)
    _enqueue(db_url, user.id, "too early")
    sender, metrics = make_sender()
    sender.wake()
    _wait_settled(db_url)
    assert _execute(db_url, "SELECT status, error FROM outbox") == [
        ("dropped", "Forbidden: bot can't initiate conversation with a user")]
    assert _execute(db_url, "SELECT blocked_at FROM members") == [(None,)]
    user.send_text(TOKEN, "/start")
    _enqueue(db_url, user.id, "welcome")
    sender.wake()
    _wait_settled(db_url)
    assert [e["text"] for e in emu.transcript(TOKEN, user.id) if e["kind"] == "message"] == [
        "welcome"]
    assert metrics.outbox_failed.labels(reason="not_started")._value.get() == 1


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


def _arrivals(emu) -> list[tuple[str | None, str | None]]:
    """(chat_id, text) of every Bot API call, in the order tgemu receives them."""
    seen: list[tuple[str | None, str | None]] = []
    dispatch = emu.call

    def recording(token, method, params):
        seen.append((params.get("chat_id"), params.get("text")))
        return dispatch(token, method, params)

    emu.call = recording
    return seen


def test_replies_go_before_announcements(db_url, emu, make_sender):
    users = _users(emu, 31)
    arrivals = _arrivals(emu)
    for u in users[:30]:
        _enqueue(db_url, u.id, "announcement", priority=2)
    _enqueue(db_url, users[30].id, "reply", priority=0)
    sender, _ = make_sender(rate=10, threads=1)
    sender.wake()
    _wait_settled(db_url, timeout=30)
    texts = [text for _, text in arrivals]
    assert len(texts) == 31
    assert texts.index("reply") == 0


def test_within_a_chat_a_reply_overtakes_queued_rows_and_equal_priorities_keep_order(
        db_url, emu, make_sender):
    (user,) = _users(emu, 1)
    arrivals = _arrivals(emu)
    for k in range(3):
        _enqueue(db_url, user.id, f"announcement {k}", priority=2)
    _enqueue(db_url, user.id, "reminder", priority=1)
    _enqueue(db_url, user.id, "reply 0", priority=0)
    _enqueue(db_url, user.id, "reply 1", priority=0)
    sender, _ = make_sender()
    sender.wake()
    _wait_settled(db_url)
    assert [text for _, text in arrivals] == [
        "reply 0", "reply 1", "reminder", "announcement 0", "announcement 1", "announcement 2"]


# --- the sender alone, against a scripted Bot API ---------------------------------------------

class ScriptedApi:
    """Answers each method with a fixed result shape; a call may be held until released."""

    read_timeout = 5.0

    RESULTS: ClassVar[dict[str, Callable[[int], Any]]] = {
        "sendMessage": lambda n: {"message_id": n, "date": 0, "chat": {"id": 1}},
        "answerCallbackQuery": lambda n: True,
        "sendMediaGroup": lambda n: [{"message_id": n}, {"message_id": n + 1}],
        "getChat": lambda n: {"id": 1, "type": "private"},
        "copyMessage": lambda n: {"message_id": n},
    }

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.hold: dict[str, threading.Event] = {}  # text -> released when set
        self.holding = threading.Event()
        self._n = itertools.count(1000, 10)
        self._lock = threading.Lock()

    def call(self, method, params, files=None, timeout=None):
        gate = self.hold.get(params.get("text"))
        if gate is not None:
            self.holding.set()
            gate.wait(10)
        with self._lock:
            self.calls.append((method, params))
            n = next(self._n)
        return self.RESULTS[method](n)


EXPECTED_ID = {"sendMessage": True, "answerCallbackQuery": False, "sendMediaGroup": True,
               "getChat": False, "copyMessage": True}


@pytest.fixture
def scripted_sender(db_url):
    made = []

    def make(api: ScriptedApi, **kw):
        pool = Pool(db_url, minconn=1, maxconn=6)
        opts = {"rate": 500, "per_chat_rate": 100, "threads": 3}
        opts.update(kw)
        sender = Sender(pool=pool, api=api, **opts)
        sender.start()
        made.append((sender, pool))
        return sender

    yield make
    for sender, pool in made:
        sender.stop(5)
        pool.close()


def _queue_call(db_url: str, chat_id: int, method: str, text: str | None = None) -> None:
    params = {"chat_id": chat_id} if text is None else {"chat_id": chat_id, "text": text}
    _execute(db_url, "INSERT INTO outbox (chat_id, method, params) VALUES (%s, %s, %s)",
             (chat_id, method, Json(params)))


@pytest.mark.parametrize("methods", [
    *([m] for m in ScriptedApi.RESULTS),
    list(ScriptedApi.RESULTS),
], ids=[*ScriptedApi.RESULTS, "mixed"])
def test_every_result_shape_is_recorded(db_url, scripted_sender, methods):
    # Rows are queued first and the sender started after, so they are claimed, delivered and
    # recorded in shared batches: a batch of one kind only, or all kinds mixed.
    for i in range(12):
        _queue_call(db_url, 500 + i, methods[i % len(methods)])
    api = ScriptedApi()
    scripted_sender(api)
    _wait_settled(db_url)
    rows = _execute(db_url, "SELECT method, status, result_message_id FROM outbox ORDER BY id")
    assert [r[1] for r in rows] == ["sent"] * 12
    for method, _, message_id in rows:
        assert (message_id is not None) == EXPECTED_ID[method], (method, message_id)
    assert len(api.calls) == 12


def test_a_claim_released_and_taken_over_can_no_longer_be_marked(db_url, scripted_sender):
    _queue_call(db_url, 77, "sendMessage", "held")
    api = ScriptedApi()
    gate = api.hold["held"] = threading.Event()
    scripted_sender(api)
    assert api.holding.wait(10)
    # While the call is out, the claim is released and another process takes the row.
    _execute(db_url, "UPDATE outbox SET claim_token = nextval('outbox_claim_token'), "
             "claimed_by = gen_random_uuid() WHERE status = 'sending'")
    token = _execute(db_url, "SELECT claim_token FROM outbox")[0][0]
    gate.set()
    time.sleep(0.5)
    assert _execute(db_url, "SELECT status, claim_token FROM outbox") == [("sending", token)]


def test_claims_of_a_process_that_stopped_beating_are_released_within_seconds(
        db_url, scripted_sender):
    # A process on another host, silent for a minute, holding a row with a 90 s lease.
    _execute(db_url, "INSERT INTO bot_processes (id, hostname, pid, heartbeat_at) VALUES "
             "('00000000-0000-0000-0000-000000000001', 'elsewhere', 1, now() - interval '1 min')")
    _queue_call(db_url, 78, "sendMessage", "orphan")
    _execute(db_url, "UPDATE outbox SET status = 'sending', claim_token = 1, "
             "claimed_by = '00000000-0000-0000-0000-000000000001', "
             "lease_until = now() + interval '90 s'")
    started = time.monotonic()
    scripted_sender(ScriptedApi())
    _wait_settled(db_url)
    assert time.monotonic() - started < 5
    assert _execute(db_url, "SELECT count(*) FROM bot_processes WHERE hostname = 'elsewhere'") \
        == [(0,)]


def test_a_restart_releases_its_dead_predecessors_claims_at_once(db_url, scripted_sender):
    # Same host and pid namespace, heartbeat fresh, but its pid no longer runs.
    ident = ProcessIdentity.of_this_process()
    dead = subprocess.Popen(["true"])
    dead.wait()
    _execute(db_url, "INSERT INTO bot_processes (id, hostname, pid_namespace, pid) VALUES "
             "('00000000-0000-0000-0000-000000000002', %s, %s, %s)",
             (ident.hostname, ident.pid_namespace, dead.pid))
    _queue_call(db_url, 79, "sendMessage", "left behind")
    _execute(db_url, "UPDATE outbox SET status = 'sending', claim_token = 1, "
             "claimed_by = '00000000-0000-0000-0000-000000000002', "
             "lease_until = now() + interval '90 s'")
    started = time.monotonic()
    scripted_sender(ScriptedApi())
    _wait_settled(db_url)
    assert time.monotonic() - started < 2


def test_a_delivery_that_cannot_be_recorded_does_not_stop_the_others(db_url, scripted_sender):
    # The database refuses to record deliveries to chat 90 (as a bug or a revoked grant
    # would); chats 91-93 must go on, and the sender says it cannot record.
    _execute(db_url, """
        CREATE FUNCTION refuse_chat_90() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'recording refused for the test'; END $$;
        CREATE TRIGGER refuse_chat_90 BEFORE UPDATE ON outbox FOR EACH ROW
        WHEN (NEW.status = 'sent' AND NEW.chat_id = 90) EXECUTE FUNCTION refuse_chat_90();
    """)
    _queue_call(db_url, 90, "sendMessage", "unrecordable")
    api = ScriptedApi()
    sender = scripted_sender(api)
    deadline = time.monotonic() + 10
    while not sender.recording_failed() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sender.recording_failed()
    for chat in (91, 92, 93):
        _queue_call(db_url, chat, "sendMessage", f"to {chat}")
    sender.wake()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _execute(
            db_url, "SELECT count(*) FROM outbox WHERE status = 'sent'")[0][0] < 3:
        time.sleep(0.05)
    assert _execute(db_url, "SELECT chat_id, status FROM outbox ORDER BY id") == [
        (90, "sending"), (91, "sent"), (92, "sent"), (93, "sent")]
    assert [p["text"] for _, p in api.calls].count("unrecordable") == 1
    _execute(db_url, "DROP TRIGGER refuse_chat_90 ON outbox")
    _wait_settled(db_url)
    assert not sender.recording_failed()


def test_the_watchdogs_liveness_fails_with_an_old_reply_or_unrecorded_deliveries(db_url):
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": db_url,
                                  "CARD_SECRET": "c" * 40, "METRICS_ADDR": "off",
                                  "OUTBOX_REPLY_MAX_AGE": "5", "DB_POOL_MIN": "1"},
                                 dotenv_path=None)
    pool = Pool(db_url, minconn=1, maxconn=4)
    app = create_app(settings, pool=pool, handler_modules=())
    try:
        assert app.alive()
        _execute(db_url, "INSERT INTO outbox (chat_id, method, params, created_at, not_before)"
                 " VALUES (1, 'sendMessage', '{}', now() - interval '6 s', now() + interval '1 h')")
        assert not app.alive()
        assert app.check_health().details["reply_too_old"] is True
        _execute(db_url, "DELETE FROM outbox")
        assert app.alive()
        app.sender.claimer._marking_failed(RuntimeError("refused"))
        assert not app.alive()
        assert app.check_health().ok is False
    finally:
        app.api.close()
        pool.close()


def test_a_clean_stop_records_what_was_sent_hands_back_the_rest_and_unregisters(db_url):
    for i in range(30):
        _queue_call(db_url, 600 + i, "sendMessage", f"m{i}")
    api = ScriptedApi()
    gate = api.hold["m0"] = threading.Event()
    pool = Pool(db_url, minconn=1, maxconn=6)
    sender = Sender(pool=pool, api=api, rate=5, per_chat_rate=100, threads=2)
    sender.start()
    try:
        assert api.holding.wait(10)
        assert _execute(db_url, "SELECT count(*) FROM bot_processes") == [(1,)]
        gate.set()
        time.sleep(0.3)
        sender.stop(5)
    finally:
        pool.close()
    sent = {p["text"] for _, p in api.calls}
    rows = dict(_execute(db_url, "SELECT params->>'text', status FROM outbox"))
    assert {t for t, status in rows.items() if status == "sent"} == sent
    assert set(rows.values()) == {"sent", "pending"}  # nothing left claimed
    assert _execute(db_url, "SELECT count(*) FROM bot_processes") == [(0,)]


def test_a_process_given_up_as_dead_drops_its_claims_and_sends_nothing_twice_but_its_call(
        db_url, scripted_sender, monkeypatch, caplog):
    monkeypatch.setattr("fitclub.runtime.processes.HEARTBEAT_SECONDS", 0.2)
    caplog.set_level(logging.WARNING, logger="fitclub.runtime.processes")
    for i in range(5):
        _queue_call(db_url, 700 + i, "sendMessage", f"m{i}")
    api = ScriptedApi()
    gate = api.hold["m0"] = threading.Event()
    scripted_sender(api, threads=1)  # m1..m4 wait in memory behind the held m0
    assert api.holding.wait(10)
    # Another process decided this one was dead: it forgot it and released its claims.
    _execute(db_url, "DELETE FROM bot_processes; UPDATE outbox SET status = 'pending', "
             "claim_token = NULL, claimed_by = NULL, lease_until = NULL "
             "WHERE status = 'sending'")
    deadline = time.monotonic() + 5
    # Registered again and its claims dropped (the heartbeat registers first, then drops):
    # only then may m0's call end, or the freed thread could take m1 before the drop.
    while not any("given up as dead" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the heartbeat never registered again"
        time.sleep(0.05)
    assert _execute(db_url, "SELECT count(*) FROM bot_processes") == [(1,)]
    gate.set()
    _wait_settled(db_url)
    sent = Counter(p["text"] for _, p in api.calls)
    # m0 was out when the claim was lost: it goes again. The rest go once.
    assert sent == {"m0": 2, "m1": 1, "m2": 1, "m3": 1, "m4": 1}
