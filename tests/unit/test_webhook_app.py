"""The webhook's WSGI callable on its own (no server): how much of a body it reads, whatever
the WSGI server in front of it; waitress itself is tested in tests/integration/test_webhook.py."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from fitclub.runtime.webhook import WebhookApp

SECRET = "unit-webhook-secret-" + "u" * 20
LIMIT = 1024


class CountingInput(io.BytesIO):
    """wsgi.input that counts the bytes the app asked for and got."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def _call(body: bytes, *, content_length: str | None, terminated: bool = False,
          secret: str = SECRET) -> tuple[int, dict, CountingInput, list]:
    taken: list[dict[str, Any]] = []
    app = WebhookApp(secret=SECRET, max_body=LIMIT, take=taken.append,
                     database_ok=lambda: True)
    stream = CountingInput(body)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhook", "wsgi.input": stream,
               "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret}
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    if terminated:
        environ["wsgi.input_terminated"] = True
    seen: list[str] = []
    answer = b"".join(app(environ, lambda status, headers: seen.append(status)))
    return int(seen[0].split()[0]), json.loads(answer), stream, taken


def test_a_length_over_the_limit_is_refused_without_reading_the_body():
    status, _, stream, taken = _call(b"x" * 5000, content_length="5000")
    assert (status, stream.taken, taken) == (413, 0, [])


def test_a_body_without_a_length_is_read_only_to_one_byte_past_the_limit():
    big = json.dumps({"update_id": 1, "pad": "p" * 10 * LIMIT}).encode()
    status, _, stream, taken = _call(big, content_length=None, terminated=True)
    assert (status, stream.taken, taken) == (413, LIMIT + 1, [])


def test_a_body_without_a_length_within_the_limit_is_stored():
    status, answer, _, taken = _call(b'{"update_id": 5}', content_length=None,
                                     terminated=True)
    assert (status, answer, taken) == (200, {"ok": True}, [{"update_id": 5}])


@pytest.mark.parametrize("content_length", ["abc", "-5", ""])
def test_a_length_that_is_not_a_size_is_a_bad_request(content_length):
    status, _, stream, taken = _call(b'{"update_id": 5}', content_length=content_length)
    assert (status, stream.taken, taken) == (400, 0, [])


def test_the_wrong_secret_reads_nothing():
    status, _, stream, taken = _call(b'{"update_id": 5}', content_length="16", secret="nope")
    assert (status, stream.taken, taken) == (403, 0, [])


def test_a_store_that_fails_is_500_and_counted_out_of_flight():
    def failing(update):
        raise RuntimeError("database away")

    app = WebhookApp(secret=SECRET, max_body=LIMIT, take=failing, database_ok=lambda: True)
    seen: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhook", "CONTENT_LENGTH": "16",
               "wsgi.input": io.BytesIO(b'{"update_id": 5}'),
               "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": SECRET}
    app(environ, lambda status, headers: seen.append(status))
    assert seen == ["500 Internal Server Error"]
    assert app.in_flight() == 0
    assert app.drain(timeout=0.1) is True
