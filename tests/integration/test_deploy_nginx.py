"""deploy/nginx/fitclub-bot.conf, run by a real nginx in front of stand-in instances.

The site is used as shipped except for what only a test may change: its listen address (a free
127.0.0.1 port), the instances' ports (stand-ins that record what reaches them and answer as
told) and the log directory. A minimal main config written here includes it in an http block,
as Debian's nginx.conf includes sites-enabled/.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fitclub.devdb import free_port
from tests.e2e.harness import wait_until

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "fitclub-bot.conf"
NGINX = Path("/usr/sbin/nginx")
SHIPPED_PORTS = (8441, 8442, 8443)
MAX_BODY = 1048576  # WEBHOOK_MAX_BODY's default

pytestmark = pytest.mark.skipif(not NGINX.exists(), reason="nginx is not installed "
                                "(apt-get install nginx-light, or python tools/servers.py)")

MAIN = """\
master_process off;
error_log {dir}/main-error.log info;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


def secret_path(site: str) -> str:
    return re.search(r"location = (/telegram/\S+) \{", site).group(1)


def site_for_test(site: str, directory: Path, port: int, upstream_ports: list[int]) -> str:
    """The shipped site with the test's listen port, instance ports and log directory."""
    assert "listen 80;" in site and "/var/log/nginx/" in site
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("listen [::]:80;", "")
    site = site.replace("/var/log/nginx/", f"{directory}/")
    for shipped, ours in zip(SHIPPED_PORTS, upstream_ports, strict=True):
        assert f"server 127.0.0.1:{shipped} " in site
        site = site.replace(f"server 127.0.0.1:{shipped} ", f"server 127.0.0.1:{ours} ")
    return site


def write_config(directory: Path, site: str) -> Path:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / sub).mkdir(exist_ok=True)
    (directory / "site.conf").write_text(site)
    main = directory / "nginx.conf"
    main.write_text(MAIN.format(dir=directory))
    return main


def nginx_args(directory: Path, main: Path) -> list[str]:
    return [str(NGINX), "-p", str(directory), "-e", str(directory / "main-error.log"),
            "-c", str(main), "-g", f"daemon off; pid {directory}/nginx.pid;"]


def nginx_test(directory: Path, site: str) -> subprocess.CompletedProcess:
    main = write_config(directory, site)
    return subprocess.run([*nginx_args(directory, main), "-t"], capture_output=True,
                          text=True, timeout=30, check=False)


class Instance:
    """A stand-in webhook instance: records each request and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        instance = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                instance.requests.append((self.command, self.path, dict(self.headers), body))
                self.send_response(instance.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def instances() -> Iterator[list[Instance]]:
    started = [Instance() for _ in SHIPPED_PORTS]
    try:
        yield started
    finally:
        for instance in started:
            instance.close()


class Site:
    def __init__(self, directory: Path, port: int, path: str) -> None:
        self.directory = directory
        self.port = port
        self.path = path

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def access_log(self) -> str:
        path = self.directory / "fitclub-bot.access.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def site(tmp_path: Path, instances: list[Instance]) -> Iterator[Site]:
    shipped = SITE.read_text()
    port = free_port()
    text = site_for_test(shipped, tmp_path, port, [i.port for i in instances])
    main = write_config(tmp_path, text)
    proc = subprocess.Popen(nginx_args(tmp_path, main), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listening() -> bool:
            assert proc.poll() is None, (tmp_path / "main-error.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return True
            return False

        wait_until(listening, 10, "nginx to listen")
        yield Site(tmp_path, port, secret_path(shipped))
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)


UPDATE = {"update_id": 7001, "message": {"message_id": 1, "date": 0,
                                         "chat": {"id": 555000111, "type": "private"},
                                         "from": {"id": 555000111, "is_bot": False,
                                                  "first_name": "Olga"},
                                         "text": "private words"}}
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": "s" * 40,
                 "Content-Type": "application/json"}


def test_nginx_accepts_the_site(tmp_path):
    text = site_for_test(SITE.read_text(), tmp_path, free_port(), [1, 2, 3])
    result = nginx_test(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_test_catches_a_broken_site(tmp_path):
    text = site_for_test(SITE.read_text(), tmp_path, free_port(), [1, 2, 3])
    result = nginx_test(tmp_path, text.replace("least_conn;", "least_conn"))
    assert result.returncode != 0
    assert "least_conn" in result.stderr or "unexpected" in result.stderr


def test_site_shape_follows_the_deployment_contract():
    text = SITE.read_text()
    upstream = text[text.index("upstream fitclub_webhook {"):text.index("server {")]
    assert "least_conn;" in upstream
    assert f"client_max_body_size {MAX_BODY};" in text
    assert "        proxy_next_upstream error timeout http_502 http_503 non_idempotent;" \
        in text.splitlines()
    assert "proxy_pass http://fitclub_webhook/webhook;" in text


def test_an_update_on_the_secret_path_reaches_an_instance_at_webhook(site, instances):
    body = json.dumps(UPDATE).encode()
    assert site.request("POST", site.path, body, SECRET_HEADER) == 200
    reached = [r for i in instances for r in i.requests]
    assert len(reached) == 1
    method, path, headers, received = reached[0]
    assert (method, path, received) == ("POST", "/webhook", body)
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == SECRET_HEADER[
        "X-Telegram-Bot-Api-Secret-Token"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/readyz", 404), ("GET", "/healthz", 404), ("GET", "/metrics", 404),
    ("POST", "/webhook", 404), ("POST", "/telegram/guessed", 404), ("GET", "SECRET", 403),
])
def test_nothing_else_reaches_the_instances(site, instances, method, path, status):
    path = site.path if path == "SECRET" else path
    assert site.request(method, path, json.dumps(UPDATE).encode(), SECRET_HEADER) == status
    assert [r for i in instances for r in i.requests] == []


@pytest.mark.parametrize(("size", "status", "forwarded"),
                         [(MAX_BODY, 200, 1), (MAX_BODY + 1, 413, 0)])
def test_body_size_limit_is_webhook_max_body(site, instances, size, status, forwarded):
    body = b'{"update_id": 1, "pad": "' + b"x" * (size - 27) + b'"}'
    assert len(body) == size
    assert site.request("POST", site.path, body, SECRET_HEADER) == status
    reached = [r for i in instances for r in i.requests]
    assert len(reached) == forwarded
    assert all(len(r[3]) == size for r in reached)


def test_a_draining_or_dead_instance_passes_its_update_to_another(site, instances):
    """503 (draining) and a refused connection (dead) both send the POST on; the one
    instance left answers every update."""
    instances[0].status = 503
    instances[1].close()
    for n in range(6):
        update = dict(UPDATE, update_id=8000 + n)
        assert site.request("POST", site.path, json.dumps(update).encode(), SECRET_HEADER) == 200
    answered = [json.loads(r[3])["update_id"] for r in instances[2].requests]
    assert sorted(answered) == list(range(8000, 8006))
    assert instances[0].requests, "the draining instance was never tried"


def test_access_log_names_no_secret_path_and_no_body(site, instances):
    site.request("POST", site.path, json.dumps(UPDATE).encode(), SECRET_HEADER)
    site.request("POST", site.path, b"x" * (MAX_BODY + 1), SECRET_HEADER)
    log = wait_until(lambda: site.access_log().count("\n") >= 2 and site.access_log(), 5,
                     "two lines in the access log")
    assert '"POST webhook" 200' in log and '"POST webhook" 413' in log
    secret = site.path.rsplit("/", 1)[1]
    for private in (secret, "555000111", "Olga", "private words", "s" * 40):
        assert private not in log


def test_the_commented_tls_example_is_valid_once_filled_in(tmp_path):
    """Uncommenting the TLS lines (with a certificate where the example names one) gives a
    config nginx accepts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (to make a certificate for the example)")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-subj", "/CN=bot.example.org", "-days", "1",
                           "-keyout", str(key), "-out", str(cert)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    text = site_for_test(SITE.read_text(), tmp_path, free_port(), [1, 2, 3])
    tls_lines = [line for line in text.splitlines()
                 if re.match(r"\s*# (listen .*443 ssl|ssl_)", line)]
    assert len(tls_lines) == 5, tls_lines
    for line in tls_lines:
        text = text.replace(line, line.replace("# ", "", 1))
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{free_port()} ssl;")
    text = text.replace("listen [::]:443 ssl;", "")
    text = text.replace("/etc/letsencrypt/live/bot.example.org/fullchain.pem", str(cert))
    text = text.replace("/etc/letsencrypt/live/bot.example.org/privkey.pem", str(key))
    result = nginx_test(tmp_path, text)
    assert result.returncode == 0, result.stderr
