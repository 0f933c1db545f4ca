"""The fast path of a reply: claimed as it is queued and handed to the sender after the commit,
limits kept in memory while the sender is alone, and a send slot taken before the row."""

from __future__ import annotations

import time
import uuid

import psycopg2
import pytest
from psycopg2.extras import Json

from fitclub.db.pool import Pool
from fitclub.runtime.context import PRIORITY_ANNOUNCEMENT, UpdateContext
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.processes import JOIN_QUIET_SECONDS
from fitclub.runtime.sender import Sender
from fitclub.runtime.telegram import BotApi
from tests import factories
from tests.helpers import query
from tgemu import Emulator

TOKEN = "434343:" + "F" * 35


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
        opts = {"rate": 200, "per_chat_rate": 50, "threads": 4, "shared": "auto"}
        opts.update(kw)
        sender = Sender(pool=pool, api=api, metrics=Metrics(), **opts)
        sender.start()
        made.append((sender, pool, api))
        return sender

    yield make
    for sender, pool, api in made:
        sender.stop(5)
        api.close()
        pool.close()


def _chats(emu, n: int) -> list[int]:
    users = [emu.create_user(first_name=f"U{i}") for i in range(n)]
    for u in users:
        u.send_text(TOKEN, "/start")  # a chat exists only once the user wrote to the bot
    return [u.id for u in users]


def _enqueue(db_url: str, chat_id: int, text: str, priority: int = 0) -> None:
    query(db_url, "INSERT INTO outbox (chat_id, method, params, priority) VALUES "
          "(%s, 'sendMessage', %s, %s)",
          (chat_id, Json({"chat_id": chat_id, "text": text}), priority))


def _settle(db_url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while query(db_url, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
                )[0][0]:
        assert time.monotonic() < deadline, "outbox rows still open"
        time.sleep(0.05)


def _sent_texts(emu, chat_id: int) -> list[str]:
    return [e["text"] for e in emu.transcript(TOKEN, chat_id)
            if e.get("from_bot") or e.get("text", "").startswith(("r", "a"))]


def _queue_replies(db_url: str, chat_id: int, texts: list[str], process: str | None):
    """Queue replies the way a worker's update does; returns the context (its `claimed`)."""
    conn = psycopg2.connect(db_url)
    try:
        ctx = UpdateContext(conn, chat_id=chat_id, user_id=chat_id, update_id=None,
                            claim_for=(process, 90.0) if process else None)
        for text in texts:
            ctx.reply(text)
        conn.commit()
        return ctx
    finally:
        conn.close()


def test_a_reply_to_an_idle_chat_is_claimed_as_it_is_queued_and_only_the_first(db_url):
    process = str(uuid.uuid4())
    ctx = _queue_replies(db_url, 5001, ["r1", "r2"], process)
    rows = query(db_url, "SELECT params->>'text', status, claimed_by::text, claim_token IS NULL,"
                 " lease_until > now() FROM outbox ORDER BY id")
    # One row of a chat in flight at a time: the second waits for the claimer, as always.
    assert rows == [("r1", "sending", process, False, True), ("r2", "pending", None, True, None)]
    assert [(d.id, d.chat_id, d.params["text"], d.blocked) for d in ctx.claimed] == [
        (ctx.claimed[0].id, 5001, "r1", False)]

    # A chat with a row still unsent gets nothing claimed ahead of it.
    again = _queue_replies(db_url, 5001, ["r3"], process)
    assert again.claimed == []
    # Without a sender to hand to (jobs, tests), nothing is claimed.
    other = _queue_replies(db_url, 5002, ["x"], None)
    assert other.claimed == []
    assert query(db_url, "SELECT status FROM outbox WHERE chat_id = 5002") == [("pending",)]


def test_a_presses_answer_and_its_screen_are_both_claimed_as_queued(db_url):
    """An answer to a button press in flight holds its chat up for nothing (it puts no
    message in it): the screen queued after it is claimed too, and both go at once."""
    process = str(uuid.uuid4())
    conn = psycopg2.connect(db_url)
    try:
        ctx = UpdateContext(conn, chat_id=5010, user_id=5010, update_id=None,
                            claim_for=(process, 90.0))
        ctx.answer_callback("q1")
        ctx.edit(77, "the new screen")
        ctx.reply("and one more")
        conn.commit()
    finally:
        conn.close()
    assert [d.method for d in ctx.claimed] == ["answerCallbackQuery", "editMessageText"]
    assert query(db_url, "SELECT method, status FROM outbox ORDER BY id") == [
        ("answerCallbackQuery", "sending"), ("editMessageText", "sending"),
        ("sendMessage", "pending")]


def test_a_claimed_row_of_a_rolled_back_update_is_never_handed_over(db_url):
    conn = psycopg2.connect(db_url)
    try:
        ctx = UpdateContext(conn, chat_id=5003, user_id=5003, update_id=None,
                            claim_for=(str(uuid.uuid4()), 90.0))
        ctx.reply("gone")
        assert len(ctx.claimed) == 1
        conn.rollback()
        ctx.rolled_back()
        assert ctx.claimed == [] and ctx.queued == 0
    finally:
        conn.close()
    assert query(db_url, "SELECT count(*) FROM outbox") == [(0,)]


def test_handed_over_rows_go_out_in_order_and_a_blocked_chat_gets_none(db_url, emu,
                                                                        make_sender):
    chat, blocked_chat = _chats(emu, 2)
    factories.member(db_url, blocked_chat, "B", blocked=True)
    sender = make_sender()
    ctx = _queue_replies(db_url, chat, ["r1", "r2", "r3"], sender.identity.id)
    stopped = _queue_replies(db_url, blocked_chat, ["r-blocked"], sender.identity.id)
    assert [d.blocked for d in stopped.claimed] == [True]
    sender.hand_over(ctx.claimed + stopped.claimed)
    _settle(db_url)
    texts = [e.get("text") for e in emu.transcript(TOKEN, chat)]
    assert [t for t in texts if t and t.startswith("r")] == ["r1", "r2", "r3"]
    assert query(db_url, "SELECT params->>'text', status FROM outbox ORDER BY id") == [
        ("r1", "sent"), ("r2", "sent"), ("r3", "sent"), ("r-blocked", "dropped")]
    assert not [e for e in emu.transcript(TOKEN, blocked_chat) if e.get("text") == "r-blocked"]


def test_alone_a_sender_takes_no_shared_slot_and_with_another_process_it_does(db_url, emu,
                                                                              make_sender):
    (chat,) = _chats(emu, 1)
    sender = make_sender()
    for k in range(3):
        _enqueue(db_url, chat, f"alone{k}")
    sender.wake()
    _settle(db_url)
    assert not sender.uses_shared_slots()
    assert query(db_url, "SELECT cardinality(sends) FROM outbound_limit") == [(0,)]

    # Another instance registers: from the sender's next heartbeat on, every call takes a slot
    # of the window all instances share.
    query(db_url, "INSERT INTO bot_processes (id, hostname, pid_namespace, pid) "
          "VALUES (%s, 'elsewhere', '', 1)", (str(uuid.uuid4()),))
    deadline = time.monotonic() + 10
    while not sender.uses_shared_slots():
        assert time.monotonic() < deadline, "the heartbeat never saw the other process"
        time.sleep(0.1)
    for k in range(3):
        _enqueue(db_url, chat, f"shared{k}")
    sender.wake()
    _settle(db_url)
    assert query(db_url, "SELECT cardinality(sends) FROM outbound_limit") == [(3,)]


def test_a_process_joining_others_sends_nothing_until_they_have_seen_it(db_url, emu,
                                                                        make_sender):
    (chat,) = _chats(emu, 1)
    query(db_url, "INSERT INTO bot_processes (id, hostname, pid_namespace, pid) "
          "VALUES (%s, 'elsewhere', '', 1)", (str(uuid.uuid4()),))
    _enqueue(db_url, chat, "r-joined")
    started = time.monotonic()
    sender = make_sender()
    sender.wake()
    _settle(db_url, timeout=JOIN_QUIET_SECONDS + 10)
    # The others beat every HEARTBEAT_SECONDS: after JOIN_QUIET_SECONDS each has seen it and
    # takes shared slots, so their calls and this one's are counted together.
    assert time.monotonic() - started >= JOIN_QUIET_SECONDS - 0.2
    assert sender.uses_shared_slots()
    assert query(db_url, "SELECT cardinality(sends) FROM outbound_limit") == [(1,)]


def test_a_reply_takes_the_next_slot_ahead_of_announcements_queued_before_it(db_url, emu,
                                                                             make_sender):
    """Eight sender threads, 3 calls a second: the threads wait for a place in the window
    first and then take the most urgent row. (Taking a row first, each thread held an
    announcement row while it waited, and a reply queued behind them waited for three
    windows.)"""
    chats = _chats(emu, 31)
    for chat in chats[:30]:
        _enqueue(db_url, chat, f"a{chat}", priority=PRIORITY_ANNOUNCEMENT)
    sender = make_sender(rate=3, threads=8)
    sender.wake()
    deadline = time.monotonic() + 10
    while query(db_url, "SELECT count(*) FROM outbox WHERE status = 'sent'")[0][0] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.4)  # inside a window: every thread is waiting for a place now
    _enqueue(db_url, chats[30], "r-urgent")
    sender.wake()
    queued = time.monotonic()
    while not query(db_url, "SELECT 1 FROM outbox WHERE params->>'text' = 'r-urgent' "
                    "AND status = 'sent'"):
        assert time.monotonic() - queued < 10
        time.sleep(0.02)
    waited = time.monotonic() - queued
    # The window reopens within its length (1.02 s) and the reply takes its first place.
    assert waited < 1.2, f"the reply waited {waited:.2f}s"


def _message(update_id: int, chat: int, text: str, user: int | str | None = None) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat if user is None else user, "is_bot": False, "first_name": "T"}}}


def _run_updates(db_url: str, updates: list[dict], handle, statements: list | None = None,
                 **kw) -> None:
    """The updates through real workers; `statements` collects what each update's connection
    ran (psycopg2's query log of the worker's cursors)."""
    from fitclub.runtime.chat_queue import ChatQueue
    from fitclub.runtime.dispatcher import Workers
    from fitclub.runtime.poller import store_updates

    pool = Pool(db_url, minconn=1, maxconn=4)
    queue = ChatQueue()
    opts = {"threads": 1, "max_attempts": 2, "flood_rate": 100.0, "flood_burst": 1000,
            "retry_delays": (0.05,)}
    opts.update(kw)
    workers = Workers(pool=pool, queue=queue, handle=handle, **opts)
    try:
        for _update_id, chat in store_updates(pool, updates):
            queue.add(chat)
        workers.start()
        deadline = time.monotonic() + 20
        while query(db_url, "SELECT count(*) FROM inbox WHERE status = 'pending'")[0][0]:
            assert time.monotonic() < deadline, "updates still pending"
            time.sleep(0.05)
    finally:
        workers.stop(5)
        pool.close()


def test_the_first_statement_reads_the_member_and_the_flow_ahead(db_url):
    """What a handler asks first (the member, the flow) comes with inbox.begin: no query of
    its own, and the same answer as asking."""
    from fitclub import flows
    from fitclub.runtime.context import _UNSET, current

    factories.member(db_url, 6001, "Anna", language="ru")
    query(db_url, "INSERT INTO conversation_state (bot_id, chat_id, user_id, thread_key, "
          "state, data) VALUES (0, 6001, 6001, '', 'reg:phone', '{\"x\": 1}')")
    seen = []

    def handle(payload):
        ctx = current()
        prefetched = ctx._found is not _UNSET and "flow_row" in ctx.cache
        member = ctx.member
        flow = flows.current(ctx)
        seen.append((payload["update_id"], prefetched, member and member.first_name,
                     ctx.lang, flow.state, flow.data))

    _run_updates(db_url, [_message(1, 6001, "hi"), _message(2, 6002, "hi"),
                          _message(3, 6001, "as someone else", user=6003)], handle)
    assert sorted(seen) == [
        (1, True, "Anna", "ru", "reg:phone", {"x": 1}),
        # Nobody registered and no flow: known absent, not asked again.
        (2, True, None, "en", None, {}),
        # A user other than the chat's: read ahead for that user, as flows key it.
        (3, True, None, "en", None, {}),
    ]


def test_a_failing_handler_takes_back_the_mark_and_the_flood_token(db_url):
    """The update is marked done by the first statement; a handler that raises rolls that back
    with everything else, and the failure is recorded after the chat is taken again."""
    calls = []

    def handle(payload):
        calls.append(payload["update_id"])
        query(db_url, "SELECT 1")  # another connection: nothing of it is rolled back
        raise RuntimeError("boom")

    _run_updates(db_url, [_message(7, 6100, "x")], handle, max_attempts=2)
    assert calls == [7, 7]
    assert query(db_url, "SELECT status, attempts, error LIKE 'RuntimeError: boom%' "
                 "FROM inbox") == [("failed", 2, True)]
    # The apology is the only reply; the two runs' flood tokens went back with them, the
    # recording transaction counted none.
    assert query(db_url, "SELECT count(*) FROM outbox") == [(1,)]
    assert query(db_url, "SELECT round(tokens) FROM chat_flood") == []


def test_a_payment_is_never_counted_and_a_flood_is_skipped_in_the_first_statement(db_url):
    paid = {"update_id": 20, "message": {
        "message_id": 20, "date": 0, "chat": {"id": 6200, "type": "private"},
        "from": {"id": 6200, "is_bot": False, "first_name": "P"},
        "successful_payment": {"currency": "EUR", "total_amount": 100,
                               "invoice_payload": "x", "telegram_payment_charge_id": "c",
                               "provider_payment_charge_id": "p"}}}
    ran = []
    _run_updates(db_url, [_message(21, 6200, "a"), _message(22, 6200, "b"), paid,
                          _message(23, 6200, "c")],
                 lambda payload: ran.append(payload["update_id"]), flood_rate=0.05,
                 flood_burst=1)
    # Sorted by update id: 20 (paid) first; then 21 takes the only token, 22 and 23 are over.
    assert ran == [20, 21]
    assert query(db_url, "SELECT update_id, status, error, payload ? 'message' FROM inbox "
                 "ORDER BY update_id") == [
        (20, "done", None, True), (21, "done", None, True),
        (22, "skipped", "flood control", False), (23, "skipped", "flood control", False)]
    # One "slow down", then silence.
    assert query(db_url, "SELECT count(*) FROM outbox") == [(1,)]


def test_the_chats_command_list_is_read_ahead_and_judged_as_needs_set_would(db_url):
    """/start asks whether the chat's "/" list is the one its member should have: answered
    from what the first statement read (a list stored and sent: no; one Telegram refused, or
    another fingerprint, or none: yes), the same answers as command_lists.needs_set."""
    from fitclub import commands
    from fitclub.db.members import by_telegram_id
    from fitclub.runtime.context import current

    for tg in (6301, 6302, 6303, 6304):
        factories.member(db_url, tg, f"M{tg}")
    good = commands.fingerprint(commands.member_list("member", "en"))
    failed = query(db_url, "INSERT INTO outbox (chat_id, method, params, status) VALUES "
                   "(6302, 'setMyCommands', '{}', 'failed') RETURNING id")[0][0]
    query(db_url, "INSERT INTO command_lists (chat_id, fingerprint, outbox_id) VALUES "
          "(6301, %s, NULL), (6302, %s, %s), (6303, 'ffffffffffffffff', NULL)",
          (good, good, failed))
    answers = {}

    def handle(payload):
        ctx = current()
        read_ahead = "command_list" in ctx.cache
        member = by_telegram_id(ctx.conn, ctx.chat_id)
        answers[ctx.chat_id] = (read_ahead, commands.refresh(ctx, member))

    _run_updates(db_url, [_message(30 + i, tg, "/start")
                          for i, tg in enumerate((6301, 6302, 6303, 6304))], handle)
    assert answers == {6301: (True, False), 6302: (True, True), 6303: (True, True),
                       6304: (True, True)}


def test_a_buttons_answer_takes_no_place_of_the_messages_limit(db_url, emu, make_sender):
    """At one call a second, three messages queued first take three seconds; the answer to a
    button press queued after them goes at once (Telegram's limits count messages)."""
    chats = _chats(emu, 4)
    for chat in chats[:3]:
        _enqueue(db_url, chat, f"r{chat}")
    query(db_url, "INSERT INTO outbox (chat_id, method, params) VALUES "
          "(%s, 'answerCallbackQuery', %s)", (chats[3], Json({"callback_query_id": "q1"})))
    started = time.monotonic()
    sender = make_sender(rate=1, threads=4)
    sender.wake()
    answered = None
    while query(db_url, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
                )[0][0]:
        if answered is None and query(db_url, "SELECT 1 FROM outbox WHERE status = 'sent' "
                                      "AND method = 'answerCallbackQuery'"):
            answered = time.monotonic() - started
        assert time.monotonic() - started < 15
        time.sleep(0.02)
    assert answered is not None and answered < 0.8, answered
    assert time.monotonic() - started >= 1.9  # the messages kept the rate


def test_a_reply_is_claimed_ahead_of_an_announcement_waiting_for_its_chat(db_url):
    """The claim's order is priority, then age: a reply overtakes a queued announcement, so
    one waiting does not keep the reply from being claimed as it is queued; a reply waiting
    does."""
    process = str(uuid.uuid4())
    _enqueue(db_url, 5020, "announcement", priority=PRIORITY_ANNOUNCEMENT)
    first = _queue_replies(db_url, 5020, ["r1"], process)
    assert [d.params["text"] for d in first.claimed] == ["r1"]
    _enqueue(db_url, 5021, "older reply")
    second = _queue_replies(db_url, 5021, ["r2"], process)
    assert second.claimed == []
