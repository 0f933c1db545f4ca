"""Our bot side by side with the classic design (bench/classic_bot.py), interleaved, in one run.

One tgemu in this process (rate limits off), one throwaway PostgreSQL per durability setting
(`shared_preload_libraries=pg_stat_statements`), each bot as its own process with a database
of its own on that server:

- fitclub: `python bot.py run` from the working tree (WORKER_THREADS 16, SENDER_THREADS 4: the
  defaults), our limits raised as in runtime_bench (OUTBOUND_RATE 5000, PER_CHAT_RATE 100,
  FLOOD_RATE/FLOOD_BURST 1000), LOG_LEVEL WARNING;
- classic: bench/classic_bot.py, TeleBot threaded polling with 16 handler threads, psycopg2
  ThreadedConnectionPool(5, 50), one transaction per update (upsert the member, log the
  message), then a direct send_message with our main menu's text and keyboard.

The load users are registered members of our club (telegram ids 700_000_000 + i, rows written
before the bot starts), so /start shows them the main menu: the everyday case, not the
registration flow. The classic bot upserts the same users (rows exist after the warm-up). Every
user sends /start; a warm-up sends every user's first /start before anything is measured (our
bot queues one setMyCommands per chat the first time).

Both bots keep running for the whole durability setting; the phases alternate between them
(fitclub round 1, classic round 1, fitclub round 2, ...). Per bot and round:

- closed loop: `--users` users, `--closed-updates` updates, each user sends as soon as its
  previous update is answered: updates/s;
- open loop at `--rate` updates/s, `--updates` updates: latency percentiles (tgemu's: the
  update handed to the bot in a getUpdates answer -> the bot's first answering call for that
  chat), bot CPU ms/update and PostgreSQL CPU ms/update (utime+stime from /proc, the whole
  server: postmaster, reaped and live children), statements per update (pg_stat_statements,
  reset before the phase, every statement run in the bot's database, BEGIN/COMMIT included).

The whole comparison runs with PostgreSQL's fsync and synchronous_commit off (DevPostgres's
default for tests and benches) and again with both on (a club's server), reported apart.
Medians over rounds give the ratios; the issue 20 targets are printed as met / NOT met.
Writes bench/reports/compare.json and bench/reports/compare.md.

    .venv/bin/python -m bench.compare [--short] [--rounds 2] [--updates 1500] [--rate 100]
                                      [--users 200] [--closed-updates 2000]
                                      [--durability off|on|both]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

from bench import REPORTS, ROOT, SERVER_SETTINGS
from bench.classic_bot import NUM_THREADS, create_schema
from bench.runtime_bench import process_cpu, server_cpu, stop, wait_ready
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tgemu import Emulator
from tgemu.load import StopLoad, run_load

REPORT_JSON = REPORTS / "compare.json"
REPORT_MD = REPORTS / "compare.md"
FIRST_MEMBER_ID = 700_000_000  # member i has telegram id 700_000_000 + i (bench/history.py too)
BOTS = ("fitclub", "classic")
# tgemu tokens, not secrets; one pair per durability setting (one tgemu for the whole run).
TOKENS = {"off": {"fitclub": "200000011:" + "F" * 35, "classic": "200000012:" + "C" * 35},
          "on": {"fitclub": "200000021:" + "F" * 35, "classic": "200000022:" + "C" * 35}}
PGSS = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all",
        "pg_stat_statements.max": "5000"}
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
IDLE_SECONDS = 5.0

# Issue 20's targets: (key, label, fitclub/classic ratio limit, "max": ratio <= limit, or
# "above": closed loop ratio > limit).
TARGETS = {
    "off": [("open_p50", "open loop p50 at most 1.5x the classic's", 1.5, "max"),
            ("open_p99", "open loop p99 at most 2x the classic's", 2.0, "max"),
            ("cpu_per_update", "bot+PostgreSQL CPU per update at most 1.5x", 1.5, "max"),
            ("closed_updates_per_s", "closed loop ahead of the classic", 1.0, "above")],
    "on": [("open_p50", "with synchronous_commit on, open loop p50 at most 2x the classic's",
            2.0, "max")],
}


# --- setup -------------------------------------------------------------------------------------

def _exec(url: str, sql: str, params: tuple = ()) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
    finally:
        conn.close()


def _count(url: str, table: str) -> int | None:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")  # our own table name
            return cur.fetchone()[0]
    except psycopg2.Error:
        return None  # not in this checkout's schema
    finally:
        conn.close()


def register_members(url: str, count: int) -> None:
    """`count` registered members of our club: telegram id 700_000_000 + i, name Member<i>."""
    _exec(url, """
        INSERT INTO members (telegram_id, first_name, username, phone, language, registered_at)
        SELECT %s + i, 'Member' || i, 'member' || i, '+1555' || lpad(i::text, 7, '0'), 'en',
               now()
          FROM generate_series(0, %s - 1) AS i""", (FIRST_MEMBER_ID, count))


def start_fitclub(emu: Emulator, token: str, url: str, log: Path,
                  root: Path = ROOT) -> subprocess.Popen:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "DATABASE_URL": url,
           "TELEGRAM_API_URL": emu.base_url, "OUTBOUND_RATE": "5000", "PER_CHAT_RATE": "100",
           "FLOOD_RATE": "1000", "FLOOD_BURST": "1000", "METRICS_ADDR": "127.0.0.1:0",
           "LOG_LEVEL": "WARNING", "LOG_FORMAT": "plain", "POLL_TIMEOUT": "10",
           "CARD_SECRET": "bench-card-secret-" + "b" * 32}  # not a secret: a throwaway run
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "bot.py", "run"], cwd=root, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def start_classic(emu: Emulator, token: str, url: str, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "classic_bot.py"), "--api-url", emu.base_url,
             "--token", token, "--database-url", url, "--threads", str(NUM_THREADS)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def make_scenario(sims: list, once: bool = False):
    """Every update is /start from one of the pre-created users (the registered members):
    run_load makes users of its own, so each LoadUser is pointed at ours before it sends.
    With `once`, every user sends exactly one (the warm-up) and stops."""
    def scenario(u) -> None:
        if once and getattr(u, "warmed", False):
            raise StopLoad
        if u.user is not sims[u.index]:
            u.user = sims[u.index]
        u.send_text("/start")
        u.warmed = True
    return scenario


# --- pg_stat_statements ------------------------------------------------------------------------

def filesystem(path: Path) -> str:
    """Type and device of the filesystem holding `path` (a tmpfs would make fsync free)."""
    best, kind = "", "?"
    with open("/proc/mounts", encoding="utf-8") as fh:
        for line in fh:
            dev, mnt, fstype = line.split()[:3]
            if str(path).startswith(mnt) and len(mnt) >= len(best):
                best, kind = mnt, f"{fstype} ({dev} on {mnt})"
    return kind


def pg_settings(admin_url: str) -> dict[str, str]:
    """What the server really runs with."""
    conn = psycopg2.connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                        "('fsync', 'synchronous_commit', 'full_page_writes')")
            return dict(cur.fetchall())
    finally:
        conn.close()


def pgss_reset(admin_url: str) -> None:
    _exec(admin_url, "SELECT pg_stat_statements_reset()")


def pgss_rows(admin_url: str, dbname: str, top_level_only: bool = False
              ) -> list[tuple[str, int]]:
    """(query, calls) run in one database since the reset. track=all counts the statements
    inside functions and triggers too; `top_level_only` keeps what the client sent."""
    conn = psycopg2.connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT s.query, s.calls FROM pg_stat_statements s"
                        " JOIN pg_database d ON d.oid = s.dbid"
                        " WHERE d.datname = %s AND s.query NOT LIKE '%%pg_stat_statements%%'"
                        + (" AND s.toplevel" if top_level_only else ""), (dbname,))
            return cur.fetchall()
    finally:
        conn.close()


def families(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """One entry per statement family (psycopg2 spells arrays and VALUES lists out, so each
    batch size is a query of its own to pg_stat_statements), busiest first."""
    out: dict[str, int] = {}
    for query, calls in rows:
        q = re.sub(r"--[^\n]*", "", query)  # our SQL files' comments
        key = re.sub(r"ARRAY\[[^\]]*\]", "ARRAY[...]", " ".join(q.split()))
        key = re.sub(r"\(\$\d+(,\s*\$\d+)*\)(,\s*\(\$\d+(,\s*\$\d+)*\))+", "(...)", key)[:160]
        out[key] = out.get(key, 0) + calls
    return sorted(out.items(), key=lambda kv: -kv[1])


# --- phases ------------------------------------------------------------------------------------

def _machine() -> list[int]:
    """The whole machine's CPU time so far, from /proc/stat: user nice system idle iowait..."""
    with open("/proc/stat", encoding="ascii") as fh:
        return [int(x) for x in fh.readline().split()[1:]]


def _machine_share(before: list[int], after: list[int]) -> dict:
    """Fractions of all CPUs' time between two readings: busy, and idle waiting for the disk
    (other processes' I/O makes commits wait when fsync is on)."""
    d = [b - a for a, b in zip(before, after, strict=False)]
    total = sum(d) or 1
    return {"busy": round((total - d[3] - d[4]) / total, 2), "iowait": round(d[4] / total, 2)}


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 2)


def xacts(admin_url: str) -> dict[str, int]:
    """Transactions (committed and rolled back) so far, per database of the server."""
    conn = psycopg2.connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname, xact_commit + xact_rollback FROM pg_stat_database"
                        " WHERE datname LIKE '%%_cmp'")
            return dict(cur.fetchall())
    finally:
        conn.close()


def autovacuums(admin_url: str) -> dict[str, int]:
    """Autovacuum and autoanalyze runs so far, per bot database (its tables' statistics)."""
    out = {}
    for bot in BOTS:
        conn = psycopg2.connect(admin_url.rsplit("/", 1)[0] + f"/{bot}_cmp")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)"
                            " FROM pg_stat_all_tables")
                out[f"{bot}_cmp"] = int(cur.fetchone()[0])
        finally:
            conn.close()
    return out


def phase(emu: Emulator, token: str, scenario, pid: int, pg_pid: int, *, admin: str,
          other_pid: int, pgss: str | None = None, **load) -> dict:
    """One load run against one bot; CPU of the bot and the PostgreSQL server around it, and
    what the other (idle) bot and its database did meanwhile."""
    loadavg = round(os.getloadavg()[0], 2)
    if pgss:
        pgss_reset(admin)
    x0, av0 = xacts(admin), autovacuums(admin)
    cpu0, pg0, here0 = process_cpu(pid), server_cpu(pg_pid), time.process_time()
    other0, machine0 = process_cpu(other_pid), _machine()
    rep = run_load(emu, token, scenario, **load)
    cpu, pg = process_cpu(pid) - cpu0, server_cpu(pg_pid) - pg0
    other = process_cpu(other_pid) - other0
    machine = _machine_share(machine0, _machine())
    x1, av1 = xacts(admin), autovacuums(admin)
    here = time.process_time() - here0
    answered = max(1, rep["answered"])
    out = {
        "loadavg_1m_before": loadavg,
        # The whole machine during the phase (everything else running on it included).
        "machine_cpu_busy": machine["busy"], "machine_iowait": machine["iowait"],
        "mode": rep["mode"], "users": rep["users"], "target_rate_per_s": rep["target_rate"],
        "updates_sent": rep["updates_sent"], "answered": rep["answered"],
        "timeouts": rep["timeouts"], "errors": rep["errors"],
        "error_samples": rep["error_samples"], "elapsed_s": rep["elapsed_s"],
        "updates_per_s": round(rep["throughput_per_s"], 1),
        "schedule_lag_max_s": rep["schedule_lag_max_s"],
        "latency_ms": {k: _ms(rep["latency_s"][k]) for k in ("p50", "p95", "p99", "max", "mean")},
        "bot_cpu_ms_per_update": round(cpu / answered * 1000, 3),
        "postgres_cpu_ms_per_update": round(pg / answered * 1000, 3),
        "bot_cpu_cores_used": round(cpu / rep["elapsed_s"], 2),
        "postgres_cpu_cores_used": round(pg / rep["elapsed_s"], 2),
        "tgemu_and_driver_cores_used": round(here / rep["elapsed_s"], 2),
        "other_bot_cpu_cores_used": round(other / rep["elapsed_s"], 3),
        "transactions_by_database": {db: x1[db] - x0.get(db, 0) for db in x1},
        "autovacuum_runs_by_database": {db: av1[db] - av0.get(db, 0) for db in av1},
        "bot_api_calls": rep["bot_api_calls"], "bot_api_errors": rep["bot_api_errors"],
    }
    if pgss:
        time.sleep(1.0)  # the last marks (our sender records what it sent after the call)
        fam = families(pgss_rows(admin, pgss))
        total = sum(c for _, c in fam)
        out["statements"] = total
        out["statements_per_update"] = round(total / answered, 2)
        try:  # PostgreSQL 14 and later know which statements the client sent
            top = sum(c for _, c in pgss_rows(admin, pgss, top_level_only=True))
            out["top_level_statements_per_update"] = round(top / answered, 2)
        except psycopg2.Error:
            out["top_level_statements_per_update"] = None
        out["top_statements"] = [{"calls": c, "per_update": round(c / answered, 2), "query": q}
                                 for q, c in fam[:12]]
    return out


def _idle(pids: dict[str, int], pg_pid: int, seconds: float = IDLE_SECONDS) -> dict:
    """CPU cores used with both bots up and nothing to do: what the idle bot adds to the other
    bot's PostgreSQL figure during its phases."""
    b0 = {k: process_cpu(p) for k, p in pids.items()}
    pg0 = server_cpu(pg_pid)
    time.sleep(seconds)
    out = {f"{k}_cores": round((process_cpu(p) - b0[k]) / seconds, 4) for k, p in pids.items()}
    out["postgres_cores"] = round((server_cpu(pg_pid) - pg0) / seconds, 4)
    return out


def run_setting(emu: Emulator, sims: list, durability: str, *, rounds: int, closed_updates: int,
                open_updates: int, rate: float, closed_limit_s: float, root: Path = ROOT) -> dict:
    """Both bots on one PostgreSQL with the given durability; phases interleaved."""
    users = len(sims)
    # Configured as the operations guide configures a club's server (SERVER_SETTINGS: its
    # statement_timeout is the bot's, so our pool sends no SET LOCAL), plus the statistics.
    settings = {**SERVER_SETTINGS, **PGSS, **(DURABLE if durability == "on" else {})}
    tokens = TOKENS[durability]
    scenario = make_scenario(sims)
    result: dict = {"postgres_settings": settings, "rounds": []}
    procs: dict[str, subprocess.Popen] = {}
    exit_codes: dict[str, int | None] = {}
    with tempfile.TemporaryDirectory(prefix="fitclub-compare-") as tmp, \
            DevPostgres(settings=settings) as dev:
        logs = {b: Path(tmp) / f"{b}.log" for b in BOTS}
        try:
            admin = dev.url()
            _exec(admin, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            result["postgres_effective"] = pg_settings(admin)
            result["data_filesystem"] = filesystem(dev.root)
            urls = {"fitclub": dev.create_database("fitclub_cmp"),
                    "classic": dev.create_database("classic_cmp")}
            Migrator(urls["fitclub"], root / "sql").migrate()  # that checkout's schema
            register_members(urls["fitclub"], users)
            create_schema(urls["classic"])
            print(f"[{durability}] PostgreSQL on port {dev.port} "
                  f"(fsync {result['postgres_effective'].get('fsync')}, synchronous_commit "
                  f"{result['postgres_effective'].get('synchronous_commit')})", flush=True)
            procs["fitclub"] = start_fitclub(emu, tokens["fitclub"], urls["fitclub"],
                                             logs["fitclub"], root)
            procs["classic"] = start_classic(emu, tokens["classic"], urls["classic"],
                                             logs["classic"])
            for bot in BOTS:
                started = time.monotonic()
                wait_ready(emu, tokens[bot], procs[bot])
                # Every user's first /start (ours queues one setMyCommands per chat then).
                warm = run_load(emu, tokens[bot], make_scenario(sims, once=True), users=users,
                                max_updates=users, duration=60, answer_timeout=30,
                                first_name=f"Warm{bot}")
                print(f"[{durability}] {bot}: ready in {time.monotonic() - started:.1f}s, "
                      f"warm-up {warm['answered']}/{warm['updates_sent']} answered", flush=True)
            time.sleep(1.0)
            result["fitclub_command_lists_after_warm_up"] = _count(urls["fitclub"],
                                                                   "command_lists")
            result["idle"] = _idle({b: p.pid for b, p in procs.items()}, dev.proc.pid)
            print(f"[{durability}] idle {result['idle']}; fitclub chats with their command "
                  f"list after the warm-up: {result['fitclub_command_lists_after_warm_up']}",
                  flush=True)
            for r in range(1, rounds + 1):
                result["rounds"].append(one_round(
                    emu, r, durability, tokens, procs, dev.proc.pid, admin, scenario,
                    users=users, closed_updates=closed_updates, open_updates=open_updates,
                    rate=rate, closed_limit_s=closed_limit_s))
        except Exception:
            for bot in BOTS:
                if logs[bot].exists():
                    print(f"--- {bot} log (tail) ---\n{logs[bot].read_text()[-3000:]}",
                          file=sys.stderr)
            raise
        finally:
            for bot, proc in procs.items():
                exit_codes[bot] = stop(proc)
            # Both log at WARNING: anything logged as an error is worth a look.
            result["log_error_lines"] = {
                b: sum(1 for line in logs[b].read_text(errors="replace").splitlines()
                       if " ERROR " in line or line.startswith("Traceback"))
                for b in BOTS if logs[b].exists()}
    result["exit_codes_on_sigterm"] = exit_codes
    result["median"] = medians(result["rounds"])
    result["ratios"], result["targets"] = ratios(result["median"], durability)
    # The idle fitclub keeps PostgreSQL a little busy during the classic's phases; the same
    # CPU ratio with that idle share taken off the classic's PostgreSQL figure, for reference.
    c = result["median"]["classic"]
    idle_ms = result["idle"]["postgres_cores"] * 1000 / rate  # per update at `rate`/s
    f = result["median"]["fitclub"]
    net = c["bot_cpu_ms"] + max(0.0, c["pg_cpu_ms"] - idle_ms)
    result["cpu_ratio_classic_net_of_fitclub_idle"] = (
        round(f["cpu_per_update"] / net, 2) if net else None)
    return result


def one_round(emu: Emulator, r: int, durability: str, tokens: dict, procs: dict, pg_pid: int,
              admin: str, scenario, *, users: int, closed_updates: int, open_updates: int,
              rate: float, closed_limit_s: float) -> dict:
    """Closed loop then open loop for each bot in turn: fitclub, then classic."""
    rnd: dict = {"round": r}
    for bot in BOTS:
        token, pid = tokens[bot], procs[bot].pid
        for p in procs.values():
            if p.poll() is not None:
                raise RuntimeError(f"a bot exited with {p.returncode}")
        common = {"admin": admin, "other_pid": next(p.pid for b, p in procs.items() if b != bot),
                  "users": users, "answer_timeout": 30}
        closed = phase(emu, token, scenario, pid, pg_pid, mode="closed",
                       max_updates=closed_updates, duration=closed_limit_s,
                       first_name=f"C{bot}", **common)
        time.sleep(0.5)
        opened = phase(emu, token, scenario, pid, pg_pid, pgss=f"{bot}_cmp", mode="open",
                       rate=rate, max_updates=open_updates, duration=open_updates / rate + 30,
                       first_name=f"O{bot}", **common)
        rnd[bot] = {"closed": closed, "open": opened}
        lat = opened["latency_ms"]
        print(f"[{durability}] round {r} {bot:<8} closed {closed['updates_per_s']:7.1f} upd/s"
              f" | open p50/p95/p99/max {lat['p50']}/{lat['p95']}/{lat['p99']}/{lat['max']} ms,"
              f" CPU bot {opened['bot_cpu_ms_per_update']} + PG "
              f"{opened['postgres_cpu_ms_per_update']} ms/upd, "
              f"{opened['statements_per_update']} stmts/upd, errors "
              f"{closed['errors'] + opened['errors']}, timeouts "
              f"{closed['timeouts'] + opened['timeouts']} (load {closed['loadavg_1m_before']}, "
              f"{opened['loadavg_1m_before']}; machine busy {opened['machine_cpu_busy']}, iowait "
              f"{opened['machine_iowait']} in the open loop; meanwhile the other bot used "
              f"{opened['other_bot_cpu_cores_used']} cores, transactions "
              f"{opened['transactions_by_database']}, autovacuum/analyze runs "
              f"{opened['autovacuum_runs_by_database']})", flush=True)
        time.sleep(0.5)
    rnd["ratios"] = ratios({b: _figures(rnd[b]) for b in BOTS}, durability)[0]
    return rnd


# --- summary -----------------------------------------------------------------------------------

def _figures(bot_round: dict) -> dict:
    o, c = bot_round["open"], bot_round["closed"]
    return {
        "closed_updates_per_s": c["updates_per_s"],
        "closed_p50": c["latency_ms"]["p50"], "closed_p99": c["latency_ms"]["p99"],
        "open_p50": o["latency_ms"]["p50"], "open_p95": o["latency_ms"]["p95"],
        "open_p99": o["latency_ms"]["p99"], "open_max": o["latency_ms"]["max"],
        "bot_cpu_ms": o["bot_cpu_ms_per_update"], "pg_cpu_ms": o["postgres_cpu_ms_per_update"],
        "cpu_per_update": round(o["bot_cpu_ms_per_update"] + o["postgres_cpu_ms_per_update"], 3),
        "statements_per_update": o.get("statements_per_update"),
        "top_level_statements_per_update": o.get("top_level_statements_per_update"),
        "open_answered": o["answered"], "open_sent": o["updates_sent"],
        "errors": o["errors"] + c["errors"], "timeouts": o["timeouts"] + c["timeouts"],
    }


def medians(rounds: list[dict]) -> dict:
    out: dict = {}
    for bot in BOTS:
        per = [_figures(r[bot]) for r in rounds if bot in r]
        out[bot] = {k: (round(statistics.median([p[k] for p in per if p[k] is not None]), 3)
                        if any(p[k] is not None for p in per) else None)
                    for k in per[0]} if per else {}
    return out


def ratios(med: dict, durability: str) -> tuple[dict, list[dict]]:
    f, c = med.get("fitclub", {}), med.get("classic", {})
    keys = ("closed_updates_per_s", "open_p50", "open_p95", "open_p99", "open_max", "bot_cpu_ms",
            "pg_cpu_ms", "cpu_per_update", "statements_per_update",
            "top_level_statements_per_update")
    rat = {k: (round(f[k] / c[k], 2) if f.get(k) is not None and c.get(k) else None)
           for k in keys}
    targets = []
    for key, label, limit, kind in TARGETS[durability]:
        value = rat.get(key)
        met = None if value is None else (value <= limit if kind == "max" else value > limit)
        targets.append({"target": label, "measure": key, "ratio": value,
                        "limit": limit, "kind": kind, "met": met})
    return rat, targets


def _v(x, fmt="{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def markdown(report: dict) -> str:
    s = report["setup"]
    lines = [f"# fitclub vs the classic design ({report['at']})", "",
             f"{report['machine']['cpus']} CPUs, Python {report['machine']['python']}, load "
             f"average {report['machine']['loadavg_1m_before']} before the run; {s['rounds']} "
             f"round(s) per setting, interleaved; {s['users']} users sending /start; closed loop "
             f"{s['closed_updates']} updates, open loop {s['open_updates']} updates at "
             f"{s['rate']:g}/s. Medians over rounds; ratio = fitclub / classic.", "",
             f"- fitclub: {s['fitclub']}", f"- classic: {s['classic']}",
             f"- scenario: {s['scenario']}", f"- latency: {s['latency']}",
             f"- CPU: {s['cpu']}", f"- statements: {s['statements']}", ""]
    if report.get("noisy_phases"):
        lines += [f"**{_noise_note(report)}**", ""]
    for dur, res in report["results"].items():
        if "error" in res:
            lines += [f"## Durability {dur}: failed", "", f"`{res['error']}`", ""]
            continue
        eff = res.get("postgres_effective", {})
        m, r = res["median"], res["ratios"]
        f, c = m["fitclub"], m["classic"]
        lines += [f"## Durability {dur}: PostgreSQL fsync {eff.get('fsync')}, synchronous_commit "
                  f"{eff.get('synchronous_commit')}", "",
                  f"Data directory on {res.get('data_filesystem', '?')}.", "",
                  "| phase | this bot | classic | ratio |", "|---|---|---|---|",
                  f"| closed loop, {s['users']} users, `/start`, updates/s | "
                  f"{_v(f['closed_updates_per_s'], '{:.0f}')} | "
                  f"{_v(c['closed_updates_per_s'], '{:.0f}')} | "
                  f"{_v(r['closed_updates_per_s'], '{:.2f}')} |",
                  f"| open loop {s['rate']:g} updates/s: p50 / p95 / p99 / max ms | "
                  f"{_v(f['open_p50'])} / {_v(f['open_p95'])} / {_v(f['open_p99'])} / "
                  f"{_v(f['open_max'])} | {_v(c['open_p50'])} / {_v(c['open_p95'])} / "
                  f"{_v(c['open_p99'])} / {_v(c['open_max'])} | {_v(r['open_p50'], '{:.2f}')} / "
                  f"{_v(r['open_p95'], '{:.2f}')} / {_v(r['open_p99'], '{:.2f}')} / "
                  f"{_v(r['open_max'], '{:.2f}')} |",
                  f"| bot + PostgreSQL CPU ms per update at {s['rate']:g}/s | "
                  f"{_v(f['bot_cpu_ms'], '{:.2f}')} + {_v(f['pg_cpu_ms'], '{:.2f}')} | "
                  f"{_v(c['bot_cpu_ms'], '{:.2f}')} + {_v(c['pg_cpu_ms'], '{:.2f}')} | "
                  f"{_v(r['cpu_per_update'], '{:.2f}')} |",
                  f"| statements per update (pg_stat_statements) | "
                  f"{_v(f['statements_per_update'], '{:.2f}')} | "
                  f"{_v(c['statements_per_update'], '{:.2f}')} | "
                  f"{_v(r['statements_per_update'], '{:.2f}')} |",
                  f"| of which sent by the bot (top level, not inside functions or triggers) | "
                  f"{_v(f.get('top_level_statements_per_update'), '{:.2f}')} | "
                  f"{_v(c.get('top_level_statements_per_update'), '{:.2f}')} | "
                  f"{_v(r.get('top_level_statements_per_update'), '{:.2f}')} |", "",
                  "| target | ratio | limit | |", "|---|---:|---:|---|"]
        for t in res["targets"]:
            verdict = "-" if t["met"] is None else ("met" if t["met"] else "NOT met")
            limit = f"> {t['limit']:g}" if t["kind"] == "above" else f"<= {t['limit']:g}"
            lines.append(f"| {t['target']} | {_v(t['ratio'], '{:.2f}')} | {limit} | {verdict} |")
        lines += ["", "Per round (load average before each phase in parentheses; the machine's CPU "
                  "busy and iowait shares during the open loop):", "",
                  "| round | bot | closed upd/s | open p50 / p95 / p99 / max ms | bot + PG CPU ms"
                  "/upd | stmts/upd | errors, timeouts | machine busy, iowait |",
                  "|---|---|---:|---|---|---:|---|---|"]
        for rnd in res["rounds"]:
            for bot in BOTS:
                if bot not in rnd:
                    continue
                cl, op = rnd[bot]["closed"], rnd[bot]["open"]
                la = op["latency_ms"]
                lines.append(
                    f"| {rnd['round']} | {bot} | {cl['updates_per_s']:.0f} "
                    f"({cl['loadavg_1m_before']}) | {_v(la['p50'])} / {_v(la['p95'])} / "
                    f"{_v(la['p99'])} / {_v(la['max'])} ({op['loadavg_1m_before']}) | "
                    f"{op['bot_cpu_ms_per_update']:.2f} + {op['postgres_cpu_ms_per_update']:.2f}"
                    f" | {_v(op.get('statements_per_update'), '{:.2f}')} | "
                    f"{cl['errors'] + op['errors']}, {cl['timeouts'] + op['timeouts']} | "
                    f"{op.get('machine_cpu_busy')}, {op.get('machine_iowait')} |")
            rr = rnd.get("ratios", {})
            lines.append(
                f"| {rnd['round']} | ratio | {_v(rr.get('closed_updates_per_s'), '{:.2f}')} | "
                f"{_v(rr.get('open_p50'), '{:.2f}')} / {_v(rr.get('open_p95'), '{:.2f}')} / "
                f"{_v(rr.get('open_p99'), '{:.2f}')} / {_v(rr.get('open_max'), '{:.2f}')} | "
                f"{_v(rr.get('cpu_per_update'), '{:.2f}')} | "
                f"{_v(rr.get('statements_per_update'), '{:.2f}')} | | |")
        top = res["rounds"][-1]["fitclub"]["open"].get("top_statements", []) if res["rounds"] \
            else []
        if top:
            lines += ["", "fitclub's busiest statements (last round, open loop), calls per "
                      "update:", "", "| per update | statement |", "|---:|---|"]
            for t in top[:10]:
                q = t["query"].replace("|", "\\|")
                lines.append(f"| {t['per_update']:.2f} | `{q[:120]}` |")
        idle = res.get("idle", {})
        lines += ["", f"Error lines in the bots' logs: {res.get('log_error_lines')}; exit codes "
                  f"on SIGTERM: {res.get('exit_codes_on_sigterm')}.", "",
                  f"Idle, both bots up: fitclub {idle.get('fitclub_cores')} cores, classic "
                  f"{idle.get('classic_cores')}, PostgreSQL {idle.get('postgres_cores')} (the "
                  "idle bot's share is inside the other bot's PostgreSQL figure; the CPU ratio "
                  "with the idle fitclub's PostgreSQL share taken off the classic's: "
                  f"{_v(res.get('cpu_ratio_classic_net_of_fitclub_idle'), '{:.2f}')}).", ""]
    return "\n".join(lines) + "\n"


def run(*, rounds: int, users: int, closed_updates: int, open_updates: int, rate: float,
        durabilities: list[str], short: bool, root: Path = ROOT) -> dict:
    loadavg = round(os.getloadavg()[0], 2)
    started = time.monotonic()
    results: dict = {}
    closed_limit = 30.0 if short else 60.0
    with Emulator(port=0, global_rate=None, per_chat_rate=None) as emu:
        print(f"tgemu on {emu.base_url} (limits off)", flush=True)
        # The load users, the same for both bots and settings: our registered members' ids.
        sims = [emu.create_user(first_name=f"Member{i}", username=f"member{i}",
                                user_id=FIRST_MEMBER_ID + i) for i in range(users)]
        for dur in durabilities:
            try:
                results[dur] = run_setting(emu, sims, dur, rounds=rounds,
                                           closed_updates=closed_updates,
                                           open_updates=open_updates, rate=rate,
                                           closed_limit_s=closed_limit, root=root)
            except Exception as exc:  # the other setting still runs; the report says so
                traceback.print_exc()
                results[dur] = {"error": f"{exc.__class__.__name__}: {exc}"}
    return {
        "noisy_phases": noisy_phases(results, loadavg),
        "benchmark": "compare",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_1m_before": loadavg},
        "setup": {
            "root": str(root), "short": short, "rounds": rounds, "users": users,
            "closed_updates": closed_updates, "open_updates": open_updates, "rate": rate,
            "tgemu": "in the bench process, rate limits off",
            "scenario": "registered members (telegram id 700000000 + i) send /start and wait "
                        "for the answer; ours shows the main menu, the classic the same text "
                        "and keyboard",
            "fitclub": "python bot.py run; WORKER_THREADS 16, SENDER_THREADS 4 (defaults), "
                       "OUTBOUND_RATE 5000, PER_CHAT_RATE 100, FLOOD_RATE/BURST 1000, "
                       "LOG_LEVEL WARNING",
            "classic": f"bench/classic_bot.py: TeleBot threaded, num_threads={NUM_THREADS}, "
                       "infinity_polling, requests; ThreadedConnectionPool(5, 50) in a context "
                       "manager; one transaction per update (upsert member, log message); "
                       "direct send_message",
            "latency": "tgemu: update handed to the bot (getUpdates answer) -> the bot's first "
                       "answering call for that chat",
            "cpu": "/proc utime+stime: the bot process; the whole PostgreSQL server",
            "statements": "pg_stat_statements (track=all), reset before the open-loop phase, "
                          "every statement in the bot's database, BEGIN/COMMIT included, and "
                          "those inside functions and triggers (a function call counts once "
                          "plus once per statement in it); top level: what the bot sent",
            "targets": "issue 20: open loop p50 <= 1.5x and p99 <= 2x the classic's, bot+PG "
                       "CPU per update <= 1.5x, closed loop ahead; with synchronous_commit on "
                       "p50 <= 2x",
        },
        "results": results,
    }


def noisy_phases(results: dict, loadavg_before: float) -> list[str]:
    """What ran on a machine busy with other work: the whole run when the 1-minute load average
    before it was above the CPU count, and every open-loop phase during which the CPUs were at
    least 80% busy (ours leaves most of the machine idle: about a third busy when quiet). The
    closed loops saturate the machine by design and lift the load average themselves, so
    neither test fits them. Figures and ratios from these are not to be trusted."""
    cpus = os.cpu_count() or 1
    out = [f"the whole run (load average {loadavg_before} before it)"] \
        if loadavg_before > cpus else []
    for dur, res in results.items():
        for rnd in res.get("rounds", []):
            for bot in BOTS:
                f = rnd.get(bot, {}).get("open")
                if f and f["machine_cpu_busy"] >= 0.8:
                    out.append(f"{dur}/round {rnd['round']}/{bot}/open "
                               f"(CPUs {f['machine_cpu_busy']:.0%} busy)")
    return out


def _noise_note(report: dict) -> str:
    noisy = report.get("noisy_phases", [])
    if not noisy:
        return ""
    return (f"WARNING: the machine was busy with other work ({'; '.join(noisy)}): the figures "
            "and ratios of this run are not trustworthy; run it again on a quiet machine.")


def summary(report: dict) -> str:
    lines = [_noise_note(report)] if report.get("noisy_phases") else []
    for dur, res in report["results"].items():
        if "error" in res:
            lines.append(f"PostgreSQL durability {dur}: FAILED: {res['error']}")
            continue
        lines.append(f"PostgreSQL durability {dur} ({res.get('postgres_effective')}), medians:")
        for bot in BOTS:
            m = res["median"][bot]
            lines.append(f"  {bot:<8} closed {_v(m['closed_updates_per_s'])} upd/s | open "
                         f"p50/p95/p99/max {_v(m['open_p50'])}/{_v(m['open_p95'])}/"
                         f"{_v(m['open_p99'])}/{_v(m['open_max'])} ms | CPU bot "
                         f"{_v(m['bot_cpu_ms'], '{:.2f}')} + PG {_v(m['pg_cpu_ms'], '{:.2f}')} "
                         f"ms/upd | {_v(m['statements_per_update'], '{:.2f}')} stmts/upd")
        r = res["ratios"]
        lines.append(f"  errors in the bots' logs {res.get('log_error_lines')}, exit codes on "
                     f"SIGTERM {res.get('exit_codes_on_sigterm')}")
        lines.append("  ratios fitclub/classic: " + ", ".join(
            f"{k} {_v(v, '{:.2f}')}" for k, v in r.items()))
        for t in res["targets"]:
            verdict = "-" if t["met"] is None else ("met" if t["met"] else "NOT met")
            lines.append(f"  target: {t['target']}: {_v(t['ratio'], '{:.2f}')} -> {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true",
                   help="a developer's machine: 1 round, fewer updates (about a minute)")
    p.add_argument("--rounds", type=int, help="rounds per bot and setting (default 2; short 1)")
    p.add_argument("--updates", type=int, help="open-loop updates (default 1500; short 300)")
    p.add_argument("--closed-updates", type=int,
                   help="closed-loop updates (default 2000; short 600)")
    p.add_argument("--rate", type=float, default=100.0, help="open-loop updates/s")
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--durability", choices=("off", "on", "both"), default="both")
    p.add_argument("--root", type=Path, default=ROOT,
                   help="checkout whose bot.py and sql/ are run (default: this working tree)")
    args = p.parse_args(argv)
    rounds = args.rounds or (1 if args.short else 2)
    open_updates = args.updates or (300 if args.short else 1500)
    closed_updates = args.closed_updates or (600 if args.short else 2000)
    if rounds < 1 or open_updates < 1 or closed_updates < 1 or args.users < 1 or args.rate <= 0:
        p.error("rounds, updates, users and rate must be positive")
    durabilities = ["off", "on"] if args.durability == "both" else [args.durability]
    print(f"compare: fitclub vs classic, {rounds} round(s), durability {'+'.join(durabilities)}",
          flush=True)
    report = run(rounds=rounds, users=args.users, closed_updates=closed_updates,
                 open_updates=open_updates, rate=args.rate, durabilities=durabilities,
                 short=args.short, root=args.root.resolve())
    REPORT_JSON.parent.mkdir(parents=True, exist_ok=True)
    REPORT_JSON.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    REPORT_MD.write_text(markdown(report), encoding="utf-8")
    print(summary(report))
    print(f"{report['duration_s']:.0f}s; reports: {REPORT_JSON.relative_to(ROOT)}, "
          f"{REPORT_MD.relative_to(ROOT)}")
    return 1 if any("error" in r for r in report["results"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
