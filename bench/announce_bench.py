"""An announcement to 5,000 members at Telegram's limits, killed midway, then one stopped.

The announcement scenario at full size (`tests/e2e/test_announce_load_e2e.py` runs
it with 600 members in `make test`, through the same helpers): a throwaway PostgreSQL, tgemu in
this process with Telegram's limits (30 messages/s in total, 1/s per chat), the bot as its own
process with OUTBOUND_RATE=30.

1. 5,000 registered members with an active membership (inserted by SQL; their tgemu chats
   opened directly, no update each) and one more, the asker. Three members have blocked the
   bot without it being told (it learns from the 403s). The admin composes, chooses "Active
   members" and sends; it is queued at ANNOUNCE_RATE (30/s by default, OUTBOUND_RATE's).
2. While it runs, the asker sends /membership every few seconds (time to the answer at
   tgemu), and /healthz is read (its oldest-reply age, with the queue far older than
   OUTBOX_REPLY_MAX_AGE).
3. SIGKILL after a third was delivered, restart; it completes.
4. A second announcement, stopped after 300 deliveries: its recorded sent count against
   tgemu's.

Prints a report and writes bench/reports/announce.json.

    .venv/bin/python -m bench.announce_bench [--members 5000]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import REPORTS, SERVER_SETTINGS
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tests.e2e.harness import TOKEN, Launcher, query, wait_until
from tests.e2e.test_announce_load_e2e import (
    TELEGRAM_LIMITS,
    announcement,
    block_silently,
    populate,
    received,
    reply_seconds,
    start_announcement,
)
from tgemu import Emulator

REPORT = REPORTS / "announce.json"
ENV = {"OUTBOUND_RATE": "30", "PER_CHAT_RATE": "1", "SENDER_THREADS": "4",
       "ANNOUNCE_PROGRESS_SECONDS": "5", "OUTBOX_REPLY_MAX_AGE": "5", "LOG_LEVEL": "WARNING"}
ASK_EVERY = 5.0
STOP_AFTER = 300


def _delivered(emu: Emulator, chats: list[int], text: str) -> int:
    return sum(received(emu, chats, text).values())


def _watch(emu, run, asker, chats, text, until_delivered, samples: dict) -> None:
    """Ask /membership and read /healthz every few seconds until `until_delivered`."""
    while _delivered(emu, chats, text) < until_delivered:
        samples["membership_seconds"].append(round(reply_seconds(asker, "/membership", "Ten",
                                                                 timeout=30), 3))
        status, body = run.healthz()
        samples["healthz"].append(status)
        samples["oldest_reply_seconds"].append(body.get("oldest_reply_seconds"))
        waited = query(run.env["DATABASE_URL"], "SELECT extract(epoch FROM now() -"
                       " min(created_at)) FROM outbox WHERE status = 'pending' AND"
                       " priority = 2")[0][0]
        samples["oldest_queued_seconds"].append(round(float(waited or 0), 1))
        time.sleep(ASK_EVERY)


def run(members: int) -> dict:
    with DevPostgres(settings=SERVER_SETTINGS) as dev, tempfile.TemporaryDirectory() as tmp:
        db_url = dev.create_database("fitclub_announce")
        Migrator(db_url).migrate()
        emu = Emulator(port=0, **TELEGRAM_LIMITS)
        emu.start()
        launcher = Launcher(Path(tmp), emu)
        try:
            return _scenario(emu, launcher, db_url, members)
        finally:
            launcher.close(failed=False)
            emu.stop()


def _scenario(emu: Emulator, launcher: Launcher, db_url: str, members: int) -> dict:
    admin, asker, users = populate(emu, db_url, members)
    chats = [u.id for u in users] + [asker.id]
    total = members + 1
    first = launcher.start(db_url, **ENV)
    samples: dict[str, list] = {"membership_seconds": [], "healthz": [],
                                "oldest_reply_seconds": [], "oldest_queued_seconds": []}

    text = f"Announcement to {total} members"
    started = time.monotonic()
    block_silently(emu, users[-3:])
    progress_id = start_announcement(admin, text, total)
    _watch(emu, first, asker, chats, text, total // 3, samples)
    first.signal(signal.SIGKILL)
    first.wait(10)
    killed_after = time.monotonic() - started
    delivered_at_kill = _delivered(emu, chats, text)
    in_flight = {c for (c,) in query(db_url, "SELECT chat_id FROM outbox WHERE status ="
                                             " 'sending' AND priority = 2")}
    second = launcher.start(db_url, **ENV)
    _watch(emu, second, asker, chats, text, total - 3 - 30, samples)
    wait_until(lambda: announcement(db_url, text)[3] is not None, 600, "the announcement done")
    elapsed = time.monotonic() - started
    _, status, _, sent, failed, blocked = announcement(db_url, text)
    counts = received(emu, chats, text)
    doubled = {c: n - 1 for c, n in counts.items() if n > 1}
    edits = sum(1 for e in admin.events()
                if e["kind"] == "edit" and e["message_id"] == progress_id)
    first_429 = emu.stats(TOKEN)["http_429"]

    text2 = f"Second announcement to {total - 3} members"
    progress2 = start_announcement(admin, text2, total - 3)  # the blocked are known now
    wait_until(lambda: _delivered(emu, chats, text2) >= STOP_AFTER, 120, "deliveries")
    admin.press(admin.now(progress2), "Stop sending")
    stopped_at = time.monotonic()
    wait_until(lambda: announcement(db_url, text2)[3] is not None, 60, "the stop to settle")
    settled = time.monotonic() - stopped_at
    time.sleep(3)
    sent2 = announcement(db_url, text2)[3]
    at_tgemu2 = _delivered(emu, chats, text2)
    latencies = samples["membership_seconds"]
    return {
        "members": total,
        "announcement": {
            "status": status, "sent": sent, "failed": failed, "blocked": blocked,
            "seconds": round(elapsed, 1), "messages_per_second": round(sent / elapsed, 1),
            "killed_after_seconds": round(killed_after, 1),
            "delivered_at_kill": delivered_at_kill, "in_flight_at_kill": len(in_flight),
            "sent_twice": sum(doubled.values()),
            "sent_twice_not_in_flight": len(set(doubled) - in_flight),
            "never_received": sum(1 for c in chats if counts[c] == 0),
            "progress_edits": edits, "http_429": first_429,
        },
        "membership_reply_seconds": {
            "samples": len(latencies), "median": round(statistics.median(latencies), 3),
            "max": max(latencies), "all": latencies},
        "healthz": {"statuses": sorted(set(samples["healthz"])),
                    "max_oldest_reply_seconds": max(
                        (s for s in samples["oldest_reply_seconds"] if s is not None),
                        default=None),
                    "max_oldest_queued_seconds": max(samples["oldest_queued_seconds"])},
        "stopped": {"sent": sent2, "at_tgemu": at_tgemu2, "stop_after": STOP_AFTER,
                    "settled_seconds": round(settled, 1)},
        "http_429_total": emu.stats(TOKEN)["http_429"],
    }


def table(report: dict) -> str:
    a, m, h, s = (report["announcement"], report["membership_reply_seconds"],
                  report["healthz"], report["stopped"])
    return "\n".join([
        f"announcement to {report['members']} members: {a['status']}, sent {a['sent']},"
        f" failed {a['failed']}, blocked {a['blocked']}, in {a['seconds']}s"
        f" ({a['messages_per_second']}/s), {a['progress_edits']} progress edits",
        f"  SIGKILL after {a['killed_after_seconds']}s ({a['delivered_at_kill']} delivered,"
        f" {a['in_flight_at_kill']} in flight): {a['sent_twice']} sent twice"
        f" ({a['sent_twice_not_in_flight']} of them not in flight), {a['never_received']}"
        f" never received (3 blocked the bot)",
        f"  429s: {a['http_429']} during it, {report['http_429_total']} in all",
        f"/membership while it ran: median {m['median']}s, max {m['max']}s"
        f" ({m['samples']} samples)",
        f"/healthz while it ran: {h['statuses']}, oldest waiting reply at most"
        f" {h['max_oldest_reply_seconds'] or 0}s while the oldest queued announcement row"
        f" had waited {h['max_oldest_queued_seconds']}s",
        f"stopped after {s['stop_after']}: {s['sent']} recorded as sent, {s['at_tgemu']} at"
        f" tgemu, settled {s['settled_seconds']}s after the press",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=5000)
    args = ap.parse_args(argv)
    report = run(args.members)
    report["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
