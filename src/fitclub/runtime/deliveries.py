"""Claimed outbox rows in memory: what one is, and the queue they wait in until they may go."""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(order=True)
class Delivery:
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
    token: int = field(compare=False, default=0)
    # The recipient is known to have blocked the bot: the row is dropped unsent.
    blocked: bool = field(compare=False, default=False)


class DeliveryQueue:
    """Deliveries waiting until due, then handed out lowest priority number first.

    They wait in a heap by ready_at, then move to a heap by priority and age: both picks are
    O(log n) under the lock.
    """

    def __init__(self) -> None:
        self._heap: list[Delivery] = []
        self._ready: list[tuple[int, int, Delivery]] = []
        self._cond = threading.Condition()
        self._in_flight = 0

    def put(self, deliveries: list[Delivery]) -> None:
        """Queue freshly claimed deliveries (each due at its ready_at)."""
        if not deliveries:
            return
        with self._cond:
            for delivery in deliveries:
                heapq.heappush(self._heap, delivery)
            self._cond.notify_all()

    def push(self, delivery: Delivery, delay: float) -> None:
        """Queue a delivery again, due after delay."""
        delivery.ready_at = time.monotonic() + delay
        with self._cond:
            heapq.heappush(self._heap, delivery)
            self._cond.notify()

    def take(self, stop: threading.Event,
             methods: frozenset[str] | None = None) -> Delivery | None:
        """The next delivery due (now in flight until `finished`); None once stop is set.
        With `methods`, only a delivery of one of those methods."""
        with self._cond:
            while not stop.is_set():
                now = time.monotonic()
                while self._heap and self._heap[0].ready_at <= now:
                    delivery = heapq.heappop(self._heap)
                    heapq.heappush(self._ready, (delivery.priority, delivery.id, delivery))
                if methods is not None:
                    found = min((r for r in self._ready if r[2].method in methods),
                                default=None, key=lambda r: r[:2])
                    if found is not None:
                        self._ready.remove(found)
                        heapq.heapify(self._ready)
                        self._in_flight += 1
                        return found[2]
                elif self._ready:
                    # Among the deliveries due now, the lowest priority number goes first.
                    _, _, delivery = heapq.heappop(self._ready)
                    self._in_flight += 1
                    return delivery
                wait = self._heap[0].ready_at - now if self._heap else 0.5
                self._cond.wait(min(wait, 0.5))
            return None

    def finished(self) -> None:
        """A delivery taken is no longer in flight."""
        with self._cond:
            self._in_flight -= 1

    def wake_all(self) -> None:
        """Wake every waiting taker (to see that stop is set)."""
        with self._cond:
            self._cond.notify_all()

    def clear(self) -> int:
        """Forget every delivery not in flight; how many there were."""
        with self._cond:
            dropped = len(self._heap) + len(self._ready)
            self._heap, self._ready = [], []
        return dropped

    def drop_chat(self, chat_id: int) -> None:
        """Forget the deliveries to one chat that are not in flight."""
        with self._cond:
            self._heap = [d for d in self._heap if d.chat_id != chat_id]
            heapq.heapify(self._heap)
            self._ready = [r for r in self._ready if r[2].chat_id != chat_id]
            heapq.heapify(self._ready)

    def backlog(self) -> int:
        """Deliveries queued or in flight."""
        with self._cond:
            return len(self._heap) + len(self._ready) + self._in_flight
