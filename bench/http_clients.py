"""CPU per Bot API call: pyTelegramBotAPI's default client (requests) against our pooled urllib3.

tgemu runs as its own process (limits off), so `time.process_time()` here counts the client
alone. Each case sends sendMessage calls back to back to one chat over keep-alive connections:

- telebot + requests: `TeleBot.send_message` with pyTelegramBotAPI's defaults;
- telebot + urllib3: the same call routed through `BotApi.install_for_telebot()`
  (`apihelper.CUSTOM_REQUEST_SENDER`), which is how our handlers' telebot calls would go;
- BotApi.call: our sender's path, JSON body straight to urllib3, no telebot objects.

Rounds alternate the cases so drift (CPU frequency, tgemu's growing chat) hits all alike; the
median round counts. Writes bench/reports/http_clients.json and prints the ratio.

    .venv/bin/python -m bench.http_clients [--calls 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import telebot
from telebot import apihelper

from bench import REPORTS, ROOT
from fitclub.devdb import free_port
from fitclub.runtime.telegram import BotApi
from tgemu.client import RemoteEmulator

REPORT = REPORTS / "http_clients.json"
TOKEN = "200000003:" + "H" * 35  # a tgemu token, not a secret
TEXT = "Your class <b>Yoga</b> starts at 18:00. See you there!"


def start_tgemu() -> tuple[subprocess.Popen, str]:
    """`python -m tgemu --no-limits` on a free port; (process, base URL)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "tgemu", "--port", str(port), "--no-limits",
                             "--token", TOKEN], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(5)
                raise RuntimeError("tgemu did not start") from None
            time.sleep(0.05)


def _use_requests(base_url: str) -> Callable[[int], None]:
    apihelper.CUSTOM_REQUEST_SENDER = None
    apihelper.API_URL = base_url + "/bot{0}/{1}"
    bot = telebot.TeleBot(TOKEN, threaded=False)
    return lambda chat_id: bot.send_message(chat_id, TEXT, parse_mode="HTML")


def _use_urllib3_hook(api: BotApi) -> Callable[[int], None]:
    api.install_for_telebot()
    bot = telebot.TeleBot(TOKEN, threaded=False)
    return lambda chat_id: bot.send_message(chat_id, TEXT, parse_mode="HTML")


def _use_botapi(api: BotApi) -> Callable[[int], None]:
    return lambda chat_id: api.call("sendMessage", {"chat_id": chat_id, "text": TEXT,
                                                    "parse_mode": "HTML"})


def _time(send: Callable[[int], None], chat_id: int, calls: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) for `calls` calls."""
    for _ in range(50):  # connections open, caches warm
        send(chat_id)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(calls):
        send(chat_id)
    return time.process_time() - cpu0, time.perf_counter() - wall0


def run(calls: int = 3000, rounds: int = 3) -> dict:
    """Measure every case; returns the report (also written to bench/reports/http_clients.json)."""
    proc, base_url = start_tgemu()
    api = BotApi(base_url, TOKEN, maxsize=4)
    samples: dict[str, list[tuple[float, float]]] = {
        "telebot_requests": [], "telebot_urllib3_hook": [], "botapi_call": []}
    try:
        with RemoteEmulator(base_url) as emu:
            user = emu.create_user(first_name="Bench")
            user.send_text(TOKEN, "/start")  # the chat exists once the user wrote
            for _ in range(rounds):
                samples["telebot_requests"].append(
                    _time(_use_requests(base_url), user.id, calls))
                samples["telebot_urllib3_hook"].append(
                    _time(_use_urllib3_hook(api), user.id, calls))
                samples["botapi_call"].append(_time(_use_botapi(api), user.id, calls))
                apihelper.CUSTOM_REQUEST_SENDER = None
    finally:
        api.close()
        apihelper._get_req_session().close()
        proc.terminate()
        proc.wait(10)
    cases = {}
    for name, runs in samples.items():
        cpu = statistics.median(c for c, _ in runs) / calls
        wall = statistics.median(w for _, w in runs) / calls
        cases[name] = {"cpu_us_per_call": round(cpu * 1e6, 1),
                       "wall_us_per_call": round(wall * 1e6, 1),
                       "cpu_us_per_call_rounds": [round(c / calls * 1e6, 1) for c, _ in runs]}
    base = cases["telebot_requests"]["cpu_us_per_call"]
    report = {
        "benchmark": "http_clients",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "setup": {"calls_per_round": calls, "rounds": rounds, "method": "sendMessage",
                  "tgemu": "own process, limits off", "cpu": "time.process_time() of the client"},
        "cases": cases,
        "requests_over_urllib3_hook": round(base / cases["telebot_urllib3_hook"][
            "cpu_us_per_call"], 2),
        "requests_over_botapi_call": round(base / cases["botapi_call"]["cpu_us_per_call"], 2),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def table(report: dict) -> str:
    """The human summary."""
    lines = [f"{'client':<24}{'CPU us/call':>13}{'wall us/call':>14}", "-" * 51]
    for name, c in report["cases"].items():
        lines.append(f"{name:<24}{c['cpu_us_per_call']:>13.1f}{c['wall_us_per_call']:>14.1f}")
    lines.append(f"requests costs {report['requests_over_urllib3_hook']:.2f}x the CPU of the "
                 f"urllib3 hook and {report['requests_over_botapi_call']:.2f}x that of "
                 "BotApi.call per sendMessage")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.http_clients", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=3000, help="sendMessage calls per case and round")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    print(f"http clients bench: {args.calls} sendMessage calls x {args.rounds} rounds per client",
          flush=True)
    report = run(args.calls, args.rounds)
    print(table(report))
    print(f"report: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
