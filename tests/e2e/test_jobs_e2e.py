"""Acceptance of scheduled jobs: two bot processes (one polling, one not) on one database, with
restarts in between, run each job exactly once and deliver its message exactly once."""

from __future__ import annotations

import datetime as dt
import signal
from collections import Counter
from pathlib import Path

import psycopg2
import pytest

from fitclub.runtime.jobs import schedule
from tests.e2e import harness
from tests.e2e.harness import TOKEN, bot_texts, query, wait_until

JOBS_BOT = Path(__file__).with_name("jobs_probe_bot.py")
FAST_JOBS = {"JOB_POLL_SECONDS": "0.2", "JOB_THREADS": "3", "OUTBOX_LEASE": "8"}


@pytest.fixture(autouse=True)
def jobs_bot(monkeypatch):
    """Every process the launcher starts runs the probe bot with the e2e job kinds."""
    monkeypatch.setattr(harness, "PROBE_BOT", JOBS_BOT)


def _wait_processing(run, timeout: float = 30.0) -> None:
    """Until an instance that does not poll answers /healthz with 200."""
    def ready():
        if not run.alive():
            raise AssertionError(f"bot exited with {run.proc.returncode}:\n{run.log_tail()}")
        try:
            status, body = run.healthz()
        except (OSError, ValueError):
            return False
        return status == 200 and body.get("seconds_since_poll") is None

    wait_until(ready, timeout, "the non-polling bot to become healthy")


def _schedule_jobs(db_url: str, chats: list[int], count: int, spread: float) -> None:
    """`count` e2e_job rows due over the next `spread` seconds, round-robin over chats."""
    start = dt.datetime.now(dt.UTC)
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            for n in range(count):
                due = start + dt.timedelta(seconds=spread * n / count)
                assert schedule(conn, "e2e_job", {"n": n, "chat": chats[n % len(chats)]}, due,
                                key=f"n{n}")
                # A second scheduling of the same key changes nothing.
                assert not schedule(conn, "e2e_job", {"n": n, "chat": 0}, due, key=f"n{n}")
    finally:
        conn.close()


def _done(db_url: str) -> int:
    return query(db_url, "SELECT count(*) FROM jobs WHERE status = 'done'")[0][0]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_two_processes_and_restarts_run_each_job_once_and_deliver_it_once(emu, launcher,
                                                                          db_url, stop):
    """600 jobs due over 12 s; a polling and a non-polling instance share them; the polling one
    is restarted gracefully and the other is stopped (SIGTERM, or SIGKILL) and restarted
    mid-way. Every job has exactly one committed effect and every `job n` message reaches its
    chat exactly once. After SIGKILL a duplicate is accepted only for a message that was in
    flight at the kill (at-least-once delivery across a crash), as for replies."""
    jobs, spread = 600, 12.0
    users = [emu.create_user(f"member{i}") for i in range(30)]
    for user in users:
        user.send_text(TOKEN, "n 0")  # a bot may only write to users who wrote first
    polling = launcher.start(db_url, **FAST_JOBS)
    quiet = launcher.start(db_url, wait=False, E2E_POLLING="0", **FAST_JOBS)
    _wait_processing(quiet)
    assert polling.metric("fitclub_jobs_due") is not None
    _schedule_jobs(db_url, [u.id for u in users], jobs, spread)

    wait_until(lambda: _done(db_url) >= jobs // 4, 30, "a quarter of the jobs done")
    polling.signal(signal.SIGTERM)
    assert polling.wait(15) == 0
    wait_until(lambda: _done(db_url) >= jobs // 2, 30, "half the jobs done by the other one")
    polling = launcher.start(db_url, **FAST_JOBS)

    quiet.signal(stop)
    assert quiet.wait(15) == (0 if stop == signal.SIGTERM else -signal.SIGKILL)
    # In flight at the stop (the other instance's sends included: a superset of the dead one's).
    in_flight = Counter(query(db_url, "SELECT chat_id, params->>'text' FROM outbox"
                                      " WHERE status = 'sending'"))
    assert _done(db_url) < jobs, "the stop came after every job ran; it proves nothing"
    quiet = launcher.start(db_url, wait=False, E2E_POLLING="0", **FAST_JOBS)
    _wait_processing(quiet)

    wait_until(lambda: _done(db_url) == jobs, 60, f"all {jobs} jobs done")
    # Recurring rows (the production reminder sweep) are always pending between runs.
    assert query(db_url, "SELECT status, count(*) FROM jobs WHERE every_seconds IS NULL"
                         " GROUP BY status") == [("done", jobs)]

    effects = query(db_url, "SELECT entity_id, details->>'pid' FROM audit_log"
                            " WHERE action = 'e2e.job'")
    per_job = Counter(n for n, _ in effects)
    assert sorted(per_job) == list(range(jobs))
    assert set(per_job.values()) == {1}, "a job's effect committed twice"
    pids = Counter(int(pid) for _, pid in effects)
    assert len(pids) >= 3, f"jobs ran in too few processes to prove anything: {pids}"

    expected = {u.id: {f"job {n}" for n in range(jobs) if n % len(users) == i}
                for i, u in enumerate(users)}

    def all_delivered():
        return all(expected[u.id] <= set(bot_texts(emu, u.id)) for u in users)

    wait_until(all_delivered, 60, "every job's message delivered", interval=0.25)
    duplicates = Counter()
    for user in users:
        texts = [t for t in bot_texts(emu, user.id) if t.startswith("job ")]
        assert set(texts) == expected[user.id]
        for text, k in Counter(texts).items():
            if k > 1:
                duplicates[(user.id, text)] += k - 1
    print(f"jobs per process: {dict(pids)}; {sum(in_flight.values())} messages in flight at "
          f"the kill, {sum(duplicates.values())} delivered twice")
    if stop == signal.SIGTERM:
        assert not duplicates, "a graceful stop must not cause a resend"
    unexplained = {key: k for key, k in duplicates.items() if k > in_flight[key]}
    assert not unexplained, f"messages sent twice that were not in flight at the kill: " \
                            f"{list(unexplained.items())[:5]}"


def test_healthz_and_metrics_report_jobs(emu, launcher, db_url):
    """A job due longer than JOBS_OVERDUE_LIMIT turns /healthz unhealthy until it has run;
    /metrics counts runs by kind and outcome, and failures (an unknown kind) apart."""
    bot = launcher.start(db_url, JOBS_OVERDUE_LIMIT="1", JOB_POLL_SECONDS="0.2")
    # At start the recurring jobs (sweeps) are due at once: due for a moment, never overdue,
    # and then nothing is due.
    seen = []

    def settled():
        seen.append(bot.healthz())
        return seen[-1][1]["oldest_overdue_job_seconds"] is None

    wait_until(settled, 10, "the start-up jobs to have run", interval=0.1)
    assert all((status, body["jobs_overdue"]) == (200, False) for status, body in seen), seen

    conn = psycopg2.connect(db_url)
    with conn:
        schedule(conn, "e2e_slow", {"seconds": 4})
        schedule(conn, "nobody_knows_this_kind", {})
    conn.close()

    def overdue():
        status, body = bot.healthz()
        return status == 503 and body["jobs_overdue"] and body
    body = wait_until(overdue, 10, "/healthz to report the overdue job")
    assert body["oldest_overdue_job_seconds"] > 1
    assert bot.metric("fitclub_jobs_due") >= 1

    wait_until(lambda: bot.healthz()[0] == 200, 15, "/healthz healthy once the job ran")
    assert bot.metric("fitclub_jobs_run_total", 'kind="e2e_slow",outcome="done"') == 1
    assert bot.metric("fitclub_jobs_failed_total", 'kind="nobody_knows_this_kind"') == 1
    assert bot.metric("fitclub_jobs_due") == 0
    assert query(db_url, "SELECT kind, status FROM jobs WHERE every_seconds IS NULL"
                         " ORDER BY kind") == \
        [("e2e_slow", "done"), ("nobody_knows_this_kind", "failed")]
    assert "unknown job kind 'nobody_knows_this_kind'" in bot.log_text()
