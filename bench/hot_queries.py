"""EXPLAIN (ANALYZE, BUFFERS) of the hot queries, at 1,000 and at 20,000 members, and the
runtime's hot queries as the inbox and outbox grow.

A throwaway PostgreSQL (fitclub.devdb.DevPostgres), migrated (fitclub.db.migrate.Migrator)
and seeded by bench.history.seed_club (a year of history; inbox/outbox: the 7 days the
retention job keeps).

1. `growth`: for each club size (1,000 and 20,000 members; --short: 300 and 3,000), every
   hot query of a member's journey (who is this, conversation state, the schedule of a day,
   a class, book, my bookings, cancel, the waitlist, membership, activity, card) and of the
   runtime (inbox insert/begin/head/finish, outbox enqueue/claim/mark, flood, outbound pace,
   jobs) runs under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) --runs times, each in its own
   transaction that is rolled back (writes leave nothing behind); the median execution time,
   the buffers touched, the rows returned and the plan's scan nodes are recorded.
2. `runtime_growth`: a 1,000-member club whose inbox and outbox hold 0, 10k, 100k and 1M
   processed rows each (--short: 0, 10k, 100k): the runtime's queries again at each size.

Queries are read by name from src/fitclub/db/sql/*.sql at run time (fitclub.db.queries.load),
so the bench measures whatever the runtime's SQL is now; a name that no longer exists, or a
query with a parameter this bench cannot fill, is skipped with a note in the report.

Flags (a target NOT met): a query that does more than 20% more work at the larger size (shared
buffers hit or read, and at least 10 more), or more work per row returned when it returns
more rows; a sequential scan of a table with more than 10,000 rows (nodes never executed
aside). Timing is reported (median, and the fastest run) but a time that grows more than 20%
(median and fastest run both, and at least 0.1 ms) with the same buffers is listed apart as
"not counted": the same work taking longer is the shared machine (the load average before
each phase is in the report), and the lead reruns the bench on a quiet one. Writes
bench/reports/hot_queries.json and .md (--report elsewhere).

    .venv/bin/python -m bench.hot_queries [--short] [--runs 7] [--sizes 1000,20000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
from psycopg2.extras import Json

from bench import REPORTS, ROOT
from bench.history import seed_club
from fitclub.db import queries
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres

REPORT_JSON = REPORTS / "hot_queries.json"
REPORT_MD = REPORTS / "hot_queries.md"
BOT_ID = 123456789
GROWTH_LIMIT = 0.20
MIN_MS = 0.1
MIN_BUFFERS = 10
BIG_TABLE = 10_000
PARAM = re.compile(r"%\((\w+)\)s")
PROCESS = str(uuid.UUID(int=1))

# (label, query name, group, overrides, setup): setup statements run first in the same
# rolled-back transaction; a setup given as (key, sql) stores its first value in the context.
MEMBER = "member"
RUNTIME = "runtime"
SEND_PENDING = ("outbox_id", "INSERT INTO outbox (chat_id, method, params) VALUES"
                " (%(chat_id)s, 'sendMessage', '{\"text\": \"hi\"}') RETURNING id")
SEND_CLAIMED = ("outbox_id", "INSERT INTO outbox (chat_id, method, params, status, claimed_by,"
                " claim_token, lease_until) VALUES (%(chat_id)s, 'sendMessage',"
                " '{\"text\": \"hi\"}', 'sending', %(process)s, 424242,"
                " now() + interval '30 seconds') RETURNING id")
PENDING_UPDATE = ("update_id", "INSERT INTO inbox (update_id, chat_id, kind, payload) VALUES"
                  " (%(new_update_id)s, %(chat_id)s, 'message', %(update_payload)s)"
                  " RETURNING update_id")
CATALOGUE: list[tuple[str, str, str, dict, list]] = [
    # A member's journey.
    ("who is this", "members.by_telegram_id", MEMBER, {}, []),
    ("conversation state", "state.get", MEMBER, {}, []),
    ("conversation state put", "state.put", MEMBER, {}, []),
    ("schedule of a day", "classes.view", MEMBER, {"class_id": None}, []),
    ("class details", "classes.view", MEMBER, {"class_id": "%book_class_id"}, []),
    ("class details: membership", "bookings.membership_on_day", MEMBER, {}, []),
    ("book: lock class", "classes.lock", MEMBER, {"class_id": "%book_class_id"}, []),
    ("book: my booking of it", "bookings.of_member", MEMBER, {"class_id": "%book_class_id"}, []),
    ("book: membership", "bookings.membership_for_update", MEMBER, {}, []),
    ("book: insert", "bookings.insert", MEMBER, {"class_id": "%book_class_id"}, []),
    ("book: take visit", "bookings.take_visit", MEMBER, {}, []),
    ("book: audit", "audit.record", MEMBER, {}, []),
    ("my bookings", "bookings.upcoming_for_member", MEMBER, {}, []),
    ("last visits", "bookings.last_visits", MEMBER, {}, []),
    ("cancel", "bookings.cancel", MEMBER, {"booking_id": "%my_booking_id"}, []),
    ("cancel: class start", "bookings.class_start", MEMBER, {"class_id": "%my_class_id"}, []),
    ("cancel: next in line", "bookings.next_in_line", MEMBER, {"class_id": "%full_class_id"},
     []),
    ("waitlist position", "bookings.position", MEMBER, {"booking_id": "%waiting_booking_id"},
     []),
    ("membership", "memberships.latest_for_member", MEMBER, {}, []),
    ("plans on sale", "memberships.plans_on_sale", MEMBER, {}, []),
    ("activity: weeks", "activity.weeks", MEMBER, {}, []),
    ("activity: favourite", "activity.favourite", MEMBER, {}, []),
    ("card: replace earlier", "cards.replace_earlier", MEMBER, {}, []),
    ("card: claim code", "cards.claim_code", MEMBER, {}, []),
    ("card: by code", "cards.by_code", MEMBER, {}, []),
    ("erasure: future places", "members.future_places", MEMBER, {}, []),
    # The runtime.
    ("inbox insert (batch of 1)", "inbox.insert_many", RUNTIME, {}, []),
    ("inbox begin", "inbox.begin", RUNTIME, {}, [PENDING_UPDATE]),
    ("inbox lock chat", "inbox.lock_chat", RUNTIME, {}, []),
    ("inbox head of chat", "inbox.head_of_chat", RUNTIME, {}, [PENDING_UPDATE]),
    ("inbox finish", "inbox.finish", RUNTIME, {"status": "done"}, [PENDING_UPDATE]),
    ("inbox newest (start-up)", "inbox.newest", RUNTIME, {}, []),
    ("inbox pending by chat (start-up)", "inbox.pending_by_chat", RUNTIME, {}, []),
    ("outbox enqueue", "outbox.enqueue", RUNTIME, {}, [PENDING_UPDATE]),
    ("outbox mark and claim", "outbox.mark_and_claim", RUNTIME, {}, [SEND_PENDING]),
    ("outbox claim sweep", "outbox.claim_sweep", RUNTIME, {}, [SEND_PENDING]),
    ("outbox mark sent", "outbox.mark_sent", RUNTIME,
     {"done_ids": "%outbox_ids", "done_tokens": [424242], "done_message_ids": [1]},
     [SEND_CLAIMED]),
    ("outbox heartbeat", "outbox.heartbeat", RUNTIME, {}, []),
    ("outbox oldest reply age", "outbox.oldest_reply_age", RUNTIME, {}, []),
    ("outbox backlog", "outbox.backlog", RUNTIME, {}, []),
    ("flood take", "flood.take", RUNTIME, {}, []),
    ("outbound take", "outbound.take", RUNTIME, {"window": 1.0}, []),
    ("jobs take", "jobs.take", RUNTIME, {}, []),
    ("jobs next due", "jobs.next_due", RUNTIME, {}, []),
    # Rewrites this bench proposes for the lead's files, measured next to the originals.
    ("outbox backlog, proposed", "proposed.outbox_backlog", RUNTIME, {}, []),
]

# The runtime's outbox.backlog counts ('pending', 'sending') rows with a filter no partial
# index matches, so it reads the whole outbox (every 5 s, app.py's resync loop); counted one
# status at a time, each count is an index-only scan of outbox_pending / outbox_sending_by_chat.
PROPOSED = {
    "proposed.outbox_backlog":
        "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending')"
        " + (SELECT count(*) FROM outbox WHERE status = 'sending')",
}


def _connect(url: str):
    return psycopg2.connect(url)


def _one(cur, sql: str, params=None):
    cur.execute(sql, params)
    row = cur.fetchone()
    return None if row is None else row[0]


def context(url: str) -> dict:
    """Parameter values for the sample member and classes of a seeded club."""
    conn = _connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            # A member in the middle of the list with a booking to come and a current
            # membership with visits left (so every step of booking has something to do).
            member_id = _one(cur, "SELECT b.member_id FROM bookings b JOIN classes c"
                                  " ON c.id = b.class_id JOIN memberships s"
                                  " ON s.member_id = b.member_id AND s.status = 'active'"
                                  " AND s.visits_left > 0"
                                  " WHERE b.status = 'booked'"
                                  " AND c.starts_at > now() + interval '1 day'"
                                  " ORDER BY b.member_id OFFSET (SELECT count(*) / 2 FROM"
                                  " bookings WHERE status = 'booked') / 2 LIMIT 1")
            if member_id is None:
                member_id = _one(cur, "SELECT min(id) FROM members WHERE role = 'member'")
            tg = _one(cur, "SELECT telegram_id FROM members WHERE id = %s", (member_id,))
            my = None
            cur.execute("SELECT b.id, b.class_id FROM bookings b JOIN classes c ON"
                        " c.id = b.class_id WHERE b.member_id = %s AND b.status = 'booked'"
                        " AND c.starts_at > now() ORDER BY c.starts_at LIMIT 1", (member_id,))
            my = cur.fetchone() or (None, None)
            tomorrow = datetime.now(UTC).date() + timedelta(days=1)
            start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
            book_class = _one(cur, "SELECT c.id FROM classes c WHERE c.starts_at >= %s"
                                   " AND c.booked_count < c.capacity AND NOT EXISTS"
                                   " (SELECT 1 FROM bookings b WHERE b.class_id = c.id"
                                   "  AND b.member_id = %s) ORDER BY c.starts_at LIMIT 1",
                              (start, member_id))
            cur.execute("SELECT class_id, min(id) FROM bookings WHERE status = 'waitlisted'"
                        " GROUP BY class_id ORDER BY count(*) DESC, class_id LIMIT 1")
            full = cur.fetchone() or (None, None)
            membership = _one(cur, "SELECT id FROM memberships WHERE member_id = %s"
                                   " ORDER BY status = 'active' DESC, ends_on DESC LIMIT 1",
                              (member_id,))
            next_update = _one(cur, "SELECT coalesce(max(update_id), 0) + 1000 FROM inbox")
            cur.execute("SELECT now()")
            now = cur.fetchone()[0]
    finally:
        conn.close()
    today = now.date()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    payload = {"update_id": next_update, "message": {
        "message_id": 1, "date": int(now.timestamp()), "text": "/schedule",
        "from": {"id": tg, "is_bot": False, "first_name": "Member"},
        "chat": {"id": tg, "type": "private"}}}
    return {
        # who
        "telegram_id": tg, "chat_id": tg, "user_id": tg, "member_id": member_id,
        "id": member_id, "actor_id": member_id, "bot_id": BOT_ID, "thread_key": "",
        "state": "settings:menu", "data": Json({}),
        # when
        "now": now, "today": today, "day": tomorrow, "start": start,
        "end": start + timedelta(days=1), "timezone": "UTC", "first_week_day": 0,
        "this_month": this_month, "last_month": last_month,
        # what
        "class_id": book_class, "book_class_id": book_class, "my_booking_id": my[0],
        "my_class_id": my[1], "full_class_id": full[0], "waiting_booking_id": full[1],
        "booking_id": my[0], "membership_id": membership, "status": "booked",
        "visit_reserved": False, "late": False, "action": "booking.booked",
        "entity": "booking", "entity_id": my[0], "details": Json({"class_id": book_class}),
        "code": "123456", "token": "bench-token", "issued_at": now,
        "expires_at": now + timedelta(minutes=10),
        # the runtime
        "new_update_id": next_update, "update_payload": Json(payload), "update_id": next_update,
        "namespace": 1, "rate": 1.0, "burst": 20.0, "error": None, "attempted": 1,
        "process": PROCESS, "lease": 30.0, "method": "sendMessage",
        "params": Json({"chat_id": tg, "text": "Schedule"}), "file_field": None,
        "file_name": None, "file_bytes": None, "priority": 0, "window": 64, "limit": 16,
        "done_ids": [], "done_tokens": [], "done_message_ids": [], "hostname": "bench",
        "pid_namespace": "", "pid": 4242, "stale": 30.0, "capacity": 30, "margin": 0.0,
        "chat_rate": 1.0, "chat_burst": 3.0, "max_ahead": 1.0,
    }


def _values(ctx: dict, overrides: dict, extra: dict) -> dict:
    values = {**ctx, **extra}
    for key, value in overrides.items():
        if isinstance(value, str) and value.startswith("%"):
            values[key] = values.get(value[1:])
        else:
            values[key] = value
    return values


def _walk(plan: dict, out: list) -> None:
    node = plan["Node Type"]
    if "Relation Name" in plan:
        node += f" {plan['Relation Name']}"
        if plan.get("Index Name"):
            node += f" ({plan['Index Name']})"
    elif plan.get("Index Name"):
        node += f" {plan['Index Name']}"
    if plan.get("Actual Loops") == 0:
        node += " [never executed]"
    out.append(node)
    for sub in plan.get("Plans", []):
        _walk(sub, out)


def _statement(sql: str, values: dict, cur) -> tuple[str, dict | None] | str:
    """The SQL and its parameters, or why it cannot be run."""
    if "VALUES %s" in sql:  # an execute_values template (inbox.insert_many)
        row = cur.mogrify("(%s, %s, %s, %s)", (values["new_update_id"], values["chat_id"],
                                               "message", values["update_payload"]))
        return sql.replace("VALUES %s", "VALUES " + row.decode()).replace("%%", "%"), None
    missing = sorted({p for p in PARAM.findall(sql) if p not in values})
    if missing:
        return "needs parameters this bench does not know: " + ", ".join(missing)
    return sql, values


def explain(url: str, names: dict[str, str], ctx: dict, runs: int,
            catalogue=CATALOGUE, groups=(MEMBER, RUNTIME)) -> tuple[list[dict], list[str]]:
    """Every catalogued query of `groups`: median of `runs` EXPLAIN ANALYZE runs."""
    results, notes = [], []
    conn = _connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'"
                        " AND relnamespace = 'public'::regnamespace")
            sizes = dict(cur.fetchall())
        conn.rollback()
        for label, name, group, overrides, setup in catalogue:
            if group not in groups:
                continue
            if name not in names:
                notes.append(f"{label}: query {name} no longer exists; skipped")
                continue
            measured = _measure(conn, label, name, names[name], group, overrides, setup, ctx,
                                runs, sizes)
            if isinstance(measured, str):
                notes.append(f"{label} ({name}): {measured}; skipped")
            else:
                results.append(measured)
    finally:
        conn.close()
    return results, notes


def _measure(conn, label, name, sql, group, overrides, setup, ctx, runs, sizes):
    times, planning, plan_json = [], [], None
    for _ in range(runs):
        try:
            with conn.cursor() as cur:
                extra: dict = {}
                for step in setup:
                    key, setup_sql = step
                    cur.execute(setup_sql, _values(ctx, overrides, extra))
                    got = cur.fetchone()[0]
                    extra[key] = got
                    extra[key + "s"] = [got]
                values = _values(ctx, overrides, extra)
                stmt = _statement(sql, values, cur)
                if isinstance(stmt, str):
                    return stmt
                text, params = stmt
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + text, params)
                plan_json = cur.fetchone()[0][0]
        except psycopg2.Error as exc:
            conn.rollback()
            return f"failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        conn.rollback()
        times.append(plan_json["Execution Time"])
        planning.append(plan_json.get("Planning Time", 0.0))
    top = plan_json["Plan"]
    nodes: list[str] = []
    _walk(top, nodes)
    scans = [n for n in nodes if "Scan" in n]
    seq_big = [n for n in scans if n.startswith("Seq Scan ") and "never executed" not in n
               and sizes.get(n.split()[2], 0) > BIG_TABLE]
    return {"label": label, "name": name, "group": group,
            "median_ms": round(statistics.median(times), 3),
            "min_ms": round(min(times), 3), "all_ms": [round(t, 3) for t in sorted(times)],
            "planning_ms": round(statistics.median(planning), 3),
            "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
            "rows": top.get("Actual Rows", 0), "scans": scans, "seq_scans_big": seq_big,
            "runs": len(times)}


def compare(small: list[dict], large: list[dict]) -> list[dict]:
    """Per query: the two sizes side by side and whether it grows or scans a big table."""
    by_label = {r["label"]: r for r in small}
    out = []
    for r in large:
        s = by_label.get(r["label"])
        if s is None:
            continue
        # Both the median and the fastest run must grow: one slow run on a shared machine
        # is not a slower query.
        grows = (r["median_ms"] > s["median_ms"] * (1 + GROWTH_LIMIT)
                 and r["min_ms"] > s["min_ms"] * (1 + GROWTH_LIMIT)
                 and r["median_ms"] - s["median_ms"] > MIN_MS)
        buffers_grow = (r["buffers"] > s["buffers"] * (1 + GROWTH_LIMIT)
                        and r["buffers"] - s["buffers"] > MIN_BUFFERS)
        flags: list[str] = []
        timing: list[str] = []
        rows_grow = r["rows"] > max(1, s["rows"]) * (1 + GROWTH_LIMIT)
        if (grows or buffers_grow) and rows_grow:
            # More output (the schedule of a bigger club's day): compare the cost per row.
            per_small = s["buffers"] / max(1, s["rows"])
            per_large = r["buffers"] / max(1, r["rows"])
            note = (f"returns more rows ({s['rows']} -> {r['rows']}); buffers per row"
                    f" {per_small:.1f} -> {per_large:.1f}")
            if per_large > per_small * (1 + GROWTH_LIMIT):
                flags.append(note + " (grows >20%)")
            else:
                timing.append(note + " (flat: the cost follows the output)")
        else:
            if grows and buffers_grow:
                flags.append("time grows >20%")
            elif grows:
                # The same work took longer: on a shared machine that is the machine (the
                # load average is in the report); kept apart from the flags above.
                timing.append("time grows >20% with the same buffers (machine load?)")
            if buffers_grow:
                flags.append("buffers grow >20%")
        if r["seq_scans_big"]:
            flags.append("seq scan on a big table: " + ", ".join(r["seq_scans_big"]))
        out.append({"label": r["label"], "name": r["name"], "group": r["group"],
                    "small_ms": s["median_ms"], "large_ms": r["median_ms"],
                    "ratio": round(r["median_ms"] / s["median_ms"], 2) if s["median_ms"]
                    else None,
                    "small_buffers": s["buffers"], "large_buffers": r["buffers"],
                    "small_rows": s["rows"], "large_rows": r["rows"],
                    "scans": r["scans"], "flags": flags, "timing": timing})
    return out


def _fill_runtime_tables(url: str, target: int, have: int, chats: int) -> float:
    """Grow inbox and outbox to `target` processed rows each (from `have`); seconds taken."""
    started = time.monotonic()
    if target <= have:
        return 0.0
    conn = _connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute(
                "INSERT INTO inbox (update_id, chat_id, kind, payload, received_at, status,"
                " processed_at)"
                " SELECT 50000000 + n, 700000000 + n %% %(chats)s, 'message',"
                "        jsonb_build_object('update_id', 50000000 + n, 'message',"
                "          jsonb_build_object('text', '/schedule', 'chat',"
                "            jsonb_build_object('id', 700000000 + n %% %(chats)s))),"
                "        now() - interval '3 days' + n * interval '1 millisecond', 'done',"
                "        now() - interval '3 days' + n * interval '1 millisecond'"
                " FROM generate_series(%(have)s + 1, %(target)s) n",
                {"have": have, "target": target, "chats": chats})
            cur.execute(
                "INSERT INTO outbox (chat_id, method, params, status, update_id, created_at,"
                " not_before, sent_at, result_message_id)"
                " SELECT 700000000 + n %% %(chats)s, 'sendMessage',"
                "        jsonb_build_object('text', repeat('Bench Yoga 07:00. ', 12)), 'sent',"
                "        50000000 + n, now() - interval '3 days', now() - interval '3 days',"
                "        now() - interval '3 days', n"
                " FROM generate_series(%(have)s + 1, %(target)s) n",
                {"have": have, "target": target, "chats": chats})
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) inbox")
            cur.execute("VACUUM (ANALYZE) outbox")
    finally:
        conn.close()
    return time.monotonic() - started


def _clear_runtime_tables(url: str) -> None:
    conn = _connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("TRUNCATE inbox, outbox, chat_flood")
            cur.execute("VACUUM (ANALYZE) inbox")
            cur.execute("VACUUM (ANALYZE) outbox")
    finally:
        conn.close()


def run(sizes: list[int], table_sizes: list[int], runs: int) -> dict:
    # The SQL as it is now, not as it was when this module loaded.
    names = {**queries.load(), **PROPOSED}
    report: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"),
                    "host": os.uname().nodename, "cpus": os.cpu_count(), "runs": runs,
                    "sizes": sizes, "table_sizes": table_sizes, "clubs": {}, "notes": []}
    with DevPostgres() as dev:
        explained: dict[int, list[dict]] = {}
        for size in sizes:
            url = dev.create_database(f"fitclub_hot_{size}")
            Migrator(url).migrate()
            seed_load = os.getloadavg()[0]
            print(f"seeding {size:,} members (load average {seed_load:.2f})...", flush=True)
            seeded = seed_club(url, members=size, bot_id=BOT_ID)
            print(f"  seeded in {seeded['seconds']:.1f}s; explaining...", flush=True)
            ctx = context(url)
            load = os.getloadavg()[0]
            results, notes = explain(url, names, ctx, runs)
            explained[size] = results
            report["clubs"][str(size)] = {"load_average_1m": round(load, 2),
                                          "load_average_1m_before_seed": round(seed_load, 2),
                                          "seed": seeded,
                                          "queries": results}
            for note in notes:
                if note not in report["notes"]:
                    report["notes"].append(note)
        if len(sizes) >= 2:
            report["growth"] = compare(explained[sizes[0]], explained[sizes[-1]])
        report["runtime_growth"] = _runtime_growth(dev, names, table_sizes, runs)
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def _runtime_growth(dev, names, table_sizes, runs) -> dict:
    url = dev.create_database("fitclub_hot_runtime")
    Migrator(url).migrate()
    members = 1000
    seed_club(url, members=members, weeks_back=8, bot_id=BOT_ID)
    _clear_runtime_tables(url)
    ctx = context(url)
    out: dict = {"members": members, "steps": []}
    have = 0
    for target in sorted(table_sizes):
        filled = _fill_runtime_tables(url, target, have, members)
        have = max(have, target)
        load = os.getloadavg()[0]
        print(f"runtime queries with {target:,} processed rows in inbox and outbox"
              f" (filled in {filled:.1f}s, load average {load:.2f})...", flush=True)
        results, notes = explain(url, names, ctx, runs, groups=(RUNTIME,))
        out["steps"].append({"rows": target, "fill_seconds": round(filled, 1),
                             "load_average_1m": round(load, 2), "queries": results})
        out["notes"] = notes
    if len(out["steps"]) >= 2:
        first, last = out["steps"][0], out["steps"][-1]
        # The smallest non-empty size is the baseline: at 0 rows everything is trivially fast.
        base = next((s for s in out["steps"] if s["rows"] > 0), first)
        out["growth"] = compare(base["queries"], last["queries"])
        out["baseline_rows"] = base["rows"]
        out["largest_rows"] = last["rows"]
    return out


def markdown(report: dict) -> str:
    lines = ["# Hot queries: EXPLAIN (ANALYZE, BUFFERS)", "",
             f"Run {report['started']} to {report['finished']} on {report['host']}"
             f" ({report['cpus']} CPUs), median of {report['runs']} runs per query, each in a"
             " rolled-back transaction. Clubs seeded by bench/history.py (a year of history;"
             " inbox/outbox: the last 7 days, what the retention job keeps).", ""]
    for size, club in report["clubs"].items():
        c = club["seed"]["counts"]
        lines.append(f"- {int(size):,} members: load average {club['load_average_1m']};"
                     f" {c['classes']:,} classes, {c['bookings']:,} bookings,"
                     f" {c['visits']:,} visits, {c['inbox']:,} inbox, {c['outbox']:,} outbox,"
                     f" {c['audit_log']:,} audit rows; database {club['seed']['database_mb']}"
                     f" MB, seeded in {club['seed']['seconds']} s")
    if "growth" in report:
        small, large = report["sizes"][0], report["sizes"][-1]
        lines += ["", f"## {small:,} vs {large:,} members", "",
                  f"| query | name | ms at {small:,} | ms at {large:,} | ratio | buffers |"
                  " rows | scans | flags |", "|---|---|---|---|---|---|---|---|---|"]
        for g in report["growth"]:
            lines.append(
                f"| {g['label']} | {g['name']} | {g['small_ms']} | {g['large_ms']} |"
                f" {g['ratio']} | {g['small_buffers']} → {g['large_buffers']} |"
                f" {g['small_rows']} → {g['large_rows']} | {'; '.join(g['scans']) or '-'} |"
                f" {_flag_cell(g)} |")
    rg = report.get("runtime_growth", {})
    if rg.get("steps"):
        sizes = [s["rows"] for s in rg["steps"]]
        lines += ["", "## The runtime's queries as inbox and outbox grow", "",
                  f"A {rg['members']:,}-member club; processed rows in each of inbox and outbox:"
                  f" {', '.join(f'{n:,}' for n in sizes)}. Median ms (buffers).", "",
                  "| query | name | " + " | ".join(f"{n:,}" for n in sizes) + " | flags |",
                  "|---|---|" + "---|" * len(sizes) + "---|"]
        flags = {g["label"]: g for g in rg.get("growth", [])}
        labels = [q["label"] for q in rg["steps"][-1]["queries"]]
        for label in labels:
            cells = []
            name = ""
            for step in rg["steps"]:
                q = next((q for q in step["queries"] if q["label"] == label), None)
                cells.append("-" if q is None else f"{q['median_ms']} ({q['buffers']})")
                name = q["name"] if q else name
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + " | "
                         + (_flag_cell(flags[label]) if label in flags else "-") + " |")
        lines.append("")
        lines.append("Load average before each size: " + ", ".join(
            f"{s['rows']:,}: {s['load_average_1m']}" for s in rg["steps"]))
        if "growth" in rg:
            lines.append(f"Flags compare {rg['baseline_rows']:,} rows with"
                         f" {rg['largest_rows']:,}.")
    notes = report.get("notes", []) + rg.get("notes", [])
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(notes)]
    verdict = report.get("verdict")
    if verdict:
        lines += ["", "## Targets", ""] + [f"- {v}" for v in verdict]
    return "\n".join(lines) + "\n"


def _flag_cell(g: dict) -> str:
    if g["flags"]:
        return "**" + "; ".join(g["flags"]) + "**"
    return "ok" + ("".join(f" ({t})" for t in g["timing"]))


def verdict(report: dict) -> list[str]:
    out = []
    growth = report.get("growth", [])
    flagged = [g for g in growth if g["flags"]]
    out.append(f"member and runtime queries at {report['sizes'][-1]:,} vs"
               f" {report['sizes'][0]:,} members: {len(growth) - len(flagged)} of {len(growth)}"
               f" without flags ({'met' if not flagged else 'NOT met'}: none does >20% more"
               " work (buffers) or scans a big table sequentially)")
    for g in flagged:
        out.append(f"  {g['label']} ({g['name']}): {g['small_ms']} → {g['large_ms']} ms,"
                   f" rows {g['small_rows']} → {g['large_rows']}: {'; '.join(g['flags'])}")
    for g in growth:
        if g["timing"] and not g["flags"]:
            out.append(f"  not counted: {g['label']} ({g['name']}): {g['small_ms']} →"
                       f" {g['large_ms']} ms, buffers {g['small_buffers']} →"
                       f" {g['large_buffers']}: {'; '.join(g['timing'])}")
    rg = report.get("runtime_growth", {}).get("growth", [])
    rflagged = [g for g in rg if g["flags"]]
    if rg:
        out.append(f"runtime queries as inbox/outbox grow: {len(rg) - len(rflagged)} of"
                   f" {len(rg)} flat ({'met' if not rflagged else 'NOT met'}: none does >20% more"
                   " work (buffers) or scans a big table sequentially)")
        for g in rg:
            why = g["flags"] or [f"not counted: {t}" for t in g["timing"]]
            if why:
                out.append(f"  {g['label']} ({g['name']}): {g['small_ms']} → {g['large_ms']}"
                           f" ms, buffers {g['small_buffers']} → {g['large_buffers']}:"
                           f" {'; '.join(why)}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true",
                        help="300 and 3,000 members, 0/10k/100k rows, 3 runs (a few minutes)")
    parser.add_argument("--sizes", default=None, help="club sizes, e.g. 1000,20000")
    parser.add_argument("--table-sizes", default=None,
                        help="inbox/outbox rows, e.g. 0,10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--report", type=Path, default=REPORT_JSON)
    args = parser.parse_args(argv)
    sizes = [int(x) for x in (args.sizes or ("300,3000" if args.short else "1000,20000"))
             .split(",")]
    table_sizes = [int(x) for x in (args.table_sizes or (
        "0,10000,100000" if args.short else "0,10000,100000,1000000")).split(",")]
    runs = args.runs or (3 if args.short else 7)
    report = run(sizes, table_sizes, runs)
    report["verdict"] = verdict(report)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2, default=str) + "\n")
    md = markdown(report)
    args.report.with_suffix(".md").write_text(md)
    print(md)
    shown = args.report.relative_to(ROOT) if args.report.is_relative_to(ROOT) else args.report
    print(f"wrote {shown} and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
