"""How long the sender's claim takes with a long outbox queue (10k and 50k pending rows).

A throwaway PostgreSQL, migrated; the outbox is filled in one of three shapes, then the
claim statement (`outbox.mark_and_claim`, limit 100, nothing to mark) and the sweep the sender
runs every few seconds (`outbox.claim_sweep`) run in a transaction that is rolled back, so
every run sees the same queue. The median of the runs is reported, next to the claim the
runtime used before (id order per chat through a NOT EXISTS) on the same data. The claims are
written so the planner's estimate stays low: an earlier draft whose estimate was high paid
300 ms of JIT compilation per claim on a default server. Shapes:

- announcement: one priority-2 row per member, every chat idle (the common big queue);
- deep: the rows spread over 100 chats, every chat idle;
- deep-busy: the same, with a row of every other chat in flight (they must be passed over).

    .venv/bin/python -m bench.claim_bench [--sizes 10000 50000] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime

import psycopg2

from bench import REPORTS
from fitclub.db.migrate import Migrator
from fitclub.db.queries import Q
from fitclub.devdb import DevPostgres
from fitclub.runtime.claimer import CLAIM_WINDOW

REPORT = REPORTS / "claim.json"
PROCESS = "00000000-0000-0000-0000-00000000c1a1"

# The claim before the one-statement sender (sql/0003 era), kept only to compare against.
OLD_CLAIM = """
UPDATE outbox o
SET status = 'sending', lease_until = clock_timestamp() + make_interval(secs => 90),
    claim_token = nextval('outbox_claim_token')
FROM (
    SELECT c.id
    FROM outbox c
    WHERE c.status = 'pending' AND c.not_before <= clock_timestamp()
      AND NOT EXISTS (
          SELECT 1 FROM outbox p
          WHERE p.chat_id = c.chat_id AND p.status IN ('pending', 'sending') AND p.id < c.id)
    ORDER BY c.priority, c.id
    LIMIT 100
    FOR UPDATE SKIP LOCKED
) picked
WHERE o.id = picked.id
RETURNING o.id
"""


def _fill(cur, shape: str, n: int) -> None:
    cur.execute("TRUNCATE outbox")
    chats = "g" if shape == "announcement" else "(g %% 100)"
    cur.execute(f"""
        INSERT INTO outbox (chat_id, method, params, priority)
        SELECT 1000 + {chats}, 'sendMessage',
               jsonb_build_object('chat_id', 1000 + {chats}, 'text', 'announcement'), 2
        FROM generate_series(1, %s) g""", (n,))
    if shape == "deep-busy":
        cur.execute("""
            UPDATE outbox SET status = 'sending', claim_token = id, claimed_by = %s,
                   lease_until = now() + interval '90 s'
            WHERE id IN (SELECT min(id) FROM outbox WHERE chat_id %% 2 = 0 GROUP BY chat_id)""",
                    (PROCESS,))
    cur.execute("ANALYZE outbox")


def _time(conn, statement: str, params: dict | None, runs: int) -> tuple[float, int]:
    times, claimed = [], 0
    for _ in range(runs):
        with conn.cursor() as cur:
            started = time.perf_counter()
            cur.execute(statement, params)
            claimed = len(cur.fetchall())
            times.append(time.perf_counter() - started)
        conn.rollback()
    return statistics.median(times) * 1000, claimed


def measure(sizes: list[int], runs: int) -> list[dict]:
    """Median claim milliseconds per shape and size, new claim and old."""
    results = []
    with DevPostgres() as dev:
        url = dev.create_database("fitclub_claim")
        Migrator(url).migrate()
        conn = psycopg2.connect(url)
        params = {"done_ids": [], "done_tokens": [], "done_message_ids": [], "limit": 100,
                  "lease": 90.0, "process": PROCESS, "window": CLAIM_WINDOW}
        try:
            for n in sizes:
                for shape in ("announcement", "deep", "deep-busy"):
                    with conn.cursor() as cur:
                        _fill(cur, shape, n)
                    conn.commit()
                    new_ms, new_rows = _time(conn, Q["outbox.mark_and_claim"], params, runs)
                    sweep_ms, _ = _time(conn, Q["outbox.claim_sweep"], params, runs)
                    with conn.cursor() as cur:  # the index the old claim relied on
                        cur.execute("CREATE INDEX outbox_open_by_chat ON outbox (chat_id, id)"
                                    " WHERE status IN ('pending', 'sending')")
                    conn.commit()
                    old_ms, old_rows = _time(conn, OLD_CLAIM, None, runs)
                    with conn.cursor() as cur:
                        cur.execute("DROP INDEX outbox_open_by_chat")
                    conn.commit()
                    row = {"pending_rows": n, "shape": shape, "claim_ms": round(new_ms, 2),
                           "claimed": new_rows, "sweep_ms": round(sweep_ms, 2),
                           "old_claim_ms": round(old_ms, 2),
                           "old_claimed": old_rows}
                    print(f"  {n:>6} rows, {shape:<12}: claim {new_ms:7.2f} ms ({new_rows} rows),"
                          f" sweep {sweep_ms:7.2f} ms; old claim {old_ms:7.2f} ms"
                          f" ({old_rows} rows)", flush=True)
                    results.append(row)
        finally:
            conn.close()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args(argv)
    results = measure(args.sizes, args.runs)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({
        "limit": 100, "runs": args.runs, "results": results,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
