"""RemoteEmulator: the Python API of a tgemu running in another process, over the control API.

It mirrors the in-process Emulator and SimUser for what tests and the load driver need, so the
same scenario runs against either.
"""

import base64
import http.client
import json
import threading
import urllib.parse

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ControlApiError(Exception):
    """A control API request failed; status is the HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status


class RemoteEmulator:
    """Talks to http://127.0.0.1:PORT/control/...; one keep-alive connection per thread."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        if parts.hostname not in _LOOPBACK:
            raise ValueError("tgemu is driven on 127.0.0.1 only")
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/bot{0}/{1}"
        self._host = parts.hostname
        self._port = parts.port or 80
        self._local = threading.local()
        self._conns: list[http.client.HTTPConnection] = []
        self._conns_lock = threading.Lock()

    def close(self):
        """Close every connection this client opened."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 60.0):
        """One JSON request; raises ControlApiError (TimeoutError for 408)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in (1, 2):
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (ConnectionError, http.client.RemoteDisconnected, BrokenPipeError):
                conn.close()  # a stale keep-alive connection: reconnect once
                if attempt == 2:
                    raise
        out = json.loads(raw)
        if resp.status == 408:
            raise TimeoutError(out.get("error", "timeout"))
        if not out.get("ok"):
            raise ControlApiError(resp.status, out.get("error", ""))
        return out

    def get(self, path: str, **query):
        qs = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return self.request("GET", f"/control/{path}" + (f"?{qs}" if qs else ""))

    def post(self, path: str, http_timeout: float = 60.0, **body):
        return self.request("POST", f"/control/{path}", body, timeout=http_timeout)

    # --- the Emulator API ----------------------------------------------------------------

    def add_bot(self, token: str, username: str | None = None, first_name: str | None = None):
        return self.post("bots", token=token, username=username, first_name=first_name)["bot"]

    def create_user(
        self,
        first_name: str = "User",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        phone_number: str | None = None,
    ):
        user = self.post(
            "users",
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            id=user_id,
            phone_number=phone_number,
        )["user"]
        return RemoteUser(self, user)

    def transcript(self, token: str, user_id: int, include_user: bool = False) -> list[dict]:
        events = self.get(
            "transcript", token=token, user_id=user_id, include_user=int(include_user)
        )["events"]
        for e in events:
            for key in ("photo", "document"):
                info = e.get(key)
                if isinstance(info, dict) and "bytes_base64" in info:
                    raw = info.pop("bytes_base64")
                    info["bytes"] = base64.b64decode(raw) if raw is not None else None
        return events

    def stats(self, token: str) -> dict:
        return self.get("stats", token=token)["stats"]

    def latencies(self, token: str) -> dict[int, float]:
        data = self.get("latencies", token=token)["latencies"]
        return {int(k): v for k, v in data.items()}

    def latency_percentiles(self, token: str) -> dict:
        return self.get("latencies", token=token)["percentiles"]

    def wait_answered(self, token: str, update_id: int, timeout: float = 10.0) -> float:
        return self.post(
            "wait_answered",
            http_timeout=timeout + 10,
            token=token,
            update_id=update_id,
            timeout=timeout,
        )["latency"]

    def configure(self, **changes) -> dict:
        return self.post("config", **changes)["config"]

    def inject_update(self, token: str, update: dict) -> int | None:
        """Deliver a raw Update as it is; returns the update_id it got (None if filtered)."""
        return self.post("inject", token=token, update=update)["update_id"]

    def redeliver(self, token: str, update_id: int, same_id: bool = True) -> int:
        """Deliver a given update once more (same update_id unless same_id=False)."""
        return self.post("redeliver", token=token, update_id=update_id, same_id=same_id)[
            "update_id"
        ]

    def pay(
        self, token: str, user_id: int, message_id: int, *, decline: bool = False, tip: int = 0
    ) -> dict:
        """The user pays the invoice message_id: the checkout as Emulator.pay, its result."""
        return self.request(
            "POST",
            f"/control/users/{user_id}/pay",
            {"token": token, "message_id": message_id, "decline": decline, "tip": tip},
            timeout=float(self.get("config")["config"]["pre_checkout_timeout"]) + 30,
        )["payment"]

    def checkouts(self, token: str) -> list[dict]:
        return self.get("checkouts", token=token)["checkouts"]

    def checkout_percentiles(self, token: str) -> dict:
        return self.get("checkouts", token=token)["percentiles"]

    def set_next_update_id(self, token: str, update_id: int) -> None:
        """The bot's next update gets this id (Telegram's restart after a week of silence)."""
        self.post("next_update_id", token=token, update_id=update_id)

    def commands_for(
        self,
        token: str,
        chat_id: int,
        language_code: str | None = None,
        user_id: int | None = None,
    ) -> list[dict]:
        return self.get(
            "commands",
            token=token,
            chat_id=chat_id,
            language_code=language_code,
            user_id=user_id,
        )["commands"]

    def create_group(
        self, title: str, members=(), supergroup: bool = False, username: str | None = None
    ) -> "RemoteGroup":
        group = self.post(
            "groups",
            title=title,
            members=[m.id for m in members],
            type="supergroup" if supergroup else "group",
            username=username,
        )["group"]
        return RemoteGroup(self, group)

    def create_channel(self, title: str, owner=None, username: str | None = None) -> "RemoteGroup":
        members = [owner.id] if owner is not None else []
        group = self.post(
            "groups", title=title, members=members, type="channel", username=username
        )["group"]
        return RemoteGroup(self, group)


class RemoteGroup:
    """A group, supergroup or channel of a RemoteEmulator, with Group's and Channel's actions."""

    def __init__(self, emu: RemoteEmulator, group: dict):
        self.emu = emu
        self.group = group
        self.id = group["id"]
        self.type = group["type"]

    def _do(self, action: str, token: str, user=None, **body):
        if user is not None:
            body["user_id"] = user.id
        return self.emu.post(f"groups/{self.id}/{action}", token=token, **body)

    def add_bot(self, token: str, by=None, administrator: bool = False):
        return self._do("add_bot", token, by, administrator=administrator)["update_id"]

    def remove_bot(self, token: str, by=None):
        return self._do("remove_bot", token, by)["update_id"]

    def add_member(self, user, status: str = "member"):
        self.group = self._do("add_member", None, user, status=status)["group"]

    def send_text(self, token: str, user, text: str, reply_to: int | None = None):
        return self._do("send_text", token, user, text=text, reply_to=reply_to)["update_id"]

    def send_anonymous(self, token: str, text: str, reply_to: int | None = None):
        return self._do("send_text", token, None, text=text, reply_to=reply_to)["update_id"]

    def press_button(self, token: str, user, message_id: int, callback_data: str):
        return self._do(
            "press_button", token, user, message_id=message_id, callback_data=callback_data
        )["update_id"]

    def post(self, token: str, text: str, author_signature: str | None = None):
        return self._do("post", token, text=text, author_signature=author_signature)["update_id"]

    def edit_post(self, token: str, message_id: int, text: str):
        return self._do("edit_post", token, message_id=message_id, text=text)["update_id"]

    def transcript(self, token: str, include_user: bool = False) -> list[dict]:
        return self.emu.transcript(token, self.id, include_user)


class RemoteUser:
    """A simulated user of a RemoteEmulator, with SimUser's methods."""

    def __init__(self, emu: RemoteEmulator, user: dict):
        self.emu = emu
        self.user = user
        self.id = user["id"]

    def _do(self, action: str, token: str, http_timeout: float = 60.0, **body):
        return self.emu.request(
            "POST",
            f"/control/users/{self.id}/{action}",
            {"token": token, **body},
            timeout=http_timeout,
        )

    def send_text(self, token: str, text: str):
        return self._do("send_text", token, text=text)["update_id"]

    def send_contact(self, token: str, phone: str | None = None, first_name: str | None = None):
        return self._do("send_contact", token, phone=phone, first_name=first_name)["update_id"]

    def send_location(self, token: str, latitude: float, longitude: float):
        return self._do("send_location", token, latitude=latitude, longitude=longitude)["update_id"]

    def send_photo(self, token: str, data: bytes, caption: str | None = None):
        return self._do(
            "send_photo", token, data_base64=base64.b64encode(data).decode(), caption=caption
        )["update_id"]

    def press_button(self, token: str, message_id: int, callback_data: str):
        return self._do("press_button", token, message_id=message_id, callback_data=callback_data)[
            "update_id"
        ]

    def block(self, token: str):
        return self._do("block", token)["update_id"]

    def unblock(self, token: str):
        return self._do("unblock", token)["update_id"]

    def wait_for_messages(self, token: str, count: int = 1, timeout: float = 10.0):
        return self._do(
            "wait_for_messages", token, http_timeout=timeout + 10, count=count, timeout=timeout
        )["messages"]

    def read_messages(self, token: str):
        return self._do("read_messages", token)["messages"]

    def pay(self, token: str, message_id: int, *, decline: bool = False, tip: int = 0) -> dict:
        """Pay the bot's invoice message_id (see Emulator.pay)."""
        return self.emu.pay(token, self.id, message_id, decline=decline, tip=tip)

    def skip_messages(self, token: str) -> int:
        return self._do("skip_messages", token)["skipped"]
