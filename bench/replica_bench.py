"""Bookings while a 100,000-row export runs: on the primary, or on a streaming standby.

One throwaway primary (fsync off) with a club of MEMBERS members and 100,000 visits, and a hot
standby of it (pg_basebackup -R, `tests/replica.py`). BOOKERS threads book places through the
real service (`services.booking.book`, one transaction each, on a pool of the primary) for
SECONDS per phase; the phases:

- `idle`: no export;
- `export_on_primary`: the visits export (XLSX, every row) built again and again on the primary;
- `export_on_replica`: the same export read through `fitclub.db.replica` from the standby.

The export runs in a process of its own (another instance serving the admin), so the phases
differ by the database's work alone; with --same-process it runs in a thread beside the bookers,
as in one bot process, and its Python work (writing the XLSX) takes the bookers' GIL as well.
It prints and keeps (bench/reports/replica.json, or replica_same_process.json) the bookings'
latency and count per phase, and the exports made and their time. Both servers run on this
machine: the standby's work takes the same CPU cores, so this shows what moving the reads off
the primary is worth here, not what a second machine would give.

    .venv/bin/python -m bench.replica_bench [--visits 100000] [--seconds 20] [--bookers 8]
                                            [--same-process]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import multiprocessing
import os
import queue
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2

from bench import REPORTS, latency_summary
from fitclub.db.migrate import Migrator
from fitclub.db.pool import Pool
from fitclub.db.replica import REPLICA, Replica, read
from fitclub.devdb import DevPostgres
from fitclub.services import booking, reports
from tests import factories
from tests.replica import Standby

TZ = ZoneInfo("Europe/Berlin")
MEMBERS = 400
CLASSES = 100


def seed(db_url: str, visits: int) -> tuple[list[int], list[int]]:
    """Members with an unlimited membership, classes with room for all, `visits` visits."""
    trainer = factories.member(db_url, 1, "Tina", role="trainer")
    plan = factories.plan(db_url, "Year", duration_days=365, visit_count=None)
    members = [factories.member(db_url, 1000 + n, f"Member{n}") for n in range(MEMBERS)]
    factories.memberships(db_url, members, plan, visits_left=None)
    kind = factories.class_type(db_url, "Yoga", default_capacity=MEMBERS)
    classes = [factories.class_(db_url, trainer, timedelta(days=2, hours=n), class_type_id=kind,
                                capacity=MEMBERS) for n in range(CLASSES)]
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute("""
            INSERT INTO visits (member_id, checked_in_at, method)
            SELECT (%(members)s::bigint[])[1 + n %% %(count)s], now() - n * interval '1 minute',
                   'qr'
            FROM generate_series(1, %(visits)s) AS n""",
                    {"members": members, "count": len(members), "visits": visits})
        cur.execute("ANALYZE")
    conn.close()
    return members, classes


def _book(conn, *, member: int, class_id: int, rules: booking.Rules) -> None:
    booking.book(conn, member, class_id, datetime.now(UTC), rules)


def _export(primary, replica: Replica | None) -> str:
    """The visits export once, on the replica when given; where it was read."""
    def build(r) -> str:
        reports.build_export(r.conn, "visits", now=datetime.now(UTC), timezone=TZ)
        return r.source
    try:
        return read(replica, primary, build)
    finally:
        primary.rollback()


def _export_loop(db_url: str, replica_url: str | None, stop, done) -> None:
    """In a process of its own: exports until `stop`, each one's (seconds, source) to `done`."""
    primary = psycopg2.connect(db_url)
    replica = Replica(replica_url) if replica_url else None
    try:
        while not stop.is_set():
            started = time.perf_counter()
            source = _export(primary, replica)
            done.put((time.perf_counter() - started, source))
    finally:
        if replica is not None:
            replica.close()
        primary.close()


def phase(pool: Pool, pairs: itertools.count, members: list[int], classes: list[int],
          seconds: float, bookers: int, export: tuple[str, str | None] | None,
          same_process: bool) -> dict:
    """Bookings from `bookers` threads for `seconds` while the export (db_url, replica_url)
    loops, in a thread or a process of its own."""
    rules = booking.Rules(TZ)
    latencies: list[float] = []
    lock = threading.Lock()
    ctx = multiprocessing.get_context("spawn")
    stop, done = (threading.Event(), queue.Queue()) if same_process else (ctx.Event(),
                                                                          ctx.Queue())

    def book() -> None:
        while not stop.is_set():
            with lock:
                n = next(pairs)
            member, cls = members[n % len(members)], classes[n // len(members)]
            started = time.perf_counter()
            pool.run(functools.partial(_book, member=member, class_id=cls, rules=rules))
            latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=book) for _ in range(bookers)]
    exporter = None
    if export is not None:
        kind = threading.Thread if same_process else ctx.Process
        exporter = kind(target=_export_loop, args=(*export, stop, done))
        exporter.start()
    for thread in threads:
        thread.start()
    stop.wait(seconds)  # the phase: nothing sets it meanwhile
    stop.set()
    for thread in threads:
        thread.join()
    exports: list[tuple[float, str]] = []
    if exporter is not None:
        while exporter.is_alive() or not done.empty():  # the export under way finishes
            with contextlib.suppress(queue.Empty):
                exports.append(done.get(timeout=1))
        exporter.join()
    return {"bookings": latency_summary(latencies),
            "bookings_per_s": round(len(latencies) / seconds, 1),
            "exports": len(exports), "read_from": sorted({s for _, s in exports}),
            "export_seconds": latency_summary([t for t, _ in exports]) if exports else None}


def run(visits: int, seconds: float, bookers: int, same_process: bool) -> dict:
    report: dict = {"visits": visits, "seconds": seconds, "bookers": bookers,
                    "exporter": "same process" if same_process else "own process",
                    "machine": {"cpus": os.cpu_count(), "loadavg_1m_before": os.getloadavg()[0]}}
    with DevPostgres() as dev:
        db_url = dev.create_database("fitclub_bench")
        Migrator(db_url).migrate()
        members, classes = seed(db_url, visits)
        with Standby(dev) as standby:
            standby.wait_caught_up(120)
            pool = Pool(db_url, minconn=bookers + 2, maxconn=bookers + 2)
            pairs = itertools.count()
            replica_url = standby.url("fitclub_bench")
            try:
                for name, export in (("idle", None), ("export_on_primary", (db_url, None)),
                                     ("export_on_replica", (db_url, replica_url)),
                                     ("idle_again", None)):
                    report[name] = phase(pool, pairs, members, classes, seconds, bookers, export,
                                         same_process)
                    print(name, json.dumps(report[name]), flush=True)
            finally:
                pool.close()
    assert report["export_on_replica"]["read_from"] == [REPLICA], report["export_on_replica"]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--bookers", type=int, default=8)
    parser.add_argument("--same-process", action="store_true",
                        help="export in a thread beside the bookers, as in one bot process")
    args = parser.parse_args(argv)
    report = run(args.visits, args.seconds, args.bookers, args.same_process)
    out = REPORTS / ("replica_same_process.json" if args.same_process else "replica.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
