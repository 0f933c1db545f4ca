"""The end-to-end harness: the bot as its own process, tgemu over HTTP, database checks.

The bot runs `tests/e2e/probe_bot.py` (the real app factory with the probe handlers), polling
(`Launcher.start`) or as a webhook instance (`Launcher.start_webhook`). Every process a Launcher
starts is killed by pid when the test ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2

from fitclub.devdb import free_port
from tests.helpers import query
from tgemu import Emulator

ROOT = Path(__file__).resolve().parents[2]
PROBE_BOT = Path(__file__).with_name("probe_bot.py")
# Any well-formed token: tgemu registers a bot for it on its first call.
TOKEN = "123456789:" + "e2eTestToken" + "x" * 23
# What webhook instances expect in X-Telegram-Bot-Api-Secret-Token (WEBHOOK_SECRET).
WEBHOOK_SECRET = "e2e-webhook-secret-" + "w" * 24

# Fast and generous defaults; a test overrides what it puts under test.
BASE_ENV = {
    "POLL_TIMEOUT": "1",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "plain",
    "SHUTDOWN_TIMEOUT": "10",
    "OUTBOUND_RATE": "300",
    "PER_CHAT_RATE": "50",
    "FLOOD_RATE": "1000",
    "FLOOD_BURST": "1000",
    "MAX_ATTEMPTS": "3",
    "WORKER_THREADS": "16",
    "SENDER_THREADS": "8",
    "DB_POOL_MAX": "40",
    "DB_CONNECT_TIMEOUT": "2",
    "CARD_SECRET": "e2e-card-secret-" + "s" * 32,
}


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1):
    """Poll check() until it returns something truthy; its value, or AssertionError naming what."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def inbox_status(db_url: str) -> Counter:
    """Inbox rows by status."""
    return Counter(dict(query(db_url, "SELECT status, count(*) FROM inbox GROUP BY status")))


def effects_per_update(db_url: str) -> Counter:
    """update_id -> how many probe effects committed for it."""
    rows = query(db_url, "SELECT entity_id, count(*) FROM audit_log"
                         " WHERE action = 'e2e.effect' GROUP BY entity_id")
    return Counter(dict(rows))


def bot_texts(emu: Emulator, user_id: int) -> list[str]:
    """Texts of the bot's messages in one chat, in the order tgemu received them."""
    return [e["text"] for e in emu.transcript(TOKEN, user_id) if e["kind"] == "message"]


class BotProcess:
    """One run of probe_bot.py; its log goes to a file next to the test's tmp files."""

    def __init__(self, env: dict[str, str], log_path: Path, metrics_port: int, *,
                 args: tuple[str, ...] = (), webhook_port: int | None = None) -> None:
        self.env = env
        self.log_path = log_path
        self.metrics_port = metrics_port
        #: The port of WEBHOOK_LISTEN for a webhook instance (None when polling).
        self.webhook_port = webhook_port
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in wait()/kill()
        self.proc = subprocess.Popen([sys.executable, str(PROBE_BOT), *args], env=env, cwd=ROOT,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid

    # -- process -----------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        """Exit code; raises subprocess.TimeoutExpired if still running after timeout."""
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        """SIGKILL and reap (no-op when already gone)."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # -- health and metrics ------------------------------------------------------------------

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        """(HTTP status, body) of a GET on the metrics port."""
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode()

    def healthz(self) -> tuple[int, dict]:
        status, body = self.get("/healthz")
        return status, json.loads(body)

    def metric(self, name: str, labels: str = "") -> float | None:
        """One sample of /metrics (labels as written there, e.g. 'queue="inbox"')."""
        _, body = self.get("/metrics")
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in body.splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if key == wanted:
                return float(value)
        return None

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until /healthz answers 200 and a poll has succeeded."""
        def ready():
            if not self.alive():
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n"
                                     f"{self.log_tail()}")
            try:
                status, body = self.healthz()
            except (OSError, ValueError):
                return False
            return status == 200 and body.get("seconds_since_poll") is not None

        wait_until(ready, timeout, "the bot to become healthy", interval=0.1)

    # -- webhook mode ------------------------------------------------------------------------

    def webhook_url(self, path: str = "/webhook") -> str:
        """http://127.0.0.1:<WEBHOOK_LISTEN port><path> of a webhook instance."""
        assert self.webhook_port is not None, "not a webhook instance"
        return f"http://127.0.0.1:{self.webhook_port}{path}"

    def webhook_get(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        """(HTTP status, body) of a GET on the webhook port (/healthz, /readyz)."""
        return _http("GET", self.webhook_url(path), None, {}, timeout)

    def readyz(self) -> tuple[int, dict]:
        """/readyz of the webhook port: 200 once started, 503 while starting or draining."""
        status, body = self.webhook_get("/readyz")
        return status, json.loads(body)

    def post_update(self, update: dict[str, Any] | bytes, *, secret: str | None = WEBHOOK_SECRET,
                    headers: dict[str, str] | None = None,
                    timeout: float = 15.0) -> tuple[int, str]:
        """POST an update (a dict, or raw bytes) to /webhook as Telegram does; (status, body).

        secret=None sends no secret header."""
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        sent = {"Content-Type": "application/json"}
        if secret is not None:
            sent["X-Telegram-Bot-Api-Secret-Token"] = secret
        sent.update(headers or {})
        return _http("POST", self.webhook_url(), body, sent, timeout)

    def wait_webhook_ready(self, timeout: float = 30.0) -> None:
        """Until /readyz on the webhook port answers 200."""
        def ready():
            if not self.alive():
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n"
                                     f"{self.log_tail()}")
            try:
                return self.readyz()[0] == 200
            except (OSError, ValueError):
                return False

        wait_until(ready, timeout, "the webhook instance to become ready", interval=0.1)


def _http(method: str, url: str, body: bytes | None, headers: dict[str, str],
          timeout: float) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


class Launcher:
    """Starts bot processes for one test and cleans every one of them up."""

    def __init__(self, tmp_path: Path, emu: Emulator) -> None:
        self.tmp_path = tmp_path
        self.emu = emu
        self.runs: list[BotProcess] = []

    def env(self, db_url: str | None, metrics_port: int | None = None,
            **settings: Any) -> dict[str, str]:
        """The environment a bot process gets: BASE_ENV, this tgemu, then `settings`."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        env.update(BASE_ENV)
        env.update({
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.emu.base_url,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PYTHONUNBUFFERED": "1",
        })
        if db_url is not None:
            env["DATABASE_URL"] = db_url
        if metrics_port is not None:
            env["METRICS_ADDR"] = f"127.0.0.1:{metrics_port}"
        env.update({k: str(v) for k, v in settings.items()})
        return env

    def start(self, db_url: str, *, wait: bool = True, **settings: Any) -> BotProcess:
        """Start the bot on db_url; keyword settings override BASE_ENV (e.g. OUTBOUND_RATE=50)."""
        port = free_port()
        run = BotProcess(self.env(db_url, port, **settings),
                         self.tmp_path / f"bot-{len(self.runs) + 1}.log", port)
        self.runs.append(run)
        if wait:
            run.wait_ready()
        return run

    def start_webhook(self, db_url: str, *, port: int | None = None, wait: bool = True,
                      **settings: Any) -> BotProcess:
        """Start a webhook instance (`bot.py webhook`) on db_url, listening on 127.0.0.1:port
        (a free one by default; `run.webhook_port` tells which); with wait, until /readyz is
        200. The secret is WEBHOOK_SECRET; keyword settings override as in start()."""
        metrics_port = free_port()
        webhook_port = port or free_port()
        env = self.env(db_url, metrics_port, WEBHOOK_LISTEN=f"127.0.0.1:{webhook_port}",
                       **settings)
        run = BotProcess(env, self.tmp_path / f"bot-{len(self.runs) + 1}.log", metrics_port,
                         args=("webhook",), webhook_port=webhook_port)
        self.runs.append(run)
        if wait:
            run.wait_webhook_ready()
        return run

    def bot_py(self, *args: str, db_url: str | None = None, timeout: float = 60.0,
               **settings: Any) -> subprocess.CompletedProcess:
        """Run `python bot.py <args>` to completion with this launcher's environment (for
        set-webhook, delete-webhook; `run` and `webhook` go through start/start_webhook)."""
        env = self.env(db_url, **settings)
        env.setdefault("METRICS_ADDR", "off")
        return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def close(self, failed: bool) -> None:
        for run in self.runs:
            run.kill()
        if failed:
            for i, run in enumerate(self.runs, 1):
                print(f"\n----- bot run {i} (pid {run.pid}, exit {run.proc.returncode}): "
                      f"last lines of {run.log_path} -----\n{run.log_tail()}")


class Stream:
    """Chats sending `n 1`, `n 2`, ... interleaved; knows what each update must cause."""

    def __init__(self, emu: Emulator, chats: int, prefix: str = "chat") -> None:
        self.emu = emu
        self.users = [emu.create_user(f"{prefix}{i}") for i in range(chats)]
        self.expected: dict[int, tuple[int, int]] = {}  # update_id -> (chat id, k)
        self.sent: dict[int, int] = {u.id: 0 for u in self.users}

    def send(self, per_chat: int) -> list[int]:
        """Each chat sends `per_chat` more numbered messages, round-robin; their update ids."""
        ids = []
        for _ in range(per_chat):
            for user in self.users:
                k = self.sent[user.id] + 1
                update_id = user.send_text(TOKEN, f"n {k}")
                assert update_id is not None, "tgemu did not turn the message into an update"
                self.sent[user.id] = k
                self.expected[update_id] = (user.id, k)
                ids.append(update_id)
        return ids

    @property
    def total(self) -> int:
        return len(self.expected)

    def replies(self) -> dict[int, list[str]]:
        """chat id -> texts the bot sent it, in arrival order."""
        return {u.id: bot_texts(self.emu, u.id) for u in self.users}

    def all_answered(self) -> bool:
        """Every chat has had `ack k` for each of its k (duplicates aside)."""
        return all(set(texts) >= {f"ack {k}" for k in range(1, self.sent[chat] + 1)}
                   for chat, texts in self.replies().items())

    def missing_answers(self) -> int:
        return sum(len({f"ack {k}" for k in range(1, self.sent[chat] + 1)} - set(texts))
                   for chat, texts in self.replies().items())

    def wait_processed(self, db_url: str, timeout: float) -> None:
        """Until every update is done in inbox and every chat has all its answers."""
        def finished():
            try:
                done = inbox_status(db_url).get("done", 0)
            except psycopg2.OperationalError:
                return False
            return done >= self.total and self.all_answered()

        wait_until(finished, timeout, f"all {self.total} updates done and answered",
                   interval=0.25)

    def assert_effects_exactly_once(self, db_url: str, others: tuple[int, ...] = ()) -> None:
        """One committed effect per update, carrying its own chat and k; inbox rows all done.

        `others`: updates sent outside the stream whose effects the caller checks itself."""
        rows = [(uid, details) for uid, details in query(
            db_url, "SELECT entity_id, details FROM audit_log WHERE action = 'e2e.effect'")
            if uid not in others]
        counts = Counter(uid for uid, _ in rows)
        lost = [u for u in self.expected if counts[u] == 0]
        doubled = {u: c for u, c in counts.items() if c > 1}
        unknown = [u for u in counts if u not in self.expected]
        assert not lost, f"{len(lost)} updates had no effect, e.g. {lost[:5]}"
        assert not doubled, f"{len(doubled)} updates applied more than once, e.g. " \
                            f"{list(doubled.items())[:5]}"
        assert not unknown, f"effects for updates never sent: {unknown[:5]}"
        for uid, details in rows:
            assert (details["chat"], details["k"]) == self.expected[uid], uid
        statuses = dict(query(db_url, "SELECT update_id, status FROM inbox"))
        assert {u: statuses.get(u) for u in self.expected} == \
            dict.fromkeys(self.expected, "done")

    def assert_replies_exactly_once_in_order(self) -> None:
        """Each chat got `ack 1`, `ack 2`, ... exactly once each, in that order."""
        wrong = {chat: texts for chat, texts in self.replies().items()
                 if texts != [f"ack {k}" for k in range(1, self.sent[chat] + 1)]}
        assert not wrong, f"{len(wrong)} chats got wrong replies, e.g. {list(wrong.items())[:2]}"


def wait_done_at_least(db_url: str, count: int, timeout: float) -> int:
    """Until inbox has at least `count` done rows; how many it had."""
    return wait_until(lambda: inbox_status(db_url).get("done", 0) >= count
                      and inbox_status(db_url).get("done", 0), timeout,
                      f"{count} updates done", interval=0.02)


def record_calls(emu: Emulator) -> list[tuple[float, str, str | None]]:
    """Stamp every Bot API call on arrival at this emulator: (monotonic time, method, chat_id).

    Wraps the instance's dispatch (tgemu keeps counts, not per-call times).
    """
    stamps: list[tuple[float, str, str | None]] = []
    lock = threading.Lock()
    dispatch = emu.call

    def stamped(token, method, params):
        chat = params.get("chat_id")
        with lock:
            stamps.append((time.monotonic(), method, None if chat is None else str(chat)))
        return dispatch(token, method, params)

    emu.call = stamped
    return stamps
