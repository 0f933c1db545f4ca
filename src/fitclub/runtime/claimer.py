"""Recording deliveries and claiming the next outbox rows, in one statement per round.

A round takes the head of each idle chat by priority then age, so a chat's messages keep their
order and a reply overtakes a queued announcement. Every claim carries its own token, and no
mark touches a row whose token changed. Marks the database refuses (not an outage) are put
aside and retried row by row, so they never hold back the other chats.
"""

from __future__ import annotations

import logging
import threading
import time

from fitclub.db.pool import Pool, is_disconnect
from fitclub.db.queries import Q
from fitclub.logs import describe
from fitclub.runtime.deliveries import Delivery

log = logging.getLogger(__name__)

# While deliveries cannot be recorded, the marks are retried (row by row) this often.
MARK_RETRY_SECONDS = 2.0
# A claim looks at this many due rows (by priority, then age); a sweep this often looks at
# all of them, so a head queued behind a longer run of busy chats' rows waits at most that.
CLAIM_WINDOW = 1000
SWEEP_SECONDS = 5.0

# A delivery made, not yet recorded: (outbox id, claim token, message id).
Done = tuple[int, int, int | None]


class Claimer:
    """This process's claims on the outbox, and the record of what was delivered."""

    def __init__(self, pool: Pool, *, process: str, lease: float) -> None:
        self.pool = pool
        self.process = process
        self.lease = lease
        self._done: list[Done] = []
        self._done_lock = threading.Lock()
        self._mark_failing_since: float | None = None
        self._next_mark_retry = 0.0
        self._next_sweep = 0.0

    def delivered(self, delivery: Delivery, message_id: int | None) -> None:
        """Record at the next round that this delivery was made."""
        with self._done_lock:
            self._done.append((delivery.id, delivery.token, message_id))

    def recording_failed(self) -> bool:
        """Deliveries were made that the database refuses to record."""
        return self._mark_failing_since is not None

    def claim(self, room: int) -> list[Delivery]:
        """Record deliveries and claim up to room rows (one statement while marking works)."""
        done = self._take_done()
        rows: list = []
        if self._mark_failing_since is not None:
            self._put_back(done)
            if time.monotonic() >= self._next_mark_retry:
                self._retry_marks()
            if room:
                rows = self._mark_and_claim([], room)
        elif done or room:
            try:
                rows = self._mark_and_claim(done, room)
            except Exception as exc:
                self._put_back(done)
                if not done or is_disconnect(exc):
                    raise
                # Claiming alone tells an outage (this raises too) from marks the database
                # refuses: those must not hold back every other chat.
                rows = self._mark_and_claim([], room)
                self._marking_failed(exc)
        now = time.monotonic()
        return [Delivery(now, priority, oid, chat_id, method, params,
                         (ffield, fname, bytes(fbytes)) if ffield else None, attempts,
                         update_id, received_at, now, token, blocked)
                for (oid, token, chat_id, method, params, ffield, fname, fbytes, priority,
                     attempts, update_id, received_at, blocked) in rows]

    def record_the_rest(self) -> None:
        """Record the deliveries not yet recorded (at shutdown: no more claims)."""
        done = self._take_done()
        try:
            if done:
                self._mark(done)
        except Exception:
            log.warning("could not record the last %s sent rows; they will be sent again "
                        "after a restart", len(done), exc_info=True)

    def _take_done(self) -> list[Done]:
        with self._done_lock:
            done, self._done = self._done, []
        return done

    def _put_back(self, done: list[Done]) -> None:
        if done:
            with self._done_lock:
                self._done[:0] = done

    def _mark_and_claim(self, done: list[Done], limit: int) -> list:
        params = {**self._done_params(done), "limit": limit, "lease": self.lease,
                  "process": self.process, "window": CLAIM_WINDOW}
        query = Q["outbox.mark_and_claim"]
        if limit and time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            query = Q["outbox.claim_sweep"]

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()

        return self.pool.run_alone(run)

    @staticmethod
    def _done_params(done: list[Done]) -> dict[str, list]:
        return {"done_ids": [d[0] for d in done], "done_tokens": [d[1] for d in done],
                "done_message_ids": [d[2] for d in done]}

    def _mark(self, done: list[Done]) -> None:
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.mark_sent"], self._done_params(done))

        self.pool.run_alone(run, attempts=2, max_seconds=3)

    def _marking_failed(self, exc: Exception) -> None:
        self._next_mark_retry = time.monotonic() + MARK_RETRY_SECONDS
        if self._mark_failing_since is None:
            self._mark_failing_since = time.monotonic()
            log.error("deliveries cannot be recorded (%s); claiming goes on, the marks are "
                      "retried every %.0fs and /healthz reports unhealthy until they succeed",
                      describe(exc), MARK_RETRY_SECONDS)

    def _retry_marks(self) -> None:
        """Row by row, so one row the database refuses cannot hold back the others."""
        self._next_mark_retry = time.monotonic() + MARK_RETRY_SECONDS
        failed: list[Done] = []
        cause: Exception | None = None
        for entry in self._take_done():
            try:
                self._mark([entry])
            except Exception as exc:
                failed.append(entry)
                cause = exc
        self._put_back(failed)
        if not failed:
            log.warning("deliveries are recorded again after %.0fs",
                        time.monotonic() - (self._mark_failing_since or time.monotonic()))
            self._mark_failing_since = None
        else:
            log.debug("%s deliveries still cannot be recorded: %s", len(failed), describe(cause))
