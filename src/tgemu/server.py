"""The HTTP server: Bot API, file downloads, control API and the web chat on one port.

HTTP/1.1 keep-alive with one daemon thread per connection; responses are written in one piece
with TCP_NODELAY so a client doing request/response on one connection is not held up by
delayed ACKs.
"""

import contextlib
import json
import logging
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tgemu import control
from tgemu.emulator import DropConnection, Params
from tgemu.errors import NOT_FOUND
from tgemu.files import guess_mime

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
MAX_BODY = 60 * 1024 * 1024


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers its connections so stop() can close idle keep-alives."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, emu, address):
        self.emu = emu
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_all(self):
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)


def make_server(emu, host: str, port: int) -> Server:
    return Server(emu, (host, port))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tgemu"

    def log_message(self, format, *args):
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_HEAD(self):
        self._send(405, b"", "text/plain")

    # --- plumbing --------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None
    ):
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
        ]
        if headers:
            head.extend(f"{k}: {v}" for k, v in headers.items())
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        self.wfile.write(data)

    def _send_json(self, status: int, obj):
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def _handle(self):
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send_json(
                413, {"ok": False, "error_code": 413, "description": "Request Entity Too Large"}
            )
            return
        try:
            if path.startswith("/bot"):
                self._bot_api(path, query, body)
            elif path.startswith("/file/bot"):
                self._file_download(path)
            elif path.startswith("/control/"):
                status, payload, ctype = control.handle(
                    self.server.emu, self.command, path, query, body
                )
                if isinstance(payload, bytes):
                    self._send(status, payload, ctype)
                else:
                    self._send_json(status, payload)
            elif path in ("/", "/index.html"):
                self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
            else:
                self._send_json(404, NOT_FOUND.body())
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client went away first
                self.connection.shutdown(socket.SHUT_RDWR)

    def _bot_api(self, path: str, query: str, body: bytes):
        token, _, method = path[4:].partition("/")
        if not method or "/" in method:
            self._send_json(404, NOT_FOUND.body())
            return
        try:
            params = parse_params(query, self.headers.get("Content-Type", ""), body)
        except ValueError as exc:
            self._send_json(
                400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
            )
            return
        status, payload = self.server.emu.call(urllib.parse.unquote(token), method, params)
        headers = None
        if status == 429:
            headers = {"Retry-After": payload["parameters"]["retry_after"]}
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers=headers)

    def _file_download(self, path: str):
        _token, _, file_path = path[len("/file/bot") :].partition("/")
        rec = self.server.emu.files.by_path(urllib.parse.unquote(file_path))
        if rec is None or rec.data is None:
            self._send_json(404, NOT_FOUND.body())
            return
        self._send(200, rec.data, rec.mime_type or guess_mime(rec.data, rec.file_name))


def parse_params(query: str, content_type: str, body: bytes) -> Params:
    """Merge parameters as Telegram does: query string, then the body (form, multipart, JSON)."""
    values: dict = {}
    files: dict = {}
    if query:
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            values[key] = value
    if body:
        ctype = content_type.split(";", 1)[0].strip().lower()
        if ctype == "application/json":
            try:
                obj = json.loads(body)
            except ValueError:
                raise ValueError("can't parse JSON object") from None
            if isinstance(obj, dict):
                values.update(obj)
        elif ctype == "multipart/form-data":
            _parse_multipart(content_type, body, values, files)
        else:
            for key, value in urllib.parse.parse_qsl(
                body.decode("utf-8", "replace"), keep_blank_values=True
            ):
                values[key] = value
    return Params(values, files)


def _parse_multipart(content_type: str, body: bytes, values: dict, files: dict):  # noqa: PLR0912
    boundary = None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ValueError("multipart boundary not found")
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")  # noqa: PLW2901 - each part is trimmed in place
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        name = filename = None
        part_type = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                for item in value.split(";"):
                    k, _, v = item.strip().partition("=")
                    if k == "name":
                        name = v.strip('"')
                    elif k == "filename":
                        filename = v.strip('"')
            elif key.strip().lower() == "content-type":
                part_type = value.strip()
        if name is None:
            continue
        if filename is not None:
            files[name] = (filename or None, data, part_type)
        else:
            values[name] = data.decode("utf-8", "replace")
