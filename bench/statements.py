"""Database statements per update at a steady 100 updates/s, counted by pg_stat_statements.

A throwaway PostgreSQL with `shared_preload_libraries=pg_stat_statements`, the bot as its own
process (`python bot.py run` from --root, so an older checkout can be measured the same way),
tgemu's load driver in open loop. After a warm-up the counters are reset; then N updates of
/help arrive at the given rate. Every statement the bot sent in that window (BEGIN and COMMIT
included; pg_stat_statements' toplevel) is divided by the updates answered; those run inside
its functions and triggers are counted apart (nested_statements_per_update). Writes
bench/reports/statements.json (or --report) and prints the busiest statements.

    .venv/bin/python -m bench.statements [--rate 100] [--updates 3000] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

from bench import REPORTS, ROOT, SERVER_SETTINGS
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tgemu import Emulator
from tgemu.load import run_load

TOKEN = "200000003:" + "S" * 35  # a tgemu token, not a secret


def _scenario(u) -> None:
    u.send_text("/help")


def _start_bot(root: Path, emu: Emulator, url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": url,
           "TELEGRAM_API_URL": emu.base_url, "OUTBOUND_RATE": "5000", "PER_CHAT_RATE": "100",
           "FLOOD_RATE": "1000", "FLOOD_BURST": "1000", "METRICS_ADDR": "127.0.0.1:0",
           "LOG_LEVEL": "WARNING", "LOG_FORMAT": "plain", "POLL_TIMEOUT": "10",
           "CARD_SECRET": "bench-card-secret-" + "b" * 32}  # not a secret: a throwaway run
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "bot.py", "run"], cwd=root, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _statements(url: str, *, toplevel: bool) -> list[tuple[str, int]]:
    """The statements the bot sent (toplevel), or those run inside its functions and
    triggers (not toplevel)."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT query, calls FROM pg_stat_statements s"
                        " JOIN pg_database d ON d.oid = s.dbid"
                        " WHERE d.datname = current_database() AND s.toplevel = %s"
                        "   AND query NOT LIKE '%%pg_stat_statements%%'"
                        " ORDER BY calls DESC", (toplevel,))
            return cur.fetchall()
    finally:
        conn.close()


def _reset(url: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_stat_statements_reset()")
    finally:
        conn.close()


def measure(root: Path, rate: float, updates: int, users: int) -> dict:
    """Run the bot at `rate` updates/s and count its statements per answered update."""
    settings = {"shared_preload_libraries": "pg_stat_statements",
                "pg_stat_statements.track": "all", "pg_stat_statements.max": "5000"}
    with DevPostgres(settings={**SERVER_SETTINGS, **settings}) as dev, \
            Emulator(port=0, global_rate=None, per_chat_rate=None) as emu:
        url = dev.create_database("fitclub_bench")
        Migrator(url, root / "sql").migrate()  # that checkout's schema
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION pg_stat_statements")
        conn.close()
        log = Path(tempfile.mkdtemp(prefix="fitclub-bench-")) / "bot.log"
        proc = _start_bot(root, emu, url, log)
        try:
            run_load(emu, TOKEN, _scenario, users=20, max_updates=200, duration=60,
                     answer_timeout=60, first_name="Warm")
            time.sleep(1.0)
            _reset(url)
            report = run_load(emu, TOKEN, _scenario, users=users, mode="open", rate=rate,
                              max_updates=updates, duration=updates / rate + 30,
                              answer_timeout=30, first_name="Load")
            time.sleep(1.0)  # the last marks
            rows = _statements(url, toplevel=True)
            nested = _statements(url, toplevel=False)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    answered = max(1, report["answered"])
    total = sum(calls for _, calls in rows)
    # One entry per statement family: psycopg2 spells arrays out (ARRAY[$1,$2,...]), so each
    # batch size is a query of its own to pg_stat_statements.
    families: dict[str, int] = {}
    for q, calls in rows:
        key = re.sub(r"ARRAY\[[^\]]*\]", "ARRAY[...]", " ".join(q.split()))
        key = re.sub(r"\(\$\d+(,\$\d+)*\)(,\(\$\d+(,\$\d+)*\))+", "(...)", key)[:160]
        families[key] = families.get(key, 0) + calls
    rows = sorted(families.items(), key=lambda kv: -kv[1])
    return {
        "root": str(root), "rate_per_s": rate, "updates_sent": report["updates_sent"],
        "answered": report["answered"], "elapsed_s": report["elapsed_s"],
        "statements": total, "statements_per_update": round(total / answered, 2),
        "counted": "statements the bot sent (pg_stat_statements toplevel), BEGIN and COMMIT "
                   "included; statements run inside functions and triggers are apart",
        "nested_statements_per_update": round(sum(c for _, c in nested) / answered, 2),
        "top": [{"calls": calls, "per_update": round(calls / answered, 2),
                 "query": q} for q, calls in rows[:25]],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--updates", type=int, default=3000)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose bot.py is run")
    ap.add_argument("--report", type=Path, default=REPORTS / "statements.json")
    args = ap.parse_args(argv)
    result = measure(args.root.resolve(), args.rate, args.updates, args.users)
    print(f"{result['answered']} updates answered at {args.rate:g}/s: "
          f"{result['statements_per_update']} statements per update sent by the bot "
          f"({result['nested_statements_per_update']} more inside its functions and triggers)")
    for row in result["top"][:15]:
        print(f"  {row['per_update']:6.2f}  {row['query']}")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
