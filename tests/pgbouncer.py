"""A real PgBouncer in transaction pooling mode in front of a throwaway PostgreSQL server.

    bouncer = PgBouncer(dev, pool_size=20).start()
    url = bouncer.url("fitclub_t_1")              # libpq URL through PgBouncer, role fitclub
    url = bouncer.url("fitclub_t_1", user="fitclub_bot")
    bouncer.show("POOLS")                         # the admin console's SHOW, as dicts
    bouncer.stop()                                # killed by pid, files removed

Every database of the server is reachable (a `*` fallback entry). PgBouncer authenticates
nobody (`auth_type = trust`, PostgreSQL behind it trusts 127.0.0.1 too) but still wants each
role name listed in its auth file: `users` at construction, or `add_user` later (which reloads).
PgBouncer refuses to run as root, so under root it runs as the same unprivileged user as the
PostgreSQL server of `fitclub.devdb`, and it dies with the process that started it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import psycopg2.extras

from fitclub.devdb import SUPERUSER, DevPostgres, _die_with_parent, _run_as, free_port
from tools import servers

ADMIN_DB = "pgbouncer"


class PgBouncerError(Exception):
    """PgBouncer could not be found, started or asked."""


def binary() -> str | None:
    """The pgbouncer executable, if installed."""
    return servers.find("pgbouncer")


def missing_reason() -> str | None:
    """Why PgBouncer tests cannot run here (None when they can), with tools/servers.py's
    reason if it left one."""
    if binary():
        return None
    if servers.REASON_FILE.exists():
        return f"pgbouncer is missing: {servers.REASON_FILE.read_text().strip()}"
    return "pgbouncer is missing (python tools/servers.py installs it)"


def _check_role_name(user: str) -> None:
    """A name the auth file can hold (no quote, no line break, not empty)."""
    if not user or any(c in user for c in '"\n\r'):
        raise PgBouncerError(f"unusable role name {user!r}")


class PgBouncer:
    """One pgbouncer process, `pool_mode = transaction`, on a free 127.0.0.1 port."""

    def __init__(self, dev: DevPostgres, *, pool_size: int = 20, max_client_conn: int = 500,
                 users: Iterable[str] = (), settings: dict[str, str] | None = None) -> None:
        users = list(users)
        for user in users:
            _check_role_name(user)  # before any file is made
        exe = binary()
        if exe is None:
            raise PgBouncerError(missing_reason() or "pgbouncer is not installed")
        self.exe = exe
        self.dev = dev
        self.port = free_port()
        self.owner = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="fitclub-pgbouncer-"))
        self.ini = self.root / "pgbouncer.ini"
        self.userlist = self.root / "userlist.txt"
        self.logfile = self.root / "pgbouncer.log"
        self.users: list[str] = [SUPERUSER]
        for user in users:
            if user not in self.users:
                self.users.append(user)
        self.settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": str(self.root),
            "auth_type": "trust",
            "auth_file": str(self.userlist),
            "admin_users": SUPERUSER,
            "stats_users": SUPERUSER,
            "pool_mode": "transaction",
            "default_pool_size": str(pool_size),
            "min_pool_size": "0",
            "reserve_pool_size": "0",
            "max_client_conn": str(max_client_conn),
            "max_db_connections": "0",
            "server_check_delay": "1",
            "server_login_retry": "1",
            "query_wait_timeout": "60",
            "logfile": str(self.logfile),
            "log_connections": "0",
            "log_disconnections": "0",
            **(settings or {}),
        }
        self.proc: subprocess.Popen | None = None
        self._write_files()
        if self.owner:
            os.chown(self.root, *self.owner)
            for path in (self.ini, self.userlist):
                os.chown(path, *self.owner)

    # -- files -------------------------------------------------------------------------------

    def _write_files(self) -> None:
        lines = ["[databases]",
                 f"* = host=127.0.0.1 port={self.dev.port}",
                 "", "[pgbouncer]"]
        lines += [f"{key} = {value}" for key, value in self.settings.items()]
        self.ini.write_text("\n".join(lines) + "\n")
        # Passwords are never checked (trust); the names must be there all the same.
        self.userlist.write_text("".join(f'"{user}" ""\n' for user in self.users))

    def add_user(self, user: str) -> None:
        """Let `user` connect through PgBouncer (rewrites the auth file and reloads)."""
        _check_role_name(user)
        if user in self.users:
            return
        self.users.append(user)
        self._write_files()
        if self.proc is not None:
            self.command("RELOAD")

    # -- life --------------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> PgBouncer:
        """Start pgbouncer and wait until its admin console answers."""
        kw: dict = {"preexec_fn": _die_with_parent, "cwd": self.root}
        if self.owner:
            kw.update(user=self.owner[0], group=self.owner[1], extra_groups=[])
        with open(self.root / "stdout.log", "ab") as out:
            self.proc = subprocess.Popen([self.exe, str(self.ini)], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, **kw)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                self.proc = None
                raise PgBouncerError(f"pgbouncer exited at start: {tail}")
            try:
                self.show("VERSION")
                return self
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PgBouncerError(f"pgbouncer did not start: {self.log_tail()}") from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop pgbouncer (killed by pid if it lingers) and remove its files."""
        proc, self.proc = self.proc, None
        try:
            if proc is not None and proc.poll() is None:
                # SIGTERM is PgBouncer's immediate shutdown; SIGINT would wait for clients.
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use ---------------------------------------------------------------------------------

    def url(self, dbname: str, user: str | None = None) -> str:
        """libpq URL of `dbname` through PgBouncer, as `user` (default the superuser)."""
        user = user or SUPERUSER
        if user not in self.users:
            self.add_user(user)
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def route(self, url: str) -> str:
        """`url` through PgBouncer when it names a database of this server (same role and
        database; query parameters kept), else `url` unchanged."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or parts.password is not None:
            return url
        if parts.hostname not in ("127.0.0.1", "localhost") or parts.port != self.dev.port:
            return url
        dbname = parts.path.lstrip("/")
        if not dbname:
            return url
        through = self.url(dbname, user=parts.username)
        return f"{through}?{parts.query}" if parts.query else through

    def admin_url(self) -> str:
        """libpq URL of the admin console."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{ADMIN_DB}"

    def show(self, what: str) -> list[dict]:
        """`SHOW <what>` on the admin console (POOLS, STATS, SERVERS, ...) as dicts."""
        if not what.replace("_", "").isalpha():
            raise PgBouncerError(f"not a SHOW subject: {what!r}")
        conn = psycopg2.connect(self.admin_url(), connect_timeout=2)
        try:
            conn.autocommit = True  # the console knows no BEGIN
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute(f"SHOW {what}")
                return [dict(row) for row in cur.fetchall()]
        finally:
            conn.close()

    def command(self, statement: str) -> None:
        """One admin command (RELOAD, PAUSE db, RESUME db, KILL db, ...)."""
        conn = psycopg2.connect(self.admin_url(), connect_timeout=2)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()

    def pools(self, dbname: str) -> list[dict]:
        """SHOW POOLS rows of one database."""
        return [row for row in self.show("POOLS") if row["database"] == dbname]

    def log_text(self) -> str:
        """PgBouncer's log so far."""
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 8) -> str:
        """Last lines of the log (and of its stdout), for error messages."""
        text = self.log_text()
        with contextlib.suppress(OSError):
            text += (self.root / "stdout.log").read_text(errors="replace")
        return " | ".join(text.splitlines()[-lines:]) or "(no log)"
