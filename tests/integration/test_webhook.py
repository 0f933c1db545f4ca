"""The webhook server (runtime/webhook.py under waitress) over real HTTP, storing through the
intake into a real PostgreSQL: the secret, bad bodies, the size limit, 200 only after the
commit, 500 when the database is away, duplicates, /healthz, /readyz and draining."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from fitclub.app import webhook_is_set
from fitclub.config import Settings
from fitclub.db.migrate import Migrator
from fitclub.db.pool import Pool
from fitclub.devdb import free_port
from fitclub.runtime.intake import Intake
from fitclub.runtime.webhook import WebhookApp, WebhookServer, store_retrying
from tests.e2e.harness import wait_until
from tests.helpers import query
from tgemu import Emulator

SECRET = "webhook-test-secret-" + "k" * 20
TOKEN = "727272:" + "W" * 35
MAX_BODY = 2048
#: Text only a request body holds: it must never reach a log line.
PRIVATE_TEXT = "Pelageya +7 900 123-45-67"


def _update(update_id: int, chat_id: int = 501, text: str = "hello") -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": text,
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "W"}}}


class Rig:
    """A webhook server on a free port, storing into `db_url` through a real Intake."""

    def __init__(self, db_url: str, *, store_seconds: float = 5.0,
                 max_body: int = MAX_BODY) -> None:
        self.db_url = db_url
        self.pool = Pool(db_url, minconn=1, maxconn=4, timeout=2.0, connect_timeout=1,
                         statement_timeout_ms=15000)
        self.handed: list[tuple[int, int]] = []
        self.intake = Intake(pool=self.pool, on_stored=self.handed.extend)
        self.database_up = True

        def take(update: dict[str, Any]) -> None:
            self.intake.take([update], time.monotonic(), store_retrying(store_seconds),
                             max_seconds=store_seconds)

        def database_ok() -> bool:
            try:
                query(db_url, "SELECT 1")
            except psycopg2.OperationalError:
                return False
            return True

        self.app = WebhookApp(secret=SECRET, max_body=max_body, take=take,
                              database_ok=database_ok)
        self.server = WebhookServer(self.app, ("127.0.0.1", 0), threads=4)
        self.server.start()
        self.app.ready = True
        self.port = self.server.port

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, {"raw": raw.decode(errors="replace")}

    def post(self, body: bytes | dict, *, secret: str | None = SECRET,
             headers: dict[str, str] | None = None) -> tuple[int, dict]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if secret is not None:
            sent["X-Telegram-Bot-Api-Secret-Token"] = secret
        return self.request("POST", "/webhook", data, sent)

    def raw(self, payload: bytes, timeout: float = 10.0) -> bytes:
        """Send bytes on a fresh connection; what comes back until the server closes it."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            # The server may answer and close before all of it is sent.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(payload)
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def stored(self) -> list[tuple]:
        return query(self.db_url, "SELECT update_id, chat_id, status FROM inbox ORDER BY 1")

    def close(self) -> None:
        self.server.stop(timeout=5)
        self.pool.close()


@pytest.fixture
def rig(db_url) -> Iterator[Rig]:
    r = Rig(db_url)
    try:
        yield r
    finally:
        r.close()


def _status_line(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def test_an_update_with_the_secret_is_stored_then_answered_and_handed_on(rig):
    assert rig.post(_update(10, chat_id=77)) == (200, {"ok": True})
    assert rig.stored() == [(10, 77, "pending")]
    assert rig.handed == [(10, 77)]


@pytest.mark.parametrize("secret", [None, "", SECRET[:-1], SECRET + "x", SECRET.upper(),
                                    "x" * len(SECRET), "é" * 10])
def test_without_the_right_secret_the_answer_is_403_and_nothing_is_stored(rig, secret):
    status, _ = rig.post(_update(11), secret=secret)
    assert status == 403
    assert rig.stored() == []
    assert rig.handed == []


@pytest.mark.parametrize("body", [
    b"", b"not json", b"\xff\xfe{", b"[1, 2]", b'"text"', b"null", b"{}",
    b'{"message": {"text": "hi"}}', b'{"update_id": "12"}', b'{"update_id": 12.5}',
    b'{"update_id": true}', b'{"update_id": null}', b'{"update_id": -1}',
    b'{"update_id": 99999999999999999999999}', b'{"update_id": NaN}',
    b'{"update_id": 12, "x": Infinity}', b"[" * 100_000 + b"]" * 100_000,
], ids=lambda b: repr(b[:30]))
def test_a_body_that_is_not_an_update_is_400_and_nothing_is_stored(db_url, body):
    # The deeply nested body is over MAX_BODY; this rig takes it, so it reaches the parser.
    r = Rig(db_url, max_body=400_000)
    try:
        status, answer = r.post(body)
        assert status == 400, answer
        assert r.stored() == []
    finally:
        r.close()


def test_a_body_over_the_limit_by_content_length_is_413_and_the_limit_itself_is_200(rig):
    padding = "p" * MAX_BODY
    over = json.dumps({"update_id": 20, "pad": padding}).encode()[:MAX_BODY + 1]
    assert len(over) == MAX_BODY + 1
    assert rig.post(over)[0] == 413
    exact = json.dumps({"update_id": 21, "pad": ""}).encode()
    exact = exact[:-2] + b"p" * (MAX_BODY - len(exact)) + exact[-2:]
    assert len(exact) == MAX_BODY
    assert rig.post(exact)[0] == 200
    assert [row[0] for row in rig.stored()] == [21]


def test_a_huge_content_length_is_refused_from_the_headers_without_waiting_for_the_body(rig):
    """A client that announces a gigabyte and sends nothing gets 413 at once: the server does
    not wait for (or buffer) a body it would refuse."""
    started = time.monotonic()
    raw = rig.raw(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() + b"\r\n"
                  b"Content-Length: 1000000000\r\n\r\n")
    assert _status_line(raw) == 413
    assert time.monotonic() - started < 5
    assert rig.stored() == []


def test_a_chunked_body_over_the_limit_is_413_and_one_within_it_is_stored(rig):
    def chunked(body: bytes, size: int = 500) -> bytes:
        out = b""
        for i in range(0, len(body), size):
            piece = body[i:i + size]
            out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        return out + b"0\r\n\r\n"

    head = (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() + b"\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    big = json.dumps({"update_id": 30, "pad": "p" * (3 * MAX_BODY)}).encode()
    assert _status_line(rig.raw(head + chunked(big))) == 413
    small = json.dumps(_update(31)).encode()
    assert _status_line(rig.raw(head + chunked(small, size=40))) == 200
    assert [row[0] for row in rig.stored()] == [31]


def test_the_answer_waits_for_the_commit(rig, db_url):
    """While another transaction holds inbox locked, the POST gets no answer and nothing is
    visible; released, the insert commits and only then is 200 answered."""
    answers: list[tuple[int, dict]] = []
    locker = psycopg2.connect(db_url)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE")
        posting = threading.Thread(target=lambda: answers.append(rig.post(_update(40))))
        posting.start()
        wait_until(lambda: query(db_url, "SELECT count(*) FROM pg_locks WHERE NOT granted"
                                         " AND relation = 'inbox'::regclass")[0][0], 10,
                   "the insert to wait for the lock")
        assert answers == [] and posting.is_alive()
        assert rig.handed == []
    finally:
        locker.rollback()
        locker.close()
    posting.join(10)
    assert answers == [(200, {"ok": True})]
    assert [row[0] for row in rig.stored()] == [40]
    assert rig.handed == [(40, 501)]


def test_a_database_that_is_away_gets_500_then_the_same_update_is_stored(private_pg, caplog):
    """The store is retried for a bounded time, then 500 (Telegram delivers again); /healthz
    says 503 meanwhile. Neither the body nor the secret reaches the log."""
    url = private_pg.create_database("fitclub_webhook")
    Migrator(url).migrate()
    r = Rig(url, store_seconds=1.0)
    try:
        assert r.request("GET", "/healthz") == (200, {"status": "ok", "database": True})
        private_pg.stop()
        update = _update(50, text=PRIVATE_TEXT)
        with caplog.at_level(logging.DEBUG):
            started = time.monotonic()
            status, answer = r.post(update)
            took = time.monotonic() - started
        assert (status, answer) == (500, {"error": "not stored"})
        assert took < 10, took
        assert r.handed == []
        assert r.request("GET", "/healthz") == (503, {"status": "unhealthy",
                                                      "database": False})
        assert "update 50 not stored" in caplog.text
        assert PRIVATE_TEXT not in caplog.text and SECRET not in caplog.text
        private_pg.start()
        assert r.post(update) == (200, {"ok": True})
        assert [row[0] for row in r.stored()] == [50]
    finally:
        r.close()


def test_a_repeated_update_is_stored_once(rig):
    """Telegram (or nginx) delivers again whatever was not answered 200: the second copy is
    answered 200 and not stored twice."""
    assert rig.post(_update(60))[0] == 200
    assert rig.post(_update(60, text="again"))[0] == 200
    assert rig.stored() == [(60, 501, "pending")]
    assert query(rig.db_url, "SELECT payload->'message'->>'text' FROM inbox") == [("hello",)]


def test_readyz_is_503_until_started_200_then_503_while_draining(rig):
    rig.app.ready = False
    assert rig.request("GET", "/readyz") == (503, {"status": "starting"})
    rig.app.ready = True
    assert rig.request("GET", "/readyz") == (200, {"status": "ready"})
    assert rig.request("GET", "/healthz") == (200, {"status": "ok", "database": True})
    rig.app.draining = True
    assert rig.request("GET", "/readyz") == (503, {"status": "draining"})
    assert rig.request("GET", "/healthz")[0] == 200, "draining is not dead"


def test_while_draining_new_updates_get_503_and_nothing_is_stored(rig):
    rig.app.draining = True
    assert rig.post(_update(70))[0] == 503
    assert rig.post(_update(70), secret="wrong")[0] == 403
    assert rig.stored() == []


def test_stop_waits_for_an_update_being_stored_then_closes_the_port(rig, db_url):
    answers: list[tuple[int, dict]] = []
    locker = psycopg2.connect(db_url)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE")
        posting = threading.Thread(target=lambda: answers.append(rig.post(_update(80))))
        posting.start()
        wait_until(lambda: rig.app.in_flight() == 1, 10, "the update to be in flight")
        assert rig.server.alive()
        stopping = threading.Thread(target=rig.server.stop, args=(10,))
        stopping.start()
        wait_until(lambda: rig.app.draining, 5, "draining")
        assert rig.post(_update(81))[0] == 503
        locker.rollback()
    finally:
        locker.close()  # releases the lock even when a check above failed
    stopping.join(15)
    posting.join(5)
    assert answers == [(200, {"ok": True})]
    assert [row[0] for row in rig.stored()] == [80]
    assert not rig.server.alive(), "the watchdog's check sees the server gone"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", rig.port), timeout=2).close()


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/webhook", 405), ("PUT", "/webhook", 405), ("POST", "/healthz", 405),
    ("GET", "/", 404), ("POST", "/webhook/", 404), ("GET", "/metrics", 404),
])
def test_other_methods_and_paths(rig, method, path, status):
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert rig.request(method, path, b"{}", headers)[0] == status
    assert rig.stored() == []


def test_a_webhook_app_needs_a_secret():
    with pytest.raises(ValueError, match="secret"):
        WebhookApp(secret="", max_body=MAX_BODY, take=lambda u: None, database_ok=lambda: True)


def test_webhook_is_set_asks_get_webhook_info(monkeypatch):
    """True once a URL is set, False once deleted, and False (polling goes on and finds out)
    when the Bot API cannot be reached."""
    with Emulator(global_rate=None, per_chat_rate=None) as emu:
        settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                      "TELEGRAM_API_URL": emu.base_url}, require=())
        assert webhook_is_set(settings) is False
        emu.call(TOKEN, "setWebhook", {"url": "http://127.0.0.1:9/webhook"})
        assert webhook_is_set(settings) is True
        emu.call(TOKEN, "deleteWebhook", {})
        assert webhook_is_set(settings) is False
    unreachable = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                     "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}"},
                                    require=())
    assert webhook_is_set(unreachable) is False
