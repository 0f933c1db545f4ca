"""The poller: long-polls getUpdates and stores each batch before acknowledging it.

Telegram forgets updates below the `offset` of the next getUpdates call, so the offset moves
only after the batch is committed to `inbox`. While the database is away the poller keeps the
batch and retries; it never asks for more until the batch is safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg2
from tenacity import Retrying, retry_if_exception, wait_exponential_jitter

from fitclub.db.pool import Pool, is_transient
from fitclub.db.queries import Q
from fitclub.logs import describe

# Re-exported: they were defined here before the intake step was shared with the webhook.
from fitclub.runtime.intake import (  # noqa: F401
    CHECKOUT_KIND,
    STORE_DEADLINE,
    CheckoutHandoff,
    Intake,
    store_updates,
)
from fitclub.runtime.telegram import BotApi, NetworkError, TelegramError

log = logging.getLogger(__name__)

# The update kinds the bot asks Telegram for in getUpdates. Telegram remembers the last list it
# was given; a kind missing here never reaches the bot.
# To handle a new kind: add it here, register its handler, and make sure classify() finds its
# chat or user (docs/architecture.md, "An update's path").
# `pre_checkout_query` is not run by the workers: the checkout lane (runtime/checkout.py) gets
# it straight from the intake (runtime/intake.py) once it is stored, in webhook mode too.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member",
                   "channel_post", "pre_checkout_query")


class FatalPollError(Exception):
    """Polling cannot go on (the token was revoked); the message is fixed words."""

    def log_line(self) -> str:
        """The fixed words (fitclub.logs.describe)."""
        return str(self)


class Poller:
    """Fetches updates, stores them, hands new ones to the dispatcher (pre_checkout queries
    to the checkout lane)."""

    # Updates per getUpdates (Telegram's maximum).
    batch_limit = 100

    #: Seconds without an update after which the offset is no longer sent (Telegram restarts
    #: update ids after a week without updates; six days leaves a margin).
    offset_ttl = 6 * 24 * 3600.0

    def __init__(self, *, pool: Pool, api: BotApi, on_stored: Callable[[list], None],
                 backlog: Callable[[], int], backlog_limit: int, timeout: int = 30,
                 metrics: Any = None, on_fatal: Callable[[str], None] | None = None,
                 checkout: CheckoutHandoff | None = None) -> None:
        self.pool = pool
        self.checkout = checkout
        self.intake = Intake(pool=pool, on_stored=on_stored, checkout=checkout, metrics=metrics)
        self.api = api
        self.on_stored = on_stored
        self.backlog = backlog
        self.backlog_limit = backlog_limit
        self.timeout = timeout
        self.metrics = metrics
        self.on_fatal = on_fatal
        self.offset: int | None = None
        self._offset_since = 0.0  # when the newest update below the offset arrived (monotonic)
        self.last_success: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        # True while polling waits on purpose for the workers to catch up.
        self.paused = False

    def start(self) -> None:
        """Start polling in a thread."""
        self._started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop asking for updates; an in-flight long poll is abandoned, not awaited.

        Nothing is lost: updates a late answer carries were never acknowledged (the offset
        only moves on the next call), so Telegram delivers them again after a restart.
        """
        self._stop.set()

    def seconds_since_success(self) -> float | None:
        """Age of the last successful getUpdates (since start before the first; None if idle).

        While polling is paused on purpose (the workers are behind) the age is 0: a busy bot
        is not a stuck one.
        """
        if self.paused:
            return 0.0
        since = self.last_success or self._started_at
        return None if since is None else time.monotonic() - since

    def _retrying(self) -> Retrying:
        return Retrying(
            # Every operational error (a disk full, a timeout, an outage) is waited out: the
            # batch is kept and the offset does not move until it is stored.
            retry=retry_if_exception(lambda e: (is_transient(e) or isinstance(
                e, psycopg2.OperationalError)) and not self._stop.is_set()),
            wait=wait_exponential_jitter(multiplier=0.5, max=10.0),
            sleep=self._stop.wait,
            reraise=True,
            before_sleep=lambda rs: log.warning(
                "database unavailable (%s); retrying", describe(rs.outcome.exception())),
        )

    def _resume_offset(self) -> None:
        # Resume after the highest update we hold. After a week without updates Telegram
        # picks the next update id at random (possibly lower), so an old maximum is not
        # trusted: then no offset is sent, and whatever comes back twice is deduplicated.
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["inbox.newest"])
                return cur.fetchone()

        for attempt in self._retrying():
            with attempt:
                newest = self.pool.run(run)
        self.offset = None
        if newest and newest[1] < self.offset_ttl:
            self.offset = newest[0] + 1
            self._offset_since = time.monotonic() - max(0.0, newest[1])

    def _fresh_offset(self) -> int | None:
        """The offset to send: none once no update came for `offset_ttl` seconds, since
        Telegram may then number the next update below it (a stale offset would confirm,
        and so lose, that update before the bot ever saw it)."""
        if self.offset is not None and time.monotonic() - self._offset_since > self.offset_ttl:
            log.info("no update for %.0f days: polling without an offset (Telegram may have "
                     "restarted update ids)", self.offset_ttl / 86400)
            self.offset = None
        return self.offset

    def alive(self) -> bool:
        """The polling thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._resume_offset()
            self._poll_forever()
        except FatalPollError as exc:
            log.critical("polling stopped: %s", describe(exc))
            if self.on_fatal:
                self.on_fatal(str(exc))
        except Exception:
            if not self._stop.is_set():
                log.exception("poller crashed")
                if self.on_fatal:
                    self.on_fatal("poller crashed")

    def _poll_forever(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if self.backlog() > self.backlog_limit:
                # Workers are behind: let Telegram hold the updates rather than our memory.
                self.paused = True
                self._stop.wait(0.2)
                continue
            if self.paused:
                self.paused = False
                self.last_success = time.monotonic()  # the pause was not a failure to poll
            params = {"offset": self._fresh_offset(), "limit": self.batch_limit,
                      "timeout": self.timeout,
                      "allowed_updates": list(ALLOWED_UPDATES)}
            try:
                updates = self.api.call("getUpdates", params, timeout=self.timeout + 10)
            except TelegramError as exc:
                failures += 1
                self._count("telegram" if exc.code != 409 else "conflict")
                if exc.code == 401:
                    raise FatalPollError("Telegram rejected the bot token (401)") from None
                delay = float(exc.retry_after or 0) or min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("getUpdates failed: %s; retrying in %.1fs", describe(exc), delay)
                self._stop.wait(delay)
                continue
            except NetworkError as exc:
                failures += 1
                self._count("network")
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("getUpdates failed: %s; retrying in %.1fs", describe(exc), delay)
                self._stop.wait(delay)
                continue
            failures = 0
            received = self.last_success = time.monotonic()
            if not updates or self._stop.is_set():
                continue
            self._store(updates, received)

    def _store(self, updates: list[dict[str, Any]], received: float) -> None:
        """Store a batch (waiting out an outage), hand it on, move the offset."""
        self.intake.take(updates, received, self._retrying())
        self.offset = max(u["update_id"] for u in updates) + 1
        self._offset_since = time.monotonic()

    def _count(self, reason: str) -> None:
        if self.metrics:
            self.metrics.poll_errors.labels(reason).inc()
