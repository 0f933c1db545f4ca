"""Metrics rendering with live gauges, the health HTTP server, and the health rule."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fitclub.db.pool import PoolStats
from fitclub.runtime.health import HealthReport, HealthServer, evaluate
from fitclub.runtime.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, frozenset], float]:
    """Every sample of one scrape, keyed by name and labels."""
    body, _ = metrics.render()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset]:
    return name, frozenset(labels.items())


# --- metrics -------------------------------------------------------------------------------


def test_counters_and_histograms_render_with_their_labels():
    m = Metrics()
    m.updates_received.labels(type="message").inc(3)
    m.updates_processed.labels(type="message", outcome="done").inc(2)
    m.updates_processed.labels(type="callback_query", outcome="flood").inc()
    m.outbox_sent.labels(method="sendMessage").inc()
    m.outbox_failed.labels(reason="blocked").inc()
    m.telegram_429.inc()
    m.telegram_403.inc(2)
    m.telegram_errors.labels(code="timeout").inc()
    m.poll_errors.labels(reason="database").inc()
    m.handler_seconds.labels(type="message").observe(0.02)
    m.reply_latency.observe(0.3)

    got = samples(m)

    assert got[key("fitclub_updates_received_total", type="message")] == 3
    assert got[key("fitclub_updates_processed_total", type="message", outcome="done")] == 2
    assert got[key("fitclub_updates_processed_total", type="callback_query", outcome="flood")] == 1
    assert got[key("fitclub_outbox_sent_total", method="sendMessage")] == 1
    assert got[key("fitclub_outbox_failed_total", reason="blocked")] == 1
    assert got[key("fitclub_telegram_429_total")] == 1
    assert got[key("fitclub_telegram_403_total")] == 2
    assert got[key("fitclub_telegram_errors_total", code="timeout")] == 1
    assert got[key("fitclub_poll_errors_total", reason="database")] == 1
    assert got[key("fitclub_handler_seconds_bucket", type="message", le="0.025")] == 1
    assert got[key("fitclub_handler_seconds_bucket", type="message", le="0.01")] == 0
    assert got[key("fitclub_reply_latency_seconds_count")] == 1


def test_outbox_failure_reasons_exist_before_the_first_failure():
    got = samples(Metrics())
    for reason in ("bad_request", "blocked", "retries_exhausted", "other"):
        assert got[key("fitclub_outbox_failed_total", reason=reason)] == 0


def test_render_returns_the_prometheus_text_content_type():
    body, content_type = Metrics().render()
    assert content_type.startswith("text/plain")
    assert b"fitclub_telegram_429_total" in body


def test_gauges_read_the_callbacks_at_every_scrape():
    pool = {"stats": PoolStats(in_use=7, idle=3, waiting=2, max=50, discarded=1)}
    backlog = {"inbox": 3, "outbox": 0}
    age = [1.5]
    m = Metrics(
        pool_stats=lambda: pool["stats"],
        backlogs=lambda: dict(backlog),
        last_poll_age=lambda: age[0],
    )

    got = samples(m)
    assert got[key("fitclub_db_pool_connections", state="in_use")] == 7
    assert got[key("fitclub_db_pool_connections", state="idle")] == 3
    assert got[key("fitclub_db_pool_waiting")] == 2
    assert got[key("fitclub_db_pool_max")] == 50
    assert got[key("fitclub_db_pool_discarded_total")] == 1
    assert got[key("fitclub_backlog", queue="inbox")] == 3
    assert got[key("fitclub_backlog", queue="outbox")] == 0
    assert got[key("fitclub_last_poll_age_seconds")] == 1.5

    pool["stats"] = PoolStats(in_use=50, idle=0, waiting=9, max=50, discarded=1)
    backlog["outbox"] = 120
    age[0] = 42.0
    got = samples(m)
    assert got[key("fitclub_db_pool_connections", state="in_use")] == 50
    assert got[key("fitclub_db_pool_waiting")] == 9
    assert got[key("fitclub_backlog", queue="outbox")] == 120
    assert got[key("fitclub_last_poll_age_seconds")] == 42.0


def test_poll_age_is_absent_while_unknown():
    got = samples(Metrics(last_poll_age=lambda: None))
    assert not any(name == "fitclub_last_poll_age_seconds" for name, _ in got)


def test_a_raising_callback_skips_only_its_own_series(caplog):
    def broken() -> PoolStats:
        raise ConnectionError("database is down")

    m = Metrics(pool_stats=broken, backlogs=lambda: {"inbox": 4, "outbox": 1})
    m.updates_received.labels(type="message").inc()

    with caplog.at_level(logging.DEBUG, logger="fitclub.runtime.metrics"):
        got = samples(m)

    names = {name for name, _ in got}
    assert not any(name.startswith("fitclub_db_pool") for name in names)
    assert got[key("fitclub_backlog", queue="inbox")] == 4
    assert got[key("fitclub_updates_received_total", type="message")] == 1
    assert any("pool_stats" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_two_instances_share_nothing():
    a = Metrics(backlogs=lambda: {"inbox": 1, "outbox": 0})
    b = Metrics(backlogs=lambda: {"inbox": 99, "outbox": 0})
    a.updates_received.labels(type="message").inc(5)

    got_a, got_b = samples(a), samples(b)

    assert got_a[key("fitclub_updates_received_total", type="message")] == 5
    assert key("fitclub_updates_received_total", type="message") not in got_b
    assert got_a[key("fitclub_backlog", queue="inbox")] == 1
    assert got_b[key("fitclub_backlog", queue="inbox")] == 99


# --- the health server ---------------------------------------------------------------------


class FakeCheck:
    """A check whose answer the test sets; raises when given an exception."""

    def __init__(self) -> None:
        self.report: HealthReport | Exception = HealthReport(ok=True, details={"database": True})

    def __call__(self) -> HealthReport:
        if isinstance(self.report, Exception):
            raise self.report
        return self.report


@pytest.fixture
def check() -> FakeCheck:
    return FakeCheck()


@pytest.fixture
def server(check: FakeCheck) -> Iterator[HealthServer]:
    metrics = Metrics(backlogs=lambda: {"inbox": 0, "outbox": 0})
    metrics.updates_received.labels(type="message").inc()
    srv = HealthServer(("127.0.0.1", 0), metrics, check)
    srv.start()
    yield srv
    srv.stop()


def fetch(port: int, path: str, method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def test_healthz_answers_200_with_json_when_healthy(server, check):
    check.report = HealthReport(ok=True, details={"database": True, "inbox_backlog": 3})
    status, headers, body = fetch(server.port, "/healthz")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok", "database": True, "inbox_backlog": 3}


def test_healthz_answers_503_when_the_check_turns_unhealthy(server, check):
    assert fetch(server.port, "/healthz")[0] == 200
    check.report = HealthReport(ok=False, details={"database": False})
    status, _, body = fetch(server.port, "/healthz")
    assert status == 503
    assert json.loads(body) == {"status": "unhealthy", "database": False}


def test_healthz_answers_503_with_one_line_when_the_check_raises(server, check):
    check.report = RuntimeError("pool closed\nwhile shutting down")
    status, _, body = fetch(server.port, "/healthz")
    assert status == 503
    assert json.loads(body) == {
        "status": "unhealthy",
        "error": "RuntimeError: pool closed while shutting down",
    }


def test_healthz_head_has_the_status_and_length_but_no_body(server, check):
    check.report = HealthReport(ok=False, details={"database": False})
    # HEAD then GET on one connection: body bytes after the HEAD would garble the GET's answer.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("HEAD", "/healthz")
        head = conn.getresponse()
        head.read()
        conn.request("GET", "/healthz")
        get = conn.getresponse()
        get_body = get.read()
    finally:
        conn.close()
    assert head.status == get.status == 503
    assert int(head.headers["Content-Length"]) == len(get_body)
    assert json.loads(get_body)["status"] == "unhealthy"


def test_metrics_endpoint_serves_the_exposition_text(server):
    status, headers, body = fetch(server.port, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert 'fitclub_updates_received_total{type="message"} 1.0' in body.decode()


@pytest.mark.parametrize("path", ["/", "/health", "/metrics/extra", "/healthz/"])
def test_unknown_paths_are_404(server, path):
    assert fetch(server.port, path)[0] == 404


def test_one_connection_serves_several_requests(server):
    # HTTP/1.1 keep-alive only works when every answer carries a correct Content-Length.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for path, expected in [("/healthz", 200), ("/nope", 404), ("/metrics", 200)]:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == expected
            assert resp.version == 11
    finally:
        conn.close()


def test_access_log_goes_to_the_module_logger_not_stderr(server, caplog, capfd):
    with caplog.at_level(logging.DEBUG, logger="fitclub.runtime.health"):
        fetch(server.port, "/healthz?probe=1")
    assert capfd.readouterr().err == ""
    access = [r for r in caplog.records if "GET /healthz?probe=1" in r.getMessage()]
    assert access
    assert access[0].levelno == logging.DEBUG


def test_stop_closes_the_port(check):
    srv = HealthServer(("127.0.0.1", 0), Metrics(), check)
    srv.start()
    port = srv.port
    assert fetch(port, "/healthz")[0] == 200
    srv.stop()
    srv.stop()  # a second stop is harmless
    with pytest.raises(ConnectionRefusedError):
        fetch(port, "/healthz")


# --- the health rule -----------------------------------------------------------------------

HEALTHY = {
    "database_ok": True,
    "seconds_since_poll": 1.0,
    "poll_stale_after": 90.0,
    "inbox_backlog": 3,
    "outbox_backlog": 0,
    "oldest_reply_age": 0.5,
    "reply_max_age": 60.0,
    "recording_failed": False,
}


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        pytest.param({}, True, id="all-well"),
        pytest.param({"database_ok": False}, False, id="database-down"),
        pytest.param({"seconds_since_poll": 90.0}, True, id="poll-at-the-limit"),
        pytest.param({"seconds_since_poll": 90.5}, False, id="poll-stale"),
        pytest.param({"seconds_since_poll": None}, True, id="no-polling"),
        pytest.param({"inbox_backlog": 100_000}, True, id="a-long-inbox-is-not-a-fault"),
        pytest.param({"outbox_backlog": 50_000}, True, id="a-big-announcement-is-not-a-fault"),
        pytest.param({"oldest_reply_age": None}, True, id="no-reply-waiting"),
        pytest.param({"oldest_reply_age": 60.0}, True, id="reply-at-the-limit"),
        pytest.param({"oldest_reply_age": 60.5}, False, id="reply-too-old"),
        pytest.param({"recording_failed": True}, False, id="deliveries-unrecorded"),
    ],
)
def test_evaluate_decides_health(change, ok):
    assert evaluate(**{**HEALTHY, **change}).ok is ok


def test_evaluate_reports_the_facts():
    report = evaluate(**{**HEALTHY, "outbox_backlog": 2000, "seconds_since_poll": 1.23456,
                         "oldest_reply_age": 61.0})
    assert report.details == {
        "database": True,
        "seconds_since_poll": 1.235,
        "poll_stale": False,
        "inbox_backlog": 3,
        "outbox_backlog": 2000,
        "oldest_reply_seconds": 61.0,
        "reply_too_old": True,
        "deliveries_unrecorded": False,
    }


def test_evaluate_shows_extra_details_without_letting_them_decide():
    report = evaluate(
        **{**HEALTHY, "database_ok": False}, extra={"pool_waiting": 4, "database": True}
    )
    assert report.ok is False
    assert report.details["pool_waiting"] == 4
    assert report.details["database"] is False
