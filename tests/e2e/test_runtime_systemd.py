"""Acceptance: the systemd notify protocol as a service manager sees it over NOTIFY_SOCKET."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import record_calls, wait_until


class NotifySocket:
    """A unix datagram socket standing in for systemd: collects (arrival time, message)."""

    def __init__(self) -> None:
        # sun_path holds about 100 bytes; pytest's tmp_path can be longer than that.
        self.dir = tempfile.TemporaryDirectory(prefix="fc-sd-")
        self.path = str(Path(self.dir.name) / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def times(self, line: str, since: float = 0.0) -> list[float]:
        return [t for t, msg in self.messages if line in msg.splitlines() and t >= since]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        self.dir.cleanup()


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    try:
        yield sock
    finally:
        sock.close()


def test_ready_once_polling_starts_and_watchdog_pings_only_while_healthy(
        emu, launcher, private_db, notify_socket):
    """READY=1 (with STATUS=polling) arrives once, after the bot prepared polling (its
    getWebhookInfo check) and with getUpdates under way; WATCHDOG=1 arrives every half
    WATCHDOG_USEC while healthy, stops while the database is down and resumes after."""
    dev, db_url = private_db
    calls = record_calls(emu)
    bot = launcher.start(db_url, NOTIFY_SOCKET=notify_socket.path, WATCHDOG_USEC=1_000_000)

    ready = wait_until(lambda: notify_socket.times("READY=1"), 10, "READY=1")
    assert len(ready) == 1
    message = next(msg for t, msg in notify_socket.messages if t == ready[0])
    assert "STATUS=polling" in message.splitlines()
    prepared = [t for t, method, _ in calls if method == "getWebhookInfo"]
    assert prepared and prepared[0] < ready[0]
    wait_until(lambda: any(m == "getUpdates" for _, m, _ in calls), 5, "getUpdates")

    healthy_since = time.monotonic()
    time.sleep(3)
    pings = notify_socket.times("WATCHDOG=1", since=healthy_since)
    assert len(pings) >= 4, f"{len(pings)} watchdog pings in 3 s at a 0.5 s interval"

    dev.stop()
    wait_until(lambda: bot.healthz()[0] == 503, 15, "/healthz to turn 503")
    quiet_from = time.monotonic() + 0.6  # a ping decided just before may still arrive
    time.sleep(3.1)
    assert notify_socket.times("WATCHDOG=1", since=quiet_from) == [], \
        "watchdog pings must stop while the database is down"

    dev.start()
    back = time.monotonic()
    wait_until(lambda: notify_socket.times("WATCHDOG=1", since=back), 10,
               "watchdog pings to resume")
    assert len(notify_socket.times("READY=1")) == 1
    assert bot.alive()
