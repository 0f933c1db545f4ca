"""Webhook delivery order: per chat (else per user) one update at a time, in order, as Telegram.

A real HTTP receiver on 127.0.0.1 plays the bot. It records when each request starts and ends,
answers from a script, and can hold a chat's request until the test lets it go.
"""

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tgemu.model import UpdateRec
from tgemu.webhook import queue_key

WAIT = 15.0  # seconds; generous for a loaded machine, never reached when things work


def _chat_of(body: dict):
    """The receiver's view of an update's chat (the test's own reading, not tgemu's)."""
    for kind, obj in body.items():
        if kind == "update_id" or not isinstance(obj, dict):
            continue
        if "chat" in obj:
            return obj["chat"]["id"]
        if isinstance(obj.get("message"), dict):
            return obj["message"]["chat"]["id"]
        if isinstance(obj.get("from"), dict):
            return obj["from"]["id"]
        return ("alone", body["update_id"])
    return ("alone", body["update_id"])


class _Server(ThreadingHTTPServer):
    # tgemu opens up to max_connections at once; the default backlog of 5 resets some.
    request_queue_size = 128


class Receiver:
    """A webhook endpoint: records (update_id, chat, status) per request and who was in flight.

    fail[update_id] = n answers 500 to that update's first n requests; hold(chat) keeps that
    chat's requests open until release(chat).
    """

    def __init__(self):
        self.cond = threading.Condition()
        self.log: list[dict] = []  # one entry per request, in order of arrival
        self.active: Counter = Counter()  # chat -> requests open now
        self.max_active_per_chat: Counter = Counter()
        self.max_active = 0
        self.fail: dict[int, int] = {}
        self.held: set = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.handle(body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, body: dict) -> int:
        uid, chat = body["update_id"], _chat_of(body)
        with self.cond:
            entry = {"update_id": uid, "chat": chat, "status": None}
            self.log.append(entry)
            self.active[chat] += 1
            self.max_active_per_chat[chat] = max(self.max_active_per_chat[chat], self.active[chat])
            self.max_active = max(self.max_active, sum(self.active.values()))
            self.cond.notify_all()
            self.cond.wait_for(lambda: chat not in self.held, timeout=WAIT)
            status = 200
            if self.fail.get(uid, 0) > 0:
                self.fail[uid] -= 1
                status = 500
            entry["status"] = status
            self.active[chat] -= 1
            self.cond.notify_all()
        return status

    def hold(self, chat):
        with self.cond:
            self.held.add(chat)

    def release(self, chat):
        with self.cond:
            self.held.discard(chat)
            self.cond.notify_all()

    def wait(self, check, what: str):
        """Block until check() (run under the lock) is true; AssertionError naming what."""
        with self.cond:
            if not self.cond.wait_for(check, timeout=WAIT):
                raise AssertionError(f"timed out waiting for {what}; requests: {self.log}")

    def delivered(self, chat=None) -> list[int]:
        """Update ids answered 200, in the order they were answered."""
        return [
            e["update_id"]
            for e in self.log
            if e["status"] == 200 and (chat is None or e["chat"] == chat)
        ]

    def requested(self, chat) -> list[int]:
        """Update ids as the chat's requests arrived, retries included."""
        return [e["update_id"] for e in self.log if e["chat"] == chat]


def _serve():
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        with r.cond:
            r.held.clear()
            r.cond.notify_all()
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture
def receiver():
    yield from _serve()


@pytest.fixture
def second_receiver():
    yield from _serve()


def _wait_until(check, what: str):
    """Poll check() until it is true; AssertionError naming what after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _settled(bot, emu, token):
    """pending_update_count once nothing is pending or in flight."""
    _wait_until(lambda: bot.get_webhook_info().pending_update_count == 0, "nothing pending")
    return bot.get_webhook_info().pending_update_count


def _attempts(emu, token, uid) -> int:
    state = emu.bot(token)
    with state.lock:
        return state.records[uid].attempts


def test_a_failed_update_holds_back_its_chat_but_not_the_others(bot, emu, token, receiver):
    bot.set_webhook(url=receiver.url, max_connections=8)
    ann, bob = emu.create_user(first_name="Ann"), emu.create_user(first_name="Bob")
    receiver.hold(ann.id)
    ann_ids = [ann.send_text(token, f"a{i}") for i in range(5)]
    receiver.fail[ann_ids[0]] = 2
    receiver.wait(lambda: receiver.requested(ann.id), "Ann's first request")
    bob_ids = [bob.send_text(token, f"b{i}") for i in range(3)]
    receiver.wait(lambda: receiver.delivered(bob.id) == bob_ids, "Bob's updates")
    receiver.release(ann.id)
    receiver.wait(lambda: len(receiver.delivered(ann.id)) == 5, "Ann's updates")

    # Bob went through while Ann's first update was out and then waiting for its retries.
    assert receiver.delivered(bob.id) == bob_ids
    assert receiver.delivered().index(bob_ids[-1]) < receiver.delivered().index(ann_ids[0])
    # Ann's later updates waited for the first one: strictly in order, never two at once.
    first = ann_ids[0]
    assert receiver.requested(ann.id) == [first, first, first, *ann_ids[1:]]
    assert receiver.delivered(ann.id) == ann_ids
    assert receiver.max_active_per_chat[ann.id] == 1
    assert receiver.max_active_per_chat[bob.id] == 1
    assert _settled(bot, emu, token) == 0
    stats = emu.stats(token)
    assert (stats["webhook_deliveries"], stats["webhook_failures"]) == (8, 2)
    assert [_attempts(emu, token, u) for u in ann_ids + bob_ids] == [3] + [1] * 7
    assert len(receiver.log) == stats["webhook_deliveries"] + stats["webhook_failures"]


def test_a_slow_chat_gets_one_update_at_a_time_while_others_go_on(bot, emu, token, receiver):
    bot.set_webhook(url=receiver.url, max_connections=10)
    slow = emu.create_user(first_name="Slow")
    others = [emu.create_user(first_name=f"U{i}") for i in range(4)]
    receiver.hold(slow.id)
    slow_ids = [slow.send_text(token, f"s{i}") for i in range(4)]
    other_ids = {u.id: [u.send_text(token, f"o{i}") for i in range(3)] for u in others}
    receiver.wait(
        lambda: all(receiver.delivered(c) == ids for c, ids in other_ids.items()),
        "the other chats' updates",
    )
    # Twelve updates of four chats went through while the slow chat's first one was held,
    # and nothing more of the slow chat was sent meanwhile.
    assert receiver.requested(slow.id) == [slow_ids[0]]
    assert receiver.max_active >= 2
    receiver.release(slow.id)
    receiver.wait(lambda: receiver.delivered(slow.id) == slow_ids, "the slow chat's updates")
    assert all(n == 1 for n in receiver.max_active_per_chat.values())
    assert _settled(bot, emu, token) == 0
    assert emu.stats(token)["webhook_deliveries"] == 16


@pytest.mark.parametrize(
    "failing",
    [
        {(0, 0): 1},  # one chat's first update fails once
        {(0, 0): 2, (3, 4): 1, (7, 9): 2, (12, 1): 1, (12, 2): 1, (19, 5): 1},
    ],
    ids=["one-failure", "failures-in-several-chats"],
)
def test_updates_of_many_chats_keep_each_chats_order(bot, emu, token, receiver, failing):
    bot.set_webhook(url=receiver.url, max_connections=20)
    users = [emu.create_user(first_name=f"U{i}") for i in range(20)]
    for u in users:
        receiver.hold(u.id)  # so that the failures are set before any answer
    sent: dict[int, list[int]] = {u.id: [] for u in users}
    for i in range(10):
        for n, u in enumerate(users):
            uid = u.send_text(token, f"m{i}")
            sent[u.id].append(uid)
            if (n, i) in failing:
                receiver.fail[uid] = failing[(n, i)]
    for u in users:
        receiver.release(u.id)
    receiver.wait(lambda: len(receiver.delivered()) == 200, "200 updates")
    assert {u.id: receiver.delivered(u.id) for u in users} == sent
    assert all(n == 1 for n in receiver.max_active_per_chat.values())
    assert _settled(bot, emu, token) == 0
    stats = emu.stats(token)
    failures = sum(failing.values())
    assert (stats["webhook_deliveries"], stats["webhook_failures"]) == (200, failures)
    attempts = [_attempts(emu, token, uid) for ids in sent.values() for uid in ids]
    assert sum(attempts) == len(receiver.log) == 200 + failures


def test_updates_without_a_chat_or_user_each_have_a_queue(bot, emu, token, receiver):
    bot.set_webhook(url=receiver.url, max_connections=5)
    poll = {"id": "p", "question": "?", "options": [], "total_voter_count": 0, "is_closed": True}
    ids = [emu.inject_update(token, {"poll": dict(poll, id=f"p{i}")}) for i in range(3)]
    for uid in ids:
        receiver.hold(("alone", uid))
    # All three are out at once: none waits behind another.
    receiver.wait(lambda: sum(receiver.active.values()) == 3, "three polls in flight")
    for uid in ids:
        receiver.release(("alone", uid))
    receiver.wait(lambda: sorted(receiver.delivered()) == ids, "the polls")
    assert _settled(bot, emu, token) == 0


def test_a_users_chat_less_update_waits_behind_their_chat(bot, emu, token, receiver):
    bot.set_webhook(url=receiver.url, max_connections=5)
    ann, bob = emu.create_user(first_name="Ann"), emu.create_user(first_name="Bob")
    receiver.hold(ann.id)
    first = ann.send_text(token, "hi")
    receiver.wait(lambda: receiver.requested(ann.id), "Ann's message")
    query = {"id": "q1", "from": {"id": ann.id, "is_bot": False, "first_name": "Ann"}}
    inline = emu.inject_update(token, {"inline_query": dict(query, query="x", offset="")})
    later = bob.send_text(token, "later")
    receiver.wait(lambda: receiver.delivered(bob.id) == [later], "Bob's message")
    assert receiver.requested(ann.id) == [first]  # the inline query is not out yet
    receiver.release(ann.id)
    receiver.wait(lambda: receiver.delivered(ann.id) == [first, inline], "Ann's two updates")
    assert receiver.max_active_per_chat[ann.id] == 1


def test_dropping_pending_updates_leaves_no_chat_stuck(bot, emu, token, receiver):
    bot.set_webhook(url=receiver.url, max_connections=5)
    ann = emu.create_user(first_name="Ann")
    receiver.hold(ann.id)
    first = ann.send_text(token, "one")
    dropped = [ann.send_text(token, t) for t in ("two", "three")]
    receiver.wait(lambda: receiver.requested(ann.id), "Ann's first message")
    assert bot.set_webhook(url=receiver.url, max_connections=5, drop_pending_updates=True)
    assert bot.get_webhook_info().pending_update_count == 0
    after = ann.send_text(token, "four")
    receiver.release(ann.id)
    receiver.wait(lambda: receiver.delivered(ann.id) == [first, after], "the kept updates")
    assert not set(dropped) & set(receiver.requested(ann.id))
    assert receiver.max_active_per_chat[ann.id] == 1
    assert _settled(bot, emu, token) == 0


def _rec(payload: dict, chat_id=None, update_id=1) -> UpdateRec:
    kind = next(k for k in payload if k != "update_id")
    return UpdateRec(update_id, kind, {"update_id": update_id, **payload}, chat_id, False)


@pytest.mark.parametrize(
    ("payload", "chat_id", "key"),
    [
        ({"message": {"chat": {"id": 5}}}, 5, 5),
        ({"message": {"chat": {"id": -100}}}, None, -100),
        ({"callback_query": {"from": {"id": 7}, "message": {"chat": {"id": -3}}}}, None, -3),
        ({"callback_query": {"from": {"id": 7}, "inline_message_id": "x"}}, None, 7),
        ({"inline_query": {"from": {"id": 9}}}, None, 9),
        ({"poll_answer": {"user": {"id": 11}}}, None, 11),
    ],
)
def test_queue_key_is_the_chat_else_the_user(payload, chat_id, key):
    assert queue_key(_rec(payload, chat_id)) == key


@pytest.mark.parametrize(
    "payload",
    [
        {"poll": {"id": "p"}},
        {"message": {"chat": {"id": "5"}}},  # not an integer id
        {"message": {"chat": {"id": True}}},
        {"inline_query": {"from": None}},
        {"inline_query": "not an object"},
        {"unknown_kind": 3},
    ],
)
def test_queue_key_of_an_update_without_a_usable_chat_or_user_is_its_own(payload):
    one, two = _rec(payload, update_id=1), _rec(payload, update_id=2)
    assert queue_key(one) != queue_key(two)
    assert queue_key(one) == queue_key(one)
    assert not isinstance(queue_key(one), int)


def test_a_request_that_times_out_is_sent_again_before_the_next(bot, emu, token, receiver):
    emu.configure(webhook_timeout=0.5)
    bot.set_webhook(url=receiver.url, max_connections=5)
    ann = emu.create_user(first_name="Ann")
    receiver.hold(ann.id)
    ids = [ann.send_text(token, t) for t in ("one", "two")]
    # The receiver keeps the first request past tgemu's timeout: tgemu gives up and retries.
    receiver.wait(lambda: receiver.requested(ann.id) == [ids[0], ids[0]], "the retry")
    receiver.release(ann.id)
    receiver.wait(lambda: ids[1] in receiver.delivered(ann.id), "the second update")
    assert receiver.requested(ann.id) == [ids[0], ids[0], ids[1]]
    assert _settled(bot, emu, token) == 0
    stats = emu.stats(token)
    assert (stats["webhook_deliveries"], stats["webhook_failures"]) == (2, 1)
    assert bot.get_webhook_info().last_error_message == "Connection error: TimeoutError"
    assert [_attempts(emu, token, u) for u in ids] == [2, 1]


def test_a_redelivered_update_waits_behind_its_chats_update_in_flight(bot, emu, token, receiver):
    bot.set_webhook(url=receiver.url, max_connections=5)
    ann = emu.create_user(first_name="Ann")
    receiver.hold(ann.id)
    ids = [ann.send_text(token, t) for t in ("one", "two")]
    receiver.wait(lambda: receiver.requested(ann.id) == [ids[0]], "the first update")
    assert emu.redeliver(token, ids[0]) == ids[0]
    assert bot.get_webhook_info().pending_update_count == 3
    receiver.release(ann.id)
    receiver.wait(lambda: len(receiver.delivered(ann.id)) == 3, "three deliveries")
    assert receiver.requested(ann.id) == [ids[0], ids[0], ids[1]]
    assert receiver.max_active_per_chat[ann.id] == 1
    assert _settled(bot, emu, token) == 0
    assert emu.stats(token)["webhook_deliveries"] == 3


def test_a_new_webhook_url_takes_over_a_chat_after_its_update_in_flight(
    bot, emu, token, receiver, second_receiver
):
    bot.set_webhook(url=receiver.url, max_connections=5)
    ann = emu.create_user(first_name="Ann")
    receiver.hold(ann.id)
    ids = [ann.send_text(token, t) for t in ("one", "two")]
    receiver.wait(lambda: receiver.requested(ann.id) == [ids[0]], "the first update")
    # setWebhook lets the old URL's requests in flight finish before the new one starts.
    moving = threading.Thread(target=bot.set_webhook, kwargs={"url": second_receiver.url})
    moving.start()
    try:
        _wait_until(lambda: bot.get_webhook_info().url == second_receiver.url, "the switch")
        receiver.release(ann.id)
        second_receiver.wait(lambda: second_receiver.delivered(ann.id) == [ids[1]], "the second")
    finally:
        receiver.release(ann.id)
        moving.join(WAIT)
    assert receiver.requested(ann.id) == [ids[0]]
    assert second_receiver.requested(ann.id) == [ids[1]]
    assert _settled(bot, emu, token) == 0
