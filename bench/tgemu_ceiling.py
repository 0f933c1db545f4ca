"""tgemu's own ceiling: Bot API calls per second it answers.

Starts `python -m tgemu --no-limits` in its own process (so the client does not share its GIL),
registers a bot and a started user through the control API, then for each case sends calls
back to back for a fixed time and counts the answers. Writes bench/reports/tgemu_ceiling.json
and prints a summary.

    .venv/bin/python bench/tgemu_ceiling.py [--seconds 5]
"""

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "bench" / "reports" / "tgemu_ceiling.json"
TOKEN = "100000001:" + "B" * 35


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tgemu(port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tgemu", "--port", str(port), "--no-limits", "--token", TOKEN],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("tgemu did not start") from None
            time.sleep(0.05)


def percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))]


def run_http_client(port, path, body, seconds, clients=1) -> dict:
    """Back-to-back calls on keep-alive http.client connections, one per client thread."""
    counts = [0] * clients
    samples: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    stop_at = time.monotonic() + seconds

    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            while True:
                begun = time.monotonic()
                if begun >= stop_at:
                    return
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200 or b'"ok": true' not in data:
                    failures[i] += 1
                counts[i] += 1
                samples[i].append(time.monotonic() - begun)
        finally:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return summarize(sum(counts), sum(failures), elapsed, sorted(x for s in samples for x in s))


def run_requests(port, path, params, seconds) -> dict:
    """The same with requests.Session, the HTTP client pyTelegramBotAPI uses."""
    url = f"http://127.0.0.1:{port}{path}"
    count = failures = 0
    samples = []
    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    with requests.Session() as s:
        while time.monotonic() < stop_at:
            begun = time.monotonic()
            resp = s.post(url, params=params, timeout=10)
            if resp.status_code != 200 or not resp.json()["ok"]:
                failures += 1
            count += 1
            samples.append(time.monotonic() - begun)
    return summarize(count, failures, time.monotonic() - started, sorted(samples))


def summarize(count, failures, elapsed, ordered) -> dict:
    return {
        "calls": count,
        "failures": failures,
        "seconds": round(elapsed, 3),
        "calls_per_s": round(count / elapsed, 1),
        "p50_ms": round(percentile(ordered, 50) * 1000, 3),
        "p99_ms": round(percentile(ordered, 99) * 1000, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each case")
    args = parser.parse_args()
    port = free_port()
    proc = start_tgemu(port)
    try:
        with requests.Session() as s:
            base = f"http://127.0.0.1:{port}/control"
            user = s.post(f"{base}/users", json={"first_name": "Bench"}, timeout=5).json()
            uid = user["user"]["id"]
            s.post(
                f"{base}/users/{uid}/send_text", json={"token": TOKEN, "text": "/start"}, timeout=5
            )
        send_path = f"/bot{TOKEN}/sendMessage"
        send_body = urllib.parse.urlencode({"chat_id": uid, "text": "Ceiling test message"})
        me_path = f"/bot{TOKEN}/getMe"
        cases = {
            "sendMessage, 1 client, http.client keep-alive": lambda: run_http_client(
                port, send_path, send_body, args.seconds
            ),
            "getMe, 1 client, http.client keep-alive": lambda: run_http_client(
                port, me_path, "", args.seconds
            ),
            "sendMessage, 1 client, requests.Session (as pyTelegramBotAPI)": lambda: run_requests(
                port, send_path, {"chat_id": uid, "text": "Ceiling test message"}, args.seconds
            ),
            "sendMessage, 4 clients, http.client keep-alive": lambda: run_http_client(
                port, send_path, send_body, args.seconds, clients=4
            ),
        }
        results = {}
        for name, case in cases.items():
            results[name] = case()
            r = results[name]
            print(
                f"{name}: {r['calls_per_s']:.0f} calls/s "
                f"(p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                f"{r['failures']} failures)"
            )
    finally:
        proc.terminate()
        proc.wait(10)
    report = {
        "what": "Bot API calls per second tgemu answers (limits off, separate process)",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "seconds_per_case": args.seconds,
        "results": results,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"report: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
