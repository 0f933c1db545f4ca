"""Load driver: N simulated users run a caller's scenario against a bot through tgemu.

Closed loop: every user runs the scenario over and over, waiting for each answer and then
thinking for think_time before the next update. Open loop: sends are paced by one global
schedule at `rate` updates/s, whatever the answers take; a user still waits for the answer to
its own previous update (scenarios need replies), so give enough users: more than
rate x expected latency, or the schedule falls behind (reported as schedule_lag_max_s).

Every run is bounded by duration and optionally by max_updates, and talks to 127.0.0.1 only.
A scenario is a callable taking a LoadUser:

    def scenario(u):
        reply = u.send_text("/start")             # waits until the bot answers
        u.press_button(reply[0]["message_id"], "menu:book")
"""

import argparse
import importlib
import json
import logging
import sys
import threading
import time

from tgemu.emulator import percentiles

log = logging.getLogger(__name__)
MAX_USERS = 5000


class StopLoad(Exception):
    """Raised inside a scenario when the run's duration or update budget is spent."""


class _Counted(Exception):
    """A failure already counted (timeout or error); it ends the scenario iteration."""


class LoadUser:
    """What a scenario can do; each send waits (bounded) until the bot answers the update."""

    def __init__(self, run: "_Run", user, index: int):
        self._run = run
        self.user = user
        self.index = index
        self.token = run.token
        self.last_messages: list[dict] = []
        self._sent_any = False

    @property
    def id(self) -> int:
        return self.user.id

    def _send(self, action, expect: int, timeout: float | None) -> list[dict]:
        run = self._run
        run.before_send(self)
        self._sent_any = True
        timeout = run.answer_timeout if timeout is None else timeout
        started = time.monotonic()
        update_id = action()
        run.record_sent(update_id)
        try:
            run.emu.wait_answered(self.token, update_id, timeout)
        except TimeoutError:
            run.record_timeout(update_id)
            raise _Counted from None
        run.record_answered(update_id, time.monotonic() - started)
        got = list(self.user.read_messages(self.token))
        if expect > len(got):
            remaining = max(0.1, timeout - (time.monotonic() - started))
            try:
                got += self.user.wait_for_messages(self.token, expect - len(got), remaining)
            except TimeoutError as exc:
                run.record_error(exc)
                raise _Counted from None
        self.last_messages = got
        return got

    def send_text(self, text: str, expect: int = 0, timeout: float | None = None) -> list[dict]:
        """Send text; returns the bot messages that arrived by the answer (at least `expect`)."""
        return self._send(lambda: self.user.send_text(self.token, text), expect, timeout)

    def press_button(
        self, message_id: int, callback_data: str, expect: int = 0, timeout: float | None = None
    ) -> list[dict]:
        return self._send(
            lambda: self.user.press_button(self.token, message_id, callback_data), expect, timeout
        )

    def send_contact(
        self, phone: str | None = None, expect: int = 0, timeout: float | None = None
    ) -> list[dict]:
        return self._send(lambda: self.user.send_contact(self.token, phone), expect, timeout)

    def send_location(
        self, latitude: float, longitude: float, expect: int = 0, timeout: float | None = None
    ) -> list[dict]:
        return self._send(
            lambda: self.user.send_location(self.token, latitude, longitude), expect, timeout
        )

    def wait_for_messages(self, count: int = 1, timeout: float | None = None) -> list[dict]:
        timeout = self._run.answer_timeout if timeout is None else timeout
        return self.user.wait_for_messages(self.token, count, timeout)


class _Run:
    """Shared state of one load run."""

    def __init__(
        self, emu, token, *, mode, rate, think_time, duration, max_updates, answer_timeout
    ):
        self.emu = emu
        self.token = token
        self.mode = mode
        self.rate = rate
        self.think_time = think_time
        self.duration = duration
        self.max_updates = max_updates
        self.answer_timeout = answer_timeout
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.deadline = self.start + duration
        self.slots = 0
        self.sent_ids: list[int] = []
        self.answered = 0
        self.timeouts = 0
        self.errors = 0
        self.iterations = 0
        self.error_samples: list[str] = []
        self.responses: list[float] = []
        self.lag_max = 0.0
        self.stopped = threading.Event()

    def before_send(self, user: LoadUser):
        """Pace the next send (think time or the open-loop schedule); StopLoad when done."""
        if self.mode == "closed":
            if user._sent_any and self.think_time:
                self._sleep_until(time.monotonic() + self.think_time)
            with self.lock:
                if self._spent():
                    raise StopLoad
                self.slots += 1
            return
        with self.lock:
            if self._spent():
                raise StopLoad
            due = self.start + self.slots / self.rate
            self.slots += 1
        now = time.monotonic()
        if now < due:
            self._sleep_until(due)
        else:
            with self.lock:
                self.lag_max = max(self.lag_max, now - due)
        if time.monotonic() >= self.deadline:
            raise StopLoad

    def _spent(self) -> bool:
        if self.stopped.is_set() or time.monotonic() >= self.deadline:
            return True
        return self.max_updates is not None and self.slots >= self.max_updates

    def _sleep_until(self, when: float):
        remaining = when - time.monotonic()
        remaining = min(remaining, self.deadline - time.monotonic())
        if remaining > 0 and self.stopped.wait(remaining):
            raise StopLoad

    def record_sent(self, update_id):
        with self.lock:
            self.sent_ids.append(update_id)

    def record_answered(self, update_id, seconds):
        with self.lock:
            self.answered += 1
            self.responses.append(seconds)

    def record_timeout(self, update_id):
        with self.lock:
            self.timeouts += 1

    def record_error(self, exc: BaseException):
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{exc.__class__.__name__}: {exc}")


def run_load(
    emu,
    token: str,
    scenario,
    *,
    users: int = 10,
    mode: str = "closed",
    rate: float | None = None,
    think_time: float = 0.0,
    duration: float = 30.0,
    max_updates: int | None = None,
    answer_timeout: float = 10.0,
    ramp_up: float = 0.0,
    first_name: str = "Load",
    user_ids=None,
) -> dict:
    """Run `scenario` for `users` simulated users; returns the report (see summary()).

    user_ids: run as these Telegram user ids instead of `users` new ones (for a bot whose
    database already knows them, e.g. seeded members); a simulated user that exists already
    is reused, one that does not is created. `users` is then len(user_ids).
    """
    users = users if user_ids is None else _unique_count(user_ids)
    if mode not in ("closed", "open"):
        raise ValueError("mode must be 'closed' or 'open'")
    if mode == "open" and not rate:
        raise ValueError("open loop needs rate (updates per second)")
    if not 1 <= users <= MAX_USERS:
        raise ValueError(f"users must be between 1 and {MAX_USERS}")
    if duration <= 0:
        raise ValueError("duration must be positive")
    base = getattr(emu, "base_url", "http://127.0.0.1")
    if not base.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ValueError("the load driver talks to 127.0.0.1 only")
    before = emu.stats(token)
    sims = _sim_users(emu, users, first_name, user_ids)
    run = _Run(
        emu,
        token,
        mode=mode,
        rate=rate,
        think_time=think_time,
        duration=duration,
        max_updates=max_updates,
        answer_timeout=answer_timeout,
    )

    def user_loop(index, sim):
        if ramp_up:
            time.sleep(ramp_up * index / users)
        lu = LoadUser(run, sim, index)
        while not run.stopped.is_set():
            try:
                scenario(lu)
                with run.lock:
                    run.iterations += 1
            except StopLoad:
                return
            except _Counted:
                pass
            except Exception as exc:
                run.record_error(exc)
                if run.stopped.wait(0.05):
                    return
            with run.lock:
                if run._spent():
                    return

    threads = [
        threading.Thread(target=user_loop, args=(i, s), name=f"tgemu-load-{i}", daemon=True)
        for i, s in enumerate(sims)
    ]
    for t in threads:
        t.start()
    hard_stop = run.deadline + answer_timeout + 5
    for t in threads:
        t.join(max(0.0, hard_stop - time.monotonic()))
    run.stopped.set()
    for t in threads:
        t.join(1.0)
    elapsed = time.monotonic() - run.start
    after = emu.stats(token)
    lat_all = emu.latencies(token)
    ids = set(run.sent_ids)
    latencies = [v for k, v in lat_all.items() if k in ids]
    still_running = sum(t.is_alive() for t in threads)

    def delta(key):
        return after.get(key, 0) - before.get(key, 0)

    errors_before = sum(before.get("errors", {}).values())
    errors_after = sum(after.get("errors", {}).values())
    report = {
        "mode": mode,
        "users": users,
        "target_rate": rate,
        "think_time_s": think_time,
        "duration_limit_s": duration,
        "max_updates": max_updates,
        "elapsed_s": round(elapsed, 3),
        "iterations": run.iterations,
        "updates_sent": len(run.sent_ids),
        "answered": run.answered,
        "timeouts": run.timeouts,
        "errors": run.errors,
        "error_samples": run.error_samples,
        "throughput_per_s": run.answered / elapsed if elapsed else 0.0,
        "sent_rate_per_s": len(run.sent_ids) / elapsed if elapsed else 0.0,
        "latency_s": percentiles(latencies),
        "response_s": percentiles(run.responses),
        "http_429": delta("http_429"),
        "rate_limited": delta("rate_limited"),
        "faults": delta("faults_total"),
        "bot_api_errors": errors_after - errors_before,
        "bot_api_calls": delta("calls_total"),
        "schedule_lag_max_s": run.lag_max if mode == "open" else None,
        "users_still_running": still_running,
    }
    return report


def _unique_count(user_ids) -> int:
    count = len(set(user_ids))
    if count != len(user_ids):
        raise ValueError("user_ids must be unique")
    return count


def _sim_users(emu, users: int, first_name: str, user_ids) -> list:
    """`users` new simulated users, or the ones with user_ids (existing reused, others new)."""
    if user_ids is None:
        return [
            emu.create_user(first_name=f"{first_name}{i}", username=f"{first_name.lower()}{i}")
            for i in range(users)
        ]
    sims = []
    for i, uid in enumerate(user_ids):
        try:
            sims.append(emu.user(int(uid)))
        except KeyError:
            sims.append(emu.create_user(first_name=f"{first_name}{i}", user_id=int(uid)))
    return sims


def summary(report: dict) -> str:
    """Two lines a person can read."""
    lat = report["latency_s"]

    def ms(v):
        return "-" if v is None else f"{v * 1000:.1f}ms"

    loop = (
        f"open loop at {report['target_rate']}/s"
        if report["mode"] == "open"
        else f"closed loop, think {report['think_time_s']}s"
    )
    return (
        f"{report['users']} users, {loop}, {report['elapsed_s']:.1f}s: "
        f"{report['updates_sent']} updates sent, {report['answered']} answered, "
        f"{report['timeouts']} timeouts, {report['errors']} errors, {report['http_429']} x 429, "
        f"{report['faults']} faults\n"
        f"throughput {report['throughput_per_s']:.1f} updates/s; latency p50 {ms(lat['p50'])} "
        f"p95 {ms(lat['p95'])} p99 {ms(lat['p99'])} max {ms(lat['max'])}"
    )


def echo_scenario(u: LoadUser):
    """The default scenario: a text that any echo-style bot answers."""
    u.send_text(f"hello {u.index}")


def main(argv=None) -> int:
    """python -m tgemu.load --url http://127.0.0.1:8081 --token T [--scenario mod:func] ..."""
    from tgemu.client import RemoteEmulator

    parser = argparse.ArgumentParser(prog="python -m tgemu.load", description=main.__doc__)
    parser.add_argument("--url", required=True, help="tgemu base URL on 127.0.0.1")
    parser.add_argument("--token", required=True)
    parser.add_argument(
        "--scenario", default="tgemu.load:echo_scenario", help="module:function taking a LoadUser"
    )
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--mode", choices=("closed", "open"), default="closed")
    parser.add_argument("--rate", type=float)
    parser.add_argument("--think-time", type=float, default=0.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--max-updates", type=int)
    parser.add_argument("--answer-timeout", type=float, default=10.0)
    parser.add_argument("--report", help="write the JSON report here")
    args = parser.parse_args(argv)
    module, _, func = args.scenario.partition(":")
    scenario = getattr(importlib.import_module(module), func)
    with RemoteEmulator(args.url) as emu:
        report = run_load(
            emu,
            args.token,
            scenario,
            users=args.users,
            mode=args.mode,
            rate=args.rate,
            think_time=args.think_time,
            duration=args.duration,
            max_updates=args.max_updates,
            answer_timeout=args.answer_timeout,
        )
    text = json.dumps(report, indent=2)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    sys.stdout.write(summary(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
