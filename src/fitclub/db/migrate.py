"""Apply `sql/NNNN_description.sql` files in order and remember what was applied.

Each file runs in its own transaction, unless its first line is `-- migrate: no-transaction`
(needed for CREATE INDEX CONCURRENTLY); such a file runs statement by statement.
A session-level advisory lock keeps two migrators from applying the same file: run migrate
against PostgreSQL directly (MIGRATE_DATABASE_URL), not through PgBouncer's transaction
pooling, which may run each statement on another server connection. Before each file the
migrator checks that its connection still holds the lock, and stops if it does not.

A database that refuses connections (not up yet at boot, starting up, in crash recovery) is
waited for, up to CONNECT_WAIT seconds, with one log line per retry; a refusal that waiting
does not cure (a wrong password, no such database or role, no pg_hba.conf entry) fails at once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg2
import psycopg2.extensions
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from fitclub.logs import describe

log = logging.getLogger(__name__)

# The package's own copy: a symlink to the top-level sql/ in a checkout, the files in a wheel.
SQL_DIR = Path(__file__).resolve().parent.parent / "migrations"
NO_TRANSACTION_MARK = "-- migrate: no-transaction"
FILE_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any fixed number works; it only has to be the same for every migrator of this schema.
LOCK_KEY = 0x46_49_54_43_4C_55_42  # "FITCLUB"
# How long migrate waits for a database that refuses connections (as app.open_pool does).
CONNECT_WAIT = 60.0
#: `bot.py migrate`'s exit status when the database stayed unreachable (sysexits EX_TEMPFAIL):
#: systemd/fitclub-migrate.service runs it again on this status only.
EXIT_UNREACHABLE = 75
# Fatal errors at connect that pass: the server is starting, stopping or full.
_PASSING_FATAL = ("the database system is starting up", "the database system is shutting down",
                  "the database system is in recovery mode",
                  "the database system is not yet accepting connections",
                  "sorry, too many clients already")
LOCK_LOST = ("is MIGRATE_DATABASE_URL (or DATABASE_URL) going through PgBouncer? migrate must "
             "reach PostgreSQL directly")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        text PRIMARY KEY,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """Migrations cannot proceed; the message says which file and why."""


@dataclass(frozen=True)
class Migration:
    """One SQL file."""

    name: str
    path: Path
    sql: str
    sha256: str
    transactional: bool


@dataclass(frozen=True)
class Applied:
    """One row of schema_migrations."""

    name: str
    sha256: str
    applied_at: datetime


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Every migration file, in order; refuses stray names and duplicate numbers."""
    found: dict[str, Migration] = {}
    numbers: dict[str, str] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        m = FILE_RE.match(path.name)
        if not m:
            raise MigrationError(
                f"{path.name}: migration files are named NNNN_description.sql (lowercase)")
        if m.group(1) in numbers:
            raise MigrationError(f"{path.name} and {numbers[m.group(1)]} share the number "
                                 f"{m.group(1)}; renumber the newer one")
        numbers[m.group(1)] = path.name
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        first = text.split("\n", 1)[0].strip()
        found[path.name] = Migration(path.name, path, text, hashlib.sha256(raw).hexdigest(),
                                     transactional=first != NO_TRANSACTION_MARK)
    return list(found.values())


def split_statements(sql: str) -> list[str]:
    """Split SQL into statements on top-level semicolons (quotes, comments, $$ respected)."""
    out, buf, i, n = [], [], 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            buf.append(sql[i:j])
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            buf.append(sql[i:j])
            i = j
        elif c in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == c and sql.startswith(c * 2, j):
                    j += 2
                    continue
                if sql[j] == c:
                    break
                j += 1
            buf.append(sql[i:j + 1])
            i = j + 1
        elif c == "$" and (m := re.match(r"\$[A-Za-z_]*\$", sql[i:])):
            tag = m.group(0)
            j = sql.find(tag, i + len(tag))
            j = n if j < 0 else j + len(tag)
            buf.append(sql[i:j])
            i = j
        elif c == ";":
            out.append("".join(buf))
            buf = []
            i += 1
        else:
            buf.append(c)
            i += 1
    out.append("".join(buf))
    return [s.strip() for s in out if _has_code(s)]


def _has_code(stmt: str) -> bool:
    without = re.sub(r"--[^\n]*|/\*.*?\*/", "", stmt, flags=re.S)
    return bool(without.strip())


def refused_for_now(exc: psycopg2.OperationalError) -> bool:
    """True when a failed connect may succeed later: the server did not answer (refused,
    timed out, name not resolved yet) or answered that it is starting, stopping or full.
    False when it answered no for good (authentication, no such database or role)."""
    text = str(exc)
    return "FATAL" not in text or any(reason in text for reason in _PASSING_FATAL)


class Migrator:
    """Applies migrations over one dedicated connection (not the pool)."""

    def __init__(self, dsn: str, sql_dir: Path = SQL_DIR, *, lock_timeout: float = 300.0,
                 connect_wait: float | None = None) -> None:
        self.dsn = dsn
        self.sql_dir = sql_dir
        self.lock_timeout = lock_timeout
        self.connect_wait = CONNECT_WAIT if connect_wait is None else connect_wait

    def _connect(self) -> psycopg2.extensions.connection:
        """A connection, waiting up to connect_wait seconds for a database not up yet."""
        retrying = Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, psycopg2.OperationalError) and refused_for_now(e)),
            stop=stop_after_delay(self.connect_wait),
            wait=wait_exponential(multiplier=0.2, max=5),
            before_sleep=lambda rs: log.warning(
                "database not reachable yet (%s); retrying for up to %gs in all",
                describe(rs.outcome.exception()), self.connect_wait),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                conn = psycopg2.connect(self.dsn, connect_timeout=10,
                                        application_name="fitclub-migrate")
                conn.autocommit = True
                # The database's or role's default timeout is the bot's (15 s, for its short
                # transactions); an index build on a big table takes longer. TimeoutStartSec
                # of the unit bounds a migration instead. (A session SET: migrate goes direct.)
                with conn.cursor() as cur:
                    cur.execute("SET statement_timeout = 0")
                return conn
        raise AssertionError("unreachable: tenacity reraises")

    def applied(self, conn: psycopg2.extensions.connection) -> dict[str, Applied]:
        """What schema_migrations records, by name."""
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return {}
            cur.execute("SELECT name, sha256, applied_at FROM schema_migrations ORDER BY name")
            return {r[0]: Applied(*r) for r in cur.fetchall()}

    def check_edited(self, files: list[Migration], applied: dict[str, Applied]) -> None:
        """Refuse if an applied file's bytes changed since it was applied."""
        for mig in files:
            done = applied.get(mig.name)
            if done and done.sha256 != mig.sha256:
                raise MigrationError(
                    f"{mig.name} was edited after it was applied "
                    f"(recorded sha256 {done.sha256[:12]}…, file now {mig.sha256[:12]}…); "
                    "never edit a landed migration: restore it and add a new file")

    def status(self) -> tuple[list[Applied], list[Migration]]:
        """(applied rows, pending files)."""
        files = discover(self.sql_dir)
        conn = self._connect()
        try:
            applied = self.applied(conn)
        finally:
            conn.close()
        self.check_edited(files, applied)
        return list(applied.values()), [f for f in files if f.name not in applied]

    def migrate(self, *, dry_run: bool = False) -> list[Migration]:
        """Apply every pending file in order; return those applied (or that would be)."""
        files = discover(self.sql_dir)
        conn = self._connect()
        try:
            self._lock(conn)
            try:
                with conn.cursor() as cur:
                    cur.execute(CREATE_TABLE)
                applied = self.applied(conn)
                self.check_edited(files, applied)
                pending = [f for f in files if f.name not in applied]
                if dry_run:
                    return pending
                for mig in pending:
                    self._check_lock(conn)
                    self._apply(conn, mig)
                return pending
            finally:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
                    if not cur.fetchone()[0]:
                        log.warning("the migration lock was not held at the end; %s",
                                    LOCK_LOST)
        finally:
            conn.close()

    def _lock(self, conn: psycopg2.extensions.connection) -> None:
        # Poll with try-lock rather than block in pg_advisory_lock: a blocked statement keeps
        # a snapshot open, and CREATE INDEX CONCURRENTLY in the other migrator would wait for
        # that snapshot while we wait for its lock: a deadlock.
        deadline = time.monotonic() + self.lock_timeout
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
                if cur.fetchone()[0]:
                    return
                if time.monotonic() >= deadline:
                    raise MigrationError(
                        f"another migrate has held the migration lock for {self.lock_timeout:g}s")
                time.sleep(0.1)

    @staticmethod
    def _check_lock(conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory'"
                        " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
                        " AND ((classid::bigint << 32) | objid::bigint) = %s)", (LOCK_KEY,))
            if not cur.fetchone()[0]:
                raise MigrationError(f"this connection lost the migration lock; {LOCK_LOST}")

    def _apply(self, conn: psycopg2.extensions.connection, mig: Migration) -> None:
        log.info("applying %s%s", mig.name, "" if mig.transactional else " (no transaction)")
        record = "INSERT INTO schema_migrations (name, sha256) VALUES (%s, %s)"
        try:
            if mig.transactional:
                conn.autocommit = False
                try:
                    with conn.cursor() as cur:
                        cur.execute(mig.sql)
                        cur.execute(record, (mig.name, mig.sha256))
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    conn.autocommit = True
            else:
                with conn.cursor() as cur:
                    for stmt in split_statements(mig.sql):
                        cur.execute(stmt)
                    cur.execute(record, (mig.name, mig.sha256))
        except psycopg2.Error as exc:
            detail = (exc.pgerror or str(exc)).strip().replace("\n", " ")
            raise MigrationError(f"{mig.name} failed: {detail}") from exc


def iter_status_lines(applied: list[Applied], pending: list[Migration]) -> Iterator[str]:
    """Human-readable lines for `migrate --status`."""
    for a in applied:
        yield f"applied  {a.name}  {a.applied_at:%Y-%m-%d %H:%M:%S %Z}  sha256 {a.sha256[:12]}"
    for p in pending:
        mode = "" if p.transactional else "  (no transaction)"
        yield f"pending  {p.name}{mode}"
    if not pending:
        yield "up to date"
