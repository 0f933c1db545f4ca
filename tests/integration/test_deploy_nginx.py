"""deploy/nginx/fitclub-bot.conf, run by a real nginx in front of stand-in instances.

nginx runs the shipped site through tests/nginx.Nginx (as in the fleet's acceptance test): as
shipped except for what only a test may change, its listen address (a free 127.0.0.1 port),
the instances' ports (stand-ins here, that record what reaches them and answer as told), the
secret path (a random one in the shipped `location =` line), the log directory, and the body
limit, which stays the shipped one here. A minimal main config includes it in an http block,
as Debian's nginx.conf includes sites-enabled/.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fitclub.config import Settings
from fitclub.devdb import free_port
from tests.e2e.harness import wait_until
from tests.nginx import SHIPPED_PORTS, SITE, Nginx, skip_reason

# WEBHOOK_MAX_BODY's default, which the shipped client_max_body_size must equal.
MAX_BODY = int(Settings.__dataclass_fields__["webhook_max_body"].metadata["default"])

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


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
    """The running nginx, as a client and a reader of the shipped access log see it."""

    def __init__(self, nginx: Nginx) -> None:
        self.nginx = nginx
        self.path = nginx.path

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.nginx.port, timeout=15)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def access_log(self) -> str:
        """The site's own access log (not the test's fleet log beside it)."""
        path = self.nginx.dir / "fitclub-bot.access.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def site(tmp_path: Path, instances: list[Instance]) -> Iterator[Site]:
    nginx = Nginx(tmp_path, [i.port for i in instances], max_body=MAX_BODY)
    try:
        yield Site(nginx.start())
    finally:
        nginx.stop()


def checked_only(tmp_path: Path) -> Nginx:
    """The site as the tests run it, for `nginx -t` (instances on ports nobody dials)."""
    return Nginx(tmp_path, [1, 2, 3], max_body=MAX_BODY)


UPDATE = {"update_id": 7001, "message": {"message_id": 1, "date": 0,
                                         "chat": {"id": 555000111, "type": "private"},
                                         "from": {"id": 555000111, "is_bot": False,
                                                  "first_name": "Olga"},
                                         "text": "private words"}}
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": "s" * 40,
                 "Content-Type": "application/json"}


def test_nginx_accepts_the_site(tmp_path):
    result = checked_only(tmp_path).check()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_test_catches_a_broken_site(tmp_path):
    nginx = checked_only(tmp_path)
    assert "least_conn;" in nginx.site
    nginx.site = nginx.site.replace("least_conn;", "least_conn")
    result = nginx.check()
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
    nginx = checked_only(tmp_path)
    text = nginx.site
    tls_lines = [line for line in text.splitlines()
                 if re.match(r"\s*# (listen .*443 ssl|ssl_)", line)]
    assert len(tls_lines) == 5, tls_lines
    for line in tls_lines:
        text = text.replace(line, line.replace("# ", "", 1))
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{free_port()} ssl;")
    text = text.replace("listen [::]:443 ssl;", "")
    text = text.replace("/etc/letsencrypt/live/bot.example.org/fullchain.pem", str(cert))
    text = text.replace("/etc/letsencrypt/live/bot.example.org/privkey.pem", str(key))
    nginx.site = text
    result = nginx.check()
    assert result.returncode == 0, result.stderr
