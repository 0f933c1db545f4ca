"""Command line: parse arguments, read settings, hand over to the app factory."""

from __future__ import annotations

import argparse
import logging
import sys

from fitclub.config import RUN_REQUIRED, WEBHOOK_REQUIRED, ConfigError, Settings

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


def _parser(prog: str = "bot.py") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="FitClub Telegram bot")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the bot with long polling")
    r.add_argument("--no-polling", action="store_true",
                   help="no getUpdates: workers, sender and scheduled jobs only (a second "
                        "instance; Telegram allows one poller per token)")
    sub.add_parser("webhook", help="run one webhook instance: updates over HTTP on "
                                   "WEBHOOK_LISTEN (behind nginx), workers, sender and jobs")
    sw = sub.add_parser("set-webhook", help="tell Telegram to push updates to URL (once per "
                                           "deployment, not per instance)")
    sw.add_argument("--url", required=True, help="the public HTTPS URL nginx serves")
    sw.add_argument("--drop-pending-updates", action="store_true",
                    help="forget the updates Telegram holds for the bot")
    dw = sub.add_parser("delete-webhook", help="stop Telegram pushing updates (before going "
                                              "back to `run`)")
    dw.add_argument("--drop-pending-updates", action="store_true",
                    help="forget the updates Telegram holds for the bot")
    m = sub.add_parser("migrate", help="apply pending SQL migrations from sql/")
    g = m.add_mutually_exclusive_group()
    g.add_argument("--status", action="store_true", help="list applied and pending files")
    g.add_argument("--dry-run", action="store_true", help="show what would run, run nothing")
    d = sub.add_parser("demo", help="throwaway PostgreSQL + tgemu web chat + the bot")
    d.add_argument("--port", type=int, default=8081, help="web chat and Bot API port")
    d.add_argument("--load-demo-data", action="store_true",
                   help="with DATABASE_URL: load the demo data even if members exist")
    return p


def main(argv: list[str], prog: str = "bot.py") -> int:
    """Run one command; returns the process exit code."""
    args = _parser(prog).parse_args(argv)
    commands = {"migrate": _migrate, "run": _run, "webhook": _webhook, "demo": _demo,
                "set-webhook": _webhook_call, "delete-webhook": _webhook_call}
    try:
        return commands[args.command](args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def console() -> int:
    """The `fitclub-bot` command of the installed package: bot.py's commands and exit codes."""
    return main(sys.argv[1:], prog="fitclub-bot")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(require=RUN_REQUIRED)
    from fitclub.app import run_polling

    return run_polling(settings, polling=not args.no_polling)


def _webhook(args: argparse.Namespace) -> int:
    settings = Settings.from_env(require=WEBHOOK_REQUIRED)
    if settings.webhook_listen is None:
        raise ConfigError("WEBHOOK_LISTEN", "must be host:port for `bot.py webhook`, not off",
                          "set WEBHOOK_LISTEN in the environment or in .env "
                          "(see .env.example)")
    from fitclub.app import run_webhook

    return run_webhook(settings)


def _demo(args: argparse.Namespace) -> int:
    from fitclub.demo import run_demo

    return run_demo(port=args.port, force_demo_data=args.load_demo_data)


def _webhook_call(args: argparse.Namespace) -> int:
    """setWebhook or deleteWebhook; needs the token (and the secret to set), no database."""
    from fitclub.runtime.poller import ALLOWED_UPDATES
    from fitclub.runtime.telegram import BotApi, NetworkError, TelegramError

    setting = args.command == "set-webhook"
    settings = Settings.from_env(require=("TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET") if setting
                                 else ("TELEGRAM_BOT_TOKEN",))
    params: dict = {"drop_pending_updates": args.drop_pending_updates}
    if setting:
        params.update(url=args.url, secret_token=settings.webhook_secret,
                      allowed_updates=list(ALLOWED_UPDATES),
                      max_connections=settings.webhook_max_connections)
    api = BotApi(settings.telegram_api_url, settings.telegram_bot_token)
    method = "setWebhook" if setting else "deleteWebhook"
    try:
        api.call(method, params)
    except TelegramError as exc:
        print(f"{args.command}: Telegram refused: {exc.description}", file=sys.stderr)
        return 1
    except NetworkError as exc:
        print(f"{args.command}: cannot reach the Bot API ({exc})", file=sys.stderr)
        return 1
    finally:
        api.close()
    # The URL is not repeated: its path is a secret too.
    if setting:
        print(f"webhook set: max_connections {settings.webhook_max_connections}, "
              f"updates {', '.join(ALLOWED_UPDATES)}"
              f"{'; pending updates dropped' if args.drop_pending_updates else ''}")
    else:
        print("webhook deleted" + ("; pending updates dropped"
                                   if args.drop_pending_updates else ""))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    import psycopg2

    from fitclub import logs
    from fitclub.db.migrate import (
        EXIT_UNREACHABLE,
        MigrationError,
        Migrator,
        iter_status_lines,
        refused_for_now,
    )

    # Straight to PostgreSQL as the schema's owner when MIGRATE_DATABASE_URL is set: the bot's
    # DATABASE_URL may go through PgBouncer (which cannot keep the migration lock, a session
    # lock) as a role that may not run DDL.
    settings = Settings.from_env(require=())
    logs.configure(settings.log_level, settings.log_format, (settings.telegram_bot_token or "",))
    url = settings.migrate_database_url or settings.database_url
    if not url:
        raise ConfigError("DATABASE_URL", "is not set (nor MIGRATE_DATABASE_URL)",
                          "set one of them in the environment or in .env (see .env.example)")
    migrator = Migrator(url)
    try:
        if args.status:
            for line in iter_status_lines(*migrator.status()):
                print(line)
            return 0
        done = migrator.migrate(dry_run=args.dry_run)
    except MigrationError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    except psycopg2.OperationalError as exc:  # one line, after waiting if waiting could help
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if refused_for_now(exc):
            print(f"migrate: cannot reach the database (waited {migrator.connect_wait:g}s): "
                  f"{first}", file=sys.stderr)
            return EXIT_UNREACHABLE
        print(f"migrate: the database refused the connection: {first}", file=sys.stderr)
        return 1
    verb = "would apply" if args.dry_run else "applied"
    for mig in done:
        print(f"{verb} {mig.name}{'' if mig.transactional else ' (no transaction)'}")
    if not done:
        print("nothing to apply: up to date")
    return 0
