"""A real nginx running the shipped site, deploy/nginx/fitclub-bot.conf, in front of real
webhook instances: `least_conn` over them, a secret path proxied to `/webhook`,
`client_max_body_size` equal to WEBHOOK_MAX_BODY, `proxy_next_upstream error timeout http_502
http_503 non_idempotent` with a short connect timeout.

The site is used as shipped except for what only a test may change: its listen address (a free
127.0.0.1 port), the instances' ports (one to three; the shipped lines beyond them are left
out), the secret path, the body limit (the instances' WEBHOOK_MAX_BODY) and the log directory.
A minimal main config includes it in an http block, as Debian's nginx.conf includes
sites-enabled/, and adds one access log of its own that names, for every request, its time,
each instance tried and what each answered (the shipped log has no sub-second times).

nginx runs as one process (`master_process off`: no worker is left behind when it is killed by
pid) with its files in the test's own directory; `stop` kills it by pid.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fitclub.devdb import free_port
from tools import servers

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "fitclub-bot.conf"
SHIPPED_PORTS = (8441, 8442, 8443)
SHIPPED_MAX_BODY = 1048576
SHIPPED_PATH = "/telegram/CHANGE-ME-TO-A-LONG-RANDOM-PATH"

# Tab-separated, one request a line; `$upstream_addr` and `$upstream_status` list every
# instance tried, comma-separated, in order.
LOG_FORMAT = "$msec\\t$status\\t$upstream_addr\\t$upstream_status\\t$request_length"

MAIN = """\
# Written by tests/nginx.py for one test.
master_process off;
worker_rlimit_nofile 4096;
error_log {dir}/main-error.log info;

events {{
    worker_connections 2048;
}}

http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    log_format fleet "{log_format}";
    include {dir}/site.conf;
}}
"""


def skip_reason() -> str | None:
    """Why nginx cannot run here (None when it can), with tools/servers.py's reason if any."""
    if servers.find("nginx"):
        return None
    if servers.REASON_FILE.exists():
        return f"nginx is missing: {servers.REASON_FILE.read_text().strip()}"
    return "nginx is missing (python tools/servers.py installs it)"


def _swap(text: str, old: str, new: str) -> str:
    """text with `old` replaced; AssertionError when the shipped site no longer has it."""
    assert old in text, f"{SITE.name} no longer contains {old!r}: update tests/nginx.py"
    return text.replace(old, new)


def site_for_test(site: str, directory: Path, port: int, upstream_ports: list[int],
                  path: str, max_body: int) -> str:
    """The shipped site with the test's listen port, instances, secret path, body limit and
    log directory, plus the fleet access log."""
    if not 1 <= len(upstream_ports) <= len(SHIPPED_PORTS):
        raise ValueError(f"1 to {len(SHIPPED_PORTS)} instances, not {len(upstream_ports)}")
    site = _swap(site, "listen 80;", f"listen 127.0.0.1:{port};")
    ipv6 = re.search(r"^\s*listen \[::\]:80;\n", site, re.M)
    assert ipv6, f"{SITE.name} no longer listens on [::]:80"
    site = site.replace(ipv6.group(0), "")
    site = _swap(site, "/var/log/nginx/", f"{directory}/")
    for i, shipped in enumerate(SHIPPED_PORTS):
        line = re.search(rf"^\s*server 127\.0\.0\.1:{shipped} [^\n]*\n", site, re.M)
        assert line, f"{SITE.name} no longer has an instance on port {shipped}"
        ours = (line.group(0).replace(f":{shipped} ", f":{upstream_ports[i]} ")
                if i < len(upstream_ports) else "")
        site = site.replace(line.group(0), ours)
    site = _swap(site, f"location = {SHIPPED_PATH} ", f"location = {path} ")
    site = _swap(site, f"client_max_body_size {SHIPPED_MAX_BODY};",
                 f"client_max_body_size {max_body};")
    site = _swap(site, f"client_body_buffer_size {SHIPPED_MAX_BODY};",
                 f"client_body_buffer_size {max_body};")
    access = re.search(r"^\s*access_log [^\n]*\n", site, re.M)
    assert access, f"{SITE.name} no longer has an access_log line"
    return site.replace(access.group(0),
                        f"{access.group(0)}    access_log {directory}/fleet-access.log fleet;\n")


@dataclass(frozen=True)
class Request:
    """One line of the fleet access log."""

    time: float  # epoch seconds, when nginx finished the request
    status: int
    upstreams: tuple[str, ...]  # host:port of each instance tried, in order
    upstream_statuses: tuple[str, ...]  # what each answered ('502', '-' for no answer)
    request_length: int

    @property
    def answered_by(self) -> str | None:
        """The instance whose answer nginx passed on (the last one tried), if any."""
        return self.upstreams[-1] if self.upstreams else None


def _split(field: str) -> tuple[str, ...]:
    # Tries are listed "a, b"; an internal redirect would add " : " (the site has none).
    if field in ("", "-"):
        return ()
    return tuple(part.strip() for part in field.replace(" : ", ", ").split(","))


class Nginx:
    """One nginx running the shipped site in front of the instances on `upstream_ports`."""

    def __init__(self, workdir: Path, upstream_ports: list[int], *, max_body: int) -> None:
        self.dir = workdir
        self.upstream_ports = list(upstream_ports)
        self.max_body = max_body
        self.path = f"/telegram/{secrets.token_urlsafe(24)}"
        self.port = free_port()
        self.site = site_for_test(SITE.read_text(), workdir, self.port, self.upstream_ports,
                                  self.path, max_body)
        self.access_log = self.dir / "fleet-access.log"
        self.error_logs = (self.dir / "main-error.log", self.dir / "fitclub-bot.error.log")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The webhook URL to give setWebhook."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    @staticmethod
    def upstream(port: int) -> str:
        """How the access log names the instance on `port`."""
        return f"127.0.0.1:{port}"

    def _args(self) -> list[str]:
        return [servers.find("nginx") or "nginx", "-p", str(self.dir),
                "-e", str(self.error_logs[0]), "-c", str(self.dir / "nginx.conf"),
                "-g", f"daemon off; pid {self.dir}/nginx.pid;"]

    def check(self) -> subprocess.CompletedProcess:
        """Write the configs (the site as `self.site` holds it) and run `nginx -t` on them."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.dir / sub).mkdir(exist_ok=True)
        (self.dir / "site.conf").write_text(self.site)
        (self.dir / "nginx.conf").write_text(MAIN.format(dir=self.dir, log_format=LOG_FORMAT))
        return subprocess.run([*self._args(), "-t"], capture_output=True, text=True,
                              timeout=30, check=False)

    def start(self, timeout: float = 10.0) -> Nginx:
        """Write the configs, check them with `nginx -t`, start nginx, wait until it accepts."""
        checked = self.check()
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused the config:\n{checked.stderr}")
        self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n"
                                   f"{self.error_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not listen within {timeout}s:\n"
                                   f"{self.error_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (nginx's fast shutdown), SIGKILL by pid after 5 s; always reaped."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def error_tail(self, lines: int = 30) -> str:
        text = "".join(log.read_text(errors="replace") for log in self.error_logs
                       if log.exists())
        return "\n".join(text.splitlines()[-lines:]) or "(no error log)"

    def requests(self) -> list[Request]:
        """Every request logged so far, in the order nginx finished them."""
        if not self.access_log.exists():
            return []
        entries = []
        for line in self.access_log.read_text().splitlines():
            when, status, addrs, statuses, length = line.split("\t")
            entries.append(Request(float(when), int(status), _split(addrs), _split(statuses),
                                   int(length)))
        return entries

    def answered_by(self, since: float = 0.0) -> Counter:
        """instance -> requests it answered 2xx (finished at or after `since`, epoch time)."""
        return Counter(r.answered_by for r in self.requests()
                       if r.time >= since and 200 <= r.status < 300)
