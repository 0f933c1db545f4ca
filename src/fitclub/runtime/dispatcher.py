"""The workers: one chat's updates one at a time, in order; chats in parallel.

The chat queue only says which chats have work. The truth is in `inbox`: a worker takes the
chat's transaction-level advisory lock and runs the chat's *oldest* pending update, so order
holds across threads and across instances, and a redelivered or re-run update finds its row
already processed and has no second effect.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from fitclub.db.pool import Pool, PoolTimeout, is_disconnect
from fitclub.db.queries import Q
from fitclub.logs import describe
from fitclub.runtime import notices
from fitclub.runtime.chat_queue import ChatQueue
from fitclub.runtime.context import UpdateContext, bound
from fitclub.runtime.deliveries import Delivery
from fitclub.runtime.raw_updates import sent_at, user_of

log = logging.getLogger(__name__)

# Namespace of the per-chat advisory locks (any constant distinct from other lock users).
CHAT_LOCK_NAMESPACE = 0x46434854  # "FCHT"

# Errors after which the handler is simply run again in a new transaction (nothing of the
# failed one survives); any other handler error counts as a failed attempt.
RETRY_WHOLE_TRANSACTION = (psycopg2.errors.SerializationFailure,
                           psycopg2.errors.DeadlockDetected, PoolTimeout)

# Passes over one chat that may fail in a row outside its handler (the database refusing the
# bookkeeping itself) before its oldest update is given up, so the chat cannot stick forever.
MAX_FAILED_PASSES = 5


def is_payment(kind: str, payload: dict[str, Any]) -> bool:
    """A `successful_payment` message: Telegram took the member's money for it."""
    body = payload.get(kind)
    return kind == "message" and isinstance(body, dict) and "successful_payment" in body


class SkipUpdate(Exception):
    """Record the update as skipped without running a handler; the message says why (stored
    with the update), `why` says it for the log in fixed words (the message may quote the
    update: a username typed after a command)."""

    def __init__(self, message: str, why: str = "no handler runs") -> None:
        super().__init__(message)
        self.why = why

    def log_line(self) -> str:
        """The fixed words (fitclub.logs.describe)."""
        return self.why


@dataclass
class Outcome:
    """What one pass over a chat did."""

    processed: bool = False
    empty: bool = False
    delay: float | None = None
    queued: int = 0
    # Rows the update queued already claimed for this process (outbox.enqueue): handed to
    # the sender once committed.
    claimed: list[Delivery] = field(default_factory=list)


class Workers:
    """Worker threads running updates through the telebot handlers."""

    def __init__(self, *, pool: Pool, queue: ChatQueue, handle: Callable[[Any], None],
                 threads: int, max_attempts: int, flood_rate: float, flood_burst: int,
                 metrics: Any = None, on_queued: Callable[[], None] | None = None,
                 retry_delays: tuple[float, ...] = (0.5, 2.0, 5.0),
                 on_payment_failed: Callable[[dict[str, Any]], None] | None = None,
                 claim_for: Callable[[], tuple[str, float] | None] | None = None,
                 on_claimed: Callable[[list[Delivery]], None] | None = None) -> None:
        self.pool = pool
        self.queue = queue
        self.handle = handle
        self.thread_count = threads
        self.max_attempts = max_attempts
        self.flood_rate = flood_rate
        self.flood_burst = flood_burst
        self.metrics = metrics
        self.on_queued = on_queued or (lambda: None)
        self.retry_delays = retry_delays
        # Keeps a successful_payment whose handler failed for good (the money has moved): run
        # with the update's context bound, after the handler's work was rolled back.
        self.on_payment_failed = on_payment_failed
        # With a sender in this process: its (process id, lease) to claim replies for as they
        # are queued, and where the claimed rows go once committed (Sender.hand_over).
        self.claim_for = claim_for if on_claimed is not None else None
        self.on_claimed = on_claimed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failed_passes: dict[int, int] = {}
        self._failed_lock = threading.Lock()
        # The update this thread's pass is on, to name in log lines (never the chat: a chat
        # id is a Telegram id).
        self._head = threading.local()

    def start(self) -> None:
        """Start the worker threads."""
        for i in range(self.thread_count):
            th = threading.Thread(target=self._loop, name=f"worker-{i}", daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self, timeout: float) -> bool:
        """Finish running handlers (bounded); True when all threads ended in time."""
        self._stop.set()
        self.queue.close()
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        return not any(th.is_alive() for th in self._threads)

    def _loop(self) -> None:
        while not self._stop.is_set():
            chat = self.queue.take(timeout=0.5)
            if chat is None:
                continue
            outcome = Outcome(delay=1.0)
            self._head.update_id = None
            try:
                outcome = self.process_chat(chat)
                self._pass_succeeded(chat)
            except Exception as exc:
                # Usually the database is away even after retries: the update stays pending
                # in inbox and this chat is tried again shortly.
                log.exception("could not process a chat's next update (update %s); will retry",
                              self._head.update_id, extra={"update_id": self._head.update_id})
                if self._pass_failed(chat, exc):
                    outcome = Outcome(delay=0.0)
            finally:
                self.queue.release(chat, processed=outcome.processed, empty=outcome.empty,
                                       delay=outcome.delay)
            if outcome.claimed and self.on_claimed is not None:
                self.on_claimed(outcome.claimed)
            if outcome.queued > len(outcome.claimed):
                self.on_queued()

    def _pass_succeeded(self, chat_id: int) -> None:
        if self._failed_passes:
            with self._failed_lock:
                self._failed_passes.pop(chat_id, None)

    def _pass_failed(self, chat_id: int, exc: Exception) -> bool:
        """Count a failed pass; after too many (not a database outage), give the head up."""
        if is_disconnect(exc) or isinstance(exc, PoolTimeout | psycopg2.OperationalError):
            return False  # an outage: waiting is right, the update is not at fault
        with self._failed_lock:
            n = self._failed_passes[chat_id] = self._failed_passes.get(chat_id, 0) + 1
            if n < MAX_FAILED_PASSES:
                return False
            self._failed_passes.pop(chat_id, None)

        def give_up(conn):
            with conn.cursor() as cur:
                cur.execute(Q["inbox.give_up"], {"chat_id": chat_id,
                                                 "error": f"gave up: {exc}"[:500]})
                return cur.fetchone()

        try:
            row = self.pool.run(give_up, attempts=2)
        except Exception:
            log.exception("could not give up a chat's stuck next update (update %s)",
                          self._head.update_id, extra={"update_id": self._head.update_id})
            return False
        if row:
            log.error("update %s failed %s passes in a row; marked failed", row[0],
                      MAX_FAILED_PASSES, extra={"update_id": row[0]})
            if self.metrics:
                self.metrics.updates_processed.labels("unknown", "failed").inc()
        return True

    def process_chat(self, chat_id: int) -> Outcome:
        """Run the chat's oldest pending update in one transaction (retried if transient)."""
        return self.pool.run(lambda conn: self._process(conn, chat_id), attempts=4,
                             max_seconds=10)

    def _process(self, conn: psycopg2.extensions.connection, chat_id: int) -> Outcome:
        # One statement takes the chat, reads its head, counts it against flood control and
        # marks it processed (inbox.begin); the handler's work and replies then commit with
        # that mark. A handler that fails takes it all back: the update is pending again, and
        # the failure is recorded in a transaction of its own (_after_rollback).
        with conn.cursor() as cur:
            cur.execute(Q["inbox.begin"], {"namespace": CHAT_LOCK_NAMESPACE, "chat_id": chat_id,
                                           "rate": self.flood_rate, "burst": self.flood_burst})
            row = cur.fetchone()
        not_now = self._not_now(row)
        if not_now is not None:
            return not_now
        (_, update_id, kind, payload, attempts, _, received_at, allowed, must_warn,
         prefetched_user, *member_row, flow_state, flow_data, list_fingerprint,
         list_settled) = row
        user = user_of(payload, kind)
        ctx = UpdateContext(conn, chat_id=chat_id, user_id=user.get("id"), update_id=update_id,
                            language_code=user.get("language_code"),
                            sent_at=sent_at(payload, kind), received_at=received_at,
                            claim_for=self.claim_for() if self.claim_for else None)
        if prefetched_user is not None and prefetched_user == ctx.user_id:
            ctx.prefetch(member_row if member_row[0] is not None else None,
                         (flow_state, flow_data) if flow_state is not None else None)
        ctx.cache["command_list"] = ((list_fingerprint, list_settled)
                                     if list_fingerprint is not None else None)
        # Keyed by chat: a message without `from` (sent as the group) is counted too. A
        # payment is never throttled away: the money has moved, the membership must follow.
        if not allowed:
            self._flood_refused(ctx, kind, payload, must_warn)
            self._count(kind, "flood")
            return Outcome(processed=True, queued=ctx.queued, claimed=ctx.claimed)

        started = time.perf_counter()
        try:
            with bound(ctx):
                self.handle(payload)
            notices.check_delivered(ctx)
            if conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INERROR:
                # The handler caught a database error and carried on; its work is void.
                raise RuntimeError("the handler swallowed a database error")
        except SkipUpdate as exc:
            log.warning("update %s (%s) skipped: %s", update_id, kind, exc.log_line(),
                        extra={"update_id": update_id})
            skipped = str(exc)[:500]
            return self._after_rollback(conn, chat_id, update_id, partial(
                self._skipped, conn, update_id, kind, skipped))
        except Exception as exc:
            if conn.closed or isinstance(exc, RETRY_WHOLE_TRANSACTION):
                raise  # the whole transaction is retried by pool.run
            return self._after_rollback(conn, chat_id, update_id, partial(
                self._failed, conn, ctx, update_id, kind, payload, attempts, exc))
        finally:
            if self.metrics:
                self.metrics.handler_seconds.labels(kind).observe(time.perf_counter() - started)
        self._count(kind, "done")
        return Outcome(processed=True, queued=ctx.queued, claimed=ctx.claimed)

    def _not_now(self, row: tuple | None) -> Outcome | None:
        """What to do instead of running the head inbox.begin found, if anything."""
        if row is None:
            return Outcome(delay=0.05)  # another worker or instance has this chat now
        update_id, wait = row[1], row[5]
        if update_id is None:
            return Outcome(empty=True)
        self._head.update_id = update_id
        if wait > 0:
            return Outcome(delay=wait)
        return None

    def _after_rollback(self, conn, chat_id: int, update_id: int,
                        record: Callable[[], Outcome]) -> Outcome:
        """Take back everything the failed handler did (and the update's mark), then record
        the failure in a new transaction, if the update is still this chat's head and the chat
        still ours (another instance may have taken it between the two)."""
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute(Q["inbox.lock_chat"],
                        {"namespace": CHAT_LOCK_NAMESPACE, "chat_id": chat_id})
            if not cur.fetchone()[0]:
                return Outcome(delay=0.05)
            cur.execute(Q["inbox.head_of_chat"], {"chat_id": chat_id})
            head = cur.fetchone()
        if head is None or head[0] != update_id:
            return Outcome(delay=0.0)  # recorded meanwhile by whoever took the chat
        return record()

    def _skipped(self, conn, update_id: int, kind: str, why: str) -> Outcome:
        self._finish(conn, update_id, "skipped", why)
        self._count(kind, "skipped")
        return Outcome(processed=True)

    def _failed(self, conn, ctx: UpdateContext, update_id: int, kind: str, payload: dict,
                attempts: int, exc: Exception) -> Outcome:
        error = f"{type(exc).__name__}: {exc}"[:500]
        attempt = attempts + 1
        if attempt < self.max_attempts:
            delay = self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)]
            log.warning("update %s failed (attempt %s of %s), retrying in %ss: %s", update_id,
                        attempt, self.max_attempts, delay, describe(exc),
                        extra={"update_id": update_id})
            with conn.cursor() as cur:
                cur.execute(Q["inbox.postpone"],
                            {"update_id": update_id, "error": error, "delay": delay})
            return Outcome(delay=delay)
        log.error("update %s failed for good after %s attempts", update_id, attempt,
                  exc_info=exc, extra={"update_id": update_id})
        ctx.rolled_back()
        if is_payment(kind, payload) and self.on_payment_failed is not None:
            self._keep_payment(conn, ctx, update_id, payload)
        self._apologise(ctx, kind, payload)
        self._finish(conn, update_id, "failed", error, attempted=1)
        self._count(kind, "failed")
        return Outcome(processed=True, queued=ctx.queued, claimed=ctx.claimed)

    def _keep_payment(self, conn, ctx: UpdateContext, update_id: int, payload: dict) -> None:
        """A payment whose handler failed for good is still recorded (to refund) and the
        admins told, in a savepoint of its own: if even that fails, the update is marked failed
        as before and the log says so."""
        ctx.notices.clear()  # the failed handler's, rolled back
        with conn.cursor() as cur:
            cur.execute("SAVEPOINT kept_payment")
        try:
            with bound(ctx):
                self.on_payment_failed(payload)
            notices.check_delivered(ctx)
        except Exception:
            with conn.cursor() as cur:
                cur.execute("ROLLBACK TO SAVEPOINT kept_payment")
            ctx.notices.clear()
            ctx.rolled_back()
            log.exception("update %s: could not keep its failed payment for a refund", update_id,
                          extra={"update_id": update_id})

    @staticmethod
    def _apologise(ctx: UpdateContext, kind: str, payload: dict) -> None:
        if ctx.chat_id <= 0:
            return
        text = ctx.texts("error_generic")  # the member's language, decided on the context
        if kind == "callback_query":
            ctx.answer_callback(payload[kind]["id"], text)
        else:
            ctx.reply(text)

    @staticmethod
    def _flood_refused(ctx: UpdateContext, kind: str, payload: dict, must_warn: bool) -> None:
        """Over the chat's bucket (inbox.begin): one polite warning, then silence until it
        refills."""
        if must_warn:
            text = ctx.texts("slow_down")
            if kind == "callback_query":
                ctx.answer_callback(payload[kind]["id"], text)
            else:
                ctx.reply(text)
        elif kind == "callback_query":
            ctx.answer_callback(payload[kind]["id"])  # stop the spinner, say nothing

    @staticmethod
    def _finish(conn, update_id: int, status: str, error: str | None, attempted: int = 0) -> None:
        with conn.cursor() as cur:
            cur.execute(Q["inbox.finish"], {"update_id": update_id, "status": status,
                                            "error": error, "attempted": attempted})

    def _count(self, kind: str, outcome: str) -> None:
        if self.metrics:
            self.metrics.updates_processed.labels(kind, outcome).inc()
