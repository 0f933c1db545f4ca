"""`python bot.py demo`, driven as a person would: start it, chat through tgemu, stop it.

The demo runs as its own process in its own process group; whatever happens, teardown kills
that group by the demo's pid. Chatting goes through tgemu's HTTP control API on the demo's port.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fitclub.devdb import free_port
from tests import factories
from tests.helpers import query as _query

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
pytestmark = pytest.mark.xdist_group("demo")


@dataclass
class Demo:
    """A running `bot.py demo` and what its banner said."""

    proc: subprocess.Popen
    port: int
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    @property
    def banner(self) -> str:
        return "\n".join(self.lines)

    def find(self, pattern: str) -> str:
        match = re.search(pattern, self.banner)
        assert match, f"banner lacks {pattern!r}:\n{self.banner}"
        return match.group(1)

    def control(self, path: str, body: dict | None = None, timeout: float = 30.0) -> dict:
        """One request to tgemu's control API on the demo's port."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/control/{path}", data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read())
        assert answer["ok"], answer
        return answer

    def children(self) -> list[int]:
        """Pids of processes whose parent is the demo."""
        return [pid for pid, ppid, _ in _processes() if ppid == self.proc.pid]


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every live process."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            out.append((int(entry.name), int(fields[1]), cmdline))
    return out


def _start(port: int, **extra: str) -> Demo:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "PAYMENT_PROVIDER_TOKEN")}  # throwaway server
    env.update(LOG_LEVEL="INFO", PYTHONUNBUFFERED="1", **extra)
    proc = subprocess.Popen([sys.executable, "bot.py", "demo", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    demo = Demo(proc, port)

    def read():
        for line in proc.stdout:
            demo.lines.append(line.rstrip("\n"))
            if "Ctrl-C to stop" in line:
                demo.ready.set()

    demo.reader = threading.Thread(target=read, name="demo-output", daemon=True)
    demo.reader.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not demo.ready.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            _kill(demo)
            pytest.fail(f"demo did not start (exit {proc.poll()}):\n{demo.banner}")
    return demo


def _kill(demo: Demo) -> None:
    # The demo leads its own process group: this reaches the PostgreSQL server too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(demo.proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        demo.proc.wait(10)
    if demo.reader is not None:
        demo.reader.join(5)
    demo.proc.stdout.close()


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """One demo shared by the chatting tests below."""
    running = _start(free_port())
    try:
        yield running
    finally:
        running.proc.terminate()  # a clean stop removes the server's files; the kill is a backstop
        with contextlib.suppress(subprocess.TimeoutExpired):
            running.proc.wait(STOP_TIMEOUT)
        _kill(running)


def _send_and_read(demo: Demo, user_id: int, text: str) -> str:
    demo.control(f"users/{user_id}/skip_messages", {})
    demo.control(f"users/{user_id}/send_text", {"text": text})
    got = demo.control(f"users/{user_id}/wait_for_messages", {"count": 1, "timeout": 20},
                       timeout=40)
    return got["messages"][0]["text"]


def test_banner_names_the_web_chat_the_admin_user_and_how_to_stop(demo):
    assert f"http://127.0.0.1:{demo.port}/" in demo.banner
    assert 'as "You" (Telegram id 1000), an admin' in demo.banner
    assert "/healthz" in demo.banner
    assert "Ctrl-C to stop" in demo.banner


def test_web_chat_page_is_served_and_offers_you_first(demo):
    with urllib.request.urlopen(f"http://127.0.0.1:{demo.port}/", timeout=10) as resp:
        assert resp.status == 200
        assert b"<html" in resp.read().lower()
    users = demo.control("users")["users"]
    assert users[0]["id"] == 1000
    assert users[0]["first_name"] == "You"  # the page selects the first user


def test_start_from_the_web_chat_user_gets_the_main_menu(demo):
    reply = _send_and_read(demo, 1000, "/start")
    assert "<b>FitClub</b> · You" in reply or "FitClub · You" in reply
    assert "What would you like to do?" in reply


def test_a_new_web_chat_user_is_asked_to_register(demo):
    user = demo.control("users", {"first_name": "Guest"})["user"]
    assert "What's your name?" in _send_and_read(demo, user["id"], "/start")


def test_the_web_chat_user_is_an_admin_and_the_demo_data_is_there(demo):
    _send_and_read(demo, 1000, "/start")
    url = demo.find(r"Database:\s+(postgresql://\S+)")
    assert _query(url, "SELECT role FROM members WHERE telegram_id = 1000") == [("admin",)]
    plans, trainers, upcoming = _query(url, """
        SELECT (SELECT count(*) FROM membership_plans),
               (SELECT count(*) FROM members WHERE role = 'trainer'),
               (SELECT count(*) FROM classes
                 WHERE starts_at > now() AND starts_at < now() + interval '7 days')""")[0]
    assert (plans, trainers) == (3, 2)
    assert upcoming > 0


def test_health_answers_ok(demo):
    health = demo.find(r"Health:\s+(http://\S+/healthz)")
    with urllib.request.urlopen(health, timeout=10) as resp:
        assert json.loads(resp.read())["status"] == "ok"


def test_the_web_chat_user_buys_a_plan_with_the_demos_test_provider(demo):
    """The demo runs with a test provider token: Membership offers Buy/Renew with the price,
    the press sends an invoice, and paying it (the web chat's Pay) grants the plan."""
    url = demo.find(r"Database:\s+(postgresql://\S+)")
    assert "Payments:" in demo.banner
    demo.control("users/1000/skip_messages", {})
    demo.control("users/1000/send_text", {"text": "/membership"})
    (screen,) = demo.control("users/1000/wait_for_messages", {"count": 1, "timeout": 20},
                             timeout=40)["messages"]
    pay = next(b for row in screen["reply_markup"]["inline_keyboard"] for b in row
               if b.get("callback_data", "").startswith("pp"))
    assert "€" in pay["text"]
    demo.control("users/1000/press_button", {"message_id": screen["message_id"],
                                             "callback_data": pay["callback_data"]})
    (invoice,) = demo.control("users/1000/wait_for_messages", {"count": 1, "timeout": 20},
                              timeout=40)["messages"]
    assert invoice["invoice"]["currency"] == "EUR"
    payment = demo.control("users/1000/pay", {"message_id": invoice["message_id"]},
                           timeout=40)["payment"]
    assert payment["status"] == "paid", payment
    (told,) = demo.control("users/1000/wait_for_messages", {"count": 1, "timeout": 20},
                           timeout=40)["messages"]
    assert told["text"].startswith("✅ Paid:")
    assert _query(url, "SELECT p.status, p.amount_minor FROM payments p JOIN members m"
                       " ON m.id = p.member_id WHERE m.telegram_id = 1000") == [
        ("granted", invoice["invoice"]["total_amount"])]

    # The payments report (the demo's user is an admin) shows it.
    price = pay["text"].rsplit("· ", 1)[-1]
    demo.control("users/1000/send_text", {"text": "/report"})
    report = {}
    while not report.get("text", "").startswith("📊"):  # after the admins' payment notice
        (report,) = demo.control("users/1000/wait_for_messages", {"count": 1, "timeout": 20},
                                 timeout=40)["messages"]
    payments = next(b for row in report["reply_markup"]["inline_keyboard"] for b in row
                    if b.get("callback_data", "").startswith("qp"))
    demo.control("users/1000/press_button", {"message_id": report["message_id"],
                                             "callback_data": payments["callback_data"]})
    deadline = time.monotonic() + 20
    shown = ""
    while time.monotonic() < deadline and "Payments" not in shown.split("\n", 1)[0]:
        chat = demo.control("chat", {"user_id": 1000})
        shown = next((m.get("text", "") for m in chat["messages"]
                      if m["message_id"] == report["message_id"]), "")
        time.sleep(0.2)
    assert "Payments" in shown.split("\n", 1)[0], shown
    assert price in shown, (price, shown)


def test_payments_off_the_demo_keeps_the_request_flow():
    """PAYMENT_PROVIDER_TOKEN=off: the banner says payments are off, and Membership offers the
    plan requests an admin grants, no Buy."""
    off = _start(free_port(), PAYMENT_PROVIDER_TOKEN="off")
    try:
        assert "Payments:  off" in off.banner
        off.control("users/1000/skip_messages", {})
        off.control("users/1000/send_text", {"text": "/membership"})
        (screen,) = off.control("users/1000/wait_for_messages", {"count": 1, "timeout": 20},
                                timeout=40)["messages"]
        data = [b.get("callback_data", "") for row in screen["reply_markup"]["inline_keyboard"]
                for b in row]
        assert not any(d.startswith("pp") for d in data), data
    finally:
        _kill(off)


def test_a_taken_port_is_named_with_the_option_to_change_it(demo):
    res = subprocess.run([sys.executable, "bot.py", "demo", "--port", str(demo.port)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 2
    assert "--port" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def _nobody_listens(port: int) -> bool:
    # Connecting, not binding: the closed side of a connection may linger in TIME_WAIT.
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("how", ["ctrl-c to the group", "sigterm to the pid"])
def test_stopping_exits_0_and_leaves_nothing_running(how):
    demo = _start(free_port())
    try:
        assert "What would you like to do?" in _send_and_read(demo, 1000, "/start")
        children = demo.children()
        server = [cmd for pid, _, cmd in _processes() if pid in children and " -D " in cmd]
        assert server, "the throwaway PostgreSQL server should be the demo's child"
        datadir = re.search(r" -D (\S+)", server[0]).group(1)
        health_port = int(demo.find(r"Health:\s+http://127\.0\.0\.1:(\d+)/"))
        db_port = int(demo.find(r"Database:\s+postgresql://\S+:(\d+)/"))
        if how == "ctrl-c to the group":
            os.killpg(demo.proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        else:
            demo.proc.send_signal(signal.SIGTERM)
        assert demo.proc.wait(STOP_TIMEOUT) == 0, demo.banner
        demo.reader.join(5)
        assert "demo: stopped" in demo.banner
        still = [(pid, cmd) for pid, _, cmd in _processes()
                 if pid in children or datadir in cmd]
        assert still == []
        assert not Path(datadir).exists()
        for port in (demo.port, health_port, db_port):
            assert _nobody_listens(port), f"something still listens on port {port}"
    finally:
        _kill(demo)


def test_refuses_to_write_into_a_database_that_has_members(db_url):
    """With DATABASE_URL naming a database that has members (and no demo data), the demo
    stops before writing anything, and says how to proceed."""
    factories.member(db_url, 5, "Real member", registered=False)
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "bot.py", "demo", "--port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "already has members (1)" in done.stderr
    assert "--load-demo-data" in done.stderr
    assert _query(db_url, "SELECT count(*) FROM membership_plans") == [(0,)]
    assert _query(db_url, "SELECT count(*) FROM members") == [(1,)]
