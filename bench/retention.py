"""Retention under load: the bot answers a steady stream of members while its job deletes
1,000,000 old rows.

A throwaway PostgreSQL, tgemu in this process (its rate limits off), the bot as its own
process (tests/e2e/probe_bot.py: the real app; members send `n 1`, one audit row and the
reply `ack 1` each).

1. 600,000 processed updates and 400,000 sent messages of eight days ago (generate_series,
   ~200 bytes of text each), inserted before the bot starts; the retention sweep's row is
   parked a day ahead so nothing is deleted yet.
2. `before`: members send at a steady rate (open loop, --rate updates/s from --users chats);
   after --warmup seconds (not counted: first updates of each chat, the pool filling) for
   --before seconds.
3. `during`: the sweep is made due; the stream goes on until the sweep has worked through
   every table (its row rests an hour ahead again); `after`: --after seconds more.
4. Every update's latency (tgemu: from the getUpdates answer that carries it to the bot's
   first answering call in that chat), p50/p95/p99 per phase; rows deleted; how long the
   prune took (from making it due to its end, and the sweep's own log line).

Prints a report and writes bench/reports/retention.json.

    .venv/bin/python -m bench.retention [--inbox 600000] [--outbox 400000] [--rate 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import REPORTS, latency_summary
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from fitclub.jobs import retention as job
from tests.e2e.harness import TOKEN, Launcher, query, wait_until
from tgemu import Emulator

REPORT = REPORTS / "retention.json"
ENV = {"LOG_LEVEL": "INFO", "JOB_POLL_SECONDS": "0.2"}
LOG_LINE = re.compile(r"retention: deleted (.*) in (\d+) batches, ([\d.]+)s")


def _backlog(db_url: str, inbox: int, outbox: int) -> float:
    """Old rows past RETENTION_DAYS; seconds it took to insert them."""
    started = time.monotonic()
    query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  " processed_at) SELECT 100000000 + n, n %% 5000, 'message',"
                  " jsonb_build_object('update_id', 100000000 + n, 'message',"
                  "   jsonb_build_object('text', repeat('x', 200))), 'done',"
                  " now() - interval '8 days', now() - interval '8 days'"
                  " FROM generate_series(1, %s) n", (inbox,))
    query(db_url, "INSERT INTO outbox (chat_id, method, params, status, created_at, sent_at)"
                  " SELECT n %% 5000, 'sendMessage', jsonb_build_object('text', repeat('y', 200)),"
                  " 'sent', now() - interval '8 days', now() - interval '8 days'"
                  " FROM generate_series(1, %s) n", (outbox,))
    query(db_url, "ANALYZE inbox")
    query(db_url, "ANALYZE outbox")
    # Parked: the bot's start finds the row pending with its interval and leaves it.
    query(db_url, "INSERT INTO jobs (kind, dedup_key, every_seconds, run_at)"
                  " VALUES (%s, 'recurring', %s, now() + interval '1 day')",
          (job.SWEEP_KIND, float(job.SWEEP_SECONDS)))
    return time.monotonic() - started


class Stream(threading.Thread):
    """Members sending `n 1` at a steady rate, round robin; each update id with its phase."""

    def __init__(self, emu: Emulator, users: int, rate: float) -> None:
        super().__init__(name="stream", daemon=True)
        self.users = [emu.create_user(f"member{i}") for i in range(users)]
        self.rate = rate
        self.phase = "warmup"
        self.sent: list[tuple[int, str]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        due = time.monotonic()
        i = 0
        while not self.stopped.is_set():
            update_id = self.users[i % len(self.users)].send_text(TOKEN, "n 1")
            self.sent.append((update_id, self.phase))
            i += 1
            due += 1 / self.rate
            self.stopped.wait(max(0.0, due - time.monotonic()))


def _swept(db_url: str) -> bool:
    """The sweep went through every table and rests until its next hour."""
    return query(db_url, "SELECT payload = '{}'::jsonb AND run_at > now() + interval '30 minutes'"
                         " FROM jobs WHERE kind = %s", (job.SWEEP_KIND,)) == [(True,)]



def run(inbox: int, outbox: int, users: int, rate: float, before: float, warmup: float,
        after: float) -> dict:
    with DevPostgres() as dev, tempfile.TemporaryDirectory() as tmp:
        db_url = dev.create_database("fitclub_retention")
        Migrator(db_url).migrate()
        emu = Emulator(port=0, global_rate=None, per_chat_rate=None)
        emu.start()
        launcher = Launcher(Path(tmp), emu)
        try:
            return _scenario(emu, launcher, db_url, inbox, outbox, users, rate, before,
                             warmup, after)
        finally:
            launcher.close(failed=False)
            emu.stop()


def _scenario(emu, launcher, db_url, inbox, outbox, users, rate, before, warmup,
              after) -> dict:
    print(f"inserting {inbox + outbox:,} old rows...", flush=True)
    inserted_in = _backlog(db_url, inbox, outbox)
    size_before = query(db_url, "SELECT pg_size_pretty(pg_total_relation_size('inbox')"
                                " + pg_total_relation_size('outbox'))")[0][0]
    bot = launcher.start(db_url, **ENV)
    stream = Stream(emu, users, rate)
    loadavg = os.getloadavg()[0]
    print(f"stream at {rate:g}/s from {users} members: {warmup:g}s warm-up, {before:g}s"
          " before the prune...", flush=True)
    stream.start()
    time.sleep(warmup)
    stream.phase = "before"
    time.sleep(before)
    stream.phase = "during"
    poked = time.monotonic()
    query(db_url, "UPDATE jobs SET run_at = now() WHERE kind = %s", (job.SWEEP_KIND,))
    print("prune started...", flush=True)
    wait_until(lambda: _swept(db_url), 1800, "the sweep to finish", interval=0.5)
    prune_seconds = time.monotonic() - poked
    stream.phase = "after"
    time.sleep(after)
    stream.stopped.set()
    stream.join(10)
    ids = dict(stream.sent)
    wait_until(lambda: set(emu.latencies(TOKEN)) >= set(ids), 120, "every update answered",
               interval=0.5)
    latencies = emu.latencies(TOKEN)
    phases = {phase: latency_summary([latencies[u] for u, p in ids.items() if p == phase])
              for phase in ("before", "during", "after")}
    line = wait_until(lambda: LOG_LINE.search(bot.log_text()), 30, "the sweep's log line")
    left = query(db_url, "SELECT (SELECT count(*) FROM inbox WHERE update_id > 100000000),"
                         " (SELECT count(*) FROM outbox WHERE created_at"
                         "  < now() - interval '7 days')")[0]
    return {
        "rows": {"inbox": inbox, "outbox": outbox, "inserted_seconds": round(inserted_in, 1),
                 "inbox_and_outbox_size_before": size_before},
        "deleted": dict((name, int(n)) for name, n in
                        (part.rsplit(" ", 1) for part in line[1].split(", "))),
        "left": {"inbox": left[0], "outbox": left[1]},
        "prune": {"seconds": round(prune_seconds, 1), "batches": int(line[2]),
                  "job_seconds": float(line[3]), "batch_rows": job.BATCH,
                  "pause_seconds": job.PAUSE_SECONDS},
        "stream": {"users": users, "rate_per_s": rate, "warmup_seconds": warmup,
                   "before_seconds": before, "after_seconds": after, "sent": len(ids),
                   "answered": sum(1 for u in ids if u in latencies)},
        "reply_latency": phases,
        "machine": {"cpus": os.cpu_count(), "loadavg_1m_before": round(loadavg, 2)},
    }


def table(report: dict) -> str:
    r, d, p, s = report["rows"], report["deleted"], report["prune"], report["stream"]
    lines = [
        f"backlog: {r['inbox']:,} inbox + {r['outbox']:,} outbox rows of 8 days ago"
        f" ({r['inbox_and_outbox_size_before']}), inserted in {r['inserted_seconds']}s",
        f"deleted: {', '.join(f'{k} {v:,}' for k, v in d.items())};"
        f" left: inbox {report['left']['inbox']}, outbox {report['left']['outbox']}",
        f"prune: {p['seconds']}s from due to done ({p['batches']} batches of up to"
        f" {p['batch_rows']}, {p['pause_seconds']}s apart; the job's own count"
        f" {p['job_seconds']}s)",
        f"stream: {s['rate_per_s']:g} updates/s from {s['users']} members, {s['sent']} sent,"
        f" {s['answered']} answered",
        "reply latency   n      p50 ms   p95 ms   p99 ms   max ms",
    ]
    for phase, q in report["reply_latency"].items():
        lines.append(f"  {phase:<8} {q['n']:>6} {q.get('p50_ms', '-'):>9} {q.get('p95_ms', '-'):>8}"
                     f" {q.get('p99_ms', '-'):>8} {q.get('max_ms', '-'):>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inbox", type=int, default=600_000)
    ap.add_argument("--outbox", type=int, default=400_000)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--rate", type=float, default=50.0, help="updates/s the members send")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds not measured first")
    ap.add_argument("--before", type=float, default=30.0, help="seconds measured before")
    ap.add_argument("--after", type=float, default=20.0, help="seconds measured after")
    args = ap.parse_args(argv)
    report = run(args.inbox, args.outbox, args.users, args.rate, args.before, args.warmup,
                 args.after)
    report["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    left = report["left"]
    return 0 if left["inbox"] == left["outbox"] == 0 and \
        report["stream"]["answered"] == report["stream"]["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
