"""Logging set-up for the entry point: one line per event, plain or JSON, secrets redacted.

Log lines name people by internal id only (member id, inbox update id, outbox row id): never
a name, phone, username, Telegram id or chat id, message text, or an exception's message that
may quote them. `describe()` is how an exception goes into a line; tracebacks keep their frames
and drop every message `describe()` would not print. The filter installed by `configure()` is a
second guard for what slips past that: see `RedactSecrets`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from datetime import UTC, datetime

# Any Bot API token, wherever it appears (URLs logged by libraries included).
TOKEN_PATTERN = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{30,}")
# A phone number written the international way: "+", then 7 or more digits, maybe grouped.
PHONE_PATTERN = re.compile(r"\+\d(?:[ ()\-]?\d){6,}")
# 10 or more digits in a row: Telegram user and chat ids of today's accounts, phones without
# "+". Internal ids (members, outbox rows, jobs) and Telegram update ids stay below that.
LONG_NUMBER_PATTERN = re.compile(r"(?<![\d.])-?\d{10,}(?![\d.])")

# First line of an error from PostgreSQL that never reached it (no SQLSTATE): a connection
# refused, a server gone. Other errors may quote a value (invalid input syntax for type
# integer: "..."), and their DETAIL lines do (Key (phone)=(+1555...) already exists).
_CLIENT_SIDE_DB_ERRORS = ("OperationalError", "InterfaceError")


def describe(exc: BaseException | None) -> str:
    """One line about an exception that holds no personal data, for a log line.

    The exception's type; then what went wrong only where that is known to hold no personal
    data: an exception's own `log_line()` (a Bot API error: method, code and Telegram's reason
    without its particulars), a database error's SQLSTATE, constraint, table and column (never
    its message or DETAIL), or the first line of a connection error. Any other message (a
    ValueError quoting what a member typed, say) is left out.
    """
    if exc is None:
        return "no error"
    name = type(exc).__name__
    own = getattr(exc, "log_line", None)
    if callable(own):
        return f"{name}: {own()}"
    pgcode = getattr(exc, "pgcode", None)
    if pgcode:
        diag = getattr(exc, "diag", None)
        where = [f"{label} {value}" for label, value in (
            ("constraint", getattr(diag, "constraint_name", None)),
            ("table", getattr(diag, "table_name", None)),
            ("column", getattr(diag, "column_name", None))) if value]
        return f"{name}: SQLSTATE {pgcode}" + (f" ({', '.join(where)})" if where else "")
    if any(base.__name__ in _CLIENT_SIDE_DB_ERRORS and base.__module__.startswith("psycopg2")
           for base in type(exc).__mro__):
        first = str(exc).strip().splitlines()
        return f"{name}: {first[0]}" if first else name
    return name


def format_exception(exc_info) -> str:
    """A traceback with every frame but no exception messages: `describe()` for each."""
    exc = exc_info[1]
    if exc is None:
        return ""
    out: list[str] = []
    seen: set[int] = set()

    def walk(e: BaseException) -> None:
        seen.add(id(e))
        cause, context = e.__cause__, e.__context__
        if cause is not None and id(cause) not in seen:
            walk(cause)
            out.append("\nThe above exception was the direct cause of the following "
                       "exception:\n\n")
        elif context is not None and not e.__suppress_context__ and id(context) not in seen:
            walk(context)
            out.append("\nDuring handling of the above exception, another exception "
                       "occurred:\n\n")
        out.append("Traceback (most recent call last):\n")
        out.extend(traceback.format_tb(e.__traceback__))
        out.append(describe(e) + "\n")

    walk(exc)
    return "".join(out).rstrip("\n")


class RedactSecrets(logging.Filter):
    """Every record's final message and traceback, with secrets and personal data taken out.

    Replaces bot tokens and the given secrets; formats tracebacks with `format_exception`
    (frames kept, messages described). As a second guard behind the log calls themselves it
    also replaces phone numbers written with "+" (`<phone>`) and runs of 10 or more digits
    (`<id>`: Telegram ids of today's accounts, phones without "+"). It cannot recognise a name,
    a username, free text, or a Telegram id of fewer than 10 digits (accounts from before 2021
    have 8 or 9): those must never be passed to a log call at all, which
    tests/unit/test_log_privacy.py checks over the source.
    """

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        """The text with every secret, phone number and long number replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = TOKEN_PATTERN.sub("<token>", text)
        text = PHONE_PATTERN.sub("<phone>", text)
        return LONG_NUMBER_PATTERN.sub("<id>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = format_exception(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, fit for journald and log shippers."""

    def formatException(self, ei) -> str:
        return format_exception(ei)

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "thread": record.threadName,
        }
        for key in ("update_id", "outbox_id", "member_id"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_text or record.exc_info:
            data["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """`LEVEL logger: message` on one line; tracebacks folded onto it with ' | '."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s")

    def formatException(self, ei) -> str:
        return format_exception(ei)

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


def configure(level: str = "INFO", fmt: str = "plain", secrets: tuple[str, ...] = ()) -> None:
    """Configure the root logger once, for the entry point only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 logs every connection at DEBUG; that is noise even when debugging the bot.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, root.level))
    # pyTelegramBotAPI installs its own stderr handler; route it through ours instead. At
    # DEBUG it logs every request's parameters and every answer (chat ids, texts, names,
    # phones) and at INFO only its own polling, which the bot does not use: WARNING and up.
    telebot_log = logging.getLogger("TeleBot")
    telebot_log.handlers.clear()
    telebot_log.propagate = True
    telebot_log.setLevel(max(logging.WARNING, root.level))
    # An exception nothing caught would be printed by Python with its message: log it instead,
    # through the same formatter (frames, no messages).
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(exc_type, exc, tb) -> None:
    logging.getLogger("fitclub").critical("uncaught %s", exc_type.__name__,
                                          exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if issubclass(args.exc_type, SystemExit):
        return  # as Python's own hook: a thread's sys.exit() is no error
    logging.getLogger("fitclub").critical(
        "uncaught %s in thread %s", args.exc_type.__name__,
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
