"""Acceptance: the bot rides out a PostgreSQL restart, and /healthz and /metrics show it."""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import TOKEN, Stream, inbox_status, wait_done_at_least, wait_until


@pytest.mark.xdist_group("e2e-heavy")
def test_postgres_restart_mid_stream_bot_keeps_running_and_catches_up(emu, launcher,
                                                                      private_db):
    """PostgreSQL goes down for 3 s while 1000 updates are being processed: the same bot
    process carries on by itself once it is back, every update has exactly one effect and
    every chat gets each `ack k` exactly once, in order."""
    dev, db_url = private_db
    bot = launcher.start(db_url)
    stream = Stream(emu, 100)
    stream.send(10)
    wait_done_at_least(db_url, 200, timeout=30)

    dev.stop()
    time.sleep(3)
    assert bot.alive(), bot.log_tail()
    dev.start()
    print(f"database back with inbox {dict(inbox_status(db_url))}")
    assert inbox_status(db_url).get("done", 0) < stream.total, \
        "the stream was finished before the restart; it proves nothing"

    stream.wait_processed(db_url, timeout=60)
    assert bot.alive(), "the bot process exited"
    assert bot.proc.pid == bot.pid
    stream.assert_effects_exactly_once(db_url)
    stream.assert_replies_exactly_once_in_order()
    # It healed itself: the connections the restart broke were thrown away and replaced.
    assert bot.metric("fitclub_db_pool_discarded_total") > 0


def test_healthz_and_metrics_show_a_stopped_database(emu, launcher, private_db):
    """/healthz answers 503 with database false while PostgreSQL is down and 200 again after it
    returns; /metrics says the same through fitclub_database_up."""
    dev, db_url = private_db
    bot = launcher.start(db_url)
    status, body = bot.healthz()
    assert (status, body["database"]) == (200, True)
    assert bot.metric("fitclub_database_up") == 1

    dev.stop()
    status, body = wait_until(lambda: (s := bot.healthz())[0] == 503 and s, 15,
                              "/healthz to turn 503")
    assert body["database"] is False
    assert body["status"] == "unhealthy"
    assert bot.metric("fitclub_database_up") == 0

    dev.start()
    status, body = wait_until(lambda: (s := bot.healthz())[0] == 200 and s, 20,
                              "/healthz to turn 200 again")
    assert body["database"] is True
    assert bot.metric("fitclub_database_up") == 1
    assert bot.alive()


def test_healthz_and_metrics_show_a_growing_backlog(emu, launcher, db_url):
    """40 updates of one chat, each taking 0.25 s, queue behind each other: the inbox backlog in
    /healthz and fitclub_backlog{queue="inbox"} rise above 20, then fall back to 0."""
    bot = launcher.start(db_url)
    assert bot.healthz()[1]["inbox_backlog"] == 0
    assert bot.metric("fitclub_backlog", 'queue="inbox"') == 0

    user = emu.create_user("patient")
    for _ in range(40):
        user.send_text(TOKEN, "slow 0.25")
    seen = wait_until(lambda: (b := bot.healthz()[1]["inbox_backlog"]) > 20 and b, 10,
                      "the inbox backlog in /healthz to exceed 20")
    gauge = bot.metric("fitclub_backlog", 'queue="inbox"')
    print(f"backlog: /healthz {seen}, /metrics {gauge}")
    assert gauge is not None and gauge > 15

    wait_until(lambda: bot.healthz()[1]["inbox_backlog"] == 0, 30, "the backlog to drain")
    assert bot.metric("fitclub_backlog", 'queue="inbox"') == 0
    assert inbox_status(db_url) == {"done": 40}
