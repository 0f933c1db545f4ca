"""50 members press Activity at once while other members use the bot: their replies unchanged.

A throwaway PostgreSQL, tgemu in this process (no Telegram limits) and the bot as its own
process with bot-side limits set high (OUTBOUND_RATE, PER_CHAT_RATE: Telegram's 30 messages/s
is not what is measured here, the workers are).

- 50 chart members, each with visits of a different weekly pattern (so 50 different charts,
  none served from another's), and a menu message from /start.
- OTHERS other members, each in a closed loop: /start or /bookings (in turn), wait for the
  bot's answer, think THINK seconds. Their reply latency is tgemu's: from the update reaching
  the bot (getUpdates) to the bot's first answering call.
- One chart drawn first by a warm-up member (matplotlib loaded), then phases of PHASE
  seconds: without presses (half before, half after), with the 50 members pressing My bookings
  at once (the control: a burst of 50 updates without a chart), and with the 50 pressing
  Activity at once. Prints the other members' reply p50/p95/p99 in each, and how long the 50
  charts took to arrive (press to photo at tgemu). The charts cost the others nothing when the
  Activity phase matches the control. Writes bench/reports/charts.json.

    .venv/bin/python -m bench.charts [--others 10] [--phase 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import REPORTS, latency_summary
from fitclub.db.migrate import Migrator
from fitclub.devdb import DevPostgres
from tests import factories
from tests.e2e.harness import TOKEN, Launcher, wait_until
from tests.e2e.session import button_data
from tgemu import Emulator

REPORT = REPORTS / "charts.json"
CHARTS = 50
THINK = 0.1
ENV = {"OUTBOUND_RATE": "1000", "PER_CHAT_RATE": "100", "FLOOD_BURST": "1000",
       "FLOOD_RATE": "100", "LOG_LEVEL": "WARNING"}



def _populate(emu: Emulator, db_url: str, others: int) -> tuple[list, list, object]:
    now = datetime.now(UTC)
    chart_users = [emu.create_user(f"C{i}") for i in range(CHARTS)]
    other_users = [emu.create_user(f"O{i}") for i in range(others)]
    warm = emu.create_user("Warm")
    ids = factories.members(db_url, [{"telegram_id": u.id, "first_name": f"M{u.id}",
                                      "phone": f"+1000{u.id}"}
                                     for u in [*chart_users, *other_users, warm]])
    for n, member_id in enumerate([*ids[:CHARTS], ids[-1]]):
        for week in range(6):  # one or two visits a week, by the bits of n: 64 patterns
            for k in range(1 + ((n >> week) & 1)):
                factories.visit(db_url, member_id,
                                checked_in_at=now - timedelta(weeks=week, hours=2 + 30 * k))
    return chart_users, other_users, warm


def _photo_since(emu: Emulator, user, since: int) -> bool:
    return any(e.get("photo") for e in emu.transcript(TOKEN, user.id)[since:]
               if e["kind"] == "message")


class Others:
    """The other members' closed loops; latencies recorded while `recording` is set."""

    def __init__(self, emu: Emulator, users: list) -> None:
        self.emu = emu
        self.users = users
        self.samples: list[float] = []
        self.stamped: list[tuple[float, float]] = []  # (when answered, seconds), all phases
        self.errors = 0
        self.recording = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(u, i), daemon=True)
                        for i, u in enumerate(users)]

    def _loop(self, user, index: int) -> None:
        n = index
        while not self.stop.is_set():
            text = "/start" if n % 2 else "/bookings"
            n += 1
            recording = self.recording.is_set()
            try:
                update_id = user.send_text(TOKEN, text)
                seconds = self.emu.wait_answered(TOKEN, update_id, timeout=30)
            except Exception:
                with self.lock:
                    self.errors += 1
                continue
            if recording and self.recording.is_set():
                with self.lock:
                    self.samples.append(seconds)
                    self.stamped.append((time.monotonic(), seconds))
            time.sleep(THINK)

    def start(self) -> None:
        for th in self.threads:
            th.start()

    def measure(self, seconds: float) -> list[float]:
        with self.lock:
            self.samples = []
        self.recording.set()
        time.sleep(seconds)
        self.recording.clear()
        with self.lock:
            return list(self.samples)

    def close(self) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(35)


def run(others: int, phase: float) -> dict:
    with DevPostgres() as dev, tempfile.TemporaryDirectory() as tmp:
        db_url = dev.create_database("fitclub_charts")
        Migrator(db_url).migrate()
        emu = Emulator(port=0, global_rate=None, per_chat_rate=None)
        emu.start()
        launcher = Launcher(Path(tmp), emu)
        try:
            return _scenario(emu, launcher, db_url, others, phase)
        finally:
            launcher.close(failed=False)
            emu.stop()


def _fresh_menus(emu: Emulator, users: list) -> list[dict]:
    """Each member's newest menu, from a /start sent now."""
    marks = [len(emu.transcript(TOKEN, u.id)) for u in users]
    for user in users:
        emu.wait_answered(TOKEN, user.send_text(TOKEN, "/start"), timeout=30)
    return [wait_until(lambda u=user, m=mark: next((e for e in emu.transcript(TOKEN, u.id)[m:]
                                                    if e["kind"] == "message"), None),
                       30, "a menu") for user, mark in zip(users, marks, strict=True)]


def _burst(emu: Emulator, loops: Others, users: list, menus: list, label: str,
           phase: float, photos: bool) -> tuple[list[float], list[float], dict[int, float],
                                                 float]:
    """Every member presses `label` on their menu at once; the others' replies meanwhile
    (phase seconds; and those from the second after the presses on, past the burst of 50
    updates itself), and when each member's photo arrived (if photos are expected)."""
    marks = [len(emu.transcript(TOKEN, u.id)) for u in users]
    arrived: dict[int, float] = {}
    done = threading.Event()

    def watch(pressed_at: float) -> None:
        while len(arrived) < len(users) and time.monotonic() - pressed_at < 120:
            for user, mark in zip(users, marks, strict=True):
                if user.id not in arrived and _photo_since(emu, user, mark):
                    arrived[user.id] = time.monotonic() - pressed_at
            time.sleep(0.1)
        done.set()

    loops.recording.set()
    with loops.lock:
        loops.samples = []
    pressed_at = time.monotonic()
    for user, menu in zip(users, menus, strict=True):
        user.press_button(TOKEN, menu["message_id"], button_data(menu, label))
    press_seconds = time.monotonic() - pressed_at
    if photos:
        threading.Thread(target=watch, args=(pressed_at,), daemon=True).start()
    time.sleep(phase)
    loops.recording.clear()
    with loops.lock:
        busy = list(loops.samples)
        later = [sec for at, sec in loops.stamped
                 if pressed_at + 1.0 <= at - sec and at <= pressed_at + phase]
    if photos:
        done.wait(120)
    time.sleep(1)
    return busy, later, arrived, press_seconds


def _scenario(emu: Emulator, launcher: Launcher, db_url: str, others: int,
              phase: float) -> dict:
    chart_users, other_users, warm = _populate(emu, db_url, others)
    launcher.start(db_url, **ENV)
    menus = _fresh_menus(emu, chart_users)
    before = len(emu.transcript(TOKEN, warm.id))
    warm.send_text(TOKEN, "/activity")  # matplotlib loaded, fonts cached
    wait_until(lambda: _photo_since(emu, warm, before), 60, "the warm-up chart")

    loops = Others(emu, other_users)
    loops.start()
    time.sleep(2)  # the loops settle
    quiet = loops.measure(phase / 2)
    # The control: the same 50 members press a screen without a chart (My bookings) at once,
    # so the burst of 50 updates alone is measured; then Activity, on fresh menus.
    control, control_later, _, _ = _burst(emu, loops, chart_users, menus, "My bookings", phase,
                                          photos=False)
    menus = _fresh_menus(emu, chart_users)
    time.sleep(1)
    busy, busy_later, arrived, press_seconds = _burst(emu, loops, chart_users, menus,
                                                      "Activity", phase, photos=True)
    quiet += loops.measure(phase / 2)  # half the quiet samples before the presses, half after
    loops.close()
    times = sorted(arrived.values())
    return {
        "others": others, "think_seconds": THINK, "phase_seconds": phase,
        "without_presses": latency_summary(quiet),
        "with_50_bookings_presses": latency_summary(control),
        "with_50_presses": latency_summary(busy),
        "bookings_presses_from_1s": latency_summary(control_later),
        "activity_presses_from_1s": latency_summary(busy_later),
        "charts": {"pressed": CHARTS, "arrived": len(times),
                   "presses_sent_in_seconds": round(press_seconds, 3),
                   "first_seconds": round(times[0], 2) if times else None,
                   "median_seconds": round(statistics.median(times), 2) if times else None,
                   "last_seconds": round(times[-1], 2) if times else None},
        "other_errors": loops.errors,
    }


def table(report: dict) -> str:
    q, b, c = report["without_presses"], report["with_50_presses"], report["charts"]
    k = report["with_50_bookings_presses"]

    def line(name: str, p: dict) -> str:
        return (f"{name:<26} {p['n']:>5} replies  p50 {p['p50_ms']:>6} ms  p95 {p['p95_ms']:>6} ms"
                f"  p99 {p['p99_ms']:>6} ms  max {p['max_ms']:>6} ms")

    return "\n".join([
        f"{report['others']} other members, /start and /bookings in turn, {report['think_seconds']}"
        f" s apart, {report['phase_seconds']} s a phase:",
        line("without presses", q),
        line(f"with {c['pressed']} My bookings presses", k),
        line(f"with {c['pressed']} Activity presses", b),
        "the same, from 1 s after the presses on (the charts drawn, the burst itself over):",
        line("  My bookings", report["bookings_presses_from_1s"]),
        line("  Activity", report["activity_presses_from_1s"]),
        f"the {c['pressed']} charts: {c['arrived']} arrived, first after {c['first_seconds']} s,"
        f" median {c['median_seconds']} s, last {c['last_seconds']} s after the presses",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--others", type=int, default=10)
    ap.add_argument("--phase", type=float, default=12.0)
    args = ap.parse_args(argv)
    report = run(args.others, args.phase)
    report["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    return 0 if report["charts"]["arrived"] == CHARTS else 1


if __name__ == "__main__":
    sys.exit(main())
