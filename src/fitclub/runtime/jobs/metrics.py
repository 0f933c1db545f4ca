"""Job metrics, added to an instance's registry: runs by kind and outcome, and the due queue."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from fitclub.runtime.metrics import LATENCY_BUCKETS

log = logging.getLogger(__name__)

# done: committed; retried: failed, due again after a backoff; failed: given up (last attempt,
# or a kind no function is registered for).
JOB_OUTCOMES = ("done", "retried", "failed")

# (due pending jobs, seconds the oldest of them is overdue or None) from the database.
Overview = Callable[[], tuple[int, float | None]]


class _DueGauges:
    """Reads the due queue from the database at scrape time."""

    def __init__(self, overview: Overview) -> None:
        self.overview = overview

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        try:
            due, oldest = self.overview()
        except Exception:
            # The database is away: /healthz and fitclub_database_up say so; skip the series.
            log.debug("jobs overview failed; its series are skipped", exc_info=True)
            return
        due_family, oldest_family = self._families()
        due_family.add_metric([], due)
        oldest_family.add_metric([], oldest or 0.0)
        yield due_family
        yield oldest_family

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("fitclub_jobs_due", "Pending jobs whose run time has come."),
            GaugeMetricFamily("fitclub_jobs_oldest_overdue_seconds",
                              "Seconds the oldest due pending job has waited (0 when none)."),
        )


class JobMetrics:
    """Counters the runner updates, plus the due-queue gauges, in the instance's registry."""

    def __init__(self, registry: CollectorRegistry | None = None,
                 overview: Overview | None = None) -> None:
        r = registry or CollectorRegistry()
        self.run = Counter("fitclub_jobs_run", "Job runs by kind and outcome "
                           "(done, retried, failed).", ["kind", "outcome"], registry=r)
        self.failed = Counter("fitclub_jobs_failed", "Jobs given up for good, by kind.",
                              ["kind"], registry=r)
        self.seconds = Histogram("fitclub_job_seconds", "Time one job's function took, by kind.",
                                 ["kind"], buckets=LATENCY_BUCKETS, registry=r)
        if overview is not None:
            r.register(_DueGauges(overview))

    def count(self, kind: str, outcome: str) -> None:
        """One run of `kind` ended with `outcome`."""
        self.run.labels(kind, outcome).inc()
        if outcome == "failed":
            self.failed.labels(kind).inc()
