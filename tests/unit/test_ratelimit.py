"""Outbound limits: never more than the rate in any one-second window; per-chat pacing."""

from __future__ import annotations

import itertools
import threading
import time

from fitclub.runtime.ratelimit import ChatPacer, SlidingWindowLimiter


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_sliding_window_never_exceeds_the_rate_across_threads():
    limiter = SlidingWindowLimiter(40)
    stamps: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 1.6

    def worker():
        while time.monotonic() < stop_at:
            if limiter.acquire(timeout=0.2):
                with lock:
                    stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert _max_in_window(stamps, 1.0) <= 40
    assert len(stamps) >= 60  # it did let the allowed calls through


def test_pause_blocks_everything_for_a_while():
    limiter = SlidingWindowLimiter(100)
    limiter.pause(0.3)
    assert limiter.try_acquire() > 0.2
    assert not limiter.acquire(timeout=0.1)
    assert limiter.acquire(timeout=1.0)


def test_rate_below_one_per_second_spaces_calls():
    limiter = SlidingWindowLimiter(0.5)
    assert limiter.try_acquire() == 0.0
    assert 1.9 < limiter.try_acquire() <= 2.0


def test_stop_event_cuts_the_wait_short():
    limiter = SlidingWindowLimiter(1)
    limiter.try_acquire()
    stop = threading.Event()
    stop.set()
    assert limiter.acquire(stop) is False


def test_chat_pacer_allows_a_burst_then_paces():
    pacer = ChatPacer(rate=1.0, burst=3)
    for _ in range(3):
        assert pacer.delay(7) == 0.0
        pacer.take(7)
    assert 0.9 < pacer.delay(7) <= 1.0
    assert pacer.delay(8) == 0.0  # other chats are unaffected


def test_chat_pacer_block_honours_retry_after():
    pacer = ChatPacer(rate=10.0, burst=3)
    pacer.block(5, 2.0)
    assert 1.9 < pacer.delay(5) <= 2.0


def test_a_place_taken_ahead_counts_from_when_its_call_goes():
    """A sender thread takes its place first and its row after (runtime/sender.py): the place
    is restamped when the call goes, so a window holds for calls, not for places. Counted from
    when it was taken, a place held 0.6 s would leave the window 0.6 s early."""
    limiter = SlidingWindowLimiter(2, window=1.0)
    stop = threading.Event()
    held = limiter.take_place(stop)
    time.sleep(0.6)
    assert limiter.restamp(held)
    assert limiter.take_place(stop) is not None  # the second of two
    # Both count from about now: the next place is about a window away, not 0.4 s.
    assert limiter.try_wait() > 0.9


def test_a_place_given_back_is_that_place_and_one_aged_out_must_be_taken_anew():
    limiter = SlidingWindowLimiter(2, window=0.3)
    stop = threading.Event()
    first = limiter.take_place(stop)
    time.sleep(0.05)
    second = limiter.take_place(stop)
    limiter.release(second)
    # The first still counts for its whole window; the second's place is free again.
    assert limiter.try_wait() == 0.0
    assert limiter.take_place(stop) is not None
    assert 0.15 < limiter.try_wait() <= 0.3
    time.sleep(0.35)
    assert not limiter.restamp(first)  # aged out: its call must take a new place


def test_with_a_burst_calls_are_spread_through_the_window():
    """30 a second with a burst of 3: three at once, then one every 30th of a second, never
    a whole window's calls together followed by a gap as long as the window."""
    limiter = SlidingWindowLimiter(30, window=1.0, burst=3)
    times = []
    stop = threading.Event()
    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        assert limiter.take_place(stop) is not None
        times.append(time.monotonic())
    # The longest wait: where the window of the first burst reopens (3 places at once).
    assert all(b - a < 0.12 for a, b in itertools.pairwise(times))
    assert times[9] - times[0] > 0.15  # not all at once
    assert _max_in_window(times, 1.0) <= 30
    assert len(times) >= 40  # and the rate kept: about 30 a second after the burst
