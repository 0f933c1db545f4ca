"""Outbound rate limits: the whole bot's calls per second, and pacing per chat.

`SharedLimits` holds them for every instance on one database (sql/0031_shared_limits.sql);
the in-memory `SlidingWindowLimiter` and `ChatPacer` stay in each process as a second guard.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from fitclub.db.pool import Pool
from fitclub.db.queries import Q

# The time from taking a shared slot to the request reaching Telegram varies (thread
# scheduling, the HTTP connection, the host): the shared window is this much longer than its
# second, so a call that goes late cannot crowd the next second (at 30/s, ~27 sustained).
SEND_MARGIN = 0.1
# A shared slot is reserved at most this far ahead; the sender waits for it, holding the row.
MAX_AHEAD = 2.0
# A slot not used within this share of the margin is left unused (a sender held up past it
# takes a new one), so the rest of the margin covers the call's way to Telegram.
LATE_SHARE = 0.5
# The quickest of this many recent round trips to the database is taken as the constant part.
ROUND_TRIPS_KEPT = 64


def window_of(rate: float, window: float = 1.0) -> tuple[int, float]:
    """(calls, seconds): `rate` per second as at most that many calls in any such window."""
    if rate >= 1:
        return int(rate), window
    return 1, window / rate  # below one per second: one call per 1/rate seconds


class SlidingWindowLimiter:
    """At most `rate` acquisitions in any window of `window` seconds.

    A token bucket with burst B lets B + rate calls through in one second; Telegram counts
    per second, so this limiter keeps the timestamps of the last `rate` calls instead and
    never exceeds the limit in any window.
    """

    def __init__(self, rate: float, window: float = 1.0, *, burst: int | None = None) -> None:
        self.capacity, self.window = window_of(rate, window)
        self._times: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.RLock()
        # With a burst, calls are also spread: at most `burst` together, then one per
        # window/capacity (a token bucket inside the window). A window alone lets a whole
        # window's calls go at once and then none until it reopens, and a call that comes
        # in that gap waits for it (up to the window's length).
        self._spread = burst is not None and burst < self.capacity
        self._burst = float(burst or self.capacity)
        self._tokens = self._burst
        self._tokens_at = time.monotonic()

    def _refill(self, now: float) -> None:
        self._tokens = min(self._burst, self._tokens
                           + (now - self._tokens_at) * self.capacity / self.window)
        self._tokens_at = now

    def try_acquire(self) -> float:
        """0.0 when acquired, else the seconds to wait before trying again."""
        with self._lock:
            wait = self.try_wait()
            if wait > 0:
                return wait
            self._times.append(time.monotonic())
            if self._spread:
                self._tokens -= 1.0
            return 0.0

    def try_wait(self) -> float:
        """Seconds until a slot may be free (0 when one is)."""
        with self._lock:
            now = time.monotonic()
            if now < self._paused_until:
                return self._paused_until - now
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            wait = 0.0
            if len(self._times) >= self.capacity:
                wait = self._times[0] + self.window - now
            if self._spread:
                self._refill(now)
                if self._tokens < 1.0:
                    wait = max(wait, (1.0 - self._tokens) * self.window / self.capacity)
            return wait

    def acquire(self, stop: threading.Event | None = None, timeout: float | None = None) -> bool:
        """Block until a slot is free; False if stop was set or timeout passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return True
            if deadline is not None and time.monotonic() + wait > deadline:
                return False
            if stop is not None:
                if stop.wait(wait):
                    return False
            else:
                time.sleep(wait)

    def take_place(self, stop: threading.Event) -> float | None:
        """Block until a slot is free and take it; its stamp (for `restamp` or `release`), or
        None if stop was set first."""
        while True:
            with self._lock:
                if self.try_acquire() <= 0:
                    return self._times[-1]
            wait = self.try_wait()
            if stop.wait(max(wait, 0.001)):
                return None

    def restamp(self, stamp: float) -> bool:
        """The call of a slot taken earlier goes now: it counts from now, so the window holds
        for when calls go, not for when their slots were taken. False if the slot had aged
        out of the window meanwhile (take a new one)."""
        with self._lock:
            now = time.monotonic()
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            try:
                self._times.remove(stamp)
            except ValueError:
                return False
            self._times.append(now)
            return True

    def release(self, stamp: float) -> None:
        """Give a slot back: it was not used for a call after all."""
        with self._lock:
            with contextlib.suppress(ValueError):  # aged out already
                self._times.remove(stamp)
            if self._spread:
                self._tokens = min(self._burst, self._tokens + 1.0)

    def pause(self, seconds: float) -> None:
        """Send nothing for a while (Telegram said so)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class ChatPacer:
    """A token bucket per chat: `rate` messages per second with a small burst."""

    def __init__(self, rate: float, burst: int = 3) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[int, tuple[float, float]] = {}
        self._blocked_until: dict[int, float] = {}
        self._lock = threading.Lock()
        self._last_prune = time.monotonic()

    def delay(self, chat_id: int) -> float:
        """Seconds until chat_id may receive the next message (0 = now)."""
        with self._lock:
            now = time.monotonic()
            tokens = self._tokens(chat_id, now)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            return max(wait, self._blocked_until.get(chat_id, 0.0) - now)

    def take(self, chat_id: int) -> None:
        """Record a message sent to chat_id."""
        with self._lock:
            now = time.monotonic()
            self._buckets[chat_id] = (self._tokens(chat_id, now) - 1, now)
            if now - self._last_prune > 60:
                self._prune(now)

    def block(self, chat_id: int, seconds: float) -> None:
        """Send nothing to chat_id for a while (a 429 named this chat)."""
        with self._lock:
            until = time.monotonic() + seconds
            self._blocked_until[chat_id] = max(until, self._blocked_until.get(chat_id, 0.0))

    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._buckets.get(chat_id, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def _prune(self, now: float) -> None:
        # Buckets that have refilled carry no information; forget them.
        self._buckets = {c: (tk, at) for c, (tk, at) in self._buckets.items()
                         if tk + (now - at) * self.rate < self.burst}
        self._blocked_until = {c: u for c, u in self._blocked_until.items() if u > now}
        self._last_prune = now


@dataclass(frozen=True)
class Slot:
    """The answer of the shared limits: granted and due in `wait` seconds, or wait and ask again.

    `use_by` (monotonic) is when a granted slot is too old to use: take a new one.
    """

    granted: bool
    wait: float
    use_by: float = math.inf


class SharedLimits:
    """OUTBOUND_RATE, per-chat pacing and Telegram's pauses for all instances on one database.

    One statement per call, in autocommit, just before it: `take` grants a slot of the global
    sliding window (possibly a little ahead: the caller sends when it comes) together with a
    token of the chat's bucket, or neither. Times are the database's, never a host's.
    """

    def __init__(self, pool: Pool, rate: float, per_chat_rate: float, *, burst: int = 3,
                 margin: float = SEND_MARGIN, max_ahead: float = MAX_AHEAD) -> None:
        if not rate > 0 or not per_chat_rate > 0:
            raise ValueError("rates must be positive")
        if burst < 1 or margin < 0 or max_ahead < 0:
            raise ValueError("burst must be at least 1, margin and max_ahead not negative")
        self.pool = pool
        #: Seconds after its slot a call must have started, or take a new slot (no margin:
        #: no such limit either).
        self.late_after = margin * LATE_SHARE if margin > 0 else math.inf
        capacity, window = window_of(rate)
        self._params = {"capacity": capacity, "window": window, "margin": margin,
                        "chat_rate": per_chat_rate, "chat_burst": float(burst),
                        "max_ahead": max_ahead}
        self._round_trips: deque[float] = deque(maxlen=ROUND_TRIPS_KEPT)
        self._lock = threading.Lock()

    def take(self, chat_id: int) -> Slot:
        """A slot for one call to chat_id, or how long to wait before asking again."""
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbound.take"], {**self._params, "chat_id": chat_id})
                return cur.fetchone()

        asked = time.monotonic()
        granted, wait = self.pool.run_alone(run, attempts=2, max_seconds=2)
        wait = max(0.0, float(wait))
        # The quickest answer lately is the constant part of the way (a distant database's
        # too), which keeps the slots' spacing; a call later than that by more than
        # late_after was held up (a starved thread, a slow answer) and could crowd a later
        # second.
        quickest = self._quickest(time.monotonic() - asked)
        return Slot(bool(granted), wait, asked + quickest + wait + self.late_after)

    def _quickest(self, round_trip: float) -> float:
        with self._lock:
            self._round_trips.append(round_trip)
            return min(self._round_trips)

    def pause(self, chat_id: int, seconds: float, *, everyone: bool) -> None:
        """Telegram said wait: nothing to chat_id (to anyone, with everyone) for seconds."""
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbound.pause"],
                            {"chat_id": chat_id, "seconds": seconds, "everyone": everyone})

        self.pool.run_alone(run, attempts=2, max_seconds=2)
