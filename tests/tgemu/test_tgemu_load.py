"""The load driver against a small echo bot."""

import pytest

from tgemu.load import run_load, summary


@pytest.fixture
def unlimited(emu):
    """Throughput runs measure the bot, not Telegram's flood limits."""
    emu.configure(global_rate=None, per_chat_rate=None)
    return emu


def echo_once(u):
    (reply,) = u.send_text(f"hi {u.index}", expect=1)
    assert reply["text"] == f"echo: hi {u.index}"


def assert_consistent(report):
    assert report["updates_sent"] == report["answered"] + report["timeouts"]
    lat = report["latency_s"]
    assert lat["count"] == report["answered"] == report["response_s"]["count"]
    assert 0 <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert report["users_still_running"] == 0


def test_two_hundred_users_closed_loop_every_update_answered(unlimited, token, echo_bot):
    report = run_load(
        unlimited,
        token,
        echo_once,
        users=200,
        mode="closed",
        duration=20,
        max_updates=600,
        answer_timeout=10,
    )
    assert report["updates_sent"] == 600
    assert (report["answered"], report["timeouts"], report["errors"]) == (600, 0, 0)
    assert report["iterations"] == 600
    assert report["http_429"] == 0
    assert_consistent(report)
    assert unlimited.unanswered(token) == []
    assert unlimited.stats(token)["calls"]["sendMessage"] == 600
    assert "600 answered" in summary(report)


def test_open_loop_keeps_the_target_rate(unlimited, token, echo_bot):
    report = run_load(
        unlimited, token, echo_once, users=40, mode="open", rate=100, duration=2.0, answer_timeout=5
    )
    assert 120 <= report["updates_sent"] <= 205
    assert report["timeouts"] == 0 and report["errors"] == 0
    assert_consistent(report)


def test_timeouts_and_errors_are_counted_not_raised(emu, token):
    # No bot is running: nothing is ever answered.
    report = run_load(emu, token, echo_once, users=3, duration=1.0, answer_timeout=0.3)
    assert report["answered"] == 0 and report["timeouts"] == report["updates_sent"] >= 3
    assert report["latency_s"]["p50"] is None


def test_refuses_anything_but_loopback():
    class Elsewhere:
        base_url = "http://10.0.0.1:8081"

    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        run_load(Elsewhere(), "t", echo_once, users=1, duration=1)
