"""The job runner: threads in every bot process taking due rows from the jobs table.

One job, one transaction: take the oldest due row with FOR UPDATE SKIP LOCKED, run its function,
mark it done, commit. Instances never run a job twice (the row is locked, then no longer
pending) and a crash mid-job rolls everything back, so the row is simply due again. A job that
raises is rolled back to a savepoint (its messages and writes vanish), its attempt is recorded
and it is due again after an exponential backoff; after its last attempt it is marked failed.
Nothing is held in memory between polls: what is due is always read from the table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions

from fitclub.config import Settings
from fitclub.db.pool import Pool, PoolTimeout, is_disconnect
from fitclub.db.queries import Q
from fitclub.logs import describe
from fitclub.runtime import notices
from fitclub.runtime.context import bound
from fitclub.runtime.jobs.metrics import JobMetrics
from fitclub.runtime.jobs.registry import REGISTRY, Job, JobContext, JobSpec, Registry
from fitclub.runtime.jobs.scheduling import ensure_recurring

log = logging.getLogger(__name__)

MAX_ERROR = 1000


@dataclass(frozen=True)
class Pass:
    """What one look at the table did: the job's outcome, or when to look again."""

    outcome: str | None = None  # done, retried, failed; None when nothing was due
    kind: str | None = None
    queued: int = 0
    next_due: float | None = None  # seconds until the next job falls due, when none ran


class Runner:
    """Job threads of one process; start() and stop() it."""

    def __init__(self, *, pool: Pool, registry: Registry = REGISTRY,
                 settings: Settings | None = None, threads: int = 2, poll_seconds: float = 1.0,
                 retry_base: float = 5.0, retry_max: float = 3600.0,
                 metrics: JobMetrics | None = None,
                 on_queued: Callable[[], None] | None = None,
                 after_job: Callable[[JobContext], object] | None = None) -> None:
        self.pool = pool
        self.registry = registry
        self.settings = settings
        self.thread_count = threads
        self.poll_seconds = poll_seconds
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.metrics = metrics
        self.on_queued = on_queued or (lambda: None)
        # Runs in each job's transaction after its function: the app delivers there the
        # notices the job's services recorded (fitclub.notify.deliver).
        self.after_job = after_job
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._outage_logged_at: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Create the rows of recurring kinds (idempotent across instances), start the threads."""
        for spec in self.registry.recurring():
            assert spec.every is not None
            self.pool.run(lambda conn, s=spec: ensure_recurring(conn, s.kind, s.every))
        for i in range(self.thread_count):
            th = threading.Thread(target=self._loop, name=f"jobs-{i}", daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self, timeout: float) -> bool:
        """Let running jobs finish (bounded); True when every thread ended in time.

        A job still running at the deadline is abandoned with its thread: the process exits,
        its transaction rolls back and the job is due again at the next start.
        """
        self._stop.set()
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        return not any(th.is_alive() for th in self._threads)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.run_one()
            except Exception as exc:
                # The job (if any) stays pending in the table and is taken again later.
                self._pass_failed(exc)
                self._stop.wait(self.poll_seconds)
                continue
            self._outage_logged_at = None
            if result.outcome is not None:
                if result.queued:
                    self.on_queued()
                continue  # there may be more due right now
            wait = self.poll_seconds
            if result.next_due is not None:
                wait = min(wait, max(result.next_due, 0.01))
            self._stop.wait(wait)

    def _pass_failed(self, exc: Exception) -> None:
        if not (is_disconnect(exc) or isinstance(exc, PoolTimeout | psycopg2.OperationalError)):
            log.exception("job runner pass failed; trying again shortly")
            return
        # A database outage: one line when it starts and one a minute, not a traceback a second.
        now = time.monotonic()
        if self._outage_logged_at is None or now - self._outage_logged_at > 60:
            self._outage_logged_at = now
            log.warning("job runner waiting for the database: %s", describe(exc))

    # -- one job ---------------------------------------------------------------------------

    def run_one(self) -> Pass:
        """Take and run at most one due job, in one transaction."""
        return self.pool.run(self._run_one, attempts=3, max_seconds=10)

    def run_due(self, limit: int = 10_000) -> int:
        """Run due jobs until none is left (or `limit`); how many ran. For tests and tools."""
        ran = 0
        while ran < limit and self.run_one().outcome is not None:
            ran += 1
        return ran

    def _run_one(self, conn: psycopg2.extensions.connection) -> Pass:
        with conn.cursor() as cur:
            cur.execute(Q["jobs.take"])
            row = cur.fetchone()
            if row is None:
                cur.execute(Q["jobs.next_due"])
                return Pass(next_due=cur.fetchone()[0])
        job_id, kind, payload, key, run_at, attempts, max_attempts, every, now = row
        job = Job(job_id, kind, payload, key, run_at, attempts, max_attempts, every)
        spec = self.registry.get(kind)
        if spec is None:
            return self._unknown(conn, job)

        ctx = JobContext(conn, job=job, now=now, settings=self.settings,
                         priority=spec.priority, registry=self.registry)
        with conn.cursor() as cur:
            cur.execute("SAVEPOINT job")
        started = time.perf_counter()
        try:
            with bound(ctx):
                spec.fn(ctx, payload)
                if self.after_job is not None:
                    self.after_job(ctx)
            notices.check_delivered(ctx)
            if conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INERROR:
                raise RuntimeError("the job swallowed a database error")
        except Exception as exc:
            if conn.closed or is_disconnect(exc):
                raise  # an outage, not the job's fault: nothing was recorded, it stays due
            with conn.cursor() as cur:
                cur.execute("ROLLBACK TO SAVEPOINT job")
            return self._failed(conn, job, spec, exc)
        finally:
            if self.metrics:
                self.metrics.seconds.labels(kind).observe(time.perf_counter() - started)
        with conn.cursor() as cur:
            if every is not None:
                cur.execute(Q["jobs.repeat"], {"id": job_id, "run_at": run_at})
            else:
                cur.execute(Q["jobs.finish"], {"id": job_id, "status": "done", "run_at": run_at,
                                               "attempts": attempts + 1, "error": None})
        self._count(kind, "done")
        return Pass(outcome="done", kind=kind, queued=ctx.queued)

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1, 2, ...): doubling from retry_base."""
        return min(self.retry_max, self.retry_base * 2 ** (attempt - 1))

    def _failed(self, conn: psycopg2.extensions.connection, job: Job, spec: JobSpec,
                exc: Exception) -> Pass:
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        attempt = job.attempts + 1
        limit = job.max_attempts or spec.max_attempts
        with conn.cursor() as cur:
            if attempt < limit:
                delay = self.backoff(attempt)
                log.warning("job %s #%s failed (attempt %s of %s), retrying in %.3gs: %s",
                            job.kind, job.id, attempt, limit, delay, describe(exc))
                cur.execute(Q["jobs.postpone"], {"id": job.id, "attempts": attempt,
                                                 "error": error, "delay": delay})
                outcome = "retried"
            elif job.every_seconds is not None:
                # A sweeper is never given up: the next regular run tries again from scratch.
                log.error("recurring job %s #%s failed %s times in a row; next run in %ss",
                          job.kind, job.id, attempt, job.every_seconds, exc_info=exc)
                cur.execute(Q["jobs.postpone"], {"id": job.id, "attempts": 0, "error": error,
                                                 "delay": job.every_seconds})
                outcome = "failed"
            else:
                log.error("job %s #%s failed for good after %s attempts: %s", job.kind, job.id,
                          attempt, describe(exc), exc_info=exc)
                cur.execute(Q["jobs.finish"], {"id": job.id, "status": "failed",
                                               "run_at": job.run_at, "attempts": attempt,
                                               "error": error})
                outcome = "failed"
        self._count(job.kind, outcome)
        return Pass(outcome=outcome, kind=job.kind)

    def _unknown(self, conn: psycopg2.extensions.connection, job: Job) -> Pass:
        known = ", ".join(self.registry.kinds())
        error = (f"unknown job kind {job.kind!r}: no function is registered for it in this "
                 f"process (fitclub.runtime.jobs.register; known: {known})")
        log.error("job %s #%s marked failed: unknown job kind %r (known: %s)", job.kind, job.id,
                  job.kind, known)
        with conn.cursor() as cur:
            cur.execute(Q["jobs.finish"], {"id": job.id, "status": "failed",
                                           "run_at": job.run_at, "attempts": job.attempts + 1,
                                           "error": error[:MAX_ERROR]})
        self._count(job.kind, "failed")
        return Pass(outcome="failed", kind=job.kind)

    def _count(self, kind: str, outcome: str) -> None:
        if self.metrics:
            self.metrics.count(kind, outcome)


def overview(pool: Pool) -> tuple[int, float | None]:
    """(due pending jobs, seconds the oldest has waited) in one query, no retries."""
    def read(conn):
        with conn.cursor() as cur:
            cur.execute(Q["jobs.overview"])
            due, oldest = cur.fetchone()
            return int(due), oldest

    return pool.run(read, attempts=1)
