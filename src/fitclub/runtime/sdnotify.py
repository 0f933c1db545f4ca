"""The systemd notify protocol (READY, STATUS, STOPPING, WATCHDOG) without libsystemd."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

# A notify datagram goes to a local socket systemd reads at once; if it ever stops reading,
# a bounded wait keeps the caller (a worker, the shutdown path) from hanging on a status line.
SEND_TIMEOUT = 1.0


def _socket_address(value: str) -> str | None:
    """The AF_UNIX address for NOTIFY_SOCKET, or None when it is not one we can use."""
    if value.startswith("@"):
        # Linux abstract namespace: systemd writes the leading NUL byte as '@'.
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    # vsock: addresses (systemd in a VM talking to its host) are not needed for a bot service.
    return None


def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Seconds between pings, half of WATCHDOG_USEC as sd_watchdog_enabled advises, or None."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = environ.get("WATCHDOG_PID", "")
    # WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the
    # variables (or a parent that spawned us) must not ping on its behalf.
    if pid and pid != str(os.getpid()):
        return None
    return usec / 2 / 1e6


class SystemdNotifier:
    """Sends state changes to systemd when NOTIFY_SOCKET is set; does nothing otherwise."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._address = _socket_address(raw) if raw else None
        if raw and self._address is None:
            log.debug("NOTIFY_SOCKET=%r is not an AF_UNIX address; systemd notify is off", raw)
        self.enabled = self._address is not None
        self.watchdog_interval = _watchdog_interval(env) if self.enabled else None

    def notify(self, *states: str) -> bool:
        """Send one datagram of `KEY=value` lines; True when it was sent, never raises."""
        if self._address is None or not states:
            return False
        message = "\n".join(states).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.settimeout(SEND_TIMEOUT)
                sock.sendto(message, self._address)
        except OSError:
            # systemd gone or restarting: the service keeps running; losing a status is harmless.
            log.debug("systemd notify %r failed", states, exc_info=True)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        """Tell systemd start-up is complete (Type=notify waits for this)."""
        if status:
            return self.notify("READY=1", _status_line(status))
        return self.notify("READY=1")

    def stopping(self) -> bool:
        """Tell systemd the service is shutting down on purpose."""
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        """Set the one-line status `systemctl status` shows."""
        return self.notify(_status_line(text))

    def start_watchdog(
        self, healthy: Callable[[], bool], stop: threading.Event
    ) -> threading.Thread | None:
        """Ping WATCHDOG=1 every `watchdog_interval` while `healthy()` is True, until `stop`.

        An unhealthy (or raising) check skips the ping rather than ending the thread: if the
        bot recovers within WatchdogSec it carries on, and if it stays wedged systemd kills and
        restarts it. None when systemd asked for no watchdog.
        """
        interval = self.watchdog_interval
        if interval is None:
            return None

        def run() -> None:
            was_ok = True
            while not stop.is_set():
                try:
                    ok = healthy()
                except Exception:
                    log.debug("watchdog health check raised", exc_info=True)
                    ok = False
                if ok:
                    self.notify("WATCHDOG=1")
                # Only the changes are logged: they say when a later watchdog kill began.
                if ok != was_ok:
                    if ok:
                        log.info("healthy again; systemd watchdog pings resumed")
                    else:
                        log.warning("unhealthy; systemd watchdog pings withheld")
                    was_ok = ok
                if stop.wait(interval):
                    return

        thread = threading.Thread(target=run, name="sd-watchdog", daemon=True)
        thread.start()
        return thread


def _status_line(text: str) -> str:
    # A newline inside the text would start a new KEY=value assignment in the datagram.
    return "STATUS=" + " ".join(text.split())
