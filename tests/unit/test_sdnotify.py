"""The systemd notify protocol against a real datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fitclub.runtime.sdnotify import SystemdNotifier

# sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


class FakeSystemd:
    """A bound AF_UNIX datagram socket and the NOTIFY_SOCKET value that reaches it."""

    def __init__(self, sock: socket.socket, notify_socket: str) -> None:
        self.sock = sock
        self.notify_socket = notify_socket

    def receive(self, timeout: float = 2.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def drain(self) -> list[str]:
        """Every datagram already queued."""
        self.sock.setblocking(False)
        got = []
        try:
            while True:
                got.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return got

    def received_within(self, seconds: float) -> list[str]:
        """Every datagram that arrives in the next `seconds`."""
        got, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.receive(timeout=left))
            except TimeoutError:
                break
        return got


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    path = tmp_path / "notify.sock"
    short_dir = None
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        # A deep basetemp can outgrow sun_path; a short directory keeps the test about notify.
        short_dir = tempfile.TemporaryDirectory(prefix="sd-")
        path = Path(short_dir.name) / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        yield FakeSystemd(sock, str(path))
    finally:
        sock.close()
        if short_dir is not None:
            short_dir.cleanup()


@pytest.fixture
def abstract_systemd() -> Iterator[FakeSystemd]:
    name = f"fitclub-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        yield FakeSystemd(sock, "@" + name)
    finally:
        sock.close()


def test_ready_stopping_and_status_reach_systemd(systemd):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": systemd.notify_socket})
    assert notifier.enabled

    assert notifier.ready() is True
    assert systemd.receive() == "READY=1"
    assert notifier.status("polling, 3 updates waiting") is True
    assert systemd.receive() == "STATUS=polling, 3 updates waiting"
    assert notifier.stopping() is True
    assert systemd.receive() == "STOPPING=1"


def test_ready_with_status_is_one_datagram(systemd):
    SystemdNotifier({"NOTIFY_SOCKET": systemd.notify_socket}).ready("polling")
    assert systemd.receive() == "READY=1\nSTATUS=polling"


def test_a_newline_in_status_cannot_inject_another_assignment(systemd):
    SystemdNotifier({"NOTIFY_SOCKET": systemd.notify_socket}).status("ok\nREADY=1")
    assert systemd.receive() == "STATUS=ok READY=1"


def test_abstract_namespace_address(abstract_systemd):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": abstract_systemd.notify_socket})
    assert notifier.ready() is True
    assert abstract_systemd.receive() == "READY=1"


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({}, id="no-notify-socket"),
        pytest.param({"NOTIFY_SOCKET": ""}, id="empty"),
        pytest.param({"NOTIFY_SOCKET": "vsock:2:1234"}, id="not-af-unix"),
    ],
)
def test_disabled_without_a_usable_notify_socket(environ):
    notifier = SystemdNotifier({**environ, "WATCHDOG_USEC": "30000000"})
    assert notifier.enabled is False
    assert notifier.watchdog_interval is None
    assert notifier.notify("READY=1") is False
    assert notifier.start_watchdog(lambda: True, threading.Event()) is None


def test_a_missing_socket_returns_false_instead_of_raising(tmp_path):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.enabled
    assert notifier.ready() is False


@pytest.mark.parametrize(
    ("usec", "pid", "interval"),
    [
        pytest.param("30000000", None, 15.0, id="no-pid-means-us"),
        pytest.param("30000000", "self", 15.0, id="our-pid"),
        pytest.param("30000000", "other", None, id="another-pid"),
        pytest.param(None, None, None, id="no-watchdog"),
        pytest.param("0", None, None, id="zero"),
        pytest.param("soon", None, None, id="garbage"),
    ],
)
def test_watchdog_interval(systemd, usec, pid, interval):
    environ = {"NOTIFY_SOCKET": systemd.notify_socket}
    if usec is not None:
        environ["WATCHDOG_USEC"] = usec
    if pid is not None:
        environ["WATCHDOG_PID"] = str(os.getpid() if pid == "self" else os.getpid() + 1)
    assert SystemdNotifier(environ).watchdog_interval == interval


def test_watchdog_of_another_pid_starts_no_thread(systemd):
    notifier = SystemdNotifier(
        {
            "NOTIFY_SOCKET": systemd.notify_socket,
            "WATCHDOG_USEC": "40000",
            "WATCHDOG_PID": str(os.getpid() + 1),
        }
    )
    assert notifier.start_watchdog(lambda: True, threading.Event()) is None
    assert systemd.received_within(0.2) == []


def test_watchdog_pings_only_while_healthy_and_ends_on_stop(systemd):
    # 40 ms watchdog: a ping every 20 ms.
    notifier = SystemdNotifier({"NOTIFY_SOCKET": systemd.notify_socket, "WATCHDOG_USEC": "40000"})
    healthy = threading.Event()
    healthy.set()
    stop = threading.Event()

    thread = notifier.start_watchdog(healthy.is_set, stop)
    assert thread is not None and thread.daemon
    try:
        assert [systemd.receive() for _ in range(3)] == ["WATCHDOG=1"] * 3

        healthy.clear()
        # A ping decided just before the flip may still be on its way; let it land, then drop it.
        time.sleep(0.1)
        systemd.drain()
        assert systemd.received_within(0.3) == []

        healthy.set()
        assert systemd.receive() == "WATCHDOG=1"
    finally:
        stop.set()
        thread.join(timeout=2)
    assert not thread.is_alive()


def test_watchdog_treats_a_raising_check_as_unhealthy(systemd):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": systemd.notify_socket, "WATCHDOG_USEC": "40000"})
    stop = threading.Event()

    def check() -> bool:
        raise ConnectionError("database is down")

    thread = notifier.start_watchdog(check, stop)
    assert thread is not None
    try:
        assert systemd.received_within(0.2) == []
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=2)
    assert not thread.is_alive()
