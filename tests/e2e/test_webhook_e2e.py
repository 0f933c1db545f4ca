"""Webhook mode end to end: `bot.py webhook` instances as their own processes, tgemu pushing
updates to them over HTTP, a real PostgreSQL; `bot.py set-webhook` / `delete-webhook`, and
`bot.py run` refusing to poll while a webhook is set."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest

from fitclub.app import EXIT_WEBHOOK_SET, WEBHOOK_SET_LINE
from fitclub.devdb import free_port
from fitclub.locales import Texts
from fitclub.runtime.poller import ALLOWED_UPDATES
from tests import factories
from tests.e2e.admin_session import plain
from tests.e2e.harness import (
    TOKEN,
    Stream,
    bot_texts,
    inbox_status,
    query,
    record_calls,
    wait_until,
)
from tests.e2e.session import Person
from tests.e2e.test_runtime_systemd import NotifySocket

#: A provider token as @BotFather gives one for a provider's test mode (tgemu takes any).
PROVIDER_TOKEN = "284685063:TEST:ZTJkZjE0YjZhNjcx"


def _webhook_info(emu) -> dict:
    status, body = emu.call(TOKEN, "getWebhookInfo", {})
    assert status == 200, body
    return body["result"]


def _set_webhook(launcher, url: str, *extra: str, **settings) -> None:
    done = launcher.bot_py("set-webhook", "--url", url, *extra, **settings)
    assert done.returncode == 0, done.stderr
    assert url not in done.stdout + done.stderr, "the URL (a secret path) is not echoed"


def test_set_webhook_then_a_member_is_answered_through_the_webhook(emu, launcher, db_url):
    """set-webhook gives Telegram the URL, the secret, the update kinds and max_connections;
    updates then arrive by POST (no getUpdates at all) and are answered."""
    calls = record_calls(emu)
    bot = launcher.start_webhook(db_url)
    # One connection: tgemu does not hold back a chat's next update while one of that chat
    # is in flight on another connection, so with more the replies' order would be tgemu's.
    _set_webhook(launcher, bot.webhook_url(), WEBHOOK_MAX_CONNECTIONS=1)
    info = _webhook_info(emu)
    assert info["url"] == bot.webhook_url()
    assert info["max_connections"] == 1
    assert sorted(info["allowed_updates"]) == sorted(ALLOWED_UPDATES)
    assert emu.bot(TOKEN).webhook.secret == launcher.env(None)["WEBHOOK_SECRET"]

    stream = Stream(emu, chats=5)
    stream.send(per_chat=4)
    stream.wait_processed(db_url, timeout=60)
    stream.assert_effects_exactly_once(db_url)
    stream.assert_replies_exactly_once_in_order()
    member = emu.create_user("Mia")
    member.send_text(TOKEN, "/start")
    wait_until(lambda: bot_texts(emu, member.id), 20, "an answer to /start")
    stats = emu.stats(TOKEN)
    assert stats["webhook_deliveries"] >= stream.total + 1
    assert [m for _, m, _ in calls if m == "getUpdates"] == []
    assert bot.alive()
    # METRICS_ADDR's /healthz judges no poller here.
    status, health = bot.healthz()
    assert status == 200 and health["seconds_since_poll"] is None, health
    assert bot.webhook_get("/healthz") == (200, '{"status": "ok", "database": true}\n')


def test_run_refuses_to_poll_while_a_webhook_is_set_and_polls_once_deleted(
        emu, launcher, db_url):
    """`bot.py run` with a webhook set exits 2 with one line saying how to remove it, having
    called neither getUpdates nor deleteWebhook; after `bot.py delete-webhook` it polls."""
    _set_webhook(launcher, "http://127.0.0.1:9/webhook")
    calls = record_calls(emu)
    # Nothing listens there: the check comes before the database is touched (an instance
    # waiting for its database would exit 1 after a minute).
    refused = launcher.start(f"postgresql://fitclub@127.0.0.1:{free_port()}/nowhere",
                             wait=False)
    assert refused.wait(30) == EXIT_WEBHOOK_SET
    assert WEBHOOK_SET_LINE in refused.log_text()
    assert len([line for line in refused.log_text().splitlines() if "CRITICAL" in line]) == 1
    assert "127.0.0.1:9" not in refused.log_text()
    methods = {m for _, m, _ in calls}
    assert "getUpdates" not in methods and "deleteWebhook" not in methods
    assert _webhook_info(emu)["url"] == "http://127.0.0.1:9/webhook"

    deleted = launcher.bot_py("delete-webhook")
    assert deleted.returncode == 0, deleted.stderr
    assert _webhook_info(emu)["url"] == ""
    launcher.start(db_url)
    stream = Stream(emu, chats=2)
    stream.send(per_chat=2)
    stream.wait_processed(db_url, timeout=30)
    assert any(m == "getUpdates" for _, m, _ in calls)


def test_set_webhook_needs_the_secret_and_reports_a_refusal(emu, launcher):
    """Without WEBHOOK_SECRET set-webhook is a configuration error (2) and calls nothing; a URL
    Telegram refuses is reported with Telegram's words (1)."""
    calls = record_calls(emu)
    missing = launcher.bot_py("set-webhook", "--url", "https://example.org/x", WEBHOOK_SECRET="")
    assert missing.returncode == 2
    assert "WEBHOOK_SECRET" in missing.stderr
    assert calls == []
    refused = launcher.bot_py("set-webhook", "--url", "ftp://example.org/x")
    assert refused.returncode == 1
    assert "HTTPS URL must be provided" in refused.stderr
    assert _webhook_info(emu)["url"] == ""


@pytest.mark.parametrize("setting, value", [
    ("WEBHOOK_SECRET", ""), ("WEBHOOK_SECRET", "short"), ("WEBHOOK_LISTEN", "off"),
    ("WEBHOOK_LISTEN", "127.0.0.1"), ("WEBHOOK_MAX_BODY", "12"),
])
def test_webhook_refuses_a_missing_or_bad_setting(launcher, db_url, setting, value):
    """`bot.py webhook` without its secret or a place to listen is a configuration error
    naming the variable (exit 2); the secret is never echoed."""
    refused = launcher.bot_py("webhook", db_url=db_url, **{setting: value})
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(f"config error: {setting} ")
    assert launcher.env(None)["WEBHOOK_SECRET"] not in refused.stderr


@pytest.mark.parametrize("command", ["set-webhook", "delete-webhook"])
def test_drop_pending_updates_forgets_what_telegram_holds(emu, launcher, command):
    """Without the flag the updates Telegram holds stay; with it they are dropped."""
    user = emu.create_user("Held")
    user.send_text(TOKEN, "one")
    user.send_text(TOKEN, "two")
    url = ("--url", "http://127.0.0.1:9/webhook") if command == "set-webhook" else ()
    kept = launcher.bot_py(command, *url)
    assert kept.returncode == 0, kept.stderr
    assert _webhook_info(emu)["pending_update_count"] == 2
    launcher.bot_py("delete-webhook")
    dropped = launcher.bot_py(command, *url, "--drop-pending-updates")
    assert dropped.returncode == 0, dropped.stderr
    assert "pending updates dropped" in dropped.stdout
    assert _webhook_info(emu)["pending_update_count"] == 0


def test_a_member_pays_in_webhook_mode(emu, launcher, db_url):
    """The pre-checkout query pushed to the webhook goes to the checkout lane and is answered
    well within Telegram's 10 s; the payment that follows makes the membership active."""
    tx = Texts("en")
    anna = Person(emu, "Anna", language_code="en")
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language="en")
    month = factories.plan(db_url, "Month", price_minor=4900, duration_days=30, visit_count=12,
                           freeze_days=7)
    bot = launcher.start_webhook(db_url, PAYMENT_PROVIDER_TOKEN=PROVIDER_TOKEN,
                                 CLUB_CURRENCY="EUR")
    _set_webhook(launcher, bot.webhook_url())
    (screen,) = anna.send("/membership")
    anna.press(screen, plain(tx, "pay_buy_button", name="Month", price=tx.money(4900)))
    invoice = wait_until(lambda: next((m for m in anna.messages()
                                       if m["message"].get("invoice")), None),
                         15, "the invoice")

    result = emu.pay(TOKEN, anna.id, invoice["message_id"])
    assert result["status"] == "paid", result
    assert result["answer_seconds"] < 3.0, result
    assert query(db_url, "SELECT kind FROM inbox WHERE update_id = %s",
                 (result["pre_checkout_update_id"],)) == [("pre_checkout_query",)]
    wait_until(lambda: query(db_url, "SELECT plan_id, status FROM memberships"
                                     " WHERE member_id = %s", (anna_id,)) == [(month, "active")],
               20, "the membership paid for to be active")
    assert [m for _, m, _ in record_calls(emu) if m == "getUpdates"] == []


def test_sigterm_drains_the_instance_and_no_update_is_lost(emu, launcher, db_url):
    """On SIGTERM /readyz turns 503 and new updates get 503 at once, while an update being
    stored (held up by a lock on inbox) is still answered 200 once stored; then the process
    exits 0, and the next instance handles the update."""
    bot = launcher.start_webhook(db_url)
    assert bot.readyz() == (200, {"status": "ready"})
    user = emu.create_user("Drain")
    emu.open_chats(TOKEN, [user])  # the update below is posted by hand, not through tgemu
    held = {"update_id": 7001, "message": {
        "message_id": 1, "date": int(time.time()), "text": "n 1",
        "chat": {"id": user.id, "type": "private"},
        "from": {"id": user.id, "is_bot": False, "first_name": "Drain"}}}
    answers: dict[str, tuple[int, str]] = {}
    locker = psycopg2.connect(db_url)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE")
        posting = threading.Thread(target=lambda: answers.update(held=bot.post_update(held)))
        posting.start()
        wait_until(lambda: query(db_url, "SELECT count(*) FROM pg_locks WHERE NOT granted"
                                         " AND relation = 'inbox'::regclass")[0][0], 10,
                   "the update's insert to wait for the lock")
        bot.signal(15)
        wait_until(lambda: bot.readyz()[0] == 503, 5, "/readyz to turn 503")
        assert bot.readyz() == (503, {"status": "draining"})
        late = dict(held, update_id=7002)
        assert bot.post_update(late)[0] == 503
        assert bot.alive() and posting.is_alive(), "the held update is still being stored"
    finally:
        locker.rollback()
        locker.close()
    posting.join(15)
    assert answers["held"][0] == 200
    assert bot.wait(30) == 0
    assert query(db_url, "SELECT update_id FROM inbox ORDER BY 1") == [(7001,)]

    launcher.start_webhook(db_url)
    wait_until(lambda: inbox_status(db_url).get("done") == 1, 20, "the held update done")
    wait_until(lambda: bot_texts(emu, user.id), 10, "the answer to the held update")
    assert bot_texts(emu, user.id) == ["ack 1"]


def test_systemd_hears_ready_once_the_webhook_port_listens(launcher, db_url):
    """READY=1 with STATUS=webhook arrives once, when /readyz already answers 200; the
    watchdog is fed while healthy; SIGTERM sends STOPPING=1 and the exit code is 0."""
    notify = NotifySocket()
    try:
        bot = launcher.start_webhook(db_url, wait=False, NOTIFY_SOCKET=notify.path,
                                     WATCHDOG_USEC=1_000_000)
        wait_until(lambda: notify.times("READY=1"), 20, "READY=1")
        assert bot.readyz() == (200, {"status": "ready"})
        message = next(msg for _, msg in notify.messages if "READY=1" in msg.splitlines())
        assert "STATUS=webhook" in message.splitlines()
        wait_until(lambda: len(notify.times("WATCHDOG=1")) >= 2, 10, "watchdog pings")
        bot.signal(15)
        assert bot.wait(30) == 0
        assert notify.times("STOPPING=1")
        assert len(notify.times("READY=1")) == 1
    finally:
        notify.close()


def test_a_second_instance_cannot_take_a_port_in_use(launcher, db_url):
    """Two instances on one WEBHOOK_LISTEN: the second says so and exits 1."""
    first = launcher.start_webhook(db_url)
    second = launcher.start_webhook(db_url, port=first.webhook_port, wait=False)
    assert second.wait(30) == 1
    assert "cannot listen on WEBHOOK_LISTEN" in second.log_text()
    assert first.readyz()[0] == 200


def test_a_stop_and_start_under_a_stream_of_updates_loses_none(emu, launcher, db_url):
    """tgemu pushing a stream; the instance is stopped with SIGTERM midway and started again on
    its port: tgemu's failed deliveries are retried, and every update has exactly one effect."""
    bot = launcher.start_webhook(db_url)
    port = bot.webhook_port
    _set_webhook(launcher, bot.webhook_url(), WEBHOOK_MAX_CONNECTIONS=4)
    stream = Stream(emu, chats=10)
    stream.send(per_chat=5)
    wait_until(lambda: inbox_status(db_url).get("done", 0) >= 5, 30, "some updates done")
    bot.signal(15)
    stream.send(per_chat=5)
    assert bot.wait(30) == 0
    stream.send(per_chat=5)
    wait_until(lambda: emu.stats(TOKEN)["webhook_failures"] > 0, 30,
               "deliveries to fail while no instance listens")
    launcher.start_webhook(db_url, port=port)
    stream.wait_processed(db_url, timeout=90)
    stream.assert_effects_exactly_once(db_url)
    stats = emu.stats(TOKEN)
    assert stats["pending_updates"] == 0
    assert stats["webhook_deliveries"] >= stream.total
    assert "Traceback" not in bot.log_text()
