"""A real streaming standby of a throwaway PostgreSQL server, for the read replica's tests.

    standby = Standby(dev).start()     # pg_basebackup -R of dev, a second server, streaming
    standby.url("fitclub_t_1")          # the same database on the standby
    standby.wait_caught_up()            # replayed all the primary has written so far
    standby.pause(); standby.resume()   # pg_wal_replay_pause() / pg_wal_replay_resume()
    standby.stop(); standby.start()     # stopped by pid, started again on the same port
    standby.destroy()                   # stopped, files removed

The standby runs from /usr/lib/postgresql/15/bin (the primary's binaries), on 127.0.0.1 and a
free port, as the same unprivileged user as the primary under root, and dies with the process
that started it. initdb's pg_hba.conf already lets 127.0.0.1 connect for replication (trust).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from fitclub.devdb import SUPERUSER, DevPostgres, PostgresProcess, free_port
from tests.e2e.harness import wait_until


class StandbyError(Exception):
    """The standby could not be made or started."""


class Standby(PostgresProcess):
    """A hot standby streaming from `primary`, made with pg_basebackup -R; its URL, log,
    stop, destroy and use as a context manager are those of every throwaway server."""

    def __init__(self, primary: DevPostgres, settings: dict[str, str] | None = None) -> None:
        self.primary = primary
        self.settings = settings or {}
        self.bindir = primary.bindir
        self.owner = primary.owner
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fitclub-standby-"))
        self.datadir = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.proc: subprocess.Popen | None = None
        if self.owner:
            os.chown(self.root, *self.owner)
        self._basebackup()

    def _basebackup(self) -> None:
        cmd = [str(self.bindir / "pg_basebackup"), "-D", str(self.datadir), "-R",
               "-X", "stream", "-c", "fast", "--no-sync", "-h", "127.0.0.1",
               "-p", str(self.primary.port), "-U", SUPERUSER]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                             **self._popen_kwargs())
        if res.returncode != 0:
            shutil.rmtree(self.root, ignore_errors=True)
            raise StandbyError(f"pg_basebackup failed: {res.stderr.strip()}")

    def start(self, timeout: float = 30.0) -> Standby:
        """Start the standby and wait until it accepts read-only connections."""
        args = [str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                "-c", "hot_standby=on", "-c", "hot_standby_feedback=on", "-c", "fsync=off",
                "-c", "wal_receiver_status_interval=1",
                # A hot standby needs at least the primary's connection slots.
                "-c", f"max_connections={self.primary.settings['max_connections']}"]
        for key, value in self.settings.items():
            args += ["-c", f"{key}={value}"]
        with open(self.logfile, "ab") as logf:
            self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         **self._popen_kwargs())

        def accepting() -> bool:
            if self.proc.poll() is not None:
                raise StandbyError(f"the standby exited at start: {self.log_tail()}")
            try:
                psycopg2.connect(self.url(), connect_timeout=2).close()
                return True
            except psycopg2.OperationalError:
                return False

        wait_until(accepting, timeout, "the standby accepts connections", interval=0.05)
        self.wait_caught_up(timeout)
        return self

    def _scalar(self, url: str, statement: str) -> object:
        conn = psycopg2.connect(url, connect_timeout=2)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement)
                return cur.fetchone()[0]
        finally:
            conn.close()

    def in_recovery(self) -> bool:
        """Whether the server is a standby (it always should be)."""
        return bool(self._scalar(self.url(), "SELECT pg_is_in_recovery()"))

    def flush(self) -> None:
        """Flush the primary's WAL as an acknowledged commit does under synchronous_commit on
        (the default; the throwaway primary runs with it off): one synchronous commit."""
        conn = psycopg2.connect(self.primary.url(), connect_timeout=2)
        try:
            with conn, conn.cursor() as cur:
                # A commit flushes only when its transaction wrote WAL: a temporary table does.
                cur.execute("SET LOCAL synchronous_commit = on;"
                            " CREATE TEMPORARY TABLE flushed (x int) ON COMMIT DROP")
        finally:
            conn.close()

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Wait until the standby has replayed every commit made on the primary so far."""
        self.flush()
        target = self._scalar(self.primary.url(), "SELECT pg_current_wal_flush_lsn()::text")
        wait_until(lambda: self._scalar(
            self.url(), f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"),
            timeout, "the standby replays up to the primary's position", interval=0.02)

    def pause(self) -> None:
        """Stop replaying WAL (it is still received) until resume()."""
        self._scalar(self.url(), "SELECT pg_wal_replay_pause()::text")
        wait_until(lambda: self._scalar(
            self.url(), "SELECT pg_get_wal_replay_pause_state()") == "paused",
            10, "replay paused", interval=0.02)

    def resume(self) -> None:
        """Replay again, and wait until caught up."""
        self._scalar(self.url(), "SELECT pg_wal_replay_resume()::text")
        self.wait_caught_up()


def standby_of(server, settings: dict[str, str] | None = None) -> Iterator[Standby]:
    """For a fixture: a standby of the tests' session server (`tests.conftest.Server`), with
    extra server settings, destroyed at teardown; skipped when the server is not one of ours
    (TEST_DATABASE_URL)."""
    if server.dev is None:
        pytest.skip("TEST_DATABASE_URL is set: no server of our own to stream from")
    with Standby(server.dev, settings) as made:
        yield made
