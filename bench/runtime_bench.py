"""Our bot against a stock pyTelegramBotAPI echo bot, in one run, on one tgemu.

tgemu runs in this process with its rate limits off (Telegram's limits are not what is
measured) and its load driver sends from N simulated users. Each bot runs as its own process:

- fitclub: `python bot.py run` on a throwaway PostgreSQL, bot-side limits set high. Every user
  sends /help; the bot answers with its real help text (inbox, worker, outbox, sender).
- telebot-echo: bench/echo_bot.py, `infinity_polling` with pyTelegramBotAPI's defaults, no
  database; it echoes the text back.

Two phases per bot, after a warm-up:
- throughput: closed loop, every user sends as soon as its previous update is answered;
- latency: open loop at a rate both bots sustain, so percentiles are not queueing at saturation.

Latency is tgemu's: from the update becoming available to the bot (getUpdates answer) to the
bot's first answering call. CPU is read from /proc: utime+stime of the bot process, and for
fitclub separately the PostgreSQL server (postmaster, its live backends, and reaped children).
Writes bench/reports/runtime.json and prints a table.

    .venv/bin/python -m bench.runtime_bench [--users 200] [--updates 4000] [--rate 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import REPORTS, ROOT, SERVER_SETTINGS
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tgemu import Emulator
from tgemu.load import run_load

REPORT = REPORTS / "runtime.json"
OUR_TOKEN = "200000001:" + "F" * 35  # tgemu tokens, not secrets
ECHO_TOKEN = "200000002:" + "E" * 35
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 60.0
IDLE_SECONDS = 5.0


# --- CPU from /proc ----------------------------------------------------------------------------

def _stat(pid: int) -> list[str]:
    # Fields after the command name, which may itself contain spaces and parentheses.
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw.rsplit(")", 1)[1].split()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, all its threads."""
    f = _stat(pid)
    return (int(f[11]) + int(f[12])) / CLK_TCK


def server_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL server: postmaster with reaped children, plus live children."""
    f = _stat(postmaster)
    total = sum(int(x) for x in f[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(int(entry.name))
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(child[1]) == postmaster:
            total += int(child[11]) + int(child[12])
    return total / CLK_TCK


# --- the bots ----------------------------------------------------------------------------------

def start_fitclub(emu: Emulator, database_url: str, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": OUR_TOKEN,
        "DATABASE_URL": database_url,
        "TELEGRAM_API_URL": emu.base_url,
        # Our limits high, so neither Telegram's nor ours is what is measured.
        "OUTBOUND_RATE": "5000", "PER_CHAT_RATE": "100",
        "FLOOD_RATE": "1000", "FLOOD_BURST": "1000",
        "METRICS_ADDR": "127.0.0.1:0",
        "LOG_LEVEL": "INFO", "LOG_FORMAT": "plain",
    }
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "bot.py", "run"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def start_echo(emu: Emulator, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, str(ROOT / "bench" / "echo_bot.py"),
                                 emu.base_url, ECHO_TOKEN], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> int | None:
    """SIGTERM, then SIGKILL after 30 s; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


def wait_ready(emu: Emulator, token: str, proc: subprocess.Popen) -> None:
    """Until the bot answers one /help (it is polling and its database is up)."""
    user = emu.create_user(first_name="Ready")
    update_id = user.send_text(token, "/help")
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the bot exited with {proc.returncode} before answering")
        try:
            emu.wait_answered(token, update_id, timeout=1.0)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise RuntimeError("the bot did not answer within "
                                   f"{START_TIMEOUT:.0f}s") from None


def scenario(u) -> None:
    """Every update is /help: a command with a real answer (our help text; the echo)."""
    u.send_text("/help")


# --- one bot, both phases ----------------------------------------------------------------------

def _phase(emu, token, pid, pg_pid, **load) -> dict:
    cpu0 = process_cpu(pid)
    pg0 = server_cpu(pg_pid) if pg_pid else None
    here0 = time.process_time()
    report = run_load(emu, token, scenario, **load)
    cpu = process_cpu(pid) - cpu0
    answered = max(1, report["answered"])
    lat = report["latency_s"]
    out = {
        "users": report["users"],
        "mode": report["mode"],
        "target_rate_per_s": report["target_rate"],
        "updates_sent": report["updates_sent"],
        "answered": report["answered"],
        "timeouts": report["timeouts"],
        "errors": report["errors"],
        "elapsed_s": report["elapsed_s"],
        "updates_per_s": round(report["throughput_per_s"], 1),
        "latency_ms": {k: None if lat[k] is None else round(lat[k] * 1000, 2)
                       for k in ("p50", "p95", "p99", "max", "mean")},
        "bot_cpu_s": round(cpu, 3),
        "bot_cpu_ms_per_update": round(cpu / answered * 1000, 3),
        "bot_cpu_cores_used": round(cpu / report["elapsed_s"], 2),
        # tgemu and the load driver share this process (one GIL): near 1.0 means they,
        # not the bot, set the pace.
        "tgemu_and_driver_cores_used": round((time.process_time() - here0)
                                             / report["elapsed_s"], 2),
        "bot_api_calls": report["bot_api_calls"],
        "bot_api_errors": report["bot_api_errors"],
    }
    if pg_pid:
        pg = server_cpu(pg_pid) - pg0
        out["postgres_cpu_s"] = round(pg, 3)
        out["postgres_cpu_ms_per_update"] = round(pg / answered * 1000, 3)
    return out


def measure(name: str, emu: Emulator, token: str, proc: subprocess.Popen, pg_pid: int | None,
            *, users: int, updates: int, rate: float, open_updates: int) -> dict:
    """Warm up, then the throughput and latency phases against one running bot."""
    print(f"  {name}: waiting for it to answer...", flush=True)
    wait_ready(emu, token, proc)
    run_load(emu, token, scenario, users=20, max_updates=200, duration=30,
             answer_timeout=30, first_name=f"Warm{name}")
    idle = _idle(proc.pid, pg_pid)
    print(f"  {name}: throughput, {users} users, {updates} updates, closed loop...", flush=True)
    closed = _phase(emu, token, proc.pid, pg_pid, users=users, mode="closed",
                    max_updates=updates, duration=120, answer_timeout=30,
                    first_name=f"Load{name}")
    print(f"  {name}: latency, open loop at {rate:g}/s, {open_updates} updates...", flush=True)
    opened = _phase(emu, token, proc.pid, pg_pid, users=users, mode="open", rate=rate,
                    max_updates=open_updates, duration=open_updates / rate + 30,
                    answer_timeout=30, first_name=f"Open{name}")
    return {"idle": idle, "throughput": closed, "latency": opened}


def _idle(pid: int, pg_pid: int | None, seconds: float = IDLE_SECONDS) -> dict:
    """CPU a bot burns with nothing to do (long polling, timers, background loops)."""
    cpu0 = process_cpu(pid)
    pg0 = server_cpu(pg_pid) if pg_pid else None
    time.sleep(seconds)
    out = {"seconds": seconds, "bot_cpu_cores_used": round((process_cpu(pid) - cpu0) / seconds, 3)}
    if pg_pid:
        out["postgres_cpu_cores_used"] = round((server_cpu(pg_pid) - pg0) / seconds, 3)
    return out


# --- the run -----------------------------------------------------------------------------------

def run(users: int = 200, updates: int = 4000, rate: float = 100.0,
        open_updates: int = 1500) -> dict:
    """Both bots, one tgemu; returns the report (also written to bench/reports/runtime.json)."""
    # Other work on the machine skews every figure; this says how busy it was before we began.
    loadavg = round(os.getloadavg()[0], 2)
    emu = Emulator(port=0, global_rate=None, per_chat_rate=None).start()
    results: dict = {}
    exit_codes: dict = {}
    try:
        with tempfile.TemporaryDirectory(prefix="fitclub-bench-") as tmp, \
                DevPostgres(settings=SERVER_SETTINGS) as dev:
            url = dev.create_database("bench")
            Migrator(url).migrate()
            print(f"tgemu on {emu.base_url} (limits off); PostgreSQL on port {dev.port}",
                  flush=True)
            common = {"users": users, "updates": updates, "rate": rate,
                      "open_updates": open_updates}
            proc = start_fitclub(emu, url, Path(tmp) / "fitclub.log")
            try:
                results["fitclub"] = measure("fitclub", emu, OUR_TOKEN, proc, dev.proc.pid,
                                             **common)
            except Exception:
                print((Path(tmp) / "fitclub.log").read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                exit_codes["fitclub"] = stop(proc)
            proc = start_echo(emu, Path(tmp) / "echo.log")
            try:
                results["telebot_echo"] = measure("telebot-echo", emu, ECHO_TOKEN, proc, None,
                                                  **common)
            finally:
                exit_codes["telebot_echo"] = stop(proc)
    finally:
        emu.stop()
    report = {
        "benchmark": "runtime",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_1m_before": loadavg},
        "setup": {
            "tgemu": "in the bench process, rate limits off",
            "scenario": "each simulated user sends /help and waits for the answer",
            "fitclub": "python bot.py run; WORKER_THREADS 16, SENDER_THREADS 4 (defaults), "
                       "OUTBOUND_RATE 5000, PER_CHAT_RATE 100, FLOOD_RATE 1000; throwaway "
                       "PostgreSQL (fsync off)",
            "telebot_echo": "bench/echo_bot.py: TeleBot defaults (threaded, 2 workers, "
                            "requests), infinity_polling, no database",
            "latency": "tgemu: update available to the bot -> its first answering call",
            "cpu": "/proc utime+stime of the bot process; PostgreSQL server separately",
        },
        "results": results,
        "exit_codes_on_sigterm": exit_codes,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def table(report: dict) -> str:
    """The human summary."""
    head = (f"{'bot':<14}{'phase':<22}{'upd/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
            f"{'max ms':>9}{'bot CPU ms/upd':>16}{'PG CPU ms/upd':>15}")
    lines = [head, "-" * len(head)]
    for bot, phases in report["results"].items():
        for phase, r in phases.items():
            if phase == "idle":
                continue
            label = (f"closed, {r['users']} users" if phase == "throughput"
                     else f"open at {r['target_rate_per_s']:g}/s")
            lat = r["latency_ms"]
            pg = r.get("postgres_cpu_ms_per_update")
            lines.append(
                f"{bot:<14}{label:<22}{r['updates_per_s']:>8.1f}{lat['p50']:>9.1f}"
                f"{lat['p95']:>9.1f}{lat['p99']:>9.1f}{lat['max']:>9.1f}"
                f"{r['bot_cpu_ms_per_update']:>16.3f}{'-' if pg is None else f'{pg:.3f}':>15}")
    idle = ", ".join(
        f"{bot} {p['idle']['bot_cpu_cores_used']:.3f}"
        + (f" (+ PostgreSQL {p['idle']['postgres_cpu_cores_used']:.3f})"
           if "postgres_cpu_cores_used" in p["idle"] else "")
        for bot, p in report["results"].items())
    lines.append(f"idle, CPU cores used: {idle}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.runtime_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--updates", type=int, default=4000, help="updates in the throughput phase")
    p.add_argument("--rate", type=float, default=100.0, help="updates/s in the latency phase")
    p.add_argument("--open-updates", type=int, default=1500,
                   help="updates in the latency phase")
    args = p.parse_args(argv)
    print("runtime bench: fitclub vs a stock pyTelegramBotAPI echo bot", flush=True)
    report = run(args.users, args.updates, args.rate, args.open_updates)
    print(table(report))
    print(f"load average before the run: {report['machine']['loadavg_1m_before']}; "
          f"report: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
