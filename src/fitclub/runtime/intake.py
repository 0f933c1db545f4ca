"""Intake: store received updates in `inbox`, then hand them on.

Both ways updates arrive go through here: the poller with a batch of getUpdates, the webhook
with one update per request. Pre-checkout queries go to the checkout lane (Telegram gives
10 s for their answer), every other update to the dispatcher, and only once the insert is
committed. How long an outage is waited out is the caller's: the poller keeps its batch and
retries until stopped, the webhook gives up after a few seconds and answers 500, so Telegram
delivers the update again.
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
from tenacity import Retrying

from fitclub.db.pool import Pool
from fitclub.db.queries import Q
from fitclub.logs import describe
from fitclub.runtime.raw_updates import classify

log = logging.getLogger(__name__)

#: Seconds a batch holding pre-checkout queries may take to store before they are refused
#: (Telegram gives 10 s for the answer; the lane then answers within a second).
STORE_DEADLINE = 3.0

#: The kind the checkout lane answers (Telegram gives 10 s for it).
CHECKOUT_KIND = "pre_checkout_query"


def _without_nul(value: Any) -> Any:
    # PostgreSQL's jsonb cannot hold U+0000; Telegram text occasionally carries it.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def store_updates(pool: Pool, updates: list[dict[str, Any]], *,
                  max_seconds: float = 30.0) -> list[tuple[int, int]]:
    """Insert updates into inbox in one transaction; returns (update_id, chat_id) of new ones.

    A batch PostgreSQL refuses as data (not as an outage) is stored row by row instead, and
    a row it still refuses is recorded as failed, so one odd update never stops polling.
    `max_seconds` bounds the pool's own retries of a transient failure.
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
        # One statement (a batch is at most 100 rows).
        return pool.run_alone(run, max_seconds=max_seconds)
    except psycopg2.DataError:
        log.warning("a batch of %s updates was refused as data; storing one by one", len(rows))
    stored = []
    for row in rows:
        try:
            stored += pool.run(lambda conn, row=row: run(conn, [row]), max_seconds=max_seconds)
        except psycopg2.DataError as exc:
            log.error("update %s cannot be stored (%s); recorded as failed", row[0],
                      describe(exc), extra={"update_id": row[0]})

            def record(conn, row=row, exc=exc):
                with conn.cursor() as cur:
                    cur.execute(Q["inbox.insert_unstorable"], {
                        "update_id": row[0], "chat_id": row[1], "kind": row[2],
                        "payload": Json({"update_id": row[0]}),
                        "error": f"unstorable: {exc}"[:500]})

            pool.run(record, max_seconds=max_seconds)
    return stored


class CheckoutHandoff(Protocol):
    """Where stored pre_checkout queries go (runtime/checkout.CheckoutLane)."""

    def submit(self, updates: list[dict[str, Any]], received: float) -> None:
        """Stored updates to answer now (received: time.monotonic() of their arrival)."""

    def unstored(self, updates: list[dict[str, Any]], received: float) -> None:
        """Updates the database would not take: refuse them rather than let 10 s pass."""


class Intake:
    """Stores updates, then hands new ones to the dispatcher (pre_checkout queries to the
    checkout lane)."""

    def __init__(self, *, pool: Pool, on_stored: Callable[[list], None],
                 checkout: CheckoutHandoff | None = None, metrics: Any = None) -> None:
        self.pool = pool
        self.on_stored = on_stored
        self.checkout = checkout
        self.metrics = metrics

    def take(self, updates: list[dict[str, Any]], received: float, retrying: Retrying, *,
             max_seconds: float = 30.0) -> None:
        """Store `updates` (retried as `retrying` says), then hand them on.

        Raises what the last attempt raised when `retrying` gives up: nothing was handed on
        then, and pre-checkout queries among them have been refused.
        """
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
            for attempt in retrying:
                with attempt:
                    try:
                        store_updates(self.pool, updates, max_seconds=max_seconds)
                    except Exception:
                        if checkouts:
                            refuse_once()
                        raise
        finally:
            with guard:
                state["stored"] = True  # or given up: no refusal from the timer after this
            if timer is not None:
                timer.cancel()
        if checkouts:
            self.checkout.submit(checkouts, received)  # before the workers hear of the rest
        # Every chat of the batch, not only rows this insert created: after a commit whose
        # acknowledgement was lost, the retry inserts nothing, yet the rows need workers.
        self.on_stored([(update_id, chat_id) for update_id, kind, chat_id in classified
                        if not (self.checkout and kind == CHECKOUT_KIND)])
