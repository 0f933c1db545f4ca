"""The sender: delivers outbox rows to the Bot API outside any database transaction.

One claimer thread takes due rows (only the oldest undelivered row of each chat, so a chat's
messages keep their order) into memory; sender threads deliver them under a global limit and
per-chat pacing, lowest priority number first; a marker thread records deliveries in batches.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg2.extras import execute_values
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from fitclub.db.pool import Pool
from fitclub.db.queries import Q
from fitclub.runtime.ratelimit import ChatPacer, SlidingWindowLimiter
from fitclub.runtime.telegram import BotApi, NetworkError, TelegramError

log = logging.getLogger(__name__)

# Telegram answers 400 to these although nothing is left to do: count them as delivered.
HARMLESS_400 = (
    "message is not modified",
    "query is too old",
    "message to delete not found",
    "message can't be deleted",
)


@dataclass(order=True)
class Job:
    """One claimed outbox row, ordered by when it may go, then priority, then age."""

    ready_at: float
    priority: int
    id: int
    chat_id: int = field(compare=False)
    method: str = field(compare=False)
    params: dict = field(compare=False)
    file: tuple[str, str, bytes] | None = field(compare=False, default=None)
    attempts: int = field(compare=False, default=0)
    update_id: int | None = field(compare=False, default=None)
    received_at: datetime | None = field(compare=False, default=None)
    claimed_at: float = field(compare=False, default=0.0)


class _Stopping(Exception):
    """The call must not start: the sender is shutting down or the claim is about to lapse."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, NetworkError) or (isinstance(exc, TelegramError) and exc.transient)


class Sender:
    """Claimer, sender threads and batch marker around one BotApi."""

    def __init__(self, *, pool: Pool, api: BotApi, rate: float, per_chat_rate: float,
                 threads: int = 4, metrics: Any = None, lease: float = 90.0,
                 max_attempts: int = 6, tries_per_claim: int = 3) -> None:
        self.pool = pool
        self.api = api
        self.limiter = SlidingWindowLimiter(rate)
        self.pacer = ChatPacer(per_chat_rate, burst=3)
        self.thread_count = threads
        self.metrics = metrics
        self.lease = lease
        self.max_attempts = max_attempts
        self.tries_per_claim = tries_per_claim
        self.max_in_memory = max(int(rate * 2), threads * 4, 20)
        # Jobs wait in _heap (by ready_at) until due, then move to _ready, ordered by priority
        # and age: both picks are O(log n) under the lock.
        self._heap: list[Job] = []
        self._ready: list[tuple[int, int, Job]] = []
        self._cond = threading.Condition()
        self._in_flight = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done: list[tuple[int, int | None]] = []
        self._done_lock = threading.Lock()
        self._done_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seq = itertools.count()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the claimer, marker and sender threads."""
        specs = [("outbox-claimer", self._claim_loop), ("outbox-marker", self._mark_loop)]
        specs += [(f"sender-{i}", self._send_loop) for i in range(self.thread_count)]
        for name, target in specs:
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next sweep."""
        self._wake.set()

    def stop(self, timeout: float) -> None:
        """Let in-flight calls finish, hand unsent claims back, record what was sent."""
        self._stop.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for th in self._threads:
            if th.name.startswith("sender") or th.name == "outbox-claimer":
                th.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            left = self._heap + [job for _, _, job in self._ready]
            self._heap, self._ready = [], []
        try:
            self._requeue_many([job.id for job in left])
        except Exception:
            # The database is away; their leases bring these rows back after a restart.
            log.warning("could not hand back %s claimed rows at shutdown", len(left))
        self._done_event.set()
        for th in self._threads:
            if th.name == "outbox-marker":
                th.join(max(1.0, deadline - time.monotonic()))
        try:
            self._flush()
        except Exception:
            log.warning("could not record the last sent rows; they may be sent again after "
                        "a restart", exc_info=True)

    def backlog(self) -> int:
        """Claimed rows not yet delivered."""
        with self._cond:
            return len(self._heap) + len(self._ready) + self._in_flight

    # -- claimer ---------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        last_sweep = 0.0
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if time.monotonic() - last_sweep > 5:
                    # Record deliveries first: a row sent but not yet marked must not be
                    # taken back as abandoned and sent again.
                    self._flush()
                    self._release_expired()
                    last_sweep = time.monotonic()
                while not self._stop.is_set():
                    room = self.max_in_memory - self.backlog()
                    if room <= 0 or not self._claim(min(room, 100)):
                        break
            except Exception:
                log.warning("outbox claim failed; retrying", exc_info=True)
                self._stop.wait(1.0)

    def _release_expired(self) -> None:
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.release_expired"])
                return cur.rowcount

        if released := self.pool.run(run):
            log.warning("took back %s outbox rows whose sender died", released)

    def _claim(self, limit: int) -> int:
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.claim"], {"limit": limit, "lease": self.lease})
                return cur.fetchall()

        rows = self.pool.run(run)
        now = time.monotonic()
        unwanted: list[Job] = []
        with self._cond:
            for (oid, chat_id, method, params, ffield, fname, fbytes, priority, attempts,
                 update_id, received_at, blocked) in rows:
                file = (ffield, fname, bytes(fbytes)) if ffield else None
                ready = now + self.pacer.delay(chat_id)
                job = Job(ready, priority, oid, chat_id, method, params, file, attempts,
                          update_id, received_at, now)
                if blocked:
                    unwanted.append(job)
                else:
                    heapq.heappush(self._heap, job)
            self._cond.notify_all()
        for job in unwanted:
            # A 403 already told us (or the user's my_chat_member update did): rows queued
            # after that, such as a reply to another chat's update or an announcement, are
            # dropped without a call, so a blocked user costs no more sends and no more 403s.
            self._fail(job, "dropped", "bot was blocked by the user", reason="blocked")
        return len(rows)

    # -- senders ---------------------------------------------------------------------------

    def _next_job(self) -> Job | None:
        with self._cond:
            while not self._stop.is_set():
                now = time.monotonic()
                while self._heap and self._heap[0].ready_at <= now:
                    job = heapq.heappop(self._heap)
                    heapq.heappush(self._ready, (job.priority, job.id, job))
                if self._ready:
                    # Among the jobs due now, the lowest priority number goes first.
                    _, _, job = heapq.heappop(self._ready)
                    self._in_flight += 1
                    return job
                wait = self._heap[0].ready_at - now if self._heap else 0.5
                self._cond.wait(min(wait, 0.5))
            return None

    def _send_loop(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._deliver(job)
            except Exception:
                log.exception("unexpected error delivering outbox row %s", job.id,
                              extra={"outbox_id": job.id})
                self._requeue(job, delay=5.0, attempted=1, error="internal error")
            finally:
                with self._cond:
                    self._in_flight -= 1

    def _deliver(self, job: Job) -> None:
        wait = self.pacer.delay(job.chat_id)
        if wait > 0:
            self._push(job, wait)
            return
        try:
            result = self._call(job)
        except _Stopping:
            self._requeue(job, delay=0.0, attempted=0, error=None)
            return
        except TelegramError as exc:
            self._on_error(job, exc)
            return
        except NetworkError as exc:
            self._retry_later(job, str(exc))
            return
        message_id = result.get("message_id") if isinstance(result, dict) else None
        self._record_sent(job, message_id)

    def _call(self, job: Job) -> Any:
        files = {job.file[0]: (job.file[1], job.file[2])} if job.file else None
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.tries_per_claim),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                # In-flight calls finish during shutdown; only the wait for a slot is cut.
                if not self.limiter.acquire(self._stop):
                    raise _Stopping
                # Once the claim is half gone another sender may take the row after a lapse:
                # hand it back rather than risk sending it twice or out of order.
                if self._lease_left(job) < self.lease / 2:
                    raise _Stopping
                self.pacer.take(job.chat_id)
                try:
                    return self.api.call(job.method, job.params, files=files,
                                         timeout=min(self.api.read_timeout,
                                                     self._lease_left(job) / 4))
                except (TelegramError, NetworkError) as exc:
                    self._count_error(exc)
                    raise
        raise AssertionError("unreachable: tenacity reraises")

    def _lease_left(self, job: Job) -> float:
        return self.lease - (time.monotonic() - job.claimed_at)

    def _count_error(self, exc: Exception) -> None:
        if not self.metrics:
            return
        if isinstance(exc, TelegramError):
            if exc.code == 429:
                self.metrics.telegram_429.inc()
            elif exc.code == 403:
                self.metrics.telegram_403.inc()
            else:
                self.metrics.telegram_errors.labels(str(exc.code)).inc()
        else:
            self.metrics.telegram_errors.labels("network").inc()

    def _on_error(self, job: Job, exc: TelegramError) -> None:
        if exc.code == 429:
            retry_after = float(exc.retry_after or 1)
            self.pacer.block(job.chat_id, retry_after)
            if self.pacer.delay(job.chat_id) <= retry_after and retry_after >= 5:
                # A long wait usually means the whole bot is over its limit, not one chat.
                self.limiter.pause(retry_after)
            if retry_after < self.lease / 4:
                self._push(job, retry_after)
            else:
                self._requeue(job, delay=retry_after, attempted=0, error=exc.description)
            return
        if exc.code in (401, 404):
            # The token was revoked or TELEGRAM_API_URL is wrong: nothing is wrong with this
            # message. Pause everything and keep the row for when the bot is fixed.
            log.critical("Telegram answered %s %s: check TELEGRAM_BOT_TOKEN and "
                         "TELEGRAM_API_URL; pausing sends", exc.code, exc.description)
            self.limiter.pause(30.0)
            self._requeue(job, delay=30.0, attempted=0, error=exc.description)
            return
        if exc.blocked:
            log.info("chat %s blocked the bot: %s", job.chat_id, exc.description)
            self._blocked(job, exc.description)
            return
        if exc.code >= 500:
            self._retry_later(job, exc.description)
            return
        lowered = exc.description.lower()
        if exc.code == 400 and any(h in lowered for h in HARMLESS_400):
            log.info("outbox row %s: %s (nothing to do)", job.id, exc.description)
            self._record_sent(job, None)
            return
        log.error("Telegram refused outbox row %s (%s to chat %s): %s %s", job.id, job.method,
                  job.chat_id, exc.code, exc.description, extra={"outbox_id": job.id})
        self._fail(job, "failed", f"{exc.code} {exc.description}", reason="bad_request")

    def _retry_later(self, job: Job, error: str) -> None:
        attempts = job.attempts + 1
        if attempts >= self.max_attempts:
            log.error("giving up on outbox row %s after %s rounds: %s", job.id, attempts, error,
                      extra={"outbox_id": job.id})
            self._fail(job, "failed", f"retries exhausted: {error}", reason="retries_exhausted")
            return
        self._requeue(job, delay=min(300.0, 2.0 * 2 ** attempts), attempted=1, error=error)

    def _push(self, job: Job, delay: float) -> None:
        job.ready_at = time.monotonic() + delay
        with self._cond:
            heapq.heappush(self._heap, job)
            self._cond.notify()

    # -- database writes (short transactions, never around a Bot API call) -----------------

    def _record_sent(self, job: Job, message_id: int | None) -> None:
        if self.metrics:
            self.metrics.outbox_sent.labels(job.method).inc()
            if job.received_at is not None and job.priority == 0:
                age = (datetime.now(UTC) - job.received_at).total_seconds()
                self.metrics.reply_latency.observe(max(0.0, age))
        with self._done_lock:
            self._done.append((job.id, message_id))
        self._done_event.set()

    def _requeue(self, job: Job, *, delay: float, attempted: int, error: str | None) -> None:
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.requeue"], {"id": job.id, "delay": delay,
                                                  "attempted": attempted, "error": error})

        try:
            self.pool.run(run)
        except Exception:
            # The lease brings the row back anyway.
            log.warning("could not hand back outbox row %s", job.id, exc_info=True)

    def _requeue_many(self, ids: list[int]) -> None:
        if not ids:
            return

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.requeue_many"], {"ids": ids})

        self.pool.run(run, attempts=2, max_seconds=3)

    def _fail(self, job: Job, status: str, error: str, *, reason: str) -> None:
        if self.metrics:
            self.metrics.outbox_failed.labels(reason).inc()

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.mark_failed"],
                            {"id": job.id, "status": status, "error": error[:500]})

        self.pool.run(run)
        self.wake()

    def _blocked(self, job: Job, description: str) -> None:
        if self.metrics:
            self.metrics.outbox_failed.labels("blocked").inc()

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.mark_failed"], {"id": job.id, "status": "dropped",
                                                      "error": description[:500]})
                cur.execute(Q["outbox.drop_chat"], {"chat_id": job.chat_id})
                cur.execute(Q["members.mark_blocked"], {"telegram_id": job.chat_id})

        self.pool.run(run)
        with self._cond:
            # Claimed rows of that chat cannot exist (one head per chat), but be sure.
            self._heap = [j for j in self._heap if j.chat_id != job.chat_id]
            heapq.heapify(self._heap)
            self._ready = [r for r in self._ready if r[2].chat_id != job.chat_id]
            heapq.heapify(self._ready)

    # -- marker ----------------------------------------------------------------------------

    def _mark_loop(self) -> None:
        while not self._stop.is_set():
            self._done_event.wait(0.5)
            self._done_event.clear()
            # A moment's wait lets a burst of deliveries share one UPDATE.
            time.sleep(0.005)
            try:
                if self._flush():
                    self.wake()  # the next row of those chats may go now
            except Exception:
                log.warning("could not record sent rows; will retry", exc_info=True)
                self._stop.wait(0.5)

    def _flush(self) -> int:
        with self._done_lock:
            batch, self._done = self._done, []
        if not batch:
            return 0

        def run(conn):
            with conn.cursor() as cur:
                execute_values(cur, Q["outbox.mark_sent"], batch, page_size=500)

        try:
            self.pool.run(run)
        except Exception:
            with self._done_lock:
                self._done[:0] = batch
            raise
        return len(batch)
