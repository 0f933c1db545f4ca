"""The process-wide PostgreSQL pool, borrowed only through `connection()` and `transaction()`.

psycopg2's ThreadedConnectionPool raises "connection pool exhausted" the moment every
connection is out. A semaphore sized to the pool's maximum sits in front of it, so a borrower
waits (up to `timeout`) for a connection to come back instead, and the pool itself can never be
asked for more than it holds.

Nothing here relies on session state, so the pool works through PgBouncer in transaction
pooling (which hands each transaction whichever server connection is free, and refuses the
`options` startup parameter). The statement timeout is the one setting the pool gives: each
new connection reads once the timeout its server applies by default (the role's or the
database's, the same on every server connection behind PgBouncer since nothing ever SETs it for
a session); when that is the one wanted nothing more is sent, else every transaction begins
with `SET LOCAL statement_timeout`, and each statement of `run_alone` (in autocommit) is sent
as `SET LOCAL statement_timeout = N; <statement>` in one string, which PostgreSQL runs as one
implicit transaction: one round trip still. `ALTER ROLE fitclub_bot SET statement_timeout =
'15s'` (deploy/roles.sql) saves that statement. A changed default reaches a connection only
when it is made anew, so after an ALTER ROLE or ALTER DATABASE, PgBouncer's server connections
are renewed (RECONNECT) and the bot restarted (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.pool
from psycopg2 import sql
from psycopg2.pool import ThreadedConnectionPool
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from fitclub.logs import describe

log = logging.getLogger(__name__)
T = TypeVar("T")


class PoolTimeout(Exception):
    """No connection came free within the borrow timeout."""


class PoolClosed(Exception):
    """The pool was closed (the process is shutting down)."""


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of the pool for metrics and health."""

    in_use: int
    idle: int
    waiting: int
    max: int
    discarded: int


def is_disconnect(exc: BaseException) -> bool:
    """True when the error means the connection itself is unusable."""
    if isinstance(exc, psycopg2.InterfaceError):
        # Also raised for a closed *cursor*, which is a caller's bug, not a dead connection.
        return "connection already closed" in str(exc)
    if isinstance(exc, psycopg2.OperationalError):
        # Statement timeouts and lock timeouts are OperationalErrors too, but the
        # connection survives them; they carry a SQLSTATE, a dead socket does not.
        return exc.pgcode is None or exc.pgcode.startswith(("08", "57P"))
    return False


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying the whole transaction for."""
    return is_disconnect(exc) or isinstance(
        exc,
        psycopg2.errors.SerializationFailure | psycopg2.errors.DeadlockDetected | PoolTimeout,
    )


class _Cursor(psycopg2.extensions.cursor):
    """A cursor that sends its connection's statement prefix (run_alone's SET LOCAL) in front
    of every statement, in the same string: one round trip."""

    def execute(self, query, vars=None):
        return super().execute(_prefixed(self.connection.statement_prefix, query), vars)

    def executemany(self, query, vars_list):
        return super().executemany(_prefixed(self.connection.statement_prefix, query),
                                   vars_list)


def _prefixed(prefix: str | None, query):
    if not prefix:
        return query
    if isinstance(query, sql.Composable):
        return sql.SQL(prefix) + query
    if isinstance(query, bytes):
        return prefix.encode() + query
    return prefix + query


class _Connection(psycopg2.extensions.connection):
    """A connection that remembers its server's default statement timeout once it is read, and
    whose cursors send `statement_prefix` (while run_alone sets it) before each statement."""

    default_timeout_ms: int | None = None
    statement_prefix: str | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = _Cursor

    def cursor(self, *args, **kwargs):
        cur = super().cursor(*args, **kwargs)
        if self.statement_prefix and (not isinstance(cur, _Cursor) or cur.name is not None):
            cur.close()
            # Its statements would run without the pool's timeout: refused, not hidden.
            raise psycopg2.ProgrammingError("run_alone takes the pool's own cursors only "
                                            "(no cursor_factory, no named cursor)")
        return cur


def _default_timeout_ms(conn: _Connection) -> int:
    """The statement timeout the server applies by default (ms; 0: none), read once."""
    if conn.default_timeout_ms is None:
        with conn.cursor() as cur:
            cur.execute("SELECT setting::integer FROM pg_settings "
                        "WHERE name = 'statement_timeout'")
            conn.default_timeout_ms = cur.fetchone()[0]
        conn.rollback()
    return conn.default_timeout_ms


class _KeepingPool(ThreadedConnectionPool):
    """ThreadedConnectionPool that keeps returned connections open.

    The stock pool closes any connection returned while `minconn` are already idle, so a busy
    process reconnects over and over; this one keeps up to `maxconn` open and closes only
    connections that are broken or explicitly discarded.
    """

    def _putconn(self, conn, key=None, close=False):
        key = self._rused.get(id(conn)) if key is None else key
        if key is None:
            raise psycopg2.pool.PoolError("trying to put unkeyed connection")
        if close or self.closed or conn.closed:
            conn.close()
        elif conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_UNKNOWN:
            conn.close()  # the server connection is gone
        else:
            try:
                if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                    conn.rollback()
                self._pool.append(conn)
            except psycopg2.Error:
                conn.close()
        self._used.pop(key, None)
        self._rused.pop(id(conn), None)


class Pool:
    """A bounded, waiting, self-healing wrapper around ThreadedConnectionPool."""

    def __init__(
        self,
        dsn: str,
        *,
        minconn: int = 5,
        maxconn: int = 50,
        timeout: float = 10.0,
        connect_timeout: int = 5,
        statement_timeout_ms: int = 15000,
        application_name: str = "fitclub-bot",
    ) -> None:
        self.maxconn = maxconn
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(maxconn)
        self._lock = threading.Lock()
        self._in_use = 0
        self._waiting = 0
        self._discarded = 0
        self._closed = False
        if statement_timeout_ms < 0:
            raise ValueError(f"statement_timeout_ms must be 0 (none) or more, "
                             f"not {statement_timeout_ms}")
        self.statement_timeout_ms = int(statement_timeout_ms)
        # No `options` startup parameter: PgBouncer refuses it (see the module's docstring).
        kwargs = {
            "connect_timeout": connect_timeout,
            "application_name": application_name,
            "connection_factory": _Connection,
        }
        # The minimum connections are opened here; a database that is down fails fast.
        self._pool = _KeepingPool(minconn, maxconn, dsn, **kwargs)

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """Borrow a connection; it goes back (or is discarded if broken) whatever happens."""
        conn = self._borrow()
        broken = False
        try:
            yield conn
        except BaseException as exc:
            broken = bool(conn.closed) or is_disconnect(exc)
            raise
        finally:
            self._give_back(conn, broken=broken)

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.connection]:
        """Borrow a connection inside one transaction: commit on success, roll back on error.

        The transaction runs under the pool's statement timeout (SET LOCAL when the server's
        default differs).
        """
        with self.connection() as conn:
            try:
                if self.needs_timeout(conn):
                    with conn.cursor() as cur:
                        cur.execute(f"SET LOCAL statement_timeout = {self.statement_timeout_ms}")
                yield conn
            except BaseException:
                if not conn.closed:
                    try:
                        conn.rollback()
                    except psycopg2.Error:
                        log.warning("rollback failed; the connection will be discarded")
                        conn.close()
                raise
            else:
                conn.commit()

    def run(
        self,
        fn: Callable[[psycopg2.extensions.connection], T],
        *,
        attempts: int = 5,
        max_seconds: float = 30.0,
    ) -> T:
        """Run `fn(conn)` in a transaction, retrying transient failures (fn must be idempotent)."""
        return self._retried(fn, self.transaction, attempts, max_seconds)

    def _retried(self, fn: Callable[[psycopg2.extensions.connection], T],
                 borrow: Callable[[], contextlib.AbstractContextManager],
                 attempts: int, max_seconds: float) -> T:
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(attempts) | stop_after_delay(max_seconds),
            wait=wait_exponential(multiplier=0.05, max=2.0),
            # The error described, never its message: a DETAIL line can quote a row.
            before_sleep=lambda rs: log.warning(
                "transaction failed (%s); retrying in %.2fs", describe(rs.outcome.exception()),
                rs.next_action.sleep if rs.next_action else 0.0),
            reraise=True,
        )
        for attempt in retrying:
            with attempt, borrow() as conn:
                return fn(conn)
        raise AssertionError("unreachable: tenacity reraises")

    def run_alone(
        self,
        fn: Callable[[psycopg2.extensions.connection], T],
        *,
        attempts: int = 5,
        max_seconds: float = 30.0,
    ) -> T:
        """`run` for work that is one statement: in autocommit, so no BEGIN and COMMIT.

        A single statement is atomic on its own; the two extra round trips were half of the
        sender's and the poller's statements. When the server's default statement timeout is
        not the pool's, each statement goes as `SET LOCAL statement_timeout = N; <statement>`
        in one string (one implicit transaction): still one round trip. fn uses the pool's
        cursors (`conn.cursor()`); a cursor_factory or a named cursor is refused then.
        """
        def alone(conn: psycopg2.extensions.connection) -> T:
            conn.autocommit = True
            if self.needs_timeout(conn):
                conn.statement_prefix = (f"SET LOCAL statement_timeout = "
                                         f"{self.statement_timeout_ms}; ")
            try:
                return fn(conn)
            finally:
                conn.statement_prefix = None
                if not conn.closed:
                    conn.autocommit = False

        return self._retried(alone, self.connection, attempts, max_seconds)

    def needs_timeout(self, conn: psycopg2.extensions.connection) -> bool:
        """True when conn's server would not apply the pool's statement timeout by itself."""
        return _default_timeout_ms(conn) != self.statement_timeout_ms

    def stats(self) -> PoolStats:
        """Current in-use, idle and waiting counts."""
        with self._lock:
            idle = len(self._pool._pool) if not self._closed else 0
            return PoolStats(self._in_use, idle, self._waiting, self.maxconn, self._discarded)

    def close(self) -> None:
        """Close every idle connection; borrowed ones are closed as they come back."""
        with self._lock:
            self._closed = True
        # Not closeall(): that would also close connections a late handler is still using.
        with self._pool._lock:
            idle, self._pool._pool = self._pool._pool, []
        for conn in idle:
            conn.close()

    # -- internals -------------------------------------------------------------------------

    def _borrow(self) -> psycopg2.extensions.connection:
        if self._closed:
            raise PoolClosed("the database pool is closed")
        with self._lock:
            self._waiting += 1
        try:
            got = self._slots.acquire(timeout=self.timeout)
        finally:
            with self._lock:
                self._waiting -= 1
        if not got:
            raise PoolTimeout(
                f"no database connection came free within {self.timeout:g}s "
                f"(all {self.maxconn} in use); raise DB_POOL_MAX or DB_POOL_TIMEOUT"
            )
        try:
            conn = self._checked_out()
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._in_use += 1
        return conn

    def _checked_out(self) -> psycopg2.extensions.connection:
        # Idle connections may have died while parked (a server restart). Such a socket turns
        # readable (the server's goodbye, then EOF), which costs one poll to see. Each dead one
        # is discarded and the pool is asked again; the pool never hands out more than
        # `maxconn`, so this loop ends.
        for _ in range(self.maxconn + 1):
            conn = self._pool.getconn()
            if conn.closed or not self._alive(conn) or not self._timeout_known(conn):
                self._discard(conn)
                continue
            return conn
        raise psycopg2.OperationalError("could not get a working database connection")

    @staticmethod
    def _alive(conn: psycopg2.extensions.connection) -> bool:
        try:
            poller = select.poll()  # unlike select(), fine with descriptors above 1024
            poller.register(conn.fileno(), select.POLLIN)
            readable = poller.poll(0)
        except (OSError, ValueError, psycopg2.Error):
            return False
        if not readable:
            return True
        # Something arrived while idle: either a notice or the end. Ask to be sure.
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.rollback()
        except psycopg2.Error:
            return False
        return True

    @staticmethod
    def _timeout_known(conn: _Connection) -> bool:
        """Read the server's default timeout on a new connection; False if it cannot be."""
        try:
            _default_timeout_ms(conn)
        except psycopg2.Error:
            return False
        return True

    def _discard(self, conn: psycopg2.extensions.connection) -> None:
        with self._lock:
            self._discarded += 1
        try:
            self._pool.putconn(conn, close=True)
        except psycopg2.pool.PoolError:
            conn.close()

    def _give_back(self, conn: psycopg2.extensions.connection, *, broken: bool) -> None:
        with self._lock:
            self._in_use -= 1
        try:
            if broken or conn.closed:
                self._discard(conn)
            elif self._closed:
                self._pool.putconn(conn, close=True)
            else:
                if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                    # A caller of connection() left a transaction open; never leak it.
                    conn.rollback()
                self._pool.putconn(conn)
        except psycopg2.Error:
            log.warning("discarding a connection that failed on return", exc_info=True)
            self._discard(conn)
        finally:
            self._slots.release()


# -- the process-wide singleton ----------------------------------------------------------------

_pool: Pool | None = None
_pool_lock = threading.Lock()


def init_pool(dsn: str, **kwargs) -> Pool:
    """Create the process-wide pool (once); later calls return the same one."""
    global _pool  # noqa: PLW0603 - the one deliberate module-level singleton
    with _pool_lock:
        if _pool is None:
            _pool = Pool(dsn, **kwargs)
        return _pool


def get_pool() -> Pool:
    """The process-wide pool; init_pool must have been called."""
    if _pool is None:
        raise PoolClosed("the database pool has not been initialised")
    return _pool


def close_pool() -> None:
    """Close and forget the process-wide pool."""
    global _pool  # noqa: PLW0603
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


@contextmanager
def connection() -> Iterator[psycopg2.extensions.connection]:
    """Borrow a connection from the process-wide pool."""
    with get_pool().connection() as conn:
        yield conn


@contextmanager
def transaction() -> Iterator[psycopg2.extensions.connection]:
    """One transaction on a connection from the process-wide pool."""
    with get_pool().transaction() as conn:
        yield conn
