"""Heavy reads (reports, exports, the audit log) on a read replica, the primary standing in.

With `REPLICA_DATABASE_URL` set the app opens a small pool of its own to a streaming standby
(at most 4 connections, opened on first use). `read(replica, primary, fn)` runs `fn` on a
`Read`: a replica connection in a READ ONLY transaction with a long statement timeout, or the
primary's connection (the update's transaction) when no replica is configured, when it cannot
be reached (a 2 s connect timeout; it is then left alone for 30 s), when it is not a standby,
when it trails the primary by more than MAX_LAG_SECONDS, or when the read fails on it (the
server gone mid-read, a query cancelled by a conflict with recovery): `fn` then runs again on
the primary. So `fn` must only read, and only through `read.conn`; writes that go with a report
(the audit row of an export) stay on the primary, in the update's transaction.

A standby trails the primary. Each read first asks the primary how far it has flushed its WAL
and gives the standby up to CATCH_UP_SECONDS to replay that far: then the read sees everything
committed before it (`as_of` None; a commit acknowledged under `synchronous_commit = off` may
take up to 3 x wal_writer_delay to be flushed, and to count). Otherwise a `fresh` read (the
audit log, which an admin opens right after acting) goes to the primary, and any other read
goes on with `as_of`, the commit time of the last transaction the standby replayed: its figures
are as of that moment at least.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

import psycopg2
import psycopg2.errors

from fitclub.db import rows
from fitclub.db.pool import Pool, PoolClosed, PoolTimeout, is_disconnect
from fitclub.logs import describe

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_CONNECTIONS = 4
#: Connecting to a replica that is down must not hold an admin's screen for long.
CONNECT_TIMEOUT = 2
#: After a failed connection the replica is not tried again for this long.
RETRY_AFTER_SECONDS = 30.0
#: How long a read waits for a free replica connection before taking the primary's.
BORROW_TIMEOUT = 10.0
#: Exports stream 100k rows: far longer than the primary's short statement timeout.
STATEMENT_TIMEOUT_MS = 300_000
#: How long the standby is given to replay up to the primary's position at the read.
CATCH_UP_SECONDS = 0.5
_CATCH_UP_POLL = 0.02
#: A standby further behind than this is not read from (its figures would mislead).
MAX_LAG_SECONDS = 300.0

REPLICA = "replica"
PRIMARY = "primary"


class Read(NamedTuple):
    """Where a read runs: its connection, its source (REPLICA or PRIMARY), and, when the
    replica had not replayed all the primary had committed, the commit time its data is as
    of at least (None: everything committed before the read is there)."""

    conn: Any
    source: str
    as_of: datetime | None = None


class _Replay(NamedTuple):
    standby: bool
    caught_up: bool
    replayed_at: datetime | None
    at: datetime


class Replica:
    """The replica's pool, opened on first use, and when it is left alone after a failure."""

    def __init__(self, dsn: str, *, maxconn: int = MAX_CONNECTIONS,
                 connect_timeout: int = CONNECT_TIMEOUT,
                 retry_after: float = RETRY_AFTER_SECONDS,
                 borrow_timeout: float = BORROW_TIMEOUT,
                 statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
                 catch_up: float = CATCH_UP_SECONDS, max_lag: float = MAX_LAG_SECONDS,
                 on_read: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._dsn = dsn
        self._maxconn = maxconn
        self._connect_timeout = connect_timeout
        self._retry_after = retry_after
        self._borrow_timeout = borrow_timeout
        self._statement_timeout_ms = statement_timeout_ms
        self._catch_up = catch_up
        self._max_lag = max_lag
        self._on_read = on_read or (lambda source: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._pool: Pool | None = None
        self._down_until: float | None = None
        self._closed = False

    def down(self) -> bool:
        """Whether the replica is being left alone after a failure."""
        with self._lock:
            return self._down_until is not None and self._clock() < self._down_until

    def read(self, primary, fn: Callable[[Read], T], *, fresh: bool = False) -> T:
        """fn(Read) on the replica, else on the primary's connection (see the module)."""
        pool = self._usable_pool()
        if pool is None:
            return self._on_primary(primary, fn)
        lsn = rows.scalar(primary, "replica.primary_position", {})
        try:
            with pool.connection() as conn:
                try:
                    view = self._begin(conn, lsn, fresh)
                    result = fn(view) if view is not None else None
                finally:
                    _end(conn)
            if view is not None:
                self._on_read(REPLICA)
                return result
        except (PoolTimeout, PoolClosed) as exc:
            log.warning("replica: no connection free (%s); reading from the primary",
                        describe(exc))
        except psycopg2.errors.SerializationFailure as exc:
            # A long read cancelled by a conflict with recovery: the primary answers this one.
            log.warning("replica: read cancelled (%s); reading from the primary", describe(exc))
        except psycopg2.Error as exc:
            if not is_disconnect(exc):
                raise
            self._mark_down(exc)
        return self._on_primary(primary, fn)

    def close(self) -> None:
        """Close the pool (borrowed connections close as they come back)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _on_primary(self, primary, fn: Callable[[Read], T]) -> T:
        result = fn(Read(primary, PRIMARY))
        self._on_read(PRIMARY)
        return result

    def _usable_pool(self) -> Pool | None:
        with self._lock:
            if self._closed:
                return None
            if self._down_until is not None and self._clock() < self._down_until:
                return None
            if self._pool is None:
                try:
                    self._pool = Pool(self._dsn, minconn=1, maxconn=self._maxconn,
                                      timeout=self._borrow_timeout,
                                      connect_timeout=self._connect_timeout,
                                      application_name="fitclub-replica")
                except psycopg2.Error as exc:
                    self._down_locked(exc)
                    return None
            self._down_until = None
            return self._pool

    def _begin(self, conn, lsn: str, fresh: bool) -> Read | None:
        """Start the read-only transaction and wait (bounded) for the standby to replay up
        to `lsn`; the Read, or None when this read must go to the primary."""
        rows.scalar(conn, "replica.begin_read", {"timeout_ms": str(self._statement_timeout_ms)})
        deadline = self._clock() + self._catch_up
        while True:
            replay = rows.one(conn, "replica.replay", {"lsn": lsn}, _Replay)
            if not replay.standby:
                self._mark_down(None, reason="the server is not a standby")
                return None
            if replay.caught_up:
                return Read(conn, REPLICA)
            if self._clock() >= deadline:
                break
            time.sleep(_CATCH_UP_POLL)
        if fresh or replay.replayed_at is None:
            return None
        if (replay.at - replay.replayed_at).total_seconds() > self._max_lag:
            log.warning("replica: more than %.0f s behind the primary; reading from the "
                        "primary", self._max_lag)
            return None
        return Read(conn, REPLICA, replay.replayed_at)

    def _mark_down(self, exc: BaseException | None, *, reason: str | None = None) -> None:
        with self._lock:
            self._down_locked(exc, reason=reason)

    def _down_locked(self, exc: BaseException | None, *, reason: str | None = None) -> None:
        self._down_until = self._clock() + self._retry_after
        log.warning("replica: %s; reading from the primary for the next %.0f s",
                    reason or f"unreachable ({describe(exc)})", self._retry_after)


def _end(conn) -> None:
    """End the read-only transaction (nothing to keep); a dead connection is the pool's."""
    if conn.closed:
        return
    try:
        conn.rollback()
    except psycopg2.Error:
        conn.close()


def read(replica: Replica | None, primary, fn: Callable[[Read], T], *,
         fresh: bool = False) -> T:
    """fn(Read) on the replica when one is configured and usable, else on `primary`."""
    if replica is None:
        return fn(Read(primary, PRIMARY))
    return replica.read(primary, fn, fresh=fresh)
