"""This process in `bot_processes`: registered at start, kept fresh by a heartbeat, removed at stop.

Outbox claims belong to a process. One silent for STALE_AFTER seconds is taken for dead and the
others release its claims; a restart on the same host releases at once the claims of a
predecessor whose pid no longer runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fitclub.db.pool import Pool
from fitclub.db.queries import Q
from fitclub.logs import describe

log = logging.getLogger(__name__)

# Every process beats this often; one silent for STALE_AFTER (three missed beats and some
# slack) is taken for dead and its claims go back to pending.
HEARTBEAT_SECONDS = 3.0
STALE_AFTER = 10.0
# Between beats a process counts the others this often (one index-only count), so one that
# was alone learns of a newcomer within that; a newcomer that finds others registered sends
# nothing for JOIN_QUIET_SECONDS, by when each of them counts it and keeps the shared limits
# (runtime/sender.py) before it adds its calls.
COUNT_SECONDS = 0.5
JOIN_QUIET_SECONDS = 2.5


@dataclass(frozen=True)
class ProcessIdentity:
    """Who holds a claim: a fresh id per process, and where it runs."""

    id: str
    hostname: str
    pid_namespace: str
    pid: int

    @classmethod
    def of_this_process(cls) -> ProcessIdentity:
        """A new identity for the running process."""
        try:
            namespace = os.readlink("/proc/self/ns/pid")
        except OSError:
            namespace = ""
        return cls(str(uuid.uuid4()), socket.gethostname(), namespace, os.getpid())

    def params(self) -> dict[str, Any]:
        return {"process": self.id, "hostname": self.hostname,
                "pid_namespace": self.pid_namespace, "pid": self.pid}


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists in our pid namespace."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class Heartbeat:
    """This process's row in `bot_processes`, and what follows when others thought it dead.

    `drop_claims` drops the claimed rows held in memory and not yet sent (returning how many);
    `wake` says claims were released, so there is something to claim now.
    """

    def __init__(self, pool: Pool, identity: ProcessIdentity, *,
                 drop_claims: Callable[[], int], wake: Callable[[], None],
                 claims_lock: threading.Lock | None = None) -> None:
        self.pool = pool
        #: Held by whoever puts claimed rows in memory (the sender's claim rounds).
        self.claims_lock = claims_lock or threading.Lock()
        self.identity = identity
        self.drop_claims = drop_claims
        self.wake = wake
        #: Other processes registered at the last beat (None before the first).
        self.others: int | None = None
        #: Monotonic time before which this process must not send: others registered before
        #: it may not have seen it yet (JOIN_QUIET_SECONDS).
        self.quiet_until = 0.0

    def register(self) -> None:
        """Register this process, and release the claims of predecessors that are gone.

        A process on this host and pid namespace whose pid no longer runs (or is ours: a
        reused pid) died without deregistering: its claims come back at once, not after its
        heartbeat goes stale.
        """
        ident = self.identity.params()

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.heartbeat"], {**ident, "stale": STALE_AFTER})
                _, released, others = cur.fetchone()
                cur.execute(Q["outbox.processes_here"], ident)
                dead = [pid_id for pid_id, pid in cur.fetchall()
                        if pid == self.identity.pid or not pid_alive(pid)]
                if dead:
                    cur.execute(Q["outbox.forget_processes"], {"processes": dead})
                    released += cur.rowcount
                return released, others - len(dead)

        released, others = self.pool.run(run)
        self._saw(others, joined=True)
        if released:
            log.warning("released %s outbox rows claimed by processes that are gone", released)

    def run(self, stop: threading.Event) -> None:
        """Beat until stop is set (a thread of its own: a slow claim must not look like death),
        and count the others in between."""
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        while not stop.wait(COUNT_SECONDS):
            try:
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
                    self.beat()
                else:
                    self.count_others()
            except Exception as exc:  # the database is away; claims wait for it anyway
                log.debug("heartbeat failed: %s", describe(exc))

    def count_others(self) -> None:
        """How many other processes are registered and not silent too long."""
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.count_others"],
                            {"process": self.identity.id, "stale": STALE_AFTER})
                return cur.fetchone()[0]

        self._saw(self.pool.run_alone(run, attempts=1, max_seconds=1))

    def beat(self) -> None:
        """Say this process lives, and release the claims of processes silent too long."""
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.heartbeat"],
                            {**self.identity.params(), "stale": STALE_AFTER})
                return cur.fetchone()

        forgotten, released, others = self.pool.run_alone(run, attempts=2, max_seconds=2)
        # Given up as dead, this process is registered anew: the others, alone meanwhile, may
        # keep the limits in memory until they see it.
        self._saw(others, joined=forgotten)
        if forgotten:
            # Silent too long (a stall, a lost database): others released our claims and may
            # have taken them. Drop what is not yet sent and hand back whatever is still ours,
            # so every row is claimed afresh; calls already out cannot be undone (their marks
            # are refused by the claim tokens).
            # Under the claims lock, so no claim round in progress puts rows in memory
            # between the drop and the release (they would go twice).
            with self.claims_lock:
                dropped = self.drop_claims()
                self.pool.run_alone(lambda conn: conn.cursor().execute(
                    Q["outbox.release_own_claims"], {"process": self.identity.id}))
            log.warning("this process had been given up as dead; %s claimed rows not yet "
                        "sent go back to the queue", dropped)
            self.wake()
        if released:
            log.warning("released %s outbox rows of senders that stopped or whose claims "
                        "lapsed", released)
            self.wake()

    def _saw(self, others: int, *, joined: bool = False) -> None:
        self.others = others
        if joined and others:
            self.quiet_until = time.monotonic() + JOIN_QUIET_SECONDS

    def unregister(self) -> None:
        """Leave `bot_processes`, handing back every claim still held, due now."""
        self.pool.run(lambda conn: conn.cursor().execute(
            Q["outbox.forget_processes"], {"processes": [self.identity.id]}),
            attempts=2, max_seconds=3)
