"""Update delivery: getUpdates semantics, conflicts, and webhook pushes."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from telebot.apihelper import ApiTelegramException

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use "
    "deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running"
)


def test_unconfirmed_updates_come_back_and_confirmed_ones_do_not(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    first = ann.send_text(token, "one")
    second = ann.send_text(token, "two")
    assert [u.update_id for u in bot.get_updates()] == [first, second]
    assert [u.update_id for u in bot.get_updates()] == [first, second]  # not confirmed yet
    assert [u.update_id for u in bot.get_updates(offset=first + 1)] == [second]
    assert bot.get_updates(offset=second + 1, long_polling_timeout=0) == []
    third = ann.send_text(token, "three")
    assert [u.update_id for u in bot.get_updates()] == [third]  # the offset was remembered


def test_limit_and_negative_offset(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    ids = [ann.send_text(token, f"m{i}") for i in range(5)]
    assert [u.update_id for u in bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in bot.get_updates(offset=-2)] == ids[3:]
    assert [u.update_id for u in bot.get_updates()] == ids[3:]  # older ones were forgotten


def test_long_poll_waits_for_the_timeout_when_nothing_comes(bot):
    started = time.monotonic()
    assert bot.get_updates(long_polling_timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


def test_long_poll_returns_as_soon_as_an_update_arrives(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    timer = threading.Timer(0.3, ann.send_text, (token, "late"))
    timer.start()
    try:
        started = time.monotonic()
        updates = bot.get_updates(long_polling_timeout=10)
        assert [u.message.text for u in updates] == ["late"]
        assert time.monotonic() - started < 3
    finally:
        timer.cancel()


def test_a_second_get_updates_terminates_the_one_in_flight(bot):
    errors = []

    def first_poll():
        try:
            bot.get_updates(long_polling_timeout=10)
        except ApiTelegramException as exc:
            errors.append(exc)

    t = threading.Thread(target=first_poll)
    t.start()
    time.sleep(0.3)
    assert bot.get_updates(long_polling_timeout=0) == []
    t.join(10)
    assert [(e.error_code, e.description) for e in errors] == [(409, POLL_CONFLICT)]


def test_allowed_updates_filters_and_is_remembered(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "/start")
    bot.get_updates(allowed_updates=["callback_query"], long_polling_timeout=0)
    msg = bot.send_message(ann.id, "pick", reply_markup=_kb())
    assert ann.send_text(token, "ignored") is None
    ann.press_button(token, msg.message_id, "a")
    updates = bot.get_updates(offset=-100)
    assert [u.callback_query.data for u in updates if u.callback_query] == ["a"]
    assert all(u.message is None or u.message.text == "/start" for u in updates)
    assert emu.stats(token)["updates_filtered"] == 1


def _kb():
    from telebot import types

    kb = types.InlineKeyboardMarkup()
    kb.add(types.InlineKeyboardButton("A", callback_data="a"))
    return kb


class Receiver:
    """A webhook endpoint that records every POST and answers with scripted statuses."""

    def __init__(self, statuses=(), delay=0.0):
        self.statuses = list(statuses)
        self.delay = delay
        self.requests: list[tuple[dict, dict]] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.active += 1
                    receiver.max_active = max(receiver.max_active, receiver.active)
                    receiver.requests.append((dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.active -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"webhook got {len(self.requests)} of {count} requests")


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(), delay=0.0):
        r = Receiver(statuses, delay)
        r.thread.start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def test_webhook_push_carries_the_secret_and_retries_after_a_500(bot, emu, token, receiver):
    hook = receiver(statuses=[500])
    assert bot.set_webhook(url=hook.url, secret_token="s3cret-token") is True
    ann = emu.create_user(first_name="Ann")
    uid = ann.send_text(token, "hello")
    requests_seen = hook.wait_for(2)
    assert [body["update_id"] for _, body in requests_seen] == [uid, uid]
    assert all(h["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-token" for h, _ in requests_seen)
    assert requests_seen[0][1]["message"]["text"] == "hello"
    deadline = time.monotonic() + 5
    while bot.get_webhook_info().pending_update_count and time.monotonic() < deadline:
        time.sleep(0.05)
    info = bot.get_webhook_info()
    assert info.url == hook.url and info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert emu.stats(token)["webhook_failures"] == 1


def test_get_updates_conflicts_while_a_webhook_is_set(bot, emu, token, receiver):
    hook = receiver()
    bot.set_webhook(url=hook.url)
    with pytest.raises(ApiTelegramException) as info:
        bot.get_updates(long_polling_timeout=0)
    assert (info.value.error_code, info.value.description) == (409, WEBHOOK_CONFLICT)
    assert bot.delete_webhook() is True
    assert bot.get_updates(long_polling_timeout=0) == []


def test_webhook_keeps_at_most_max_connections_in_flight(bot, emu, token, receiver):
    hook = receiver(delay=0.3)
    bot.set_webhook(url=hook.url, max_connections=2)
    users = [emu.create_user(first_name=f"U{i}") for i in range(6)]
    for u in users:
        u.send_text(token, "hi")
    hook.wait_for(6)
    assert hook.max_active == 2
    assert bot.get_webhook_info().max_connections == 2


def test_drop_pending_updates_on_delete_webhook(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "old")
    assert bot.delete_webhook(drop_pending_updates=True) is True
    assert bot.get_updates(long_polling_timeout=0) == []
