"""deploy/pgbouncer/pgbouncer.ini, run by a real PgBouncer in front of a throwaway PostgreSQL.

The ini is used as shipped except for addresses and file paths (a free port, the test's
directory, the test server's port). The server asks the bot's role for a SCRAM password; the
auth file is deploy/pgbouncer/userlist.txt.example with the role's stored secret put in, so
PgBouncer authenticates the client and logs in to PostgreSQL with SCRAM pass-through.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from fitclub.db.migrate import Migrator
from fitclub.db.pool import Pool
from fitclub.devdb import SUPERUSER, DevPostgres, _die_with_parent, _run_as, free_port
from tests.e2e.harness import wait_until
from tests.pgbouncer import binary, missing_reason

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "pgbouncer"
INI = DEPLOY / "pgbouncer.ini"
USERLIST = DEPLOY / "userlist.txt.example"
BOT_ROLE = "fitclub_bot"
BOT_PASSWORD = "bot-password-for-tests"
ADMIN_PASSWORD = "admin-password-for-tests"

pytestmark = pytest.mark.skipif(binary() is None, reason=missing_reason() or "no pgbouncer")


def shipped() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=(";",))
    parser.read_string(INI.read_text())
    return parser


def test_ini_pools_per_transaction_with_scram():
    ini = shipped()["pgbouncer"]
    assert ini["pool_mode"] == "transaction"
    assert ini["auth_type"] == "scram-sha-256"
    assert "ignore_startup_parameters" not in ini
    # The bot's pools together must fit what PgBouncer lets reach PostgreSQL.
    db_line = shipped()["databases"]["fitclub"]
    cap = int(re.search(r"max_db_connections=(\d+)", db_line).group(1))
    assert int(ini["default_pool_size"]) + int(ini["reserve_pool_size"]) <= cap


@pytest.fixture
def server() -> Iterator[DevPostgres]:
    """PostgreSQL trusting its superuser only; everyone else logs in with SCRAM."""
    dev = DevPostgres(settings={"password_encryption": "scram-sha-256"})
    hba = dev.datadir / "pg_hba.conf"
    hba.write_text(f"host all {SUPERUSER} 127.0.0.1/32 trust\n"
                   f"local all {SUPERUSER} trust\n"
                   "host all all 127.0.0.1/32 scram-sha-256\n")
    if dev.owner:
        os.chown(hba, *dev.owner)
    with dev:
        url = dev.create_database("fitclub")
        Migrator(url).migrate()
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {BOT_ROLE} LOGIN PASSWORD %s", (BOT_PASSWORD,))
            cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public"
                        f" TO {BOT_ROLE}")
            cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {BOT_ROLE}")
            cur.execute("CREATE ROLE pgbouncer_admin LOGIN PASSWORD %s", (ADMIN_PASSWORD,))
        conn.close()
        yield dev


def userlist(dev: DevPostgres) -> str:
    """The example auth file with its sample lines replaced by what the query it documents
    prints for each role."""
    example = USERLIST.read_text()
    documented = re.search(r'psql -Atc "((?:[^"\\]|\\.)*)"', example)
    assert documented, "userlist.txt.example no longer shows the query"
    sql = re.sub(r"\n;;\s*", " ", documented.group(1)).replace('\\"', '"')
    printed = [row[0] for row in _query(dev.url(), sql)]
    assert len(printed) == 2 and all('" "SCRAM-SHA-256$' in line for line in printed), printed
    kept = [line for line in example.splitlines() if line.startswith(";")]
    return "\n".join(kept + printed) + "\n"


def _query(url: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def ini_for_test(directory: Path, port: int, pg_port: int) -> str:
    text = INI.read_text()
    replacements = {
        "listen_port = 6432": f"listen_port = {port}",
        "host=127.0.0.1 port=5432": f"host=127.0.0.1 port={pg_port}",
        "unix_socket_dir = /var/run/postgresql": f"unix_socket_dir = {directory}",
        "logfile = /var/log/postgresql/pgbouncer.log": f"logfile = {directory}/pgbouncer.log",
        "pidfile = /var/run/postgresql/pgbouncer.pid": f"pidfile = {directory}/pgbouncer.pid",
        "auth_file = /etc/pgbouncer/userlist.txt": f"auth_file = {directory}/userlist.txt",
    }
    for shipped_text, ours in replacements.items():
        assert shipped_text in text, shipped_text
        text = text.replace(shipped_text, ours)
    return text


@pytest.fixture
def bouncer(server: DevPostgres) -> Iterator[int]:
    """The shipped PgBouncer config running in front of `server`; yields its port."""
    # Not under pytest's tmp_path: its parents are closed to the unprivileged user.
    directory = Path(tempfile.mkdtemp(prefix="fitclub-deploy-pgb-"))
    port = free_port()
    (directory / "pgbouncer.ini").write_text(ini_for_test(directory, port, server.port))
    (directory / "userlist.txt").write_text(userlist(server))
    owner = _run_as()  # PgBouncer refuses to run as root
    kw: dict = {"preexec_fn": _die_with_parent}
    if owner:
        for path in (directory, *directory.iterdir()):
            os.chown(path, *owner)
        kw.update(user=owner[0], group=owner[1], extra_groups=[])
    proc = subprocess.Popen([binary(), str(directory / "pgbouncer.ini")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, **kw)
    try:
        def accepting() -> bool:
            assert proc.poll() is None, (directory / "pgbouncer.log").read_text()
            try:
                psycopg2.connect(bot_url(port), connect_timeout=2).close()
            except psycopg2.OperationalError:
                return False
            return True

        wait_until(accepting, 20, "PgBouncer to accept the bot's role")
        yield port
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        shutil.rmtree(directory, ignore_errors=True)


def bot_url(port: int, password: str = BOT_PASSWORD) -> str:
    return f"postgresql://{BOT_ROLE}:{password}@127.0.0.1:{port}/fitclub"


def test_the_bots_pool_works_through_pgbouncer(bouncer):
    """The bot's own Pool (application_name, a statement timeout per transaction) runs a
    transaction through the shipped config, as the bot's role."""
    pool = Pool(bot_url(bouncer), minconn=1, maxconn=8, statement_timeout_ms=5000)
    try:
        def count(conn):
            with conn.cursor() as cur:
                cur.execute("SELECT count(*), current_user, current_setting('statement_timeout')"
                            " FROM members")
                return cur.fetchone()

        assert pool.run(count) == (0, BOT_ROLE, "5s")
    finally:
        pool.close()


def test_a_wrong_password_is_refused(bouncer):
    with pytest.raises(psycopg2.OperationalError, match="SASL authentication failed"):
        psycopg2.connect(bot_url(bouncer, "wrong"), connect_timeout=5).close()


def test_the_admin_console_answers_its_role_and_shows_transaction_pools(bouncer):
    conn = psycopg2.connect(f"postgresql://pgbouncer_admin:{ADMIN_PASSWORD}@127.0.0.1:"
                            f"{bouncer}/pgbouncer", connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW POOLS")
            names = [d[0] for d in cur.description]
            pools = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        conn.close()
    ours = [p for p in pools if p["database"] == "fitclub" and p["user"] == BOT_ROLE]
    assert ours and ours[0]["pool_mode"] == "transaction"


def test_startup_options_are_refused_not_ignored(bouncer):
    """No ignore_startup_parameters: a client relying on session settings sent at login (the
    bot used to send `options`) is told so at once instead of silently losing them."""
    with pytest.raises(psycopg2.OperationalError, match="unsupported startup parameter"):
        psycopg2.connect(bot_url(bouncer), options="-c statement_timeout=5000",
                         connect_timeout=5).close()
