"""Members' journeys at a club's size: the bot under steady load, at Telegram's limits, to
saturation, during an announcement, with a year of history, and its cold start.

A throwaway PostgreSQL (pg_stat_statements loaded), tgemu in this process, and the bot as its
own process (`python bot.py run`, the working tree's code). Each club is its own database,
seeded by SQL (bench.history.seed_club: members i with Telegram ids 700_000_000 + i, current
memberships for 3 in 4, classes weeks back and 4 weeks ahead with bookings, full classes with
waitlists, visits, the stored inbox/outbox the retention job keeps) and its own bot token.
tgemu's simulated users have the members' Telegram ids (the load driver's user_ids); they run
bench/journeys.py (start, schedule paging, class details, book, cancel, my bookings, waitlist,
membership, card, activity), every step waiting for the screen it should bring.

Modes (all by default; --modes picks):

- steady: our limits raised (OUTBOUND_RATE 5000, PER_CHAT_RATE 100, FLOOD_RATE 1000),
  tgemu's off; 1,000 members at 200 updates/s (open loop) for 120 s.
- limits: tgemu at Telegram's 30/s and 1/s per chat, the bot's own defaults; 20 updates/s.
- saturation: as steady, the rate raised in steps until p99 passes 250 ms.
- announcement: 10,000 members; an admin sends one to all of them through the bot
  (/announce, text, All registered, Send) while members' journeys run at tgemu's limits; after
  --announce-seconds the admin presses Stop sending (0: until it is done).
- growth: 1,000 and 20,000 members with a year of history, the same active members and rate
  and the same timetable (8 classes a day: what grows is the data, not the screens).
- cold start: process start to the first member's /start answered (every bot start is timed).

Writes bench/reports/members.{json,md,png} (--short: members-short.*).

    .venv/bin/python -m bench.members [--short] [--modes steady,limits,...] [--members N]
                                      [--seconds S]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

from bench import REPORTS, ROOT, SERVER_SETTINGS
from bench import report as reportlib
from bench.journeys import Journeys, Recorder, is_menu
from bench.runtime_bench import process_cpu, server_cpu
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tests.e2e.harness import TOKEN as HARNESS_TOKEN
from tgemu import Emulator
from tgemu.load import run_load

MODES = ("steady", "limits", "saturation", "announcement", "growth", "cold_start")
TELEGRAM_LIMITS = {"global_rate": 30.0, "per_chat_rate": 1.0}   # tgemu's defaults
NO_LIMITS = {"global_rate": None, "per_chat_rate": None}
RAISED = {"OUTBOUND_RATE": "5000", "PER_CHAT_RATE": "100", "FLOOD_RATE": "1000",
          "FLOOD_BURST": "1000"}
#: Bot API calls that put a message on a member's screen (sent or changed); what
#: "messages per member action" counts. answerCallbackQuery is not one (no message).
MESSAGE_METHODS = ("sendMessage", "editMessageText", "editMessageReplyMarkup",
                   "editMessageCaption", "editMessageMedia", "sendPhoto", "sendDocument",
                   "deleteMessage", "sendMediaGroup")
SATURATION_P99_MS = 250.0
AUDIENCE = "All registered"   # the announcement's audience button: every registered member
START_TIMEOUT = 90.0
CARD_SECRET = "members-bench-card-secret-" + "c" * 24   # a throwaway club's, not a secret

FULL = {"members": 1000, "rate": 200.0, "seconds": 120.0, "limits_rate": 20.0,
        "limits_seconds": 60.0, "saturation_rates": (200, 300, 400, 600, 800, 1000),
        "saturation_seconds": 15.0, "announce_members": 10_000, "announce_rate": 8.0,
        "announce_seconds": 120.0, "growth_members": (1000, 20_000), "growth_weeks": 52,
        "growth_seconds": 60.0, "growth_classes_per_day": 8, "weeks_back": 4}
SHORT = {"members": 300, "rate": 60.0, "seconds": 20.0, "limits_rate": 10.0,
         "limits_seconds": 15.0, "saturation_rates": (100, 200, 300, 400),
         "saturation_seconds": 6.0, "announce_members": 1500, "announce_rate": 4.0,
         "announce_seconds": 20.0, "growth_members": (300, 3000), "growth_weeks": 12,
         "growth_seconds": 15.0, "growth_classes_per_day": 8, "weeks_back": 2}


def _token(n: int) -> str:
    return f"20000{n:04d}:" + "M" * 35   # tgemu tokens, not secrets


# --- /proc and the database --------------------------------------------------------------------

def proc_status(pid: int, key: str) -> int | None:
    """A /proc/<pid>/status field in kB (VmRSS, VmHWM); None if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def sql(url: str, stmt: str, params=None) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(stmt, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


STATEMENTS_SQL = ("SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s"
                  " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()"
                  " AND s.query NOT ILIKE '%%pg_stat_%%'")
TOP_STATEMENTS_SQL = (
    "SELECT s.calls, s.total_exec_time, s.mean_exec_time, s.shared_blks_hit + s.shared_blks_read,"
    " left(regexp_replace(s.query, '\\s+', ' ', 'g'), 120)"
    " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
    " WHERE d.datname = current_database() AND s.query NOT ILIKE '%%pg_stat_%%'"
    " ORDER BY s.total_exec_time DESC LIMIT 12")
CONNECTIONS_SQL = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                   " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")


class Sampler(threading.Thread):
    """Every second: bot RSS and the database's connections (polled every 0.25 s for the peak)."""

    def __init__(self, url: str, pid: int) -> None:
        super().__init__(daemon=True, name="members-sampler")
        self.pid = pid
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True
        self.samples: list[dict] = []
        self.peak_connections = 0
        self.peak_rss_kb = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        tick = 0
        with self.conn.cursor() as cur:
            while not self.stop_event.wait(0.25):
                cur.execute(CONNECTIONS_SQL)
                conns = cur.fetchone()[0]
                self.peak_connections = max(self.peak_connections, conns)
                rss = proc_status(self.pid, "VmRSS") or 0
                self.peak_rss_kb = max(self.peak_rss_kb, rss)
                tick += 1
                if tick % 4 == 0:
                    self.samples.append({"t": time.time(), "rss_mb": _mb(rss),
                                         "connections": conns})

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)
        self.conn.close()


# --- clubs ---------------------------------------------------------------------------------------

class Club:
    """One database, seeded, with its bot token; the bot process when started."""

    def __init__(self, dev: DevPostgres, emu: Emulator, name: str, n: int, *, members: int,
                 weeks_back: int, tmp: Path, token: str | None = None,
                 classes_per_day: int | None = None) -> None:
        self.dev, self.emu, self.name, self.tmp = dev, emu, name, tmp
        self.token = token or _token(n)
        self.url = dev.create_database(name)
        Migrator(self.url).migrate()
        sql(self.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.seed = seed(self.url, members=members, weeks_back=weeks_back,
                         classes_per_day=classes_per_day)
        self.members = members
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_errors: dict[str, dict] = {}
        self.active = [t for (t,) in sql(self.url, """
            SELECT m.telegram_id FROM members m WHERE m.role = 'member'
               AND m.telegram_id IS NOT NULL AND m.deleted_at IS NULL AND EXISTS (
                   SELECT 1 FROM memberships s WHERE s.member_id = m.id
                      AND s.status = 'active' AND s.ends_on >= current_date
                      AND s.starts_on <= current_date)
             ORDER BY m.telegram_id""")]
        # Full classes in the next days, to wait for a place in (not today's: they may start).
        self.full = [(cid, day) for cid, day in sql(self.url, """
            SELECT id, (starts_at AT TIME ZONE 'UTC')::date FROM classes
             WHERE status = 'scheduled' AND booked_count >= capacity
               AND starts_at >= date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day'
               AND starts_at < date_trunc('day', now() AT TIME ZONE 'UTC') + interval '4 days'
             ORDER BY starts_at LIMIT 50""")]
        everyone = [t for (t,) in sql(self.url, "SELECT telegram_id FROM members WHERE "
                                                "telegram_id IS NOT NULL")]
        # Every member has started the bot (staff get command lists per chat at start, members
        # reminders and offers): tgemu knows them all and their chats are open.
        emu.open_chats(self.token, [_sim(emu, t, "Member") for t in everyone])
        self.everyone = everyone
        if self.seed.get("next_update_id"):
            emu.set_next_update_id(self.token, int(self.seed["next_update_id"]))

    def start(self, env: dict[str, str]) -> float:
        """Start the bot; seconds from process start to a member's /start answered with the
        menu (cold start: the update is waiting before the process exists)."""
        user = _sim(self.emu, self.active[-1], "Cold")
        bot = self.emu.bot(self.token)
        with bot.lock:
            chat = bot.chat(user.data)
            before = len(chat.events)
        self.starts += 1
        log = self.tmp / f"{self.name}-bot-{self.starts}.log"
        full_env = {**os.environ, "TELEGRAM_BOT_TOKEN": self.token, "DATABASE_URL": self.url,
                    "TELEGRAM_API_URL": self.emu.base_url, "CARD_SECRET": CARD_SECRET,
                    "METRICS_ADDR": "127.0.0.1:0", "LOG_LEVEL": "WARNING",
                    "LOG_FORMAT": "plain", **env}
        started = time.time()
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen([sys.executable, "bot.py", "run"], cwd=ROOT,
                                         env=full_env, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        user.send_text(self.token, "/start")
        deadline = time.monotonic() + START_TIMEOUT
        with bot.lock:
            while True:
                for e in chat.events[before:]:
                    if e["kind"] == "message" and e.get("from") == "bot" and is_menu(e):
                        return round(e["time"] - started, 3)
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    break
                chat.cv.wait(0.5)
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name}: the bot did not answer /start "
                           f"(exit {self.proc.poll()}):\n{tail}")

    def settle(self, limit: float = 90.0) -> dict:
        """Wait (bounded) until the bot's outbox has nothing waiting: what a fresh start owes
        (command lists, reminders of the seeded bookings) goes out before a phase measures."""
        started = time.monotonic()
        waiting = None
        while time.monotonic() - started < limit:
            waiting = sql(self.url, "SELECT count(*) FROM outbox WHERE status IN "
                                    "('pending', 'sending')")[0][0]
            if not waiting:
                break
            time.sleep(0.5)
        return {"seconds": round(time.monotonic() - started, 1), "still_waiting": waiting}

    def stop(self) -> int | None:
        """SIGTERM (SIGKILL after 30 s); its exit code. Counts the ERROR lines of its log."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        path = self.tmp / f"{self.name}-bot-{self.starts}.log"
        if path.exists():
            errors = [line for line in path.read_text(errors="replace").splitlines()
                      if " ERROR " in line or "Traceback" in line]
            self.log_errors[f"{self.name}-{self.starts}"] = {
                "error_lines": len(errors), "samples": [e[:300] for e in errors[:3]]}
        return proc.returncode

    def log_tail(self) -> str:
        path = self.tmp / f"{self.name}-bot-{self.starts}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _sim(emu: Emulator, user_id: int, name: str):
    try:
        return emu.user(user_id)
    except KeyError:
        return emu.create_user(first_name=name, user_id=user_id)


def seed(url: str, *, members: int, weeks_back: int, classes_per_day: int | None = None) -> dict:
    """bench.history.seed_club when it is there, else a minimal club by SQL. classes_per_day:
    a fixed timetable (seed_club's default grows it with the members)."""
    try:
        from bench.history import seed_club
    except ImportError:
        seed_club = None
    if seed_club is not None:
        extra = {} if classes_per_day is None else {"classes_per_day": classes_per_day}
        out = seed_club(url, members=members, weeks_back=weeks_back, weeks_ahead=4, **extra)
        out["seeded_by"] = "bench.history.seed_club"
        return out
    started = time.monotonic()
    sql(url, MINIMAL_SEED, {"n": members, "base": 700_000_000})
    return {"seeded_by": "bench.members minimal seed", "members": members,
            "seconds": round(time.monotonic() - started, 2)}


# Used only while bench.history is missing: members with a current membership, 4 weeks of
# classes, one full class a day (its one place held by the last member).
MINIMAL_SEED = """
INSERT INTO membership_plans (name, price_minor, duration_days, visit_count)
VALUES ('Bench monthly', 4900, 30, NULL);
INSERT INTO members (telegram_id, first_name, phone, language, role, registered_at)
SELECT %(base)s + i, 'Member ' || i, '+1555' || lpad(i::text, 8, '0'), 'en', 'member',
       now() - interval '30 days' FROM generate_series(0, %(n)s - 1) i;
INSERT INTO members (telegram_id, first_name, phone, language, role, registered_at)
SELECT 690000000 + j, 'Trainer ' || j, '+1666' || lpad(j::text, 8, '0'), 'en', 'trainer',
       now() - interval '60 days' FROM generate_series(0, 3) j;
INSERT INTO memberships (member_id, plan_id, starts_on, ends_on, visits_left, status)
SELECT m.id, p.id, current_date - 5, current_date + 25, NULL, 'active'
  FROM members m, membership_plans p WHERE m.role = 'member';
INSERT INTO class_types (name, description, default_duration_minutes, default_capacity)
VALUES ('Bench yoga', '', 60, 20), ('Bench spin', '', 45, 20), ('Bench boxing', '', 60, 1);
INSERT INTO classes (class_type_id, trainer_id, starts_at, duration_minutes, capacity)
SELECT ct.id, (SELECT id FROM members WHERE role = 'trainer' ORDER BY id LIMIT 1),
       date_trunc('day', now()) + d * interval '1 day' + h * interval '1 hour',
       ct.default_duration_minutes, ct.default_capacity
  FROM generate_series(1, 28) d, generate_series(8, 20, 2) h, class_types ct
 WHERE ct.default_capacity > 1 OR h = 8;
INSERT INTO bookings (class_id, member_id, status)
SELECT c.id, (SELECT max(id) FROM members WHERE role = 'member'), 'booked'
  FROM classes c WHERE c.capacity = 1;
"""


# --- one phase -----------------------------------------------------------------------------------

def phase(name: str, club: Club, *, rate: float, seconds: float, users: list[int],
          think: tuple[float, float] | None = None, extra=None) -> dict:
    """Members' journeys at `rate` updates/s (open loop) for `seconds`; every measure."""
    emu, token, pid = club.emu, club.token, club.proc.pid
    think = think or (0.2, min(2.0, 0.3 * len(users) / rate))
    loadavg = round(os.getloadavg()[0], 2)
    sql(club.url, "SELECT pg_stat_statements_reset()")
    rec = Recorder()
    journeys = Journeys(emu, token, rec, think=think, full_classes=club.full,
                        today=datetime.now(UTC).date(), seed=zlib.crc32(name.encode()) & 0xFFFF)
    before = emu.stats(token)
    cpu0, pg0, here0 = process_cpu(pid), server_cpu(club.dev.proc.pid), time.process_time()
    sampler = Sampler(club.url, pid)
    sampler.start()
    wall0 = time.time()
    extra_out: dict = {}
    worker = None
    if extra is not None:   # something else during the phase (the announcement)
        def run_extra() -> None:
            try:
                extra_out.update(extra())
            except Exception as exc:  # reported, not lost in a thread
                extra_out["error"] = f"{exc.__class__.__name__}: {exc}"[:500]

        worker = threading.Thread(target=run_extra, daemon=True)
        worker.start()
    try:
        load = run_load(emu, token, journeys, user_ids=users, mode="open", rate=rate,
                        duration=seconds, answer_timeout=30, first_name="Member")
        if worker is not None:
            worker.join(max(60.0, seconds * 4))
    finally:
        sampler.stop()
    elapsed = load["elapsed_s"] or seconds
    cpu = process_cpu(pid) - cpu0
    pg = server_cpu(club.dev.proc.pid) - pg0
    here = time.process_time() - here0
    after = emu.stats(token)
    statements = float(sql(club.url, STATEMENTS_SQL)[0][0])
    answered = max(1, load["answered"])
    top = [{"per_update": round(calls / answered, 3), "total_ms": round(total, 1),
            "mean_ms": round(mean, 3), "blocks_per_call": round(blocks / max(1, calls), 1),
            "query": text}
           for calls, total, mean, blocks, text in sql(club.url, TOP_STATEMENTS_SQL)]

    def delta(method: str) -> int:
        return after["calls"].get(method, 0) - before["calls"].get(method, 0)

    messages = sum(delta(m) for m in MESSAGE_METHODS)
    screen = [s for _, s, _ in rec.steps]
    out = {
        "phase": name, "members": club.members, "active_members": len(users),
        "target_rate_per_s": rate, "seconds": seconds, "think_s": list(think),
        "loadavg_1m_before": loadavg,
        "updates_sent": load["updates_sent"], "answered": load["answered"],
        "updates_per_s": round(load["throughput_per_s"], 1),
        "sent_per_s": round(load["updates_sent"] / min(seconds, elapsed or seconds), 1),
        "lost": load["timeouts"], "errors": load["errors"],
        "unexpected_screens": dict(rec.unexpected),
        "error_samples": (rec.samples + load["error_samples"])[:10],
        "journeys": dict(rec.journeys), "journeys_completed": dict(rec.journeys_done),
        "latency_ms": _ms(_pct(screen)),
        "tgemu_latency_ms": _ms(load["latency_s"]),
        "schedule_lag_max_s": round(load["schedule_lag_max_s"] or 0, 3),
        "messages": messages, "messages_per_update": round(messages / answered, 3),
        "message_calls": {m: delta(m) for m in MESSAGE_METHODS if delta(m)},
        "answer_callback_calls": delta("answerCallbackQuery"),
        "http_429": after.get("http_429", 0) - before.get("http_429", 0),
        "bot_rss_peak_mb": _mb(sampler.peak_rss_kb),
        "bot_rss_hwm_mb": _mb(proc_status(pid, "VmHWM")),
        "bot_cpu_ms_per_update": round(cpu / answered * 1000, 3),
        "postgres_cpu_ms_per_update": round(pg / answered * 1000, 3),
        "bot_cores_used": round(cpu / elapsed, 2), "postgres_cores_used": round(pg / elapsed, 2),
        "bench_process_cores_used": round(here / elapsed, 2),
        "statements_per_update": round(statements / answered, 2),
        "top_statements_by_time": top,
        "peak_connections": sampler.peak_connections,
        "elapsed_s": elapsed,
        "timeline": _timeline(rec.steps, sampler.samples, wall0),
    }
    if extra_out:
        out["announcement"] = extra_out
    return out


def _pct(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
    v = sorted(values)

    def at(q: float) -> float:
        return v[min(len(v) - 1, int(q * len(v)))]

    return {"count": len(v), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": v[-1]}


def _ms(p: dict) -> dict:
    return {k: (None if p.get(k) is None else round(p[k] * 1000, 2))
            for k in ("p50", "p95", "p99", "max")}


def _timeline(steps, samples, wall0: float) -> list[dict]:
    """Per second of the phase: screens answered, their p50/p99, bot RSS, connections."""
    by_second: dict[int, list[float]] = {}
    for done, seconds, _ in steps:
        by_second.setdefault(int(done - wall0), []).append(seconds)
    res = {int(s["t"] - wall0): s for s in samples}
    out = []
    for sec in range(0, max([*by_second, *res, 0]) + 1):
        lat = _pct(by_second.get(sec, []))
        s = res.get(sec, {})
        out.append({"t": sec, "updates": lat["count"],
                    "p50_ms": None if lat["p50"] is None else round(lat["p50"] * 1000, 1),
                    "p99_ms": None if lat["p99"] is None else round(lat["p99"] * 1000, 1),
                    "rss_mb": s.get("rss_mb"), "connections": s.get("connections")})
    return out


def _brief(r: dict) -> str:
    lat = r["latency_ms"]
    return (f"    {r['updates_per_s']}/s, p50 {lat['p50']} p99 {lat['p99']} ms, errors "
            f"{r['errors']}, lost {r['lost']}, {r['messages_per_update']} msg/update, "
            f"{r['statements_per_update']} stmts/update, conns {r['peak_connections']}, "
            f"RSS {r['bot_rss_peak_mb']} MB, 429s {r['http_429']}")


# --- the modes -----------------------------------------------------------------------------------

def run_steady_family(emu, club: Club, cfg: dict, modes: set[str], results: dict) -> None:
    """steady, saturation (same bot, limits raised) and the cold start of that bot."""
    emu.configure(**NO_LIMITS)
    users = club.active[: cfg["members"]]
    try:
        cold = club.start(RAISED)
        results["cold_start"] = {"seconds": cold, "club_members": club.members,
                                 "settled": club.settle()}
        print(f"  cold start: {cold}s", flush=True)
        # A short warm-up so the first seconds of the phase are not the imports' and caches'.
        phase("warmup", club, rate=min(50.0, cfg["rate"]), seconds=5, users=users[:100])
        if "steady" in modes:
            print(f"  steady: {len(users)} members at {cfg['rate']:g}/s for "
                  f"{cfg['seconds']:g}s", flush=True)
            results["steady"] = phase("steady", club, rate=cfg["rate"],
                                      seconds=cfg["seconds"], users=users)
            print(_brief(results["steady"]), flush=True)
        if "saturation" in modes:
            steps = []
            for rate in cfg["saturation_rates"]:
                print(f"  saturation: {rate}/s for {cfg['saturation_seconds']:g}s", flush=True)
                r = phase(f"saturation {rate}/s", club, rate=float(rate),
                          seconds=cfg["saturation_seconds"], users=users,
                          think=(0.0, min(0.5, 0.2 * len(users) / rate)))
                steps.append(r)
                print(_brief(r), flush=True)
                p99 = r["latency_ms"]["p99"]
                if p99 is None or p99 > SATURATION_P99_MS or r["lost"] or \
                        r["updates_per_s"] < 0.8 * rate:
                    break
            under = [s for s in steps if s["latency_ms"]["p99"] is not None
                     and s["latency_ms"]["p99"] <= SATURATION_P99_MS and not s["lost"]
                     and s["updates_per_s"] >= 0.8 * s["target_rate_per_s"]]
            results["saturation"] = {
                "steps": steps,
                "last_rate_under_250ms": under[-1]["target_rate_per_s"] if under else None,
                "passed_at": (steps[-1]["target_rate_per_s"]
                              if steps and steps[-1] not in under else None)}
    finally:
        results.setdefault("exit_codes", {})["steady"] = club.stop()
        results.setdefault("bot_log_errors", {}).update(club.log_errors)


def run_limits(emu, club: Club, cfg: dict, results: dict) -> None:
    emu.configure(**TELEGRAM_LIMITS)
    try:
        club.start({})
        results["limits_settled"] = club.settle()
        users = club.active[: cfg["members"]]
        print(f"  limits: tgemu 30/s and 1/s per chat, bot defaults; {len(users)} members at "
              f"{cfg['limits_rate']:g}/s for {cfg['limits_seconds']:g}s", flush=True)
        results["limits"] = phase("limits", club, rate=cfg["limits_rate"],
                                  seconds=cfg["limits_seconds"], users=users)
        print(_brief(results["limits"]), flush=True)
    finally:
        results.setdefault("exit_codes", {})["limits"] = club.stop()
        results.setdefault("bot_log_errors", {}).update(club.log_errors)
        emu.configure(**NO_LIMITS)


def run_announcement(emu, club: Club, cfg: dict, results: dict) -> None:
    """The admin's announcement to every registered member through the bot, members' journeys on
    top, tgemu at Telegram's limits and the bot with its defaults."""
    from tests.e2e.session import Person  # the e2e tests' person, as announce_bench uses

    emu.configure(**TELEGRAM_LIMITS)
    recipients = [_sim(emu, t, "Member") for t in club.everyone]
    admin = AdminPerson(Person, emu, club)
    try:
        club.start({})
        results["announcement_settled"] = club.settle()
        users = club.active[: min(cfg["members"], len(club.active))]
        text = f"Members bench announcement {int(time.time())}"
        window = cfg["announce_seconds"]

        def announce() -> dict:
            return admin.announce(text, window, [u.id for u in recipients])

        print(f"  announcement: to all {len(club.everyone)} registered, {len(users)} members' "
              f"journeys "
              f"at {cfg['announce_rate']:g}/s, tgemu 30/s", flush=True)
        r = phase("announcement", club, rate=cfg["announce_rate"],
                  seconds=window + 15, users=users, extra=announce)
        a = r.get("announcement", {})
        if a.get("text"):
            counts = _received(emu, club.token, [u.id for u in recipients], a["text"])
            a["received"] = sum(counts.values())
            a["received_twice"] = sum(1 for n in counts.values() if n > 1)
        results["announcement"] = r
        print(_brief(r), flush=True)
        print(f"    announcement: {json.dumps({k: v for k, v in a.items() if k != 'text'})}",
              flush=True)
    finally:
        results.setdefault("exit_codes", {})["announcement"] = club.stop()
        results.setdefault("bot_log_errors", {}).update(club.log_errors)
        emu.configure(**NO_LIMITS)


def _received(emu, token: str, chat_ids: list[int], text: str) -> dict[int, int]:
    bot = emu.bot(token)
    out = {}
    with bot.lock:
        for chat_id in chat_ids:
            chat = bot.chats.get(chat_id)
            if chat is not None:
                out[chat_id] = sum(1 for m in chat.sent if m.get("text") == text)
    return out


class AdminPerson:
    """The club's admin (a tgemu user, an admin member) sending through /announce."""

    def __init__(self, person_cls, emu, club: Club) -> None:
        self.person = person_cls(emu, "Ada")   # talks to the e2e harness's token: the club's
        self.club = club
        sql(club.url, "INSERT INTO members (telegram_id, first_name, phone, role, registered_at)"
                      " VALUES (%s, 'Ada', '+15550000001', 'admin', now())",
            (self.person.id,))

    def announce(self, text: str, window: float, chat_ids: list[int]) -> dict:
        """/announce, the text, All registered, Send; every second the deliveries at tgemu
        (and the announcement's status); Stop sending after `window` seconds (0: none)."""
        p = self.person
        p.send("/announce")
        _, audience = p.send(text, expect=2)
        p.press(audience, AUDIENCE)
        deadline = time.monotonic() + 30
        shown = None
        while time.monotonic() < deadline:
            shown = p.now(audience["message_id"])
            m = re.search(r"(\d[\d,]*) members will get it", (shown or {}).get("text") or "")
            if m:
                break
            time.sleep(0.1)
        else:
            return {"error": f"no audience count: {(shown or {}).get('text')!r}"}
        total = int(m.group(1).replace(",", ""))
        before = self.club.emu.stats(self.club.token)
        p.press(shown, f"Send to {total} members")
        started = time.monotonic()
        ann_sql = "SELECT status FROM announcements WHERE text = %s"
        samples = []
        status, sent = "queued", 0
        while True:
            rows = sql(self.club.url, ann_sql, (text,))
            status = rows[0][0] if rows else "missing"
            sent = sum(_received(self.club.emu, self.club.token, chat_ids, text).values())
            now = time.monotonic()
            samples.append((round(now - started, 1), sent))
            if status in ("done", "cancelled") or (window and now - started >= window):
                break
            time.sleep(1.0)
        after = self.club.emu.stats(self.club.token)
        stopped = False
        if status not in ("done", "cancelled"):
            with contextlib.suppress(Exception):
                p.press(p.now(audience["message_id"]), "Stop sending")
                stopped = True
        window_s = time.monotonic() - started
        elapsed = window_s
        messages = sum(after["calls"].get(m, 0) - before["calls"].get(m, 0)
                       for m in MESSAGE_METHODS)
        http_429 = after.get("http_429", 0) - before.get("http_429", 0)
        return {"text": text, "recipients": total, "status": status, "stopped": stopped,
                "delivered_in_window": sent, "window_s": round(elapsed, 1),
                "announcement_per_s": round(sent / elapsed, 2) if elapsed else None,
                "all_messages_in_window": messages,
                "all_messages_per_s": round(messages / window_s, 2) if window_s else None,
                "http_429_in_window": http_429,
                "sent_progress": samples[:: max(1, len(samples) // 60)]}


def run_growth(emu, dev, tmp: Path, cfg: dict, results: dict, counter) -> None:
    emu.configure(**NO_LIMITS)
    out = results["growth"] = {}   # filled as each size is measured (kept if a later fails)
    active = cfg["members"]   # the same active members at every size: the smallest club's
    for size in cfg["growth_members"]:
        print(f"  growth: seeding {size} members, {cfg['growth_weeks']} weeks of history",
              flush=True)
        club = Club(dev, emu, f"growth{size}", next(counter), members=size,
                    weeks_back=cfg["growth_weeks"], tmp=tmp,
                    classes_per_day=cfg["growth_classes_per_day"])
        active = min(active, len(club.active))
        users = club.active[:active]
        try:
            cold = club.start(RAISED)
            settled = club.settle()
            phase("warmup", club, rate=min(50.0, cfg["rate"]), seconds=5, users=users[:100])
            print(f"  growth: {size} members, {len(users)} active at {cfg['rate']:g}/s for "
                  f"{cfg['growth_seconds']:g}s", flush=True)
            r = phase(f"growth {size}", club, rate=cfg["rate"], seconds=cfg["growth_seconds"],
                      users=users)
            r["seed"] = club.seed
            r["cold_start_s"] = cold
            r["settled_before"] = settled
            out[str(size)] = r
            print(_brief(r), flush=True)
        finally:
            results.setdefault("exit_codes", {})[f"growth {size}"] = club.stop()
            results.setdefault("bot_log_errors", {}).update(club.log_errors)


# --- the run -------------------------------------------------------------------------------------

def _guarded(results: dict, mode: str, club: Club | None, fn, *args) -> None:
    """Run one mode; a failure (the bot not answering, say, while its runtime is being
    changed) is recorded with the bot's log tail and the other modes still run."""
    try:
        fn(*args)
    except Exception as exc:
        tail = club.log_tail() if club is not None else ""
        print(f"  {mode} FAILED: {exc}\n{tail}", file=sys.stderr, flush=True)
        results.setdefault("failures", {})[mode] = {
            "error": f"{exc.__class__.__name__}: {exc}"[:2000], "bot_log_tail": tail[-1500:]}


def run(modes: set[str], cfg: dict) -> dict:
    results: dict = {}
    counter = iter(range(1, 100))
    loadavg = round(os.getloadavg()[0], 2)
    started = time.monotonic()
    emu = Emulator(port=0, **NO_LIMITS).start()
    try:
        with tempfile.TemporaryDirectory(prefix="fitclub-members-") as tmp_s, \
                DevPostgres(settings={**SERVER_SETTINGS,
                                      "shared_preload_libraries": "pg_stat_statements",
                                      "pg_stat_statements.track": "all",
                                      **json.loads(os.environ.get("MEMBERS_PG_DEBUG", "{}"))}
                            ) as dev:
            tmp = Path(tmp_s)
            print(f"tgemu on {emu.base_url}; PostgreSQL on port {dev.port}", flush=True)
            if modes & {"steady", "saturation", "cold_start", "limits"}:
                print(f"seeding {cfg['members']} members...", flush=True)
                club = Club(dev, emu, "club", next(counter), members=cfg["members"],
                            weeks_back=cfg["weeks_back"], tmp=tmp)
                results["seed"] = club.seed
                if modes & {"steady", "saturation", "cold_start"}:
                    _guarded(results, "steady", club, run_steady_family, emu, club, cfg, modes,
                             results)
                if "limits" in modes:
                    _guarded(results, "limits", club, run_limits, emu, club, cfg, results)
            if "announcement" in modes:
                print(f"seeding {cfg['announce_members']} members for the announcement...",
                      flush=True)
                big = Club(dev, emu, "announce", next(counter), members=cfg["announce_members"],
                           weeks_back=1, tmp=tmp, token=HARNESS_TOKEN)
                _guarded(results, "announcement", big, run_announcement, emu, big, cfg, results)
            if "growth" in modes:
                _guarded(results, "growth", None, run_growth, emu, dev, tmp, cfg, results,
                         counter)
    finally:
        emu.stop()
    return {
        "benchmark": "members",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_1m_before": loadavg},
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "modes": sorted(modes),
        "seconds_total": round(time.monotonic() - started, 1),
        "setup": {
            "bot": "python bot.py run (working tree), its own process; steady/saturation/"
                   "growth: OUTBOUND_RATE 5000, PER_CHAT_RATE 100, FLOOD_RATE 1000; limits and "
                   "announcement: the bot's defaults",
            "tgemu": "in the bench process; limits off except limits/announcement (30/s, "
                     "1/s per chat)",
            "load": "tgemu.load.run_load, open loop at the phase's rate, the members' own "
                    "Telegram ids (user_ids), bench/journeys.py",
            "latency": "screen: from sending the update to the message or edit the member "
                       "waits for reaching tgemu; tgemu_latency: the update handed to the "
                       "bot -> its first answering call (answerCallbackQuery for a press)",
            "messages_per_update": "Bot API calls of " + ", ".join(MESSAGE_METHODS)
                                   + " during the phase / updates answered",
            "statements_per_update": "pg_stat_statements calls in the club's database "
                                     "(reset at the phase's start; the bot's background jobs "
                                     "included) / updates answered",
            "cpu": "/proc utime+stime: the bot process; the PostgreSQL server (all its "
                   "processes); the bench process (tgemu + load driver)",
        },
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.members", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true",
                   help="a developer's machine: smaller and shorter; writes members-short.*")
    p.add_argument("--modes", default=",".join(MODES),
                   help=f"comma-separated, of {', '.join(MODES)}")
    p.add_argument("--members", type=int, help="active members in the journeys (and seeded)")
    p.add_argument("--seconds", type=float, help="the steady phase's length")
    p.add_argument("--rate", type=float, help="the steady phase's updates/s")
    p.add_argument("--growth-seconds", type=float, help="each growth phase's length")
    p.add_argument("--announce-members", type=int)
    p.add_argument("--announce-seconds", type=float,
                   help="stop the announcement after this long (0: until done)")
    p.add_argument("--stem", help="report file names (default members, or members-short)")
    args = p.parse_args(argv)
    modes = {m.strip().replace("-", "_") for m in args.modes.split(",") if m.strip()}
    unknown = modes - set(MODES)
    if unknown:
        p.error(f"unknown modes: {', '.join(sorted(unknown))}")
    cfg = dict(SHORT if args.short else FULL)
    for key in ("members", "seconds", "rate", "announce_members", "announce_seconds",
                "growth_seconds"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    stem = args.stem or ("members-short" if args.short else "members")
    print(f"members bench ({'short' if args.short else 'full'}): {', '.join(sorted(modes))}",
          flush=True)
    report = run(modes, cfg)
    report["short"] = args.short
    paths = reportlib.write(report, REPORTS, stem)
    print(reportlib.markdown(report))
    print("wrote " + ", ".join(str(path) for path in paths))
    return 1 if report["results"].get("failures") else 0


if __name__ == "__main__":
    sys.exit(main())
