"""Prometheus metrics for one bot instance: event counters, latency histograms, live gauges."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from fitclub.db.pool import PoolStats

log = logging.getLogger(__name__)
T = TypeVar("T")

# From a 5 ms database round trip up to a 30 s long-poll timeout or a slow Bot API call.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

OUTBOX_FAILURE_REASONS = ("bad_request", "blocked", "not_started", "retries_exhausted", "other")
CHECKOUT_OUTCOMES = ("ok", "refused", "error", "failed", "late")


class _LiveGauges:
    """Reads pool, backlog and poll-age values through callbacks at scrape time."""

    def __init__(
        self,
        pool_stats: Callable[[], PoolStats] | None,
        backlogs: Callable[[], dict[str, int]] | None,
        last_poll_age: Callable[[], float | None] | None,
        database_up: Callable[[], bool] | None = None,
    ) -> None:
        self.pool_stats = pool_stats
        self.backlogs = backlogs
        self.last_poll_age = last_poll_age
        self.database_up = database_up

    def describe(self) -> Iterator[Metric]:
        # Names only, so the registry can refuse clashes without calling the callbacks early.
        if self.pool_stats is not None:
            yield from self._pool_families()
        if self.backlogs is not None:
            yield self._backlog_family()
        if self.last_poll_age is not None:
            yield self._poll_age_family()
        if self.database_up is not None:
            yield self._database_up_family()

    def collect(self) -> Iterator[Metric]:
        # Each callback on its own: a pool that cannot report must not hide the backlog.
        if self.pool_stats is not None:
            stats = self._call(self.pool_stats, "pool_stats")
            if stats is not None:
                connections, waiting, maximum, discarded = self._pool_families()
                connections.add_metric(["in_use"], stats.in_use)
                connections.add_metric(["idle"], stats.idle)
                waiting.add_metric([], stats.waiting)
                maximum.add_metric([], stats.max)
                discarded.add_metric([], stats.discarded)
                yield from (connections, waiting, maximum, discarded)
        if self.backlogs is not None:
            sizes = self._call(self.backlogs, "backlogs")
            if sizes is not None:
                family = self._backlog_family()
                for queue, size in sorted(sizes.items()):
                    family.add_metric([queue], size)
                yield family
        if self.last_poll_age is not None:
            age = self._call(self.last_poll_age, "last_poll_age")
            # None means nothing polls (--no-polling) or no poll has finished yet; an absent
            # series says that more honestly than a made-up number.
            if age is not None:
                family = self._poll_age_family()
                family.add_metric([], age)
                yield family
        if self.database_up is not None:
            # Checked at scrape time: a stopped database must show in /metrics, not only in
            # /healthz (the pool gauges alone look the same whether it is up or down).
            up = self._call(self.database_up, "database_up")
            family = self._database_up_family()
            family.add_metric([], 1.0 if up else 0.0)
            yield family

    @staticmethod
    def _call(callback: Callable[[], T], name: str) -> T | None:
        try:
            return callback()
        except Exception:
            # A scrape happens every few seconds; a failing source (say, the database is down)
            # shows up in /healthz and in the missing series, not as a log line per scrape.
            log.debug("metrics callback %s failed; its series are skipped", name, exc_info=True)
            return None

    @staticmethod
    def _pool_families() -> tuple[
        GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily
    ]:
        return (
            GaugeMetricFamily(
                "fitclub_db_pool_connections",
                "Pooled database connections by state.",
                labels=["state"],
            ),
            GaugeMetricFamily(
                "fitclub_db_pool_waiting", "Threads waiting to borrow a database connection."
            ),
            GaugeMetricFamily("fitclub_db_pool_max", "Most connections the pool may open."),
            CounterMetricFamily(
                "fitclub_db_pool_discarded",
                "Broken database connections thrown away and replaced.",
            ),
        )

    @staticmethod
    def _backlog_family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "fitclub_backlog", "Rows waiting to be handled, by queue.", labels=["queue"]
        )

    @staticmethod
    def _database_up_family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "fitclub_database_up", "1 when the database answered a query at scrape time, else 0."
        )

    @staticmethod
    def _poll_age_family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "fitclub_last_poll_age_seconds", "Seconds since the last successful getUpdates."
        )


class Metrics:
    """Every metric of one bot instance, in a registry of its own.

    A private registry rather than prometheus_client's global one, so several apps built in one
    process (the tests do that) never share or clash over counters.
    """

    def __init__(
        self,
        pool_stats: Callable[[], PoolStats] | None = None,
        backlogs: Callable[[], dict[str, int]] | None = None,
        last_poll_age: Callable[[], float | None] | None = None,
        database_up: Callable[[], bool] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates_received = Counter(
            "fitclub_updates_received",
            "Updates stored in the inbox, by type.",
            ["type"],
            registry=r,
        )
        self.updates_processed = Counter(
            "fitclub_updates_processed",
            "Updates finished by a worker, by type and outcome "
            "(done, failed, skipped, flood).",
            ["type", "outcome"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "fitclub_handler_seconds",
            "Time spent handling one update, by type.",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reply_latency = Histogram(
            "fitclub_reply_latency_seconds",
            "Time from an update's receipt to the delivery of each reply to it.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_sent = Counter(
            "fitclub_outbox_sent",
            "Outbox rows delivered, by Bot API method.",
            ["method"],
            registry=r,
        )
        self.outbox_failed = Counter(
            "fitclub_outbox_failed",
            "Outbox rows given up on, by reason (bad_request, blocked, not_started,"
            " retries_exhausted, other).",
            ["reason"],
            registry=r,
        )
        self.telegram_429 = Counter(
            "fitclub_telegram_429", "Bot API answers 429 Too Many Requests.", registry=r
        )
        self.telegram_403 = Counter(
            "fitclub_telegram_403", "Bot API answers 403 Forbidden (bot blocked).", registry=r
        )
        self.telegram_errors = Counter(
            "fitclub_telegram_errors",
            "Bot API calls failed other than with 429 or 403, by HTTP code (network: no answer).",
            ["code"],
            registry=r,
        )
        self.checkout_seconds = Histogram(
            "fitclub_checkout_answer_seconds",
            "Time from a pre_checkout_query's receipt (getUpdates) to its answer's return "
            "(Telegram allows 10 s).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.checkout_answers = Counter(
            "fitclub_checkout_answers",
            "Pre-checkout queries by outcome: ok, refused (the club's rule), error (not checked:"
            " refused with the generic line), failed (the answer did not get through), late (older"
            " than 10 s after a restart: not answered).",
            ["outcome"],
            registry=r,
        )
        self.poll_errors = Counter(
            "fitclub_poll_errors",
            "getUpdates rounds that failed, by reason.",
            ["reason"],
            registry=r,
        )
        self.replica_reads = Counter(
            "fitclub_replica_reads",
            "Reports, exports and audit log pages read, by source: replica, or primary (no "
            "replica configured, or it was down, behind or failed).",
            ["source"],
            registry=r,
        )
        for source in ("replica", "primary"):
            self.replica_reads.labels(source=source)
        # Known label values start at zero, so rate() and alerts see the series before the
        # first failure rather than only after it.
        for reason in OUTBOX_FAILURE_REASONS:
            self.outbox_failed.labels(reason=reason)
        for outcome in CHECKOUT_OUTCOMES:
            self.checkout_answers.labels(outcome=outcome)
        r.register(_LiveGauges(pool_stats, backlogs, last_poll_age, database_up))

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for a /metrics answer."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
