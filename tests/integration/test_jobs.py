"""Scheduled jobs on PostgreSQL: scheduling, running, retries, exactly once across runners."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter

import psycopg2
import pytest
from psycopg2.extras import Json

from fitclub.db.migrate import Migrator
from fitclub.db.pool import Pool
from fitclub.runtime.context import PRIORITY_ANNOUNCEMENT, PRIORITY_REMINDER, current
from fitclub.runtime.jobs import (
    JobContext,
    Registry,
    cancel,
    ensure_recurring,
    reschedule,
    schedule,
)
from fitclub.runtime.jobs.metrics import JobMetrics
from fitclub.runtime.jobs.runner import Runner, overview
from tests import factories
from tests.helpers import query

EFFECT = "test.job"


def _effect(ctx: JobContext, n: int) -> None:
    with ctx.cursor() as cur:
        cur.execute("INSERT INTO audit_log (action, entity, entity_id, details)"
                    " VALUES (%s, 'job', %s, %s)", (EFFECT, n, Json({"job": ctx.job.id})))


def _effects(db_url: str) -> Counter:
    return Counter(dict(query(db_url, "SELECT entity_id, count(*) FROM audit_log"
                                      " WHERE action = %s GROUP BY entity_id", (EFFECT,))))


def _job(db_url: str, kind: str, key: str | None = None) -> dict:
    rows = query(db_url, "SELECT status, attempts, last_error, run_at, finished_at,"
                         " clock_timestamp() FROM jobs WHERE kind = %s"
                         " AND dedup_key IS NOT DISTINCT FROM %s", (kind, key))
    assert len(rows) == 1, rows
    status, attempts, error, run_at, finished_at, now = rows[0]
    return {"status": status, "attempts": attempts, "error": error, "run_at": run_at,
            "finished_at": finished_at, "due_in": (run_at - now).total_seconds()}


def _make_due(db_url: str) -> None:
    query(db_url, "UPDATE jobs SET run_at = clock_timestamp() WHERE status = 'pending'")


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def pool(db_url):
    p = Pool(db_url, minconn=1, maxconn=8)
    yield p
    p.close()


@pytest.fixture
def runner(pool, registry):
    return Runner(pool=pool, registry=registry, threads=2, poll_seconds=0.05, retry_base=30,
                  metrics=JobMetrics())


def _schedule(db_url: str, *args, **kwargs) -> bool:
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            return schedule(conn, *args, **kwargs)
    finally:
        conn.close()


# -- scheduling --------------------------------------------------------------------------------

def test_scheduling_the_same_key_twice_adds_one_job(db_url):
    assert _schedule(db_url, "remind", {"booking": 1}, key="booking:1") is True
    assert _schedule(db_url, "remind", {"booking": 1}, key="booking:1") is False
    assert _schedule(db_url, "expire", {"booking": 1}, key="booking:1") is True  # other kind
    assert query(db_url, "SELECT kind, count(*) FROM jobs GROUP BY kind ORDER BY kind") == \
        [("expire", 1), ("remind", 1)]


def test_a_key_stays_taken_after_the_job_ran(db_url, runner, registry):
    registry.register("remind")(lambda ctx, payload: None)
    _schedule(db_url, "remind", key="booking:1")
    assert runner.run_due() == 1
    assert _schedule(db_url, "remind", key="booking:1") is False
    assert query(db_url, "SELECT status FROM jobs") == [("done",)]


def test_jobs_without_a_key_are_never_deduplicated(db_url):
    assert _schedule(db_url, "ping") and _schedule(db_url, "ping")
    assert query(db_url, "SELECT count(*) FROM jobs")[0][0] == 2


def test_a_job_scheduled_in_a_rolled_back_transaction_never_existed(db_url):
    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            schedule(cur, "remind", {"x": 1}, key="k")  # a cursor works as well as a connection
        conn.rollback()
    finally:
        conn.close()
    assert query(db_url, "SELECT count(*) FROM jobs")[0][0] == 0


@pytest.mark.parametrize("run_at, due_in", [
    (None, 0),
    (dt.timedelta(minutes=5), 300),
    (dt.datetime(2100, 1, 1, tzinfo=dt.UTC), None),
])
def test_run_at_is_now_a_delay_or_an_aware_time(db_url, run_at, due_in):
    _schedule(db_url, "remind", {}, run_at)
    job = _job(db_url, "remind")
    if due_in is None:
        assert job["run_at"] == run_at
    else:
        assert job["due_in"] == pytest.approx(due_in, abs=5)


def test_a_naive_run_at_is_refused(db_url):
    with pytest.raises(ValueError, match="aware"):
        _schedule(db_url, "remind", {}, dt.datetime(2030, 1, 1))


def test_cancel_stops_a_pending_job_and_reports_whether_it_did(db_url, runner, registry):
    ran = []
    registry.register("remind")(lambda ctx, payload: ran.append(payload))
    _schedule(db_url, "remind", {"n": 1}, key="a")
    _schedule(db_url, "remind", {"n": 2}, key="b")
    with psycopg2.connect(db_url) as conn:
        assert cancel(conn, "remind", "a") is True
        assert cancel(conn, "remind", "missing") is False
    conn.close()
    assert runner.run_due() == 1
    assert ran == [{"n": 2}]
    with psycopg2.connect(db_url) as conn:
        assert cancel(conn, "remind", "b") is False  # already done
    conn.close()
    assert _job(db_url, "remind", "a")["status"] == "cancelled"


def test_reschedule_moves_a_pending_job_and_revives_a_finished_one(db_url, runner, registry):
    ran = []
    registry.register("remind")(lambda ctx, payload: ran.append(payload))
    _schedule(db_url, "remind", {"at": "19:00"}, dt.timedelta(hours=1), key="class:1")
    with psycopg2.connect(db_url) as conn:
        reschedule(conn, "remind", "class:1", None, payload={"at": "18:00"})
    conn.close()
    assert runner.run_due() == 1
    assert ran == [{"at": "18:00"}]
    # The class moved again after its reminder went out: the job is pending again, due later.
    with psycopg2.connect(db_url) as conn:
        reschedule(conn, "remind", "class:1", dt.timedelta(hours=2))
    conn.close()
    job = _job(db_url, "remind", "class:1")
    assert (job["status"], job["attempts"], job["finished_at"]) == ("pending", 0, None)
    assert job["due_in"] == pytest.approx(7200, abs=5)
    assert runner.run_due() == 0


# -- running -----------------------------------------------------------------------------------

def test_a_due_job_runs_once_with_its_payload_and_is_marked_done(db_url, runner, registry):
    seen = []

    @registry.register("remind")
    def remind(ctx: JobContext, payload: dict) -> None:
        seen.append((payload, ctx.job.kind, ctx.now().tzinfo is not None, current() is ctx))
        _effect(ctx, payload["n"])

    _schedule(db_url, "remind", {"n": 7})
    assert runner.run_due() == 1
    assert runner.run_due() == 0
    assert seen == [({"n": 7}, "remind", True, True)]
    assert _effects(db_url) == {7: 1}
    job = _job(db_url, "remind")
    assert (job["status"], job["attempts"], job["error"]) == ("done", 1, None)
    assert job["finished_at"] is not None


def test_a_job_not_yet_due_is_left_alone(db_url, runner, registry):
    registry.register("remind")(lambda ctx, payload: _effect(ctx, 1))
    _schedule(db_url, "remind", {}, dt.timedelta(seconds=60))
    assert runner.run_due() == 0
    assert _job(db_url, "remind")["status"] == "pending"
    assert _effects(db_url) == {}


def test_due_jobs_run_oldest_first(db_url, runner, registry):
    order = []
    registry.register("remind")(lambda ctx, payload: order.append(payload["n"]))
    now = dt.datetime.now(dt.UTC)
    for n, ago in ((1, 10), (2, 30), (3, 20)):
        _schedule(db_url, "remind", {"n": n}, now - dt.timedelta(seconds=ago))
    assert runner.run_due() == 3
    assert order == [2, 3, 1]


@pytest.mark.parametrize("priority", [PRIORITY_REMINDER, PRIORITY_ANNOUNCEMENT])
def test_a_jobs_messages_go_to_the_outbox_at_its_kinds_priority(db_url, pool, registry,
                                                                 priority):
    @registry.register("notify", priority=priority)
    def notify(ctx: JobContext, payload: dict) -> None:
        ctx.reply("see you at 19:00", chat_id=payload["chat"])
        ctx.chat(payload["chat"]).edit(42, "edited")

    woken = []
    runner = Runner(pool=pool, registry=registry, on_queued=lambda: woken.append(1))
    _schedule(db_url, "notify", {"chat": 5005})
    result = runner.run_one()
    assert (result.outcome, result.queued) == ("done", 2)
    rows = query(db_url, "SELECT chat_id, method, params->>'text', priority, update_id"
                         " FROM outbox ORDER BY id")
    assert rows == [(5005, "sendMessage", "see you at 19:00", priority, None),
                    (5005, "editMessageText", "edited", priority, None)]


def test_a_message_without_a_chat_fails_the_job_clearly(db_url, runner, registry):
    registry.register("notify", max_attempts=1)(lambda ctx, payload: ctx.reply("to whom?"))
    _schedule(db_url, "notify")
    assert runner.run_one().outcome == "failed"
    assert "no chat of its own" in _job(db_url, "notify")["error"]


def test_a_job_can_schedule_follow_ups_that_commit_with_it(db_url, runner, registry):
    @registry.register("offer")
    def offer(ctx: JobContext, payload: dict) -> None:
        ctx.schedule("offer_expiry", {"offer": payload["offer"]}, dt.timedelta(minutes=30),
                     key=f"offer:{payload['offer']}")

    _schedule(db_url, "offer", {"offer": 9})
    assert runner.run_due() == 1
    expiry = _job(db_url, "offer_expiry", "offer:9")
    assert expiry["status"] == "pending"
    assert expiry["due_in"] == pytest.approx(1800, abs=5)


def test_a_job_can_run_again_a_batch_at_a_time(db_url, runner, registry):
    batches = []

    @registry.register("announce")
    def announce(ctx: JobContext, payload: dict) -> None:
        batches.append(payload["next"])
        if payload["next"] < 3:
            ctx.run_again(None, payload={"next": payload["next"] + 1})

    _schedule(db_url, "announce", {"next": 1}, key="a1")
    assert runner.run_due() == 3
    assert batches == [1, 2, 3]
    job = _job(db_url, "announce", "a1")
    assert (job["status"], job["attempts"]) == ("done", 1)


def test_a_job_that_moves_or_cancels_itself_is_not_marked_done(db_url, runner, registry):
    @registry.register("self_moving")
    def self_moving(ctx: JobContext, payload: dict) -> None:
        reschedule(ctx.conn, "self_moving", ctx.job.key, dt.timedelta(hours=1))

    @registry.register("self_cancelling")
    def self_cancelling(ctx: JobContext, payload: dict) -> None:
        ctx.cancel("self_cancelling", ctx.job.key)

    _schedule(db_url, "self_moving", key="m")
    _schedule(db_url, "self_cancelling", key="c")
    assert runner.run_due() == 2
    moved = _job(db_url, "self_moving", "m")
    assert moved["status"] == "pending"
    assert moved["due_in"] == pytest.approx(3600, abs=5)
    assert _job(db_url, "self_cancelling", "c")["status"] == "cancelled"


def test_a_chat_view_knows_the_member_behind_a_private_chat(db_url, runner, registry):
    factories.member(db_url, 4242, "Anna", language="ru", registered=False)
    seen = []

    @registry.register("remind")
    def remind(ctx: JobContext, payload: dict) -> None:
        anna = ctx.chat(4242)
        seen.append((anna.member.first_name, anna.lang, ctx.chat(777).member))
        anna.reply("hi")

    _schedule(db_url, "remind")
    assert runner.run_due() == 1
    assert seen == [("Anna", "ru", None)]
    assert query(db_url, "SELECT chat_id FROM outbox") == [(4242,)]


# -- failures ----------------------------------------------------------------------------------

def test_a_failing_job_is_retried_with_growing_backoff_then_marked_failed(db_url, pool, registry,
                                                                          caplog):
    calls = []

    @registry.register("flaky", max_attempts=3)
    def flaky(ctx: JobContext, payload: dict) -> None:
        calls.append(1)
        raise ValueError("the club is closed")

    runner = Runner(pool=pool, registry=registry, retry_base=30)
    metrics = runner.metrics = JobMetrics()
    _schedule(db_url, "flaky")

    assert runner.run_one().outcome == "retried"
    job = _job(db_url, "flaky")
    assert (job["status"], job["attempts"], job["error"]) == \
        ("pending", 1, "ValueError: the club is closed")
    assert job["due_in"] == pytest.approx(30, abs=3)
    assert runner.run_due() == 0  # not due again yet

    _make_due(db_url)
    assert runner.run_one().outcome == "retried"
    job = _job(db_url, "flaky")
    assert job["attempts"] == 2
    assert job["due_in"] == pytest.approx(60, abs=3)

    _make_due(db_url)
    with caplog.at_level(logging.ERROR, logger="fitclub.runtime.jobs.runner"):
        assert runner.run_one().outcome == "failed"
    job = _job(db_url, "flaky")
    assert (job["status"], job["attempts"]) == ("failed", 3)
    assert job["finished_at"] is not None
    assert any("failed for good after 3 attempts" in r.getMessage() for r in caplog.records)
    _make_due(db_url)
    assert runner.run_due() == 0
    assert len(calls) == 3
    assert metrics.run.labels("flaky", "retried")._value.get() == 2
    assert metrics.failed.labels("flaky")._value.get() == 1


def test_backoff_doubles_up_to_its_cap(pool, registry):
    runner = Runner(pool=pool, registry=registry, retry_base=5, retry_max=60)
    assert [runner.backoff(a) for a in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_max_attempts_given_at_scheduling_wins_over_the_kinds(db_url, runner, registry):
    registry.register("flaky", max_attempts=5)(lambda ctx, p: 1 / 0)
    _schedule(db_url, "flaky", max_attempts=1)
    assert runner.run_one().outcome == "failed"
    assert _job(db_url, "flaky")["status"] == "failed"


def test_a_failed_attempt_rolls_back_its_messages_and_writes(db_url, runner, registry):
    @registry.register("notify")
    def notify(ctx: JobContext, payload: dict) -> None:
        _effect(ctx, 1)
        ctx.reply("hello", chat_id=77)
        if ctx.job.attempts == 0:
            raise RuntimeError("first try fails")

    _schedule(db_url, "notify")
    assert runner.run_one().outcome == "retried"
    assert query(db_url, "SELECT count(*) FROM outbox")[0][0] == 0
    assert _effects(db_url) == {}
    _make_due(db_url)
    assert runner.run_one().outcome == "done"
    assert query(db_url, "SELECT chat_id, params->>'text' FROM outbox") == [(77, "hello")]
    assert _effects(db_url) == {1: 1}


def test_a_job_that_swallows_a_database_error_is_failed_not_committed(db_url, runner, registry):
    @registry.register("sloppy", max_attempts=1)
    def sloppy(ctx: JobContext, payload: dict) -> None:
        ctx.reply("half done", chat_id=1)
        try:
            with ctx.cursor() as cur:
                cur.execute("SELECT 1/0")
        except psycopg2.Error:
            pass

    _schedule(db_url, "sloppy")
    assert runner.run_one().outcome == "failed"
    assert "swallowed a database error" in _job(db_url, "sloppy")["error"]
    assert query(db_url, "SELECT count(*) FROM outbox")[0][0] == 0


def test_an_unknown_kind_is_failed_at_once_with_a_clear_error(db_url, runner, registry, caplog):
    registry.register("remind")(lambda ctx, payload: None)
    _schedule(db_url, "no_such_kind")
    with caplog.at_level(logging.ERROR, logger="fitclub.runtime.jobs.runner"):
        assert runner.run_one().outcome == "failed"
    job = _job(db_url, "no_such_kind")
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert "unknown job kind 'no_such_kind'" in job["error"]
    assert "known: remind" in job["error"]
    assert any("no_such_kind" in r.getMessage() for r in caplog.records)
    assert runner.run_due() == 0


def test_a_job_killed_mid_run_is_due_again(db_url, pool, registry):
    """The row lock is the 'running' state: a transaction that dies leaves the job pending."""
    _schedule(db_url, "remind")
    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM jobs FOR UPDATE")  # a runner holding it, mid-job
        registry.register("remind")(lambda ctx, payload: None)
        other = Runner(pool=pool, registry=registry)
        assert other.run_due() == 0  # locked: skipped, not waited for
    finally:
        conn.close()  # the process holding it dies
    # The server notices the closed connection (and drops its lock) a moment later.
    deadline = time.monotonic() + 10
    while other.run_due() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _job(db_url, "remind")["status"] == "done"


def test_the_runner_wakes_when_the_next_job_falls_due_not_at_the_next_poll(db_url, pool,
                                                                          registry):
    ran = []
    registry.register("remind")(lambda ctx, payload: ran.append(time.monotonic()))
    _schedule(db_url, "remind", {}, dt.timedelta(seconds=1))
    runner = Runner(pool=pool, registry=registry, threads=1, poll_seconds=30)
    started = time.monotonic()
    runner.start()
    try:
        while not ran and time.monotonic() - started < 10:
            time.sleep(0.02)
    finally:
        runner.stop(5)
    assert ran and 0.8 < ran[0] - started < 3


def test_a_job_running_elsewhere_does_not_make_the_runner_spin(db_url, pool, registry):
    passes = []

    class Counting(Runner):
        def run_one(self):
            passes.append(1)
            return super().run_one()

    _schedule(db_url, "remind")
    holder = psycopg2.connect(db_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT id FROM jobs FOR UPDATE")  # another instance running it
        runner = Counting(pool=pool, registry=registry, threads=1, poll_seconds=0.5)
        runner.start()
        time.sleep(2)
        runner.stop(5)
    finally:
        holder.close()
    assert len(passes) <= 6


# -- recurring ---------------------------------------------------------------------------------

def test_recurring_kinds_have_one_row_however_many_instances_start(db_url, registry):
    ticks = []
    registry.register("sweep", every=60)(lambda ctx, payload: ticks.append(ctx.now()))
    pools = [Pool(db_url, minconn=1, maxconn=3) for _ in range(3)]
    runners = [Runner(pool=p, registry=registry, threads=1, poll_seconds=0.05) for p in pools]
    try:
        starters = [threading.Thread(target=r.start) for r in runners]
        for th in starters:
            th.start()
        for th in starters:
            th.join()
        deadline = time.monotonic() + 10
        while not ticks and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        for r in runners:
            r.stop(5)
        for p in pools:
            p.close()
    assert len(ticks) == 1
    rows = query(db_url, "SELECT status, attempts, every_seconds,"
                         " EXTRACT(EPOCH FROM run_at - clock_timestamp()) FROM jobs")
    assert len(rows) == 1
    status, attempts, every, due_in = rows[0]
    assert (status, attempts, every) == ("pending", 0, 60)
    assert 50 < due_in <= 60


def test_ensure_recurring_revives_a_cancelled_row_and_takes_a_new_interval(db_url):
    with psycopg2.connect(db_url) as conn:
        assert ensure_recurring(conn, "sweep", 60) is True
        assert ensure_recurring(conn, "sweep", 60) is False
    query(db_url, "UPDATE jobs SET status = 'cancelled', finished_at = now()")
    with psycopg2.connect(db_url) as conn:
        assert ensure_recurring(conn, "sweep", 30) is False
    conn.close()
    assert query(db_url, "SELECT status, every_seconds, run_at <= clock_timestamp()"
                         " FROM jobs") == [("pending", 30, True)]


def test_a_recurring_job_that_keeps_failing_is_never_given_up(db_url, pool, registry):
    registry.register("sweep", every=120, max_attempts=2)(lambda ctx, p: 1 / 0)
    runner = Runner(pool=pool, registry=registry, retry_base=1)
    with psycopg2.connect(db_url) as conn:
        ensure_recurring(conn, "sweep", 120)
    conn.close()
    assert runner.run_one().outcome == "retried"
    _make_due(db_url)
    assert runner.run_one().outcome == "failed"
    job = _job(db_url, "sweep", "recurring")
    assert (job["status"], job["attempts"]) == ("pending", 0)
    assert "ZeroDivisionError" in job["error"]
    assert job["due_in"] == pytest.approx(120, abs=5)


# -- several runners ---------------------------------------------------------------------------

def test_two_runners_run_each_of_many_jobs_exactly_once(db_url, registry):
    jobs = 400
    threads_seen = set()

    @registry.register("work")
    def work(ctx: JobContext, payload: dict) -> None:
        threads_seen.add(threading.current_thread())
        _effect(ctx, payload["n"])
        ctx.reply(f"job {payload['n']}", chat_id=1000 + payload["n"] % 20)

    conn = psycopg2.connect(db_url)
    with conn:
        for n in range(jobs):
            schedule(conn, "work", {"n": n}, key=f"n{n}")
    conn.close()
    pools = [Pool(db_url, minconn=1, maxconn=6) for _ in range(2)]
    runners = [Runner(pool=p, registry=registry, threads=3, poll_seconds=0.05) for p in pools]
    try:
        for r in runners:
            r.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if query(db_url, "SELECT count(*) FROM jobs WHERE status = 'done'")[0][0] == jobs:
                break
            time.sleep(0.1)
    finally:
        for r in runners:
            assert r.stop(10)
        for p in pools:
            p.close()
    effects = _effects(db_url)
    assert sorted(effects) == list(range(jobs))
    assert set(effects.values()) == {1}
    texts = Counter(t for (t,) in query(db_url, "SELECT params->>'text' FROM outbox"))
    assert len(texts) == jobs and set(texts.values()) == {1}
    # Both runners took part, so the exactly-once above was under contention.
    assert all(threads_seen & set(r._threads) for r in runners)


def test_overview_counts_due_jobs_and_the_oldest_wait(db_url, pool):
    now = dt.datetime.now(dt.UTC)
    _schedule(db_url, "a", {}, now - dt.timedelta(seconds=100))
    _schedule(db_url, "a", {}, now - dt.timedelta(seconds=10))
    _schedule(db_url, "a", {}, dt.timedelta(hours=1))
    due, oldest = overview(pool)
    assert due == 2
    assert oldest == pytest.approx(100, abs=5)
    query(db_url, "DELETE FROM jobs")
    assert overview(pool) == (0, None)


def test_the_runner_waits_out_a_database_restart_and_carries_on(private_pg, registry, caplog):
    """Jobs due while the server is down run once it is back; the outage is a warning, not a
    traceback per poll."""
    url = private_pg.create_database("jobs_outage")
    Migrator(url).migrate()
    ran = []
    registry.register("remind")(lambda ctx, payload: ran.append(payload["n"]))
    pool = Pool(url, minconn=1, maxconn=4, timeout=2, connect_timeout=2)
    runner = Runner(pool=pool, registry=registry, threads=2, poll_seconds=0.1)
    runner.start()
    try:
        _schedule(url, "remind", {"n": 1})
        deadline = time.monotonic() + 10
        # Done means committed as done: a job that ran but was not yet recorded when the
        # server went away runs again (at least once), which is not what is tested here.
        while query(url, "SELECT count(*) FROM jobs WHERE kind = 'remind' AND status = 'done'"
                    ) != [(1,)] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ran == [1]
        with caplog.at_level(logging.WARNING, logger="fitclub.runtime.jobs.runner"):
            private_pg.stop()
            time.sleep(1.5)
            private_pg.start()
            _schedule(url, "remind", {"n": 2})
            deadline = time.monotonic() + 30
            while ran != [1, 2] and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        assert runner.stop(10)
        pool.close()
    assert ran == [1, 2]
    outage = [r for r in caplog.records if r.name == "fitclub.runtime.jobs.runner"]
    assert outage, "the outage went unreported"
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in outage), \
        [r.getMessage() for r in outage]


@pytest.mark.parametrize(("values", "constraint"), [
    ({"status": "running", "finished_at": "2030-01-01Z"}, "jobs_status_check"),
    ({"kind": "Bad Kind"}, "jobs_kind_check"),
    ({"payload": Json([1, 2])}, "jobs_payload_check"),
    ({"max_attempts": 0}, "jobs_max_attempts_check"),
    ({"every_seconds": 0}, "jobs_every_seconds_check"),
    ({"finished_at": "2030-01-01Z"}, "jobs_finished_check"),
    ({"status": "done"}, "jobs_finished_check"),
])
def test_the_schema_refuses_impossible_jobs(db, values, constraint):
    row = {"kind": "remind", **values}
    with pytest.raises(psycopg2.IntegrityError) as err, db.cursor() as cur:
        cur.execute(f"INSERT INTO jobs ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
                    tuple(row.values()))
    assert err.value.diag.constraint_name == constraint
