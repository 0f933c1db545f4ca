"""The poller: long-polls getUpdates and stores each batch before acknowledging it.

Telegram forgets updates below the `offset` of the next getUpdates call, so the offset moves
only after the batch is committed to `inbox`. While the database is away the poller keeps the
batch and retries; it never asks for more until the batch is safe.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import psycopg2
from psycopg2.extras import Json, execute_values
from tenacity import Retrying, retry_if_exception, wait_exponential_jitter

from fitclub.db.pool import Pool, is_transient
from fitclub.db.queries import Q
from fitclub.logs import describe
from fitclub.runtime.raw_updates import classify
from fitclub.runtime.telegram import BotApi, NetworkError, TelegramError

log = logging.getLogger(__name__)

#: Seconds a batch holding pre-checkout queries may take to store before they are refused
#: (Telegram gives 10 s for the answer; the lane then answers within a second).
STORE_DEADLINE = 3.0

# The update kinds the bot asks Telegram for in getUpdates. Telegram remembers the last list it
# was given; a kind missing here never reaches the bot.
# To handle a new kind: add it here, register its handler, and make sure classify() finds its
# chat or user (docs/architecture.md, "An update's path").
# `pre_checkout_query` is not run by the workers: the checkout lane (runtime/checkout.py) gets
# it straight from the poller once it is stored.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member",
                   "channel_post", "pre_checkout_query")

#: The kind the checkout lane answers (Telegram gives 10 s for it).
CHECKOUT_KIND = "pre_checkout_query"


class FatalPollError(Exception):
    """Polling cannot go on (the token was revoked); the message is fixed words."""

    def log_line(self) -> str:
        """The fixed words (fitclub.logs.describe)."""
        return str(self)


def _without_nul(value: Any) -> Any:
    # PostgreSQL's jsonb cannot hold U+0000; Telegram text occasionally carries it.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def store_updates(pool: Pool, updates: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Insert updates into inbox in one transaction; returns (update_id, chat_id) of new ones.

    A batch PostgreSQL refuses as data (not as an outage) is stored row by row instead, and
    a row it still refuses is recorded as failed, so one odd update never stops polling.
    """
    rows = []
    for raw in updates:
        kind, chat_id = classify(raw)
        upd = _without_nul(raw) if "\\u0000" in json.dumps(raw) else raw
        rows.append((upd["update_id"], chat_id, kind, Json(upd)))

    def run(conn, batch=rows):
        with conn.cursor() as cur:
            return execute_values(cur, Q["inbox.insert_many"], batch, fetch=True)

    try:
        return pool.run_alone(run)  # one statement (a batch is at most 100 rows)
    except psycopg2.DataError:
        log.warning("a batch of %s updates was refused as data; storing one by one", len(rows))
    stored = []
    for row in rows:
        try:
            stored += pool.run(lambda conn, row=row: run(conn, [row]))
        except psycopg2.DataError as exc:
            log.error("update %s cannot be stored (%s); recorded as failed", row[0],
                      describe(exc), extra={"update_id": row[0]})

            def record(conn, row=row, exc=exc):
                with conn.cursor() as cur:
                    cur.execute(Q["inbox.insert_unstorable"], {
                        "update_id": row[0], "chat_id": row[1], "kind": row[2],
                        "payload": Json({"update_id": row[0]}),
                        "error": f"unstorable: {exc}"[:500]})

            pool.run(record)
    return stored


class CheckoutHandoff(Protocol):
    """Where the poller hands pre_checkout queries (runtime/checkout.CheckoutLane)."""

    def submit(self, updates: list[dict[str, Any]], received: float) -> None:
        """Stored updates to answer now (received: time.monotonic() of their getUpdates)."""

    def unstored(self, updates: list[dict[str, Any]], received: float) -> None:
        """Updates the database would not take: refuse them rather than let 10 s pass."""


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
        """Store a batch (waiting out an outage), move the offset, hand the batch on."""
        classified = [(u["update_id"], *classify(u)) for u in updates]
        if self.metrics:
            for _update_id, kind, _chat_id in classified:
                self.metrics.updates_received.labels(kind).inc()
        checkouts = [u for u, (_, kind, _) in zip(updates, classified, strict=True)
                     if kind == CHECKOUT_KIND] if self.checkout else []
        # Telegram waits 10 s for a pre-checkout answer; a database that fails or is merely
        # slow to store the batch (a lock, retries) must not eat it. Refused once, at the
        # first failure or at STORE_DEADLINE, whichever comes first; recorded once stored.
        guard, state = threading.Lock(), {"refused": False, "stored": False}

        def refuse_once() -> None:
            with guard:
                if state["refused"] or state["stored"]:
                    return
                state["refused"] = True
            self.checkout.unstored(checkouts, received)

        timer = None
        if checkouts:
            timer = threading.Timer(max(0.0, STORE_DEADLINE - (time.monotonic() - received)),
                                    refuse_once)
            timer.daemon = True
            timer.start()
        try:
            for attempt in self._retrying():
                with attempt:
                    try:
                        store_updates(self.pool, updates)
                    except Exception:
                        if checkouts:
                            refuse_once()
                        raise
        finally:
            with guard:
                state["stored"] = True  # or given up: no refusal from the timer after this
            if timer is not None:
                timer.cancel()
        self.offset = max(u["update_id"] for u in updates) + 1
        self._offset_since = time.monotonic()
        if checkouts:
            self.checkout.submit(checkouts, received)  # before the workers hear of the rest
        # Every chat of the batch, not only rows this insert created: after a commit whose
        # acknowledgement was lost, the retry inserts nothing, yet the rows need workers.
        self.on_stored([(update_id, chat_id) for update_id, kind, chat_id in classified
                        if not (self.checkout and kind == CHECKOUT_KIND)])

    def _count(self, reason: str) -> None:
        if self.metrics:
            self.metrics.poll_errors.labels(reason).inc()
