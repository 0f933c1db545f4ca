"""A database set up as deploy/roles.sql says: its roles created by a superuser, migrated by
`bot.py migrate` as fitclub_owner through MIGRATE_DATABASE_URL (DATABASE_URL, the bot's,
pointing where migrate must not go)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from fitclub.devdb import DevPostgres

ROOT = Path(__file__).resolve().parents[1]
ROLES_SQL = ROOT / "deploy" / "roles.sql"
OWNER, BOT = "fitclub_owner", "fitclub_bot"
DBNAME = "fitclub"


@dataclass(frozen=True)
class RolesDb:
    """URLs of one database set up with deploy/roles.sql."""

    admin_url: str  # the superuser's
    owner_url: str
    bot_url: str  # direct; tests give the bot one through PgBouncer as they like
    port: int


def run_roles_sql(admin_url: str) -> None:
    """deploy/roles.sql as one script, as psql -f would run it."""
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(ROLES_SQL.read_text())
    finally:
        conn.close()


def cli_migrate(cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`bot.py migrate` with only the given database settings (none from the environment)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TELEGRAM_", "DATABASE_", "MIGRATE_"))}
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), "migrate"],
                          capture_output=True, text=True, env={**clean, **env}, cwd=cwd,
                          timeout=180, check=False)


def set_up(dev: DevPostgres, cwd: Path) -> RolesDb:
    """Create the database and roles, then migrate as the owner through bot.py."""
    admin_url = dev.create_database(DBNAME)
    run_roles_sql(admin_url)
    base = f"127.0.0.1:{dev.port}/{DBNAME}"
    db = RolesDb(admin_url, f"postgresql://{OWNER}@{base}", f"postgresql://{BOT}@{base}",
                 dev.port)
    # DATABASE_URL names a port nobody listens on: only MIGRATE_DATABASE_URL can work.
    done = cli_migrate(cwd, MIGRATE_DATABASE_URL=db.owner_url,
                       DATABASE_URL=f"postgresql://{BOT}@127.0.0.1:1/{DBNAME}")
    if done.returncode != 0:
        raise RuntimeError(f"bot.py migrate failed: {done.stderr.strip()}")
    return db
