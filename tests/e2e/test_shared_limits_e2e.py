"""Acceptance: three bot processes on one database keep one outbound limit between them.

One instance polls (`bot.py run`), two run `--no-polling`; all three deliver the outbox. tgemu's
own limits are off: it only records when each call arrives. The limits under test are the
bot's, shared through PostgreSQL (sql/0031_shared_limits.sql).
"""

from __future__ import annotations

import itertools
import signal
from collections import Counter, defaultdict

import pytest

from fitclub.devdb import free_port
from fitclub.runtime.ratelimit import SEND_MARGIN
from tests.e2e.harness import (
    TOKEN,
    BotProcess,
    Launcher,
    Stream,
    record_calls,
    wait_until,
)
from tests.e2e.test_runtime_faults import PLUMBING, busiest_window
from tests.helpers import query

OUTBOUND_RATE = 30
PER_CHAT_RATE = 1
BURST = 3

# Test-only: every transition of an outbox row to 'sent' is written down with the process
# whose claim it closed, so a row marked by two senders (or twice by one) shows as two entries.
MARKS_LOG = """
CREATE TABLE e2e_sent_marks (
    outbox_id  bigint NOT NULL,
    claimed_by uuid,
    claim_token bigint,
    marked_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION e2e_log_sent_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO e2e_sent_marks (outbox_id, claimed_by, claim_token)
    VALUES (NEW.id, OLD.claimed_by, OLD.claim_token);
    RETURN NEW;
END $$;
CREATE TRIGGER e2e_log_sent_mark AFTER UPDATE OF status ON outbox
FOR EACH ROW WHEN (NEW.status = 'sent' AND OLD.status IS DISTINCT FROM 'sent')
EXECUTE FUNCTION e2e_log_sent_mark();
"""


def start_fleet(launcher: Launcher, db_url: str, **settings) -> list[BotProcess]:
    """`run` (polling) and two `run --no-polling` on db_url, each healthy."""
    settings = {"OUTBOUND_RATE": OUTBOUND_RATE, "PER_CHAT_RATE": PER_CHAT_RATE, **settings}
    fleet = []
    for _ in range(2):
        port = free_port()
        run = BotProcess(launcher.env(db_url, port, **settings),
                         launcher.tmp_path / f"bot-{len(launcher.runs) + 1}.log", port,
                         args=("--no-polling",))
        launcher.runs.append(run)
        fleet.append(run)
    for run in fleet:
        wait_until(lambda run=run: _healthy(run), 30, "a --no-polling instance to be healthy")
    # The poller last: updates waiting at tgemu come in at once, and every instance is
    # there to take a share of the work.
    return [launcher.start(db_url, **settings), *fleet]


def _healthy(run: BotProcess) -> bool:
    if not run.alive():
        raise AssertionError(f"bot exited with {run.proc.returncode}:\n{run.log_tail()}")
    try:
        return run.healthz()[0] == 200
    except (OSError, ValueError):
        return False


def stop_fleet(fleet: list[BotProcess]) -> None:
    """SIGTERM every instance and wait until each has exited 0. A call in flight is finished
    before an instance exits, so every call any of them made has reached tgemu by then."""
    for run in fleet:
        run.signal(signal.SIGTERM)
    for run in fleet:
        assert run.wait(30) == 0, run.log_tail()


def all_rows_sent(db_url: str) -> bool:
    return query(db_url, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == [(0,)]


def sends(stamps) -> list[tuple[float, str | None]]:
    """(arrival, chat) of every call that counts against Telegram's limits."""
    return [(t, chat) for t, method, chat in stamps if method.lower() not in PLUMBING]


def assert_chat_pacing(calls: list[tuple[float, str | None]]) -> int:
    """No chat got more calls between any two of its calls than PER_CHAT_RATE with its burst
    allows (arrivals, so SEND_MARGIN of slack); the most calls any chat got."""
    per_chat: dict[str | None, list[float]] = defaultdict(list)
    for t, chat in calls:
        per_chat[chat].append(t)
    for chat, times in per_chat.items():
        times.sort()
        for i, j in itertools.combinations(range(len(times)), 2):
            allowed = BURST + PER_CHAT_RATE * (times[j] - times[i] + SEND_MARGIN)
            assert j - i + 1 <= allowed, (
                f"chat {chat}: {j - i + 1} calls within {times[j] - times[i]:.3f}s")
    return max(len(times) for times in per_chat.values())


def sent_by_process(db_url: str) -> Counter:
    return Counter(dict(query(db_url, "SELECT claimed_by::text, count(*) FROM e2e_sent_marks"
                                      " GROUP BY claimed_by")))


@pytest.mark.xdist_group("e2e-heavy")
def test_three_instances_never_exceed_the_outbound_rate_together(emu, launcher, db_url):
    """OUTBOUND_RATE=30 on each of three instances: tgemu never sees more than 30 sends in any
    second from all of them together, no chat more than one per second beyond its burst of
    3, and the limit was pressed (the busiest second near 30, at least two instances sending
    a good share: which one claims a chat's next row is up to the claims, and the one that
    marks a row claims in the same statement). Per process, they would send up to 90 in a
    second (97 were measured at tgemu with the shared limit taken out)."""
    query(db_url, MARKS_LOG)
    stamps = record_calls(emu)
    stream = Stream(emu, 90)
    stream.send(5)  # waiting at tgemu: 450 replies, about 17 s at the shared limit
    fleet = start_fleet(launcher, db_url)

    stream.wait_processed(db_url, timeout=120)
    wait_until(lambda: all_rows_sent(db_url), 30, "every outbox row marked sent")
    stop_fleet(fleet)  # nothing more can arrive: a reply sent twice is among the stamps now

    stream.assert_effects_exactly_once(db_url)
    stream.assert_replies_exactly_once_in_order()
    calls = sends(stamps)
    times = [t for t, _ in calls]
    busiest = busiest_window(times, 1.0)
    ordered = sorted(times)
    tightest = min(b - a for a, b in zip(ordered, ordered[OUTBOUND_RATE:], strict=False))
    by_process = sent_by_process(db_url)
    print(f"{len(calls)} calls in {ordered[-1] - ordered[0]:.1f}s; busiest second {busiest} "
          f"(limit {OUTBOUND_RATE}); {OUTBOUND_RATE + 1} calls span at least {tightest:.3f}s; "
          f"sent per instance {sorted(by_process.values())}")
    assert busiest <= OUTBOUND_RATE
    assert busiest >= OUTBOUND_RATE * 0.8, "the stream never pressed against the limit"
    assert sum(1 for n in by_process.values() if n >= 20) >= 2, by_process
    assert assert_chat_pacing(calls) == 5


@pytest.mark.xdist_group("e2e-heavy")
def test_with_lost_answers_no_row_is_marked_by_two_senders(emu, launcher, db_url):
    """10% of calls reach tgemu but their answer is lost, so senders retry: every reply still
    arrives, in order (duplicates no more than the lost answers), the rate holds, and every
    outbox row went to 'sent' once, by one process's claim (a trigger writes each mark down)."""
    query(db_url, MARKS_LOG)
    emu.configure(fault_rate=0.10, fault_kinds=("lost",), seed=11)
    stamps = record_calls(emu)
    # Far more replies than one instance holds in memory (60), so several send.
    stream = Stream(emu, 120)
    stream.send(3)
    fleet = start_fleet(launcher, db_url)

    stream.wait_processed(db_url, timeout=120)
    # A row whose answer was lost is tried again until an answer comes, and marked only then.
    wait_until(lambda: all_rows_sent(db_url), 60, "every outbox row marked sent")
    stop_fleet(fleet)  # nothing more can arrive: every retry is among the stamps now

    stream.assert_effects_exactly_once(db_url)
    lost = emu.stats(TOKEN)["faults"].get("lost", 0)
    assert lost >= 10, "too few lost answers to prove anything"
    duplicates = 0
    for chat, texts in stream.replies().items():
        assert list(dict.fromkeys(texts)) == [f"ack {k}" for k in range(1, 4)], (chat, texts)
        duplicates += len(texts) - len(set(texts))
    assert duplicates <= lost

    marks = query(db_url, "SELECT outbox_id, count(*) FROM e2e_sent_marks GROUP BY outbox_id"
                          " HAVING count(*) > 1")
    assert marks == []
    sent = query(db_url, "SELECT count(*) FROM outbox WHERE status = 'sent'")[0][0]
    logged = query(db_url, "SELECT count(*), count(claimed_by) FROM e2e_sent_marks")[0]
    assert logged == (sent, sent), "every sent row has one mark, by a claim"
    assert query(db_url, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == [(0,)]
    by_process = sent_by_process(db_url)
    # A worker claims the replies it writes for its own instance's sender, so who sends
    # follows who ran the updates: several instances, not necessarily all three.
    assert len(by_process) >= 2, by_process
    busiest = busiest_window([t for t, _ in sends(stamps)], 1.0)
    print(f"{lost} lost answers, {duplicates} duplicate replies, {sent} rows sent, "
          f"per instance {sorted(by_process.values())}, busiest second {busiest}")
    assert busiest <= OUTBOUND_RATE


@pytest.mark.xdist_group("e2e-heavy")
def test_a_429_seen_by_one_instance_pauses_the_others(emu, launcher, db_url):
    """tgemu answers one chat's reply with 429 retry_after 8 (long enough to mean the whole
    bot): for those 8 s no instance sends anything, though all three hold replies to send
    while the pause lasts (as the database saw both); afterwards every reply arrives."""
    query(db_url, MARKS_LOG)
    retry_after = 8
    stamps = record_calls(emu)
    fleet = start_fleet(launcher, db_url)
    first = Stream(emu, 1, prefix="first")
    emu.configure(fault_rate=1.0, fault_kinds=("429",), fault_retry_after=retry_after,
                  fault_methods=("sendMessage",))
    first.send(1)
    wait_until(lambda: emu.stats(TOKEN)["faults"].get("429", 0) >= 1, 30, "the 429")
    emu.configure(fault_rate=0.0)
    wait_until(lambda: query(db_url, "SELECT paused_until > clock_timestamp()"
                                     " FROM outbound_limit")[0][0], 10,
               "the pause for everyone recorded")
    refused_at = next(t for t, method, _ in stamps if method == "sendMessage")
    # More replies than one instance holds in memory (60 at this rate): all three take some.
    stream = Stream(emu, 150)
    stream.send(1)
    # Within the pause every instance has rows of its own to send: seen in one statement
    # whose snapshot is taken before its clock_timestamp(), which is still before the pause's
    # end as the database recorded it.
    def holding_within_the_pause() -> bool:
        holding, paused = query(db_url, """
            SELECT (SELECT count(DISTINCT claimed_by) FROM outbox WHERE status = 'sending'),
                   clock_timestamp() < (SELECT paused_until FROM outbound_limit)""")[0]
        assert paused, f"the pause ended while {holding} instances held claimed rows"
        return holding == 3

    wait_until(holding_within_the_pause, retry_after + 5,
               "all three instances to hold claimed rows")

    stream.wait_processed(db_url, timeout=60)
    first.wait_processed(db_url, timeout=30)
    later = [t for t, method, _ in stamps if method == "sendMessage" and t > refused_at]
    gap = min(later) - refused_at
    print(f"first send after the 429 came {gap:.2f}s later (retry_after {retry_after}); "
          f"{emu.stats(TOKEN)['faults']}")
    # The pause is taken from the database's clock when the 429 is recorded, a little after
    # tgemu stamped it: never earlier.
    assert gap >= retry_after - 0.05
    assert emu.stats(TOKEN)["faults"].get("429", 0) == 1
    assert len(sent_by_process(db_url)) == 3
    assert all(run.alive() for run in fleet)
