"""How jobs reach the rest of the bot: settings and pool math, health, the --no-polling switch."""

from __future__ import annotations

import pytest

from fitclub.cli import _parser
from fitclub.config import ConfigError, Settings
from fitclub.runtime.health import evaluate

BASE = {"TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35, "DATABASE_URL": "postgresql://x@y/z"}
HEALTHY = {"database_ok": True, "seconds_since_poll": 1.0, "poll_stale_after": 60.0}


def test_job_settings_have_their_defaults():
    s = Settings.from_env(BASE)
    assert (s.job_threads, s.job_poll_seconds, s.job_retry_seconds, s.jobs_overdue_limit) == \
        (2, 1.0, 10.0, 300.0)


def test_job_threads_count_in_the_pool_math():
    Settings.from_env({**BASE, "WORKER_THREADS": "16", "SENDER_THREADS": "4",
                       "JOB_THREADS": "25", "DB_POOL_MAX": "50"})
    with pytest.raises(ConfigError, match=r"JOB_THREADS \+ 5 reserved = 51 exceeds DB_POOL_MAX"):
        Settings.from_env({**BASE, "WORKER_THREADS": "16", "SENDER_THREADS": "4",
                           "JOB_THREADS": "26", "DB_POOL_MAX": "50"})


@pytest.mark.parametrize(("oldest", "ok"), [(None, True), (300.0, True), (300.5, False)])
def test_a_job_overdue_past_the_limit_makes_the_instance_unhealthy(oldest, ok):
    report = evaluate(**HEALTHY, oldest_overdue_job=oldest, jobs_overdue_limit=300.0)
    assert report.ok is ok
    assert report.details["jobs_overdue"] is not ok
    assert report.details["oldest_overdue_job_seconds"] == oldest


def test_run_has_a_no_polling_switch():
    assert _parser().parse_args(["run"]).no_polling is False
    assert _parser().parse_args(["run", "--no-polling"]).no_polling is True
