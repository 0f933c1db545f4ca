"""Webhook mode: updates pushed over HTTP by Telegram (through nginx), stored like polled ones.

`WebhookApp` is the WSGI callable (small, and testable without a server); `WebhookServer`
runs it under waitress and drains it on shutdown. The answer to a POST is Telegram's receipt:
200 only once the update is committed to `inbox`; any other answer makes Telegram (or nginx,
on another instance) deliver it again, which storing deduplicates by update_id.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg2
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential_jitter
from waitress import create_server
from waitress.wasyncore import close_all

from fitclub.db.pool import is_transient
from fitclub.logs import describe

log = logging.getLogger(__name__)

#: Header Telegram sends the `secret_token` of setWebhook in.
SECRET_HEADER = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"  # noqa: S105 - a header's name
#: update_id is stored in a bigint column.
MAX_UPDATE_ID = 2**63 - 1

#: Seconds an update is retried against a database that fails before the answer is 500
#: (Telegram waits about a minute for an answer, nginx and tgemu less).
STORE_SECONDS = 5.0

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def store_retrying(seconds: float = STORE_SECONDS) -> Retrying:
    """Retries of an update's store: any operational error, for `seconds` at most."""
    return Retrying(
        retry=retry_if_exception(lambda e: is_transient(e)
                                 or isinstance(e, psycopg2.OperationalError)),
        stop=stop_after_delay(seconds),
        wait=wait_exponential_jitter(multiplier=0.1, max=1.0),
        reraise=True,
        before_sleep=lambda rs: log.warning(
            "webhook: database unavailable (%s); retrying", describe(rs.outcome.exception())),
    )


class BadUpdate(ValueError):
    """The body is not an update (the message is fixed words, safe to log)."""


def parse_update(body: bytes) -> dict[str, Any]:
    """The update in a request body: a JSON object with an integer update_id, else BadUpdate."""
    def no_constants(name: str) -> Any:
        raise BadUpdate(f"{name} is not JSON")

    try:
        update = json.loads(body, parse_constant=no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadUpdate("the body is not JSON") from None
    except RecursionError:
        raise BadUpdate("the body is nested too deeply") from None
    if not isinstance(update, dict):
        raise BadUpdate("the body is not a JSON object")
    update_id = update.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise BadUpdate("update_id is missing or not an integer")
    if not 0 <= update_id <= MAX_UPDATE_ID:
        raise BadUpdate("update_id is out of range")
    return update


class WebhookApp:
    """The WSGI callable: POST /webhook, GET /healthz, GET /readyz; everything else 404.

    `take(update)` stores one update and hands it on (raises when it could not be stored).
    """

    def __init__(self, *, secret: str, max_body: int, take: Callable[[dict[str, Any]], None],
                 database_ok: Callable[[], bool], path: str = "/webhook") -> None:
        if not secret:
            raise ValueError("webhook mode needs a secret")
        self._secret = secret.encode()
        self.max_body = max_body
        self.take = take
        self.database_ok = database_ok
        self.path = path
        #: Set once the instance has started everything; /readyz says 200 only then.
        self.ready = False
        #: Set on SIGTERM: new updates get 503 (nginx tries another instance), /readyz 503.
        self.draining = False
        self._busy = threading.Condition()
        self._in_flight = 0

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == self.path:
            if method != "POST":
                return _answer(start_response, 405, {"error": "POST only"},
                               [("Allow", "POST")])
            return self._post(environ, start_response)
        if path in ("/healthz", "/readyz"):
            if method not in ("GET", "HEAD"):
                return _answer(start_response, 405, {"error": "GET only"},
                               [("Allow", "GET, HEAD")])
            status, body = self._healthz() if path == "/healthz" else self._readyz()
            answer = _answer(start_response, status, body)
            return [] if method == "HEAD" else answer
        return _answer(start_response, 404, {"error": "not found"})

    def _post(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        # The secret first: without it the body is not looked at, let alone stored.
        given = environ.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self._secret):
            return _answer(start_response, 403, {"error": "wrong secret token"})
        with self._busy:  # checked and counted at once: drain() cannot miss this update
            if self.draining:
                return _answer(start_response, 503, {"error": "draining"},
                               [("Retry-After", "1")])
            self._in_flight += 1
        try:
            return self._store(environ, start_response)
        finally:
            with self._busy:
                self._in_flight -= 1
                self._busy.notify_all()

    def _store(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = self._read_body(environ)
        if body is None:
            return _answer(start_response, 413, {"error": f"body over {self.max_body} bytes"})
        try:
            update = parse_update(body)
        except BadUpdate as exc:
            return _answer(start_response, 400, {"error": str(exc)})
        update_id = update["update_id"]
        try:
            self.take(update)
        except Exception as exc:  # the database away past the retries: Telegram retries
            log.error("update %s not stored (%s); answered 500 so it is delivered again",
                      update_id, describe(exc), extra={"update_id": update_id})
            return _answer(start_response, 500, {"error": "not stored"})
        return _answer(start_response, 200, {"ok": True})

    def _read_body(self, environ: dict[str, Any]) -> bytes | None:
        """The body, or None when it is over the limit (read no further than that)."""
        stream = environ["wsgi.input"]
        raw_length = environ.get("CONTENT_LENGTH") or ""
        if raw_length.strip():
            try:
                length = int(raw_length)
            except ValueError:
                return b""  # not an update: 400
            if length > self.max_body:
                return None
            return stream.read(length) if length > 0 else b""
        if environ.get("wsgi.input_terminated"):
            # A chunked body without a length: one byte past the limit tells it is over.
            body = stream.read(self.max_body + 1)
            return None if len(body) > self.max_body else body
        return b""

    def _healthz(self) -> tuple[int, dict[str, Any]]:
        try:
            database = self.database_ok()
        except Exception:  # an unreachable database is what is reported
            database = False
        return (200 if database else 503), {
            "status": "ok" if database else "unhealthy", "database": database}

    def _readyz(self) -> tuple[int, dict[str, Any]]:
        if self.draining:
            return 503, {"status": "draining"}
        if not self.ready:
            return 503, {"status": "starting"}
        return 200, {"status": "ready"}

    # -- draining ----------------------------------------------------------------------------

    def in_flight(self) -> int:
        """Updates being stored right now."""
        with self._busy:
            return self._in_flight

    def drain(self, timeout: float) -> bool:
        """Refuse new updates (503), then wait for those being stored; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._busy:
            self.draining = True
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._busy.wait(left)
        return True


def _answer(start_response: StartResponse, status: int, body: dict[str, Any],
            headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = (json.dumps(body) + "\n").encode()
    start_response(f"{status} {_REASONS[status]}", [
        ("Content-Type", "application/json"), ("Content-Length", str(len(data))),
        ("Cache-Control", "no-store"), *(headers or [])])
    return [data]


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 413: "Payload Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}


class WebhookServer:
    """Runs a WebhookApp under waitress in a thread; `stop` drains it, then closes it."""

    def __init__(self, app: WebhookApp, listen: tuple[str, int], *, threads: int) -> None:
        self.app = app
        self.listen = listen
        self.threads = threads
        self._map: dict[int, Any] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> None:
        """Bind and serve (from a thread); returns once the socket listens."""
        host, port = self.listen
        self._server = create_server(
            self.app, map=self._map, host=host, port=port, threads=self.threads,
            # waitress buffers a body before the app sees it: the limit holds there too
            # (it refuses a length >= its setting, hence the one byte more).
            max_request_body_size=self.app.max_body + 1,
            ident="fitclub", clear_untrusted_proxy_headers=True)
        self._thread = threading.Thread(target=self._serve, name="webhook-server",
                                        daemon=True)
        self._thread.start()
        log.info("webhook: listening on %s:%s%s", host, self.port, self.app.path)

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception as exc:  # closing races with the loop's last select()
            if self._map or not self.app.draining:
                log.error("webhook: the server stopped (%s)", describe(exc))

    def alive(self) -> bool:
        """The server's thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        """The port bound (the one asked for, or the one the system chose for 0)."""
        return int(self._server.effective_port)

    def stop(self, timeout: float) -> bool:
        """Drain (503 for new updates, stores under way finish), then close; False if some
        were still being stored at the timeout."""
        if self._stopped:
            return True
        self._stopped = True
        drained = self.app.drain(timeout)
        if not drained:
            log.warning("webhook: %s updates still being stored at the shutdown timeout; "
                        "Telegram delivers them again", self.app.in_flight())
        if self._server is not None:
            self._server.task_dispatcher.shutdown(timeout=1.0)
            # In the server's own loop thread (its trigger), so no socket closes under a
            # select() in progress; the loop ends once its map is empty.
            self._server.trigger.pull_trigger(lambda: close_all(self._map))
        if self._thread is not None:
            self._thread.join(5.0)
        return drained
