"""Bot API client on a pooled urllib3, for our sender and poller and for pyTelegramBotAPI.

pyTelegramBotAPI's default client (requests) costs about twice the CPU per call; its
`apihelper.CUSTOM_REQUEST_SENDER` hook lets the same pooled client serve its calls too.
Error messages never contain the request URL: it holds the token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from fitclub.runtime.context import current_or_none

log = logging.getLogger(__name__)


def reason(description: str) -> str:
    """Telegram's reason for an error without its particulars, for log lines: "Bad Request:
    can't parse entities" of "...: Unsupported start tag "x" at byte offset 3" (particulars
    may quote what was sent)."""
    return ": ".join(description.split(": ", 2)[:2])[:100]


class TelegramError(Exception):
    """The Bot API answered ok=false (or an HTTP error without a JSON body)."""

    def __init__(self, method: str, code: int, description: str,
                 retry_after: float | None = None) -> None:
        self.method = method
        self.code = code
        self.description = description
        self.retry_after = retry_after
        super().__init__(f"{method}: {code} {description}")

    def log_line(self) -> str:
        """Method, code and reason, no particulars (fitclub.logs.describe)."""
        return f"{self.method}: {self.code} {reason(self.description)}"

    @property
    def blocked(self) -> bool:
        """The user blocked the bot, deleted their account, or the bot was kicked."""
        return self.code == 403

    @property
    def transient(self) -> bool:
        """Worth retrying as is (server-side trouble)."""
        return self.code >= 500


class HandlerCalledTelegram(RuntimeError):
    """A handler called the Bot API itself instead of replying through its context."""


class NetworkError(Exception):
    """No answer: connection refused or dropped, or a timeout. The call may have arrived."""

    def log_line(self) -> str:
        """The method and the error's type, all the message holds (fitclub.logs.describe)."""
        return str(self)


@dataclass
class _Response:
    """Enough of requests.Response for pyTelegramBotAPI's result checks."""

    status_code: int
    text: str
    reason: str

    def json(self) -> Any:
        return json.loads(self.text)


class BotApi:
    """Calls Bot API methods over one pooled, keep-alive HTTP client."""

    def __init__(self, base_url: str, token: str, *, connect_timeout: float = 5.0,
                 read_timeout: float = 15.0, maxsize: int = 16) -> None:
        self.base_url = base_url.rstrip("/")
        self._prefix = f"{self.base_url}/bot{token}/"
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # block=False: a burst beyond maxsize opens extra connections instead of waiting.
        self.http = urllib3.PoolManager(num_pools=4, maxsize=maxsize, block=False,
                                        retries=False)

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             files: dict[str, tuple[str, bytes]] | None = None,
             timeout: float | None = None) -> Any:
        """Call a method; returns its result or raises TelegramError / NetworkError."""
        url = self._prefix + method
        tmo = urllib3.Timeout(connect=self.connect_timeout, read=timeout or self.read_timeout)
        try:
            if files:
                fields: dict[str, Any] = {
                    k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                    for k, v in (params or {}).items() if v is not None}
                fields.update(files)
                resp = self.http.request("POST", url, fields=fields, timeout=tmo)
            else:
                body = json.dumps({k: v for k, v in (params or {}).items() if v is not None},
                                  ensure_ascii=False).encode()
                resp = self.http.request("POST", url, body=body, timeout=tmo,
                                         headers={"Content-Type": "application/json"})
        except Urllib3Error as exc:
            raise NetworkError(f"{method}: {type(exc).__name__}") from None
        return self._result(method, resp.status, resp.data)

    @staticmethod
    def _result(method: str, status: int, data: bytes) -> Any:
        try:
            answer = json.loads(data)
        except ValueError:
            raise TelegramError(method, status, f"HTTP {status} without a JSON body") from None
        if not isinstance(answer, dict):
            raise TelegramError(method, status, "unexpected answer")
        if answer.get("ok"):
            return answer.get("result")
        params = answer.get("parameters") or {}
        raise TelegramError(method, int(answer.get("error_code") or status),
                            str(answer.get("description") or "no description"),
                            params.get("retry_after"))

    # -- pyTelegramBotAPI hook -------------------------------------------------------------

    def telebot_sender(self, method: str, url: str, params: dict | None = None,
                       files: dict | None = None, timeout: Any = None,
                       proxies: Any = None) -> _Response:
        """apihelper.CUSTOM_REQUEST_SENDER: same signature as requests' session.request."""
        del proxies  # no proxies between us and the Bot API
        if current_or_none() is not None:
            # A handler holds its update's database connection: a Bot API call here would
            # hold it through the network round trip, and its effect would escape a rollback.
            raise HandlerCalledTelegram(
                "handlers must not call Telegram directly; reply through ctx.reply(), "
                "ctx.edit(), ctx.answer_callback() and the like")
        fields: dict[str, Any] = {}
        for key, value in (params or {}).items():
            fields[key] = value if isinstance(value, str) else json.dumps(value)
        for key, value in (files or {}).items():
            if isinstance(value, tuple):
                name, fileobj = value[0], value[1]
            else:
                name, fileobj = getattr(value, "name", key), value
            data = fileobj.read() if hasattr(fileobj, "read") else fileobj
            fields[key] = (str(name), data)
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        tmo = urllib3.Timeout(connect=connect or self.connect_timeout,
                              read=read or self.read_timeout)
        try:
            if files or method.upper() != "GET":
                resp = self.http.request("POST", url, fields=fields, timeout=tmo)
            else:
                resp = self.http.request("GET", url, fields=fields, timeout=tmo)
        except Urllib3Error as exc:
            raise NetworkError(f"{url.rsplit('/', 1)[-1]}: {type(exc).__name__}") from None
        return _Response(resp.status, resp.data.decode("utf-8", "replace"), resp.reason or "")

    def install_for_telebot(self) -> None:
        """Point pyTelegramBotAPI at our base URL and route its calls through this client."""
        from telebot import apihelper

        apihelper.API_URL = self.base_url + "/bot{0}/{1}"
        apihelper.FILE_URL = self.base_url + "/file/bot{0}/{1}"
        apihelper.CUSTOM_REQUEST_SENDER = self.telebot_sender

    def close(self) -> None:
        """Close pooled connections."""
        self.http.clear()
