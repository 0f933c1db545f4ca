"""`python bot.py demo`: the bot with a throwaway PostgreSQL and tgemu's web chat, no token needed.

Starts tgemu (realistic Telegram limits on) on 127.0.0.1:PORT, a throwaway PostgreSQL server
(unless DATABASE_URL is set), applies the migrations, loads the demo data and runs the bot
against tgemu. The person at the web chat is the simulated user "You", made an admin. Ctrl-C or
SIGTERM stops everything and removes the throwaway server's files.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import signal
import sys
from contextlib import ExitStack

import psycopg2

from fitclub import commands, logs
from fitclub.app import create_app
from fitclub.config import ConfigError, Settings
from fitclub.db.migrate import MigrationError, Migrator
from fitclub.db.queries import Q
from fitclub.demo_data import (
    CLUB_MEMBERS,
    DEMO_USER_VISITS_DAYS_AGO,
    TRAINERS,
    load_demo_data,
    load_demo_history,
)
from fitclub.devdb import DevPostgres
from fitclub.services import registration
from tgemu import Emulator

log = logging.getLogger(__name__)

# Well-formed for both our settings and tgemu (digits, colon, 35 characters); not a secret.
DEMO_TOKEN = "1000000001:DEMO-fitclub-bot-token-for-tgemu-00"  # noqa: S105
DEMO_BOT_USERNAME = "FitClubDemoBot"
DEMO_USER_ID = 1000
# A payment provider's test token as @BotFather gives one (tgemu takes any): the demo's
# members buy and renew plans from the web chat's invoice (Pay), nobody is charged.
DEMO_PROVIDER_TOKEN = "1000000001:TEST:fitclub-demo-provider"  # noqa: S105
DEMO_USER_NAME = "You"


def _provider_token() -> str:
    """PAYMENT_PROVIDER_TOKEN as given; unset, the demo's test provider; "off", none (members
    request plans from the front desk, as in a club without a provider)."""
    given = os.environ.get("PAYMENT_PROVIDER_TOKEN", "").strip()
    if given.lower() == "off":
        return ""
    return given or DEMO_PROVIDER_TOKEN
EXIT_PORT_TAKEN = 2
EXIT_REFUSED = 2


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while the demo was still starting."""


def _local_timezone() -> str:
    """The machine's IANA time zone, so the demo's timetable reads in local time."""
    if os.environ.get("CLUB_TIMEZONE"):
        return os.environ["CLUB_TIMEZONE"]
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    match = re.search(r"zoneinfo/(.+)$", target)
    return match.group(1) if match else "UTC"


def _masked(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def run_demo(port: int = 8081, *, force_demo_data: bool = False) -> int:
    """Run the demo until Ctrl-C/SIGTERM; returns the process exit code."""
    level = (os.environ.get("LOG_LEVEL") or "WARNING").upper()
    logs.configure(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING",
                   "plain", (DEMO_TOKEN,))
    state: dict = {"app": None}

    def on_signal(signum, _frame):
        app = state["app"]
        if app is None:
            raise _Interrupted(signal.Signals(signum).name)
        app.request_stop(0)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ExitStack() as cleanup:
            return _run(port, state, cleanup, force_demo_data)
    except _Interrupted:
        print("demo: interrupted while starting; everything started so far is stopped.",
              flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(port: int, state: dict, cleanup: ExitStack, force_demo_data: bool) -> int:
    emu = Emulator(port=port)  # defaults: Telegram's own limits (30/s, 1/s per chat)
    try:
        emu.start()
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            print(f"demo: port {port} on 127.0.0.1 is not available ({exc.strerror}); "
                  f"pick another with --port, e.g. python bot.py demo --port {port + 1}",
                  file=sys.stderr, flush=True)
            return EXIT_PORT_TAKEN
        raise
    cleanup.callback(emu.stop)
    emu.add_bot(DEMO_TOKEN, username=DEMO_BOT_USERNAME, first_name="FitClub")
    # Created first, so the web chat page selects "You" when it opens.
    emu.create_user(first_name=DEMO_USER_NAME, language_code="en", user_id=DEMO_USER_ID)

    for trainer in TRAINERS:  # pick them in the web chat to see the trainer's side
        emu.create_user(first_name=trainer.first_name, last_name=trainer.last_name,
                        language_code="en", user_id=trainer.telegram_id)
    # The demo's members have "started the bot" (a bot may only write to those), so the
    # notices and announcements sent to them show in the web chat.
    emu.open_chats(DEMO_TOKEN, [
        emu.create_user(first_name=p.first_name, last_name=p.last_name,
                        language_code=p.language, user_id=p.telegram_id)
        for p in CLUB_MEMBERS])

    database_url, throwaway = _database(cleanup)
    timezone = _local_timezone()
    try:
        settings = Settings.from_env(environ={
            "TELEGRAM_BOT_TOKEN": DEMO_TOKEN,
            "DATABASE_URL": database_url,
            "TELEGRAM_API_URL": emu.base_url,
            "ADMIN_TELEGRAM_IDS": str(DEMO_USER_ID),
            "CLUB_TIMEZONE": timezone,
            "METRICS_ADDR": "127.0.0.1:0",  # any free port; the banner shows which
            "WORKER_THREADS": "4", "SENDER_THREADS": "2", "JOB_THREADS": "1",
            "DB_POOL_MIN": "2", "DB_POOL_MAX": "12",
            "SHUTDOWN_TIMEOUT": "5",
            "CARD_SECRET": secrets.token_hex(32),  # a new one each run: old cards expire anyway
            "PAYMENT_PROVIDER_TOKEN": _provider_token(),
            "LOG_LEVEL": logging.getLevelName(logging.getLogger().level),
        }, require=())
    except ConfigError as exc:  # only CLUB_TIMEZONE comes from outside
        print(f"demo: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        Migrator(database_url).migrate()
        conn = psycopg2.connect(database_url)
        try:
            members = 0 if throwaway else _member_count(conn)
            if members and not force_demo_data:
                print(f"demo: {_masked(database_url)} already has members ({members}); the demo "
                      "writes demo data and an admin into it, so it stops here. Unset "
                      "DATABASE_URL for a throwaway database, or pass --load-demo-data if this "
                      "database is yours to fill.", file=sys.stderr, flush=True)
                return EXIT_REFUSED
            with conn:  # a new emulator: it holds none of the lists a reused database names
                commands.forget_all(conn)
            data = load_demo_data(conn, timezone=timezone)
            history = load_demo_history(conn, timezone=timezone)
            _register_demo_user(conn, emu.user(DEMO_USER_ID).data.phone_number)
        finally:
            conn.close()
        app = create_app(settings)
    except (psycopg2.Error, MigrationError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"demo: database {_masked(database_url)}: {first}", file=sys.stderr, flush=True)
        return 1
    state["app"] = app
    try:
        app.start()
        _banner(emu.base_url, app, {**data, "history": history}, database_url, throwaway,
                timezone)
        app.wait()
    finally:
        # A second Ctrl-C must not cut the stop short: it is bounded by SHUTDOWN_TIMEOUT.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        print("demo: stopping...", flush=True)
        app.stop()
    print("demo: stopped; nothing left running.", flush=True)
    return app.exit_code


def _member_count(conn) -> int:
    """Members of a database that is not a demo database already (0 for one that is)."""
    with conn, conn.cursor() as cur:
        cur.execute(Q["demo.loaded"])
        if cur.fetchone()[0]:
            return 0
        cur.execute(Q["demo.member_count"])
        return cur.fetchone()[0]


def _register_demo_user(conn, phone: str) -> None:
    # "You" starts registered, so every screen is one /start away; other web chat users
    # go through registration as members do.
    with conn, conn.cursor() as cur:
        cur.execute(Q["demo.register_demo_user"], {
            "telegram_id": DEMO_USER_ID, "first_name": DEMO_USER_NAME,
            "phone": registration.normalize_phone(phone)})
        cur.execute(Q["demo.demo_user_membership"], {"telegram_id": DEMO_USER_ID})
        cur.execute(Q["demo.demo_user_visits"], {"telegram_id": DEMO_USER_ID,
                                                 "days_ago": list(DEMO_USER_VISITS_DAYS_AGO)})


def _database(cleanup: ExitStack) -> tuple[str, bool]:
    """(URL, throwaway?): DATABASE_URL when set, else a private server removed on exit."""
    given = os.environ.get("DATABASE_URL", "").strip()
    if given:
        return given, False
    print("demo: starting a throwaway PostgreSQL...", flush=True)
    dev = DevPostgres()
    cleanup.callback(dev.destroy)
    dev.start()
    return dev.create_database("fitclub"), True


def _banner(web: str, app, data: dict, database_url: str, throwaway: bool,
            timezone: str) -> None:
    health = (f"http://{app.settings.metrics_addr[0]}:{app.health.port}"
              if app.health else None)
    trainers = ", ".join(f"{t.first_name} {t.last_name} ({t.telegram_id})"
                         for t in TRAINERS)
    loaded = ("demo data loaded" if data["loaded"] else "demo data already there")
    lines = [
        "",
        "FitClub demo is running.",
        f"  Web chat:  {web}/   <- open this in a browser",
        f'  You chat as "{DEMO_USER_NAME}" (Telegram id {DEMO_USER_ID}), an admin: every '
        "feature is open to you. Send /start.",
        f"  Trainers to switch to in the web chat: {trainers}.",
        f"  Club: {data['plans']} plans, {data['class_types']} class types, "
        f"{data['upcoming_classes']} upcoming classes ({loaded}; time zone {timezone}).",
    ]
    if data.get("history", {}).get("loaded"):
        history = data["history"]
        lines.append(f"  Members: {history['members']} with three weeks of classes behind them "
                     f"({history['visits']} visits; bookings and a waitlist on the coming ones).")
    provider = _provider_token()
    if not provider:
        lines.append("  Payments:  off (PAYMENT_PROVIDER_TOKEN=off): members request a plan and "
                     "an admin grants it.")
    elif provider == DEMO_PROVIDER_TOKEN:
        lines.append("  Payments:  a test provider: Membership -> Buy (or Renew), then Pay on "
                     "the invoice; nobody is charged.")
    else:
        lines.append("  Payments:  the provider of PAYMENT_PROVIDER_TOKEN.")
    if health:
        lines.append(f"  Health:    {health}/healthz   Metrics: {health}/metrics")
    kind = "throwaway, removed on exit" if throwaway else "from DATABASE_URL"
    lines += [f"  Database:  {_masked(database_url)} ({kind})",
              f"  Bot API:   {web}/bot<token>/<method> (tgemu, Telegram's limits on)",
              "  Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)
