"""Log lines name people by internal id only (issue 17, finding 9).

Over the source: no log call is given a Telegram id, a chat id, a name, a phone, a username,
message text, callback data, a raw update, or an exception as is (its message may quote any of
these: a DETAIL line holds the phone of a unique violation); exceptions go in through
`fitclub.logs.describe()`, Telegram's descriptions through `runtime.telegram.reason()`.
At run time: tracebacks keep their frames but not their messages, the log filter replaces what
slips through and looks like a phone or a Telegram id, and pyTelegramBotAPI's own logger
(which logs every request's parameters at DEBUG) stays quiet below WARNING.
"""

from __future__ import annotations

import ast
import io
import logging
import sys
import threading
from pathlib import Path

import pytest

from fitclub import logs
from fitclub.runtime.telegram import NetworkError, TelegramError, reason

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "src" / "fitclub").rglob("*.py")), ROOT / "bot.py"]

LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
LOGGERS = frozenset({"log", "logger", "logging", "telebot_log"})

# Names and attributes that hold, or may hold, what identifies a person. `name`, `text`,
# `data` and the like are here on purpose: a log call has no business with them.
PERSONAL = frozenset({
    "telegram_id", "telegram_ids", "chat_id", "user_id", "from_user", "user", "chat",
    "first_name", "last_name", "full_name", "name", "names", "display_name", "phone",
    "phone_number", "contact", "username", "bot_username", "text", "caption", "query",
    "data", "payload", "update", "message", "call", "reason_text", "note", "details",
    "description", "params", "person", "people", "member", "found", "typed", "search",
})
# A raw exception (or its text) in a log call: its message may quote any of the above.
RAW_ERRORS = frozenset({"exc", "e", "err", "error", "cause", "exception", "problem"})
# Calls that make a safe value of their argument: a description without particulars, a count.
SANITISERS = frozenset({"describe", "reason", "len", "type"})
# Telegram's objects: their `id` is a Telegram user or chat id.
TELEGRAM_OBJECTS = frozenset({"chat", "user", "from_user", "message", "call", "update",
                              "sender_chat", "contact"})
# Attributes that are internal ids or fixed words, whatever holds them (member.id, chat.type,
# exc.code); `id` of a Telegram object is not among them.
SAFE_ATTRIBUTES = frozenset({"id", "role", "status", "kind", "type", "code", "pgcode",
                             "retry_after", "method", "message_id", "update_id", "value"})

# (file relative to src/fitclub, the flagged expression as written) -> why it is no person's.
ALLOWED = {
    ("db/migrate.py", "mig.name"): "a migration file's name (0001_init.sql)",
    ("runtime/metrics.py", "name"): "the name of a metrics callback (pool_stats)",
    ("app.py", "self.bot_username"): "the bot's own username, printed once at start",
    ("jobs/retention.py", "name"): "a table's name, in the retention job's counts per table",
}


def _verdict(n: ast.AST) -> str | None:
    """'bad' (personal data or a raw exception), 'ok' (nothing below it is printed as is, or
    only an internal id) or None (look inside)."""
    if isinstance(n, ast.Call):
        func = n.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        # tenacity's rs.outcome.exception() is a raw exception; describe(exc), reason(...),
        # len(...) and an exception's own fixed words (log_line()) are safe.
        return {"exception": "bad", "log_line": "ok"}.get(
            called, "ok" if called in SANITISERS else None)
    if isinstance(n, ast.Name):
        return "bad" if n.id in PERSONAL or n.id in RAW_ERRORS else None
    if isinstance(n, ast.Attribute):
        base = n.value
        holder = base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)
        if n.attr in PERSONAL or (n.attr == "id" and holder in TELEGRAM_OBJECTS):
            return "bad"
        # member.id, scanner.role, chat.type, exc.code, delivery.id
        return "ok" if n.attr in SAFE_ATTRIBUTES else None
    if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant):
        return "bad" if n.slice.value in PERSONAL else None
    return None


def _flagged(node: ast.AST) -> list[ast.AST]:
    """Sub-expressions of a log argument that name personal data or a raw exception."""
    found: list[ast.AST] = []

    def walk(n: ast.AST) -> None:
        verdict = _verdict(n)
        if verdict == "bad":
            found.append(n)
        if verdict is not None:
            return
        if isinstance(n, ast.IfExp):  # its test decides, it is not printed
            walk(n.body)
            walk(n.orelse)
            return
        if isinstance(n, ast.Dict):  # extra={"chat_id": ...}
            found.extend(key for key in n.keys
                         if isinstance(key, ast.Constant) and key.value in PERSONAL)
        for child in ast.iter_child_nodes(n):
            walk(child)

    walk(node)
    return found


def _log_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in LEVELS and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in LOGGERS:
            yield node


def violations(source: str, rel: str) -> list[str]:
    """'file:line: expression' for each log argument that may carry personal data."""
    found = []
    for call in _log_calls(ast.parse(source)):
        args = list(call.args)
        args += [kw.value for kw in call.keywords if kw.arg not in ("exc_info", "stack_info")]
        for arg in args:
            for bad in _flagged(arg):
                expr = ast.get_source_segment(source, bad) or ast.dump(bad)
                if (rel, expr) not in ALLOWED:
                    found.append(f"{rel}:{bad.lineno}: {expr}")
    return found


def test_no_log_call_is_given_personal_data_or_a_raw_exception():
    found = []
    for path in SOURCES:
        rel = path.relative_to(ROOT / "src" / "fitclub").as_posix() \
            if "src" in path.parts else path.name
        found += violations(path.read_text(), rel)
    assert not found, "log calls given personal data or a raw exception (name people by " \
                      "member id, update id or outbox row id; describe(exc)):\n" + \
                      "\n".join(found)


def test_no_source_uses_tenacitys_before_sleep_log():
    """It logs the exception's message ("... as it raised IntegrityError: ... DETAIL: Key
    (phone)=(+1555...)"): retries log describe(exception) instead."""
    assert not [path.name for path in SOURCES if "before_sleep_log" in path.read_text()]


def test_every_allowed_exception_is_still_used():
    used = set()
    for path in SOURCES:
        if "src" not in path.parts:
            continue
        rel = path.relative_to(ROOT / "src" / "fitclub").as_posix()
        source = path.read_text()
        for call in _log_calls(ast.parse(source)):
            for arg in [*call.args, *(kw.value for kw in call.keywords)]:
                for bad in _flagged(arg):
                    used.add((rel, ast.get_source_segment(source, bad)))
    present = {(rel, expr) for rel, expr in ALLOWED if (ROOT / "src" / "fitclub" / rel).exists()}
    assert present <= used, present - used


@pytest.mark.parametrize("line", [
    'log.warning("refused %s to Telegram user %s", what, ctx.user_id)',
    'log.info("chat %s blocked the bot: %s", delivery.chat_id, exc.description)',
    'log.error("x", extra={"update_id": 1, "chat_id": chat_id})',
    'log.warning("failed: %s", exc)',
    'log.warning("failed: %s", str(exc).splitlines()[0])',
    'log.debug("start payload %r", payload)',
    'log.info("hello %s", member.first_name)',
    'log.info("scan by %s", attempt["telegram_id"])',
    'log.info("added to %s %s", chat.type, chat.id)',
    'log.info("user %s", update.from_user.id)',
    'log.info(f"search {typed}")',
    'logging.info("%s", update)',
    'log.warning("database unavailable (%s)", rs.outcome.exception())',
])
def test_the_check_finds_each_kind_of_leak(line):
    assert violations(line, "x.py"), line


@pytest.mark.parametrize("line", [
    'log.warning("refused %s to member %s", what, member.id)',
    'log.info("outbox row %s: %s", delivery.id, reason(exc.description))',
    'log.warning("failed: %s", describe(exc), extra={"update_id": update_id})',
    'log.error("gave up", exc_info=exc)',
    'log.debug("a payload of %s characters", len(payload))',
    'log.info("to %s", f"member {member.id}" if member else "someone unregistered")',
    'log.critical("Telegram answered %s", exc.code)',
    'log.info("outbox row %s (%s)", delivery.id, delivery.method)',
])
def test_the_check_lets_ids_and_descriptions_through(line):
    assert not violations(line, "x.py"), line


# -- at run time -------------------------------------------------------------------------------

NAME, PHONE, TELEGRAM_ID = "Zebulonia Quartzfield", "+15557308142", 5731954268


def _format(record: logging.LogRecord, fmt: logging.Formatter) -> str:
    logs.RedactSecrets(()).filter(record)
    return fmt.format(record)


def _raise_with_personal_data():
    raise ValueError(f"invalid literal for int(): {NAME!r} {PHONE}")


@pytest.mark.parametrize("fmt", [logs.PlainFormatter(), logs.JsonFormatter()])
def test_a_traceback_keeps_its_frames_and_loses_its_messages(fmt):
    try:
        try:
            _raise_with_personal_data()
        except ValueError as inner:
            raise RuntimeError(f"while handling {NAME}") from inner
    except RuntimeError:
        record = logging.LogRecord("fitclub.x", logging.ERROR, __file__, 1, "update %s failed",
                                   (42,), sys.exc_info())
    line = _format(record, fmt)
    assert NAME not in line and PHONE not in line and "Zebulonia" not in line
    assert "_raise_with_personal_data" in line  # the frames are all there
    assert "ValueError" in line and "RuntimeError" in line
    assert "update 42 failed" in line


def test_the_filter_replaces_phones_and_telegram_ids_that_slip_through():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "to chat %s (%s), update %s",
                               (TELEGRAM_ID, "+1 555 730-8142", 846522123), None)
    line = _format(record, logs.PlainFormatter())
    assert str(TELEGRAM_ID) not in line and "730-8142" not in line
    assert "to chat <id> (<phone>)" in line
    assert "update 846522123" in line  # an update id (9 digits) stays


def test_json_lines_carry_no_chat_id_field():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "update %s", (7,), None)
    record.update_id, record.chat_id = 7, TELEGRAM_ID
    line = _format(record, logs.JsonFormatter())
    assert '"update_id": 7' in line and str(TELEGRAM_ID) not in line


def test_describe_keeps_only_what_holds_no_personal_data():
    assert logs.describe(ValueError(PHONE)) == "ValueError"
    assert logs.describe(KeyError(NAME)) == "KeyError"
    error = TelegramError("sendMessage", 400, "Bad Request: can't parse entities: Unsupported "
                                              f"start tag \"{NAME}\" at byte offset 3")
    assert logs.describe(error) == \
        "TelegramError: sendMessage: 400 Bad Request: can't parse entities"
    assert logs.describe(NetworkError("sendMessage: ReadTimeoutError")) == \
        "NetworkError: sendMessage: ReadTimeoutError"
    assert reason("Forbidden: bot was blocked by the user") == \
        "Forbidden: bot was blocked by the user"


@pytest.fixture
def root_logging():
    root, telebot_log = logging.getLogger(), logging.getLogger("TeleBot")
    saved = (root.handlers[:], root.level, telebot_log.level, telebot_log.handlers[:],
             telebot_log.propagate, sys.excepthook, threading.excepthook)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    telebot_log.setLevel(saved[2])
    telebot_log.handlers[:], telebot_log.propagate = saved[3], saved[4]
    sys.excepthook, threading.excepthook = saved[5], saved[6]


def test_an_exception_nothing_caught_is_logged_without_its_message(root_logging, monkeypatch):
    """Python would print it to stderr, message and all; the bot logs it like any other."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    logs.configure("INFO")
    thread = threading.Thread(target=_raise_with_personal_data, name="worker-9")
    thread.start()
    thread.join()
    out = stream.getvalue()
    assert "CRITICAL fitclub" in out and "uncaught ValueError in thread worker-9" in out
    assert "_raise_with_personal_data" in out
    assert NAME not in out and PHONE not in out


def test_pytelegrambotapi_logs_nothing_below_warning_at_log_level_debug(root_logging,
                                                                        monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    logs.configure("DEBUG")
    from telebot import apihelper

    # What pyTelegramBotAPI logs at DEBUG for every call it makes: the request's parameters.
    apihelper.logger.debug("Request: method=post url=x params={'chat_id': %s, 'text': '%s'}",
                           TELEGRAM_ID, NAME)
    apihelper.logger.info("Starting your bot with username: [@%s]", "zq_privacy")
    logging.getLogger("fitclub.x").debug("a line of the bot's own")
    out = stream.getvalue()
    assert NAME not in out and "zq_privacy" not in out
    assert "a line of the bot's own" in out
