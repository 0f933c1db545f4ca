"""Settings: one frozen dataclass read from the environment (and `.env` when present)."""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,}$")
TELEGRAM_API_URL_DEFAULT = "https://api.telegram.org"

log = logging.getLogger(__name__)


#: What `bot.py run` needs besides the defaults.
RUN_REQUIRED = ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "CARD_SECRET")
#: `bot.py webhook` needs the secret Telegram sends with every update as well.
WEBHOOK_REQUIRED = (*RUN_REQUIRED, "WEBHOOK_SECRET")


def warn_if_env_file_is_open(path: str | Path) -> bool:
    """Log one WARNING (the file's name and the fix, never its content) when the env file
    holding the secrets can be read or written by the group or others; True if it warned."""
    mode = stat.S_IMODE(Path(path).stat().st_mode)
    if not mode & 0o077:
        return False
    log.warning("env file %s holds secrets but has mode %04o (group/others can read or write "
                "it); fix: chmod 600 %s", path, mode, path)
    return True


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and the fix."""

    def __init__(self, name: str, problem: str, fix: str) -> None:
        self.name = name
        super().__init__(f"{name} {problem}; {fix}")


def _int(name: str, raw: str, lo: int, hi: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {raw!r}", _fix(name)) from None
    if value < lo or (hi is not None and value > hi):
        limits = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ConfigError(name, f"must be {limits}, got {value}", _fix(name))
    return value


def _float(name: str, raw: str, lo: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(name, f"must be a number, got {raw!r}", _fix(name)) from None
    if value < lo:
        raise ConfigError(name, f"must be at least {lo}, got {value}", _fix(name))
    return value


def _fix(name: str) -> str:
    return f"set {name} in the environment or in .env (see .env.example)"


def _ids(name: str, raw: str) -> tuple[int, ...]:
    out = []
    for piece in raw.replace(";", ",").split(","):
        part = piece.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ConfigError(
                name, f"must be comma-separated Telegram user ids, got {part!r}", _fix(name)
            )
        out.append(int(part))
    return tuple(out)


def _addr(name: str, raw: str) -> tuple[str, int] | None:
    raw = raw.strip()
    if raw.lower() in ("", "off", "none", "0"):
        return None
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(name, f"must look like 127.0.0.1:9108 or 'off', got {raw!r}", _fix(name))
    return (host.strip("[]") or "0.0.0.0", int(port))  # noqa: S104 - an explicit ':9108' means all


def _url(name: str, raw: str) -> str:
    raw = raw.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", raw):
        raise ConfigError(name, f"must be an http(s) base URL such as {TELEGRAM_API_URL_DEFAULT}",
                          _fix(name))
    return raw


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower() if name != "LOG_LEVEL" else raw.strip().upper()
        if value not in allowed:
            raise ConfigError(name, f"must be one of {', '.join(allowed)}, got {raw!r}", _fix(name))
        return value

    return parse


def _timezone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(name, f"is not a known time zone: {raw!r}",
                          "use an IANA name such as Europe/Berlin") from None
    return raw.strip()


def _currency(name: str, raw: str) -> str:
    from babel.numbers import get_currency_name

    code = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or get_currency_name(code, locale="en") == code:
        raise ConfigError(name, f"is not an ISO 4217 currency code: {raw!r}",
                          "use a code such as EUR, RUB or USD")
    return code


def _token(name: str, raw: str) -> str:
    raw = raw.strip()
    if not TOKEN_RE.match(raw):
        # Never echo the value: it may be a real token with a typo.
        raise ConfigError(name, "does not look like a bot token (digits:letters)",
                          "copy it from @BotFather into .env")
    return raw


def _dsn(name: str, raw: str) -> str:
    raw = raw.strip()
    if not raw.startswith(("postgresql://", "postgres://")) and "=" not in raw:
        raise ConfigError(name, "must be a libpq URI such as postgresql://user:pass@host:5432/db",
                          _fix(name))
    return raw


def _secret(name: str, raw: str) -> str:
    raw = raw.strip()
    if len(raw) < 32:
        # Never echo the value.
        raise ConfigError(name, "is too short (at least 32 characters)",
                          "make one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    return raw


WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{32,256}$")


def _webhook_secret(name: str, raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if not WEBHOOK_SECRET_RE.match(raw):
        # Never echo the value.
        raise ConfigError(name, "must be 32 to 256 characters of A-Z, a-z, 0-9, _ and - "
                          "(Telegram's rule for secret_token)",
                          "make one with: python -c 'import secrets; "
                          "print(secrets.token_urlsafe(32))'")
    return raw


def _optional_dsn(name: str, raw: str) -> str | None:
    return _dsn(name, raw) if raw.strip() else None


PROVIDER_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z]{2,10}:[A-Za-z0-9_\-=+/.:]{4,}$")


def _provider_token(name: str, raw: str) -> str:
    raw = raw.strip()
    if raw and not PROVIDER_TOKEN_RE.match(raw):
        # Never echo the value: it may be a real token with a typo.
        raise ConfigError(name, "does not look like a payment provider token "
                          "(digits:TEST:... or digits:LIVE:...)",
                          "copy it from @BotFather (Bot Settings > Payments) into .env, or "
                          "leave it empty to keep payments off")
    return raw


def _setting(env: str, default: str | None, parse: Callable[..., Any], meaning: str, **kw: Any):
    return field(default=None, metadata={
        "env": env, "default": default, "parse": parse, "meaning": meaning, "kw": kw,
    })


@dataclass(frozen=True)
class Settings:
    """Every setting of the bot; build it with `Settings.from_env()`."""

    telegram_bot_token: str = _setting(
        "TELEGRAM_BOT_TOKEN", None, _token, "bot token from @BotFather (required to run)")
    database_url: str = _setting(
        "DATABASE_URL", None, _dsn, "libpq URI of the PostgreSQL database (required)")
    telegram_api_url: str = _setting(
        "TELEGRAM_API_URL", TELEGRAM_API_URL_DEFAULT, _url,
        "Bot API base URL; point it at a local Bot API server or tgemu")
    db_pool_min: int = _setting("DB_POOL_MIN", "5", _int, "connections kept open", lo=1)
    db_pool_max: int = _setting(
        "DB_POOL_MAX", "50", _int, "most connections this process opens", lo=1, hi=1000)
    db_pool_timeout: float = _setting(
        "DB_POOL_TIMEOUT", "10", _float, "seconds a borrower waits for a free connection", lo=0.01)
    db_connect_timeout: int = _setting(
        "DB_CONNECT_TIMEOUT", "5", _int, "seconds libpq waits to connect", lo=1)
    db_statement_timeout_ms: int = _setting(
        "DB_STATEMENT_TIMEOUT_MS", "15000", _int, "longest a statement may run (ms)", lo=0)
    worker_threads: int = _setting(
        "WORKER_THREADS", "16", _int, "threads running handlers", lo=1, hi=500)
    sender_threads: int = _setting(
        "SENDER_THREADS", "4", _int, "threads delivering outbox messages", lo=1, hi=100)
    admin_telegram_ids: tuple[int, ...] = _setting(
        "ADMIN_TELEGRAM_IDS", "", _ids, "comma-separated Telegram ids made admins at start")
    club_timezone: str = _setting(
        "CLUB_TIMEZONE", "UTC", _timezone, "IANA time zone of the club's timetable")
    club_currency: str = _setting(
        "CLUB_CURRENCY", "EUR", _currency, "ISO 4217 code of the club's prices (EUR, RUB, USD...)")
    log_level: str = _setting(
        "LOG_LEVEL", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "logging threshold")
    log_format: str = _setting(
        "LOG_FORMAT", "plain", _choice("plain", "json"), "one line per event: plain or json")
    metrics_addr: tuple[str, int] | None = _setting(
        "METRICS_ADDR", "127.0.0.1:9108", _addr, "host:port for /metrics and /healthz, or off")
    poll_timeout: int = _setting(
        "POLL_TIMEOUT", "30", _int, "getUpdates long-poll seconds", lo=0, hi=50)
    inbox_backlog_limit: int = _setting(
        "INBOX_BACKLOG_LIMIT", "5000", _int, "unprocessed updates before polling pauses", lo=100)
    outbound_rate: float = _setting(
        "OUTBOUND_RATE", "30", _float, "messages per second sent to Telegram in total", lo=0.1)
    per_chat_rate: float = _setting(
        "PER_CHAT_RATE", "1", _float, "messages per second to one chat (burst 3)", lo=0.05)
    outbox_lease: float = _setting(
        "OUTBOX_LEASE", "90", _float,
        "seconds a claimed outgoing message is held before another sender may retake it", lo=4)
    outbox_reply_max_age: float = _setting(
        "OUTBOX_REPLY_MAX_AGE", "60", _float,
        "seconds the oldest waiting reply may wait before /healthz reports unhealthy", lo=1)
    flood_rate: float = _setting(
        "FLOOD_RATE", "1", _float, "updates per second one user may send on average", lo=0.05)
    flood_burst: int = _setting(
        "FLOOD_BURST", "10", _int, "updates one user may send in a burst", lo=1)
    max_attempts: int = _setting(
        "MAX_ATTEMPTS", "3", _int, "tries before an update is marked failed", lo=1, hi=20)
    shutdown_timeout: float = _setting(
        "SHUTDOWN_TIMEOUT", "20", _float, "seconds to finish work on SIGTERM", lo=0.1)
    job_threads: int = _setting(
        "JOB_THREADS", "2", _int, "threads running scheduled jobs", lo=1, hi=50)
    job_poll_seconds: float = _setting(
        "JOB_POLL_SECONDS", "1", _float, "longest wait between looks for due jobs", lo=0.05)
    job_retry_seconds: float = _setting(
        "JOB_RETRY_SECONDS", "10", _float,
        "delay before a failed job's first retry (doubling each time, at most an hour)", lo=0.01)
    jobs_overdue_limit: float = _setting(
        "JOBS_OVERDUE_LIMIT", "300", _float,
        "seconds a due job may wait before /healthz reports unhealthy", lo=1)
    booking_closes_minutes: float = _setting(
        "BOOKING_CLOSES_MINUTES", "0", _float, "minutes before a class starts that booking closes",
        lo=0)
    cancel_window_hours: float = _setting(
        "CANCEL_WINDOW_HOURS", "3", _float,
        "a cancellation at least this many hours before the start gives the visit back", lo=0)
    waitlist_offer_minutes: float = _setting(
        "WAITLIST_OFFER_MINUTES", "30", _float,
        "minutes a freed place is held for the first in line (fractions allowed)", lo=0.01)
    card_secret: str | None = _setting(
        "CARD_SECRET", None, _secret,
        "key that signs membership-card QR codes, 32+ characters (required to run)")
    card_token_minutes: int = _setting(
        "CARD_TOKEN_MINUTES", "5", _int, "minutes a card's QR code and short code stay valid",
        lo=1, hi=1440)
    reminder_hours: float = _setting(
        "REMINDER_HOURS", "2", _float, "hours before a booked class that its reminder is sent",
        lo=0.05)
    no_show_grace_minutes: float = _setting(
        "NO_SHOW_GRACE_MINUTES", "30", _float,
        "minutes after a class ends that members still unmarked are recorded as no-shows",
        lo=0)
    checkin_window_minutes: float = _setting(
        "CHECKIN_WINDOW_MINUTES", "30", _float,
        "a check-in this close to a booked class's start (before or after) attends it", lo=0)
    checkin_dedup_minutes: float = _setting(
        "CHECKIN_DEDUP_MINUTES", "10", _float,
        "a second check-in of a member within this many minutes records nothing", lo=0)
    search_limit: int = _setting(
        "SEARCH_LIMIT", "60", _int,
        "searches one staff member may make in 10 minutes (names, phones, usernames, card "
        "codes typed)", lo=1, hi=10000)
    chart_cooldown_seconds: float = _setting(
        "CHART_COOLDOWN_SECONDS", "30", _float,
        "seconds before a member's changed activity chart is drawn again (the same chart is "
        "served at once)", lo=0)
    announce_rate: float = _setting(
        "ANNOUNCE_RATE", "30", _float,
        "messages per second an announcement is queued at, at most OUTBOUND_RATE (replies and "
        "reminders still go first: each send takes the most urgent message due)", lo=0.1)
    announce_progress_seconds: float = _setting(
        "ANNOUNCE_PROGRESS_SECONDS", "5", _float,
        "seconds between edits of an announcement's progress message", lo=1)
    retention_days: int = _setting(
        "RETENTION_DAYS", "7", _int,
        "days processed updates, sent messages, idle conversations, flood buckets and finished "
        "jobs are kept", lo=1, hi=3650)
    audit_retention_days: int = _setting(
        "AUDIT_RETENTION_DAYS", "365", _int, "days audit log entries are kept", lo=1, hi=36500)
    payment_provider_token: str = _setting(
        "PAYMENT_PROVIDER_TOKEN", "", _provider_token,
        "payment provider token from @BotFather; empty: payments off (members request a plan)")
    order_ttl_hours: int = _setting(
        "ORDER_TTL_HOURS", "24", _int, "hours an unpaid order (a sent invoice) stays payable",
        lo=1, hi=720)

    migrate_database_url: str | None = _setting(
        "MIGRATE_DATABASE_URL", "", _optional_dsn,
        "libpq URI `bot.py migrate` uses, straight to PostgreSQL with a role that owns the "
        "schema; empty: DATABASE_URL")
    replica_database_url: str | None = _setting(
        "REPLICA_DATABASE_URL", "", _optional_dsn,
        "libpq URI of a read replica for reports, exports and the audit log; empty: the "
        "primary")
    webhook_listen: tuple[str, int] | None = _setting(
        "WEBHOOK_LISTEN", "127.0.0.1:8443", _addr,
        "host:port `bot.py webhook` listens on for updates (behind nginx)")
    webhook_secret: str | None = _setting(
        "WEBHOOK_SECRET", "", _webhook_secret,
        "secret Telegram sends with every webhook update, 32+ characters of A-Z a-z 0-9 _ - "
        "(required for webhook mode)")
    webhook_max_body: int = _setting(
        "WEBHOOK_MAX_BODY", "1048576", _int,
        "largest webhook request body accepted, in bytes (larger: 413)", lo=1024)
    webhook_max_connections: int = _setting(
        "WEBHOOK_MAX_CONNECTIONS", "40", _int,
        "connections Telegram may open to the webhook at once (set by `bot.py set-webhook`)",
        lo=1, hi=100)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        require: tuple[str, ...] = ("TELEGRAM_BOT_TOKEN", "DATABASE_URL"),
        dotenv_path: str | Path | None = ".env",
    ) -> Settings:
        """Read every setting; raise ConfigError naming the first bad or missing variable."""
        if environ is None:
            if dotenv_path and Path(dotenv_path).is_file():
                from dotenv import load_dotenv

                load_dotenv(dotenv_path, override=False)  # real environment variables win
                warn_if_env_file_is_open(dotenv_path)
            environ = os.environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            meta = f.metadata
            raw = environ.get(meta["env"])
            if raw is None or raw.strip() == "":
                if meta["env"] in require:
                    raise ConfigError(meta["env"], "is not set", _fix(meta["env"]))
                raw = meta["default"]
            values[f.name] = None if raw is None else meta["parse"](meta["env"], raw, **meta["kw"])
        settings = cls(**values)
        settings.check()
        return settings

    def check(self, *, webhook: bool = False) -> None:
        """Cross-setting rules that no single variable can show (webhook=True: those of
        `bot.py webhook`, whose server's threads hold connections too)."""
        if self.card_token_minutes > self.checkin_dedup_minutes:
            raise ConfigError(
                "CARD_TOKEN_MINUTES",
                f"({self.card_token_minutes}) exceeds CHECKIN_DEDUP_MINUTES "
                f"({self.checkin_dedup_minutes:g}): a card's code would outlive the window in "
                "which a second check-in records nothing",
                "lower CARD_TOKEN_MINUTES or raise CHECKIN_DEDUP_MINUTES")
        if self.db_pool_min > self.db_pool_max:
            raise ConfigError("DB_POOL_MIN", f"({self.db_pool_min}) exceeds DB_POOL_MAX "
                              f"({self.db_pool_max})", "lower DB_POOL_MIN")
        needed = self.connections_needed(webhook=webhook)
        if needed > self.db_pool_max:
            reserved = (f"{RESERVED_CONNECTIONS - 1} reserved + {self.webhook_threads} webhook "
                        "threads" if webhook else f"{RESERVED_CONNECTIONS} reserved")
            raise ConfigError(
                "WORKER_THREADS",
                f"+ SENDER_THREADS + JOB_THREADS + {reserved} = {needed} exceeds "
                f"DB_POOL_MAX ({self.db_pool_max})",
                "lower WORKER_THREADS or raise DB_POOL_MAX")

    def connections_needed(self, *, webhook: bool = False) -> int:
        """Most connections of DB_POOL_MAX in use at once: one per worker, sender and job
        thread, the reserved ones, and in webhook mode one per webhook server thread (storing
        an update) instead of the poller's."""
        threads = self.worker_threads + self.sender_threads + self.job_threads
        if webhook:
            return threads + RESERVED_CONNECTIONS - 1 + self.webhook_threads
        return threads + RESERVED_CONNECTIONS

    @property
    def webhook_threads(self) -> int:
        """Threads the webhook server stores updates with: no more than Telegram's connections
        (WEBHOOK_MAX_CONNECTIONS), 2 to WEBHOOK_THREADS."""
        return max(2, min(self.webhook_max_connections, WEBHOOK_THREADS))

    @property
    def payments_on(self) -> bool:
        """Members pay in the chat: a payment provider token is set."""
        return bool(self.payment_provider_token)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and the demo use it)."""
        from dataclasses import replace

        return replace(self, **changes)

    def __repr__(self) -> str:
        # Secrets never reach logs, even through a repr.
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if shown.get("telegram_bot_token"):
            shown["telegram_bot_token"] = "***"  # noqa: S105 - a mask
        if shown.get("card_secret"):
            shown["card_secret"] = "***"  # noqa: S105 - a mask
        if shown.get("webhook_secret"):
            shown["webhook_secret"] = "***"  # noqa: S105 - a mask
        if shown.get("payment_provider_token"):
            shown["payment_provider_token"] = "***"  # noqa: S105 - a mask
        for key in ("database_url", "migrate_database_url", "replica_database_url"):
            if shown.get(key):
                shown[key] = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", shown[key])
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


# Connections used besides workers and sender threads, one each at most: the poller, the
# outbox claimer and heartbeat, the resync loop and the health check.
RESERVED_CONNECTIONS = 5

#: Most threads a webhook instance stores updates with (each holds a connection meanwhile).
WEBHOOK_THREADS = 8


def describe() -> list[tuple[str, str | None, str]]:
    """(variable, default, meaning) for every setting, in declaration order."""
    return [(f.metadata["env"], f.metadata["default"], f.metadata["meaning"])
            for f in fields(Settings)]
