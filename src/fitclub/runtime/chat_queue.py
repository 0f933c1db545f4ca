"""Which chats have updates waiting, handed to workers one chat at a time.

Only an index of work: the updates themselves wait in `inbox`, and a worker runs a chat's oldest
one under the chat's advisory lock (see `fitclub.runtime.dispatcher`).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque

from fitclub.db.pool import Pool
from fitclub.db.queries import Q


class ChatQueue:
    """Which chats have work; hands each chat to at most one worker at a time, fairly."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[int, int] = {}
        self._ready: deque[int] = deque()
        self._queued: set[int] = set()
        self._active: set[int] = set()
        self._delayed: list[tuple[float, int]] = []
        # Bumped by every add(): a pass that found nothing must not forget work announced
        # while it ran (its snapshot may predate the poller's commit).
        self._generation: dict[int, int] = {}
        self._taken_at: dict[int, int] = {}
        self._closed = False

    def add(self, chat_id: int, count: int = 1) -> None:
        """Note that chat_id has `count` more pending updates."""
        with self._cond:
            self._pending[chat_id] = self._pending.get(chat_id, 0) + count
            self._generation[chat_id] = self._generation.get(chat_id, 0) + 1
            self._make_ready(chat_id)

    def add_if_absent(self, chat_id: int, count: int) -> None:
        """Note work for a chat this queue does not know of yet (periodic resync)."""
        with self._cond:
            if chat_id not in self._pending and chat_id not in self._active:
                self._pending[chat_id] = count
                self._generation[chat_id] = self._generation.get(chat_id, 0) + 1
                self._make_ready(chat_id)

    def _make_ready(self, chat_id: int) -> None:
        if chat_id not in self._active and chat_id not in self._queued:
            self._queued.add(chat_id)
            self._ready.append(chat_id)
            self._cond.notify()

    def take(self, timeout: float) -> int | None:
        """A chat with work, now owned by the caller; None on timeout or close."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, chat = heapq.heappop(self._delayed)
                    if self._pending.get(chat):
                        self._make_ready(chat)
                if self._ready:
                    chat = self._ready.popleft()
                    self._queued.discard(chat)
                    self._active.add(chat)
                    self._taken_at[chat] = self._generation.get(chat, 0)
                    return chat
                wait = deadline - now
                if self._delayed:
                    wait = min(wait, self._delayed[0][0] - now)
                if wait <= 0:
                    return None
                self._cond.wait(wait)

    def release(self, chat_id: int, *, processed: bool, empty: bool = False,
                delay: float | None = None) -> None:
        """Give the chat back after one pass; requeue it (now or after delay) if it has more."""
        with self._cond:
            self._active.discard(chat_id)
            announced_meanwhile = (self._taken_at.pop(chat_id, None)
                                   != self._generation.get(chat_id, 0))
            if empty and not announced_meanwhile:
                self._pending.pop(chat_id, None)
                self._generation.pop(chat_id, None)
                return
            if empty:
                processed = False  # look again: something was added during the pass
            left = self._pending.get(chat_id, 0) - (1 if processed else 0)
            if left <= 0 and processed and not announced_meanwhile:
                self._pending.pop(chat_id, None)
                self._generation.pop(chat_id, None)
                return
            # Not processed (busy lock, a retry's wait, the database away): the work is still
            # there, whatever the count says.
            self._pending[chat_id] = max(left, 1)
            if delay:
                heapq.heappush(self._delayed, (time.monotonic() + delay, chat_id))
                self._cond.notify()
            else:
                self._make_ready(chat_id)

    def backlog(self) -> int:
        """Pending updates known to this process."""
        with self._cond:
            return sum(self._pending.values())

    def close(self) -> None:
        """Hand out nothing more; wake every waiting worker."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def load_pending(pool: Pool, queue: ChatQueue, *, only_new: bool = False) -> int:
    """Queue every chat with pending updates in inbox (start-up, and periodic resync).

    With only_new, chats the queue already knows keep their count: a resync must not
    inflate it (that costs empty passes), only find what nobody announced.
    """
    def fetch(conn):
        with conn.cursor() as cur:
            cur.execute(Q["inbox.pending_by_chat"])
            return cur.fetchall()

    rows = pool.run(fetch)
    for chat_id, count in rows:
        if only_new:
            queue.add_if_absent(chat_id, count)
        else:
            queue.add(chat_id, count)
    return sum(c for _, c in rows)
