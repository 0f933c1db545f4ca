"""The sender: delivers outbox rows to the Bot API outside any database transaction.

A claimer thread records deliveries and claims the next rows (`fitclub.runtime.claimer`);
sender threads deliver them under a global limit and per-chat pacing, lowest priority number
first. The limits hold for every instance on the database (`SharedLimits`: one statement per
call), and within this process too (in memory, a second guard). Claims belong to this
process (`fitclub.runtime.processes`: its registration and heartbeat). After a SIGKILL
nothing is lost; the calls in flight at the kill (sent, not yet recorded) are sent again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from fitclub.db.pool import Pool
from fitclub.db.queries import Q
from fitclub.logs import describe
from fitclub.runtime.claimer import Claimer
from fitclub.runtime.deliveries import Delivery, DeliveryQueue
from fitclub.runtime.processes import Heartbeat, ProcessIdentity
from fitclub.runtime.ratelimit import ChatPacer, SharedLimits, SlidingWindowLimiter
from fitclub.runtime.telegram import BotApi, NetworkError, TelegramError, reason

log = logging.getLogger(__name__)

# Telegram answers 400 to these although nothing is left to do: count them as delivered.
HARMLESS_400 = (
    "message is not modified",
    "query is too old",
    "message to delete not found",
    "message can't be deleted",
)

# A wake waits this long so a burst of commits and deliveries shares one statement; only when
# the last round was this recent (busy). After a quiet spell a wake claims at once.
COALESCE_SECONDS = 0.01
BUSY_WITHIN = 0.05
# The shared limits could not be asked (the database is away): the row waits this long.
SHARED_RETRY_SECONDS = 1.0
# Calls that put no message in a chat: Telegram's limits count messages (sent or edited),
# and a button's answer must come at once (its spinner turns until then), so these take no
# place in the window and no token of the chat's pace. (tgemu counts them the same way.)
UNCOUNTED_METHODS = frozenset({"answerCallbackQuery"})
# The in-memory window's extra length (at 30/s, at most 29.4 calls a second).
LOCAL_MARGIN = 0.02
# A 429 with a retry_after this long means the whole bot is over its limit, not one chat.
PAUSE_EVERYONE_AFTER = 5.0


def message_id_of(result: Any) -> int | None:
    """The message id in any Bot API result: a Message, a list of them, a MessageId; else None."""
    if isinstance(result, list):
        result = result[0] if result else None
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return result["message_id"]
    return None


class _Stopping(Exception):
    """The call must not start: the sender is shutting down or the claim is about to lapse."""


class _Wait(Exception):
    """The call must not start yet: the shared limits said wait this long (other chats may go)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, NetworkError) or (isinstance(exc, TelegramError) and exc.transient)


class Sender:
    """Claimer and sender threads around one BotApi."""

    def __init__(self, *, pool: Pool, api: BotApi, rate: float, per_chat_rate: float,
                 threads: int = 4, metrics: Any = None, lease: float = 90.0,
                 max_attempts: int = 6, tries_per_claim: int = 3,
                 identity: ProcessIdentity | None = None,
                 shared: bool | str = True) -> None:
        self.pool = pool
        self.api = api
        # In memory the window is a little longer than Telegram's second: calls leave a few
        # milliseconds apart from when they were counted, and must not crowd the next second.
        # Calls are spread through it (at most 3 together), so one that comes waits for the
        # next place a 30th of a second away, not for the window to reopen.
        self.limiter = SlidingWindowLimiter(rate, window=1.0 + LOCAL_MARGIN, burst=3)
        self.pacer = ChatPacer(per_chat_rate, burst=3)
        # True: every call takes a shared slot; "auto": only while other processes are
        # registered (alone, the limits in memory are the same limits, without a statement
        # per call); False: never.
        if shared not in (True, False, "auto"):
            raise ValueError("shared must be True, False or 'auto'")
        self.shared_mode = shared
        self.shared = SharedLimits(pool, rate, per_chat_rate, burst=3) if shared else None
        self._shared_failing = threading.Event()
        self.thread_count = threads
        self.metrics = metrics
        self.lease = lease
        self.max_attempts = max_attempts
        self.tries_per_claim = tries_per_claim
        self.identity = identity or ProcessIdentity.of_this_process()
        self.claimer = Claimer(pool, process=self.identity.id, lease=lease)
        self.queue = DeliveryQueue()
        # Given up as dead by the others: what is claimed and not yet sent is dropped.
        self._claims_lock = threading.Lock()
        self.heartbeat = Heartbeat(pool, self.identity, drop_claims=self.queue.clear,
                                   wake=self.wake, claims_lock=self._claims_lock)
        self.max_in_memory = max(int(rate * 2), threads * 4, 20)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Register this process, then start the claimer, heartbeat and sender threads."""
        self.heartbeat.register()
        specs = [("outbox-claimer", self._claim_loop),
                 ("outbox-heartbeat", lambda: self.heartbeat.run(self._stop))]
        specs += [(f"sender-{i}", self._send_loop) for i in range(self.thread_count)]
        # Answers to button presses count against no limit: one thread sends nothing else,
        # so they never wait while every other sender waits for a place in the window.
        specs.append(("sender-answers", self._answer_loop))
        for name, target in specs:
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next sweep."""
        self._wake.set()

    def claim_for(self) -> tuple[str, float] | None:
        """(process id, lease) for workers to claim their replies with as they queue them;
        None while stopping, paused by a 429, or holding twice the rows it claims for itself:
        then they wait in the outbox for whichever sender is free."""
        if (self._stop.is_set() or self.limiter.try_wait() > 1.5
                or self.backlog() >= 2 * self.max_in_memory):
            return None
        return self.identity.id, self.lease

    def hand_over(self, deliveries: list[Delivery]) -> None:
        """Rows a worker claimed for this process as it queued them, now committed: they go
        out like claimed rows, without a claim round trip. Stopped, they are left claimed: the
        claims of a process that unregistered go back to pending (outbox.heartbeat)."""
        if self._stop.is_set():
            return
        now = time.monotonic()
        due = []
        for delivery in deliveries:
            if delivery.blocked:
                self._fail(delivery, "dropped", "bot was blocked by the user", reason="blocked")
                continue
            delivery.ready_at = now + self.pacer.delay(delivery.chat_id)
            due.append(delivery)
        self.queue.put(due)

    def stop(self, timeout: float) -> None:
        """Let in-flight calls finish, record what was sent, hand every other claim back."""
        self._stop.set()
        self._wake.set()
        self.queue.wake_all()
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        self.queue.clear()
        self.claimer.record_the_rest()
        try:
            # Everything still claimed goes back: rows never sent, and any call still
            # running past the timeout.
            self.heartbeat.unregister()
        except Exception:
            # The database is away; other processes (or the next start) release them.
            log.warning("could not hand back claimed outbox rows at shutdown")

    def backlog(self) -> int:
        """Claimed rows not yet delivered."""
        return self.queue.backlog()

    def recording_failed(self) -> bool:
        """Deliveries were made that the database refuses to record (health turns unhealthy)."""
        return self.claimer.recording_failed()

    # -- claimer ---------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        last_round = 0.0
        while not self._stop.is_set():
            if self._wake.wait(0.5):
                if time.monotonic() - last_round < BUSY_WITHIN:
                    # Busy: let a burst of commits and deliveries share one statement.
                    self._stop.wait(COALESCE_SECONDS)
                self._wake.clear()
            last_round = time.monotonic()
            if self._stop.is_set():
                break
            try:
                self._claim()
            except Exception:
                log.warning("outbox claim failed; retrying", exc_info=True)
                self._stop.wait(1.0)

    def _claim(self) -> None:
        room = max(0, min(self.max_in_memory - self.backlog(), 100))
        # A claim round and the heartbeat's drop of every claim (given up as dead) never
        # interleave: claimed rows reach memory before the drop or are claimed after it.
        with self._claims_lock:
            claimed = self.claimer.claim(room)
            for delivery in claimed:
                delivery.ready_at += self.pacer.delay(delivery.chat_id)
            self.queue.put([d for d in claimed if not d.blocked])
        for delivery in claimed:
            if delivery.blocked:
                # A 403 already told us (or the user's my_chat_member update did): rows
                # queued after that, such as a reply to another chat's update or an
                # announcement, are dropped without a call, so a blocked user costs no more
                # sends and no more 403s.
                self._fail(delivery, "dropped", "bot was blocked by the user", reason="blocked")
        if room and len(claimed) == room:
            self._wake.set()  # a full claim: there may be more due now

    # -- senders ---------------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            # Alone, a thread takes its place in the window first and only then the most
            # urgent row due: a reply queued while it waited goes before the announcement
            # rows queued ahead of it. (With shared slots, each is taken for one chat.) The
            # place counts from when its call goes (restamped then).
            held = None
            if not self.uses_shared_slots():
                held = self.limiter.take_place(self._stop)
                if held is None:
                    return
            delivery = self.queue.take(self._stop)
            if delivery is None:
                if held is not None:
                    self.limiter.release(held)
                return
            self._serve(delivery, held)

    def _answer_loop(self) -> None:
        while (delivery := self.queue.take(self._stop, methods=UNCOUNTED_METHODS)) is not None:
            self._serve(delivery, None)

    def _serve(self, delivery: Delivery, held: float | None) -> None:
        try:
            self._deliver(delivery, held=held)
        except Exception:
            log.exception("unexpected error delivering outbox row %s", delivery.id,
                          extra={"outbox_id": delivery.id})
            self._requeue(delivery, delay=5.0, attempted=1, error="internal error")
        finally:
            self.queue.finished()

    def _deliver(self, delivery: Delivery, *, held: float | None = None) -> None:
        """Deliver one row; `held`: the stamp of a place in the in-memory window taken for it."""
        if delivery.method in UNCOUNTED_METHODS:
            if held is not None:
                self.limiter.release(held)
            held = None
            wait = 0.0
        else:
            wait = self.pacer.delay(delivery.chat_id)
        if wait > 0:
            if held is not None:
                self.limiter.release(held)
            self.queue.push(delivery, wait)
            return
        try:
            result = self._call(delivery, held=held)
        except _Stopping:
            self._requeue(delivery, delay=0.0, attempted=0, error=None)
            return
        except _Wait as wait:
            if wait.seconds < self.lease / 4:
                self.queue.push(delivery, wait.seconds)
            else:  # a long pause another instance was told of: the row waits in the database
                self._requeue(delivery, delay=wait.seconds, attempted=0, error=None)
            return
        except TelegramError as exc:
            self._on_error(delivery, exc)
            return
        except NetworkError as exc:
            self._retry_later(delivery, str(exc))
            return
        self._record_sent(delivery, message_id_of(result))

    def _call(self, delivery: Delivery, *, held: float | None = None) -> Any:
        files = {delivery.file[0]: (delivery.file[1], delivery.file[2])} if delivery.file else None
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.tries_per_claim),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
            reraise=True,
        )
        if delivery.method in UNCOUNTED_METHODS:
            for attempt in retrying:
                with attempt:
                    if self._lease_left(delivery) < self.lease / 2:
                        raise _Stopping
                    return self._request(delivery, files)
        for attempt in retrying:
            with attempt:
                try:
                    stale_at = self._take_shared_slot(delivery)
                except (_Wait, _Stopping):
                    if held is not None:
                        self.limiter.release(held)
                    raise
                # In-flight calls finish during shutdown; only the wait for a slot is cut.
                if not (held is not None and self.limiter.restamp(held)) \
                        and not self.limiter.acquire(self._stop):
                    raise _Stopping
                held = None  # a try after this one takes a place of its own
                # Once the claim is half gone another sender may take the row after a lapse:
                # hand it back rather than risk sending it twice or out of order.
                if self._lease_left(delivery) < self.lease / 2:
                    raise _Stopping
                self.pacer.take(delivery.chat_id)
                if time.monotonic() > stale_at:
                    # Held up (a starved thread) past half the margin the shared window keeps
                    # for the way to Telegram: this call could crowd a later second. The slot
                    # is left unused and a new one taken.
                    raise _Wait(0.0)
                return self._request(delivery, files)
        raise AssertionError("unreachable: tenacity reraises")

    def _request(self, delivery: Delivery, files: dict | None) -> Any:
        try:
            return self.api.call(delivery.method, delivery.params, files=files,
                                 timeout=min(self.api.read_timeout,
                                             self._lease_left(delivery) / 4))
        except (TelegramError, NetworkError) as exc:
            self._count_error(exc)
            raise

    def _take_shared_slot(self, delivery: Delivery) -> float:
        """Take this call's slot of the limits all instances share, and wait until it comes.

        Returns the monotonic time after which the slot is too old to use.
        """
        quiet = self.heartbeat.quiet_until - time.monotonic()
        if quiet > 0:
            raise _Wait(quiet)  # just joined others that may not know this process yet
        if not self.uses_shared_slots():
            return math.inf
        try:
            slot = self.shared.take(delivery.chat_id)
        except Exception as exc:
            # Sending without it could break the limit the other instances keep. Said once
            # per outage: every row would say it again each second.
            if not self._shared_failing.is_set():
                self._shared_failing.set()
                log.warning("cannot take shared send slots (%s); sends wait until the "
                            "database answers", describe(exc))
            raise _Wait(SHARED_RETRY_SECONDS) from exc
        if self._shared_failing.is_set():
            self._shared_failing.clear()
            log.warning("shared send slots are taken again")
        if not slot.granted:
            raise _Wait(slot.wait)
        if slot.wait > 0 and self._stop.wait(slot.wait):
            raise _Stopping
        return slot.use_by

    def uses_shared_slots(self) -> bool:
        """Whether calls take a slot of the shared limits now (see `shared`)."""
        if self.shared is None:
            return False
        # Not known yet (None) counts as not alone.
        return self.shared_mode is True or self.heartbeat.others != 0

    def _lease_left(self, delivery: Delivery) -> float:
        return self.lease - (time.monotonic() - delivery.claimed_at)

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

    def _on_error(self, delivery: Delivery, exc: TelegramError) -> None:
        if exc.code == 429:
            retry_after = float(exc.retry_after or 1)
            everyone = retry_after >= PAUSE_EVERYONE_AFTER
            self.pacer.block(delivery.chat_id, retry_after)
            if everyone:
                self.limiter.pause(retry_after)
            self._share_pause(delivery.chat_id, retry_after, everyone=everyone)
            if retry_after < self.lease / 4:
                self.queue.push(delivery, retry_after)
            else:
                self._requeue(delivery, delay=retry_after, attempted=0, error=exc.description)
            return
        if exc.code in (401, 404):
            # The token was revoked or TELEGRAM_API_URL is wrong: nothing is wrong with this
            # message. Pause everything and keep the row for when the bot is fixed.
            log.critical("Telegram answered %s %s: check TELEGRAM_BOT_TOKEN and "
                         "TELEGRAM_API_URL; pausing sends", exc.code, reason(exc.description))
            self.limiter.pause(30.0)
            self._requeue(delivery, delay=30.0, attempted=0, error=exc.description)
            return
        if exc.blocked and "initiate conversation" in exc.description.lower():
            # The person never started the bot: this message cannot go, but they have not
            # blocked it, and Telegram sends no update when they start it later. So nothing
            # is marked: their first message must be answered.
            # Log lines name the outbox row, never the chat (a chat id is a Telegram id).
            log.info("outbox row %s: its chat has not started the bot (%s)", delivery.id,
                     reason(exc.description), extra={"outbox_id": delivery.id})
            self._fail(delivery, "dropped", exc.description, reason="not_started")
            return
        if exc.blocked:
            log.info("outbox row %s: its chat blocked the bot (%s)", delivery.id,
                     reason(exc.description), extra={"outbox_id": delivery.id})
            self._blocked(delivery, exc.description)
            return
        if exc.code >= 500:
            self._retry_later(delivery, exc.description)
            return
        lowered = exc.description.lower()
        if exc.code == 400 and any(h in lowered for h in HARMLESS_400):
            log.info("outbox row %s: %s (nothing to do)", delivery.id, reason(exc.description),
                     extra={"outbox_id": delivery.id})
            self._record_sent(delivery, None)
            return
        log.error("Telegram refused outbox row %s (%s): %s %s", delivery.id,
                  delivery.method, exc.code, reason(exc.description),
                  extra={"outbox_id": delivery.id})
        self._fail(delivery, "failed", f"{exc.code} {exc.description}", reason="bad_request")

    def _share_pause(self, chat_id: int, seconds: float, *, everyone: bool) -> None:
        """Tell the other instances to wait too (this one waits in any case)."""
        if self.shared is None:
            return
        try:
            self.shared.pause(chat_id, seconds, everyone=everyone)
        except Exception as exc:
            log.warning("could not share a %.0fs pause from Telegram (%s)", seconds,
                        describe(exc))

    def _retry_later(self, delivery: Delivery, error: str) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            log.error("giving up on outbox row %s after %s rounds: %s", delivery.id, attempts,
                      reason(error), extra={"outbox_id": delivery.id})
            self._fail(delivery, "failed", f"retries exhausted: {error}",
                       reason="retries_exhausted")
            return
        self._requeue(delivery, delay=min(300.0, 2.0 * 2 ** attempts), attempted=1, error=error)

    # -- database writes (short transactions, never around a Bot API call) -----------------

    def _record_sent(self, delivery: Delivery, message_id: int | None) -> None:
        if self.metrics:
            self.metrics.outbox_sent.labels(delivery.method).inc()
            if delivery.received_at is not None and delivery.priority == 0:
                age = (datetime.now(UTC) - delivery.received_at).total_seconds()
                self.metrics.reply_latency.observe(max(0.0, age))
        self.claimer.delivered(delivery, message_id)
        self._wake.set()  # recorded within a few ms; the chat's next row may go then

    def _requeue(self, delivery: Delivery, *, delay: float, attempted: int,
                 error: str | None) -> None:
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.requeue"], {"id": delivery.id, "token": delivery.token,
                                                  "delay": delay, "attempted": attempted,
                                                  "error": error})

        try:
            self.pool.run(run)
        except Exception:
            # The heartbeat sweep or the lease brings the row back anyway.
            log.warning("could not hand back outbox row %s", delivery.id, exc_info=True)
        self.wake()

    def _fail(self, delivery: Delivery, status: str, error: str, *, reason: str) -> None:
        if self.metrics:
            self.metrics.outbox_failed.labels(reason).inc()

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.mark_failed"], {"id": delivery.id, "token": delivery.token,
                                                      "status": status, "error": error[:500]})

        self.pool.run(run)
        self.wake()

    def _blocked(self, delivery: Delivery, description: str) -> None:
        if self.metrics:
            self.metrics.outbox_failed.labels("blocked").inc()

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.mark_failed"], {"id": delivery.id, "token": delivery.token,
                                                      "status": "dropped",
                                                      "error": description[:500]})
                cur.execute(Q["outbox.drop_chat"], {"chat_id": delivery.chat_id})
                cur.execute(Q["members.mark_blocked"], {"telegram_id": delivery.chat_id})

        self.pool.run(run)
        # Claimed rows of that chat cannot exist (one head per chat), but be sure.
        self.queue.drop_chat(delivery.chat_id)
