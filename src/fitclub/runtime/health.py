"""The /healthz and /metrics HTTP endpoints, and the rule that decides healthy or not."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from fitclub.runtime.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass
class HealthReport:
    """Whether the instance is healthy, and the facts that decided it (shown in /healthz)."""

    ok: bool
    details: dict[str, Any] = field(default_factory=dict)


def evaluate(
    *,
    database_ok: bool,
    seconds_since_poll: float | None,
    poll_stale_after: float,
    inbox_backlog: int = 0,
    outbox_backlog: int = 0,
    oldest_reply_age: float | None = None,
    reply_max_age: float = 60.0,
    recording_failed: bool = False,
    extra: dict[str, Any] | None = None,
    oldest_overdue_job: float | None = None,
    jobs_overdue_limit: float | None = None,
) -> HealthReport:
    """Build the health report; unhealthy when any one of these holds.

    - the database is not reachable (`database_ok` is False);
    - polling is expected (`seconds_since_poll` is not None; an instance run with --no-polling
      passes None) and the last successful getUpdates is more than `poll_stale_after` seconds
      old. Until the first poll succeeds the caller should pass the seconds since start, so a
      poller that never gets through turns unhealthy too;
    - the oldest reply (priority 0) still waiting in the outbox has waited more than
      `reply_max_age` seconds (`"reply_too_old": true`);
    - deliveries were made that the database refuses to record (`recording_failed`);
    - `jobs_overdue_limit` is given and a scheduled job (a reminder, an offer's expiry) has been
      due longer than that many seconds: no runner keeps up (`"jobs_overdue": true`).

    How many updates or messages wait is shown, never judged: a big announcement is not a
    fault. `extra` is added to the details for operators to see; it never decides health, and
    the keys computed here win over its keys of the same name.
    """
    poll_stale = seconds_since_poll is not None and seconds_since_poll > poll_stale_after
    reply_too_old = oldest_reply_age is not None and oldest_reply_age > reply_max_age
    details: dict[str, Any] = dict(extra or {})
    details.update(
        database=database_ok,
        seconds_since_poll=None if seconds_since_poll is None else round(seconds_since_poll, 3),
        poll_stale=poll_stale,
        inbox_backlog=inbox_backlog,
        outbox_backlog=outbox_backlog,
        oldest_reply_seconds=None if oldest_reply_age is None else round(oldest_reply_age, 3),
        reply_too_old=reply_too_old,
        deliveries_unrecorded=recording_failed,
    )
    ok = database_ok and not poll_stale and not reply_too_old and not recording_failed
    if jobs_overdue_limit is not None:
        jobs_overdue = oldest_overdue_job is not None and oldest_overdue_job > jobs_overdue_limit
        details.update(oldest_overdue_job_seconds=None if oldest_overdue_job is None
                       else round(oldest_overdue_job, 3), jobs_overdue=jobs_overdue)
        ok = ok and not jobs_overdue
    return HealthReport(ok=ok, details=details)


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that carries what the handler serves."""

    daemon_threads = True

    def __init__(
        self, addr: tuple[str, int], metrics: Metrics, check: Callable[[], HealthReport]
    ) -> None:
        # An IPv6 literal such as "::1" needs an AF_INET6 socket; the stock server is IPv4 only.
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.metrics = metrics
        self.check = check
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Answers GET and HEAD for /healthz and /metrics; everything else is 404."""

    server: _Server
    protocol_version = "HTTP/1.1"
    # A scraper that keeps its connection open but goes quiet frees its thread after this.
    timeout = 30

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            status, body, ctype = self._healthz()
        elif path == "/metrics":
            body, ctype = self.server.metrics.render()
            status = HTTPStatus.OK
        else:
            status, body, ctype = HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _healthz(self) -> tuple[HTTPStatus, bytes, str]:
        try:
            report = self.server.check()
        except Exception as exc:
            # The 503 body carries the reason; a traceback per probe would flood the journal.
            log.debug("health check raised", exc_info=True)
            error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            report = HealthReport(ok=False, details={"error": error})
        payload = {"status": "ok" if report.ok else "unhealthy", **report.details}
        body = (json.dumps(payload, default=str) + "\n").encode()
        status = HTTPStatus.OK if report.ok else HTTPStatus.SERVICE_UNAVAILABLE
        return status, body, "application/json"

    def log_message(self, format: str, *args: Any) -> None:
        # The stock handler writes every request to stderr; probes every few seconds belong at
        # DEBUG in our own logger, where the entry point's formatting and redaction apply.
        log.debug("%s %s", self.address_string(), format % args)


class HealthServer:
    """Serves /healthz and /metrics from a daemon thread."""

    def __init__(
        self, addr: tuple[str, int], metrics: Metrics, check: Callable[[], HealthReport]
    ) -> None:
        self.addr = addr
        self.metrics = metrics
        self.check = check
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind (port 0 picks a free one) and serve; raises OSError when the address is taken."""
        if self._server is not None:
            raise RuntimeError("health server already started")
        self._server = _Server(self.addr, self.metrics, self.check)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="health-http",
            daemon=True,
        )
        self._thread.start()
        log.info("health and metrics on http://%s:%d", self.addr[0], self.port)

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("health server not started")
        return self._server.server_address[1]

    def stop(self) -> None:
        """Stop serving and close the listening socket; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        thread.join()
