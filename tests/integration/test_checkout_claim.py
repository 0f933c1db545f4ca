"""Two checkout lanes on one database (two instances in webhook mode): each pre-checkout query
is answered once, whichever lane is handed it and whichever sweeps; a claim left by a killed
process lapses, and a fresh query is answered by another lane then."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg2.extras import Json

from fitclub.db.pool import Pool
from fitclub.runtime.checkout import CheckoutLane
from fitclub.runtime.intake import store_updates
from tests.e2e.harness import wait_until
from tests.helpers import query as _rows


class RecordingApi:
    """The Bot API as a lane sees it: every answerPreCheckoutQuery recorded (lane name, query
    id), each taking `delay` seconds, as a slow network would."""

    def __init__(self, name: str, answers: list[tuple[str, str]], delay: float = 0.0) -> None:
        self.name = name
        self.answers = answers
        self.delay = delay
        self.lock = threading.Lock()

    def call(self, method: str, params: dict[str, Any], **kwargs: Any) -> Any:
        assert method == "answerPreCheckoutQuery", method
        with self.lock:
            self.answers.append((self.name, params["pre_checkout_query_id"]))
        time.sleep(self.delay)  # the answer in flight: the other lane's chance to answer too
        return True

    def close(self) -> None:
        pass


def _ok(conn, query: dict, now) -> None:
    return None


def _query(update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "pre_checkout_query": {
        "id": f"pcq-{update_id}", "from": {"id": 5000 + update_id, "language_code": "en"},
        "currency": "EUR", "total_amount": 3500, "invoice_payload": "x"}}


@pytest.fixture
def lanes(db_url) -> Iterator[Callable[..., CheckoutLane]]:
    made: list[tuple[CheckoutLane, Pool]] = []

    def make(api: RecordingApi, check=_ok, **kwargs: Any) -> CheckoutLane:
        pool = Pool(db_url, minconn=1, maxconn=5, timeout=2.0, statement_timeout_ms=3000)
        lane = CheckoutLane(pool=pool, api=api, check=check, **{"threads": 4, **kwargs})
        made.append((lane, pool))
        return lane

    yield make
    for lane, pool in made:
        lane.stop(5)
        pool.close()


def _settle(check, timeout: float) -> Any:
    """wait_until for what the lanes record, polled every 50 ms."""
    return wait_until(check, timeout, "the lanes to record their answers", interval=0.05)


def _all_recorded(db_url: str, ids: list[int]) -> list[tuple]:
    rows = _rows(db_url, "SELECT update_id, status, error FROM inbox WHERE update_id = ANY(%s)"
                         " AND status <> 'pending' ORDER BY update_id", (ids,))
    return rows if len(rows) == len(ids) else []


def test_two_lanes_handed_the_same_queries_answer_each_once(db_url, lanes):
    """The live path of two instances at once (a query handed to both, as a redelivery to
    another instance would): one claim wins, one answer."""
    answers: list[tuple[str, str]] = []
    a = lanes(RecordingApi("A", answers, delay=0.05))
    b = lanes(RecordingApi("B", answers, delay=0.05))
    pool = Pool(db_url, minconn=1, maxconn=2)
    updates = [_query(i) for i in range(1, 41)]
    try:
        store_updates(pool, updates)
    finally:
        pool.close()
    a.start()
    b.start()
    received = time.monotonic()
    a.submit(updates, received)
    b.submit(updates, received)
    ids = [u["update_id"] for u in updates]

    recorded = _settle(lambda: _all_recorded(db_url, ids), 20)
    assert {status for _id, status, _error in recorded} == {"done"}
    answered = sorted(query_id for _lane, query_id in answers)
    assert answered == sorted(f"pcq-{i}" for i in ids)  # each once: no query twice
    assert {lane for lane, _query_id in answers} <= {"A", "B"}


def test_a_sweeper_never_answers_a_query_another_lane_is_answering(db_url, lanes):
    """Instance A is answering (its answers take 1.5 s to reach Telegram) while instance B's
    sweeper runs every 0.1 s and finds the rows still pending: B leaves them to A."""
    answers: list[tuple[str, str]] = []
    a = lanes(RecordingApi("A", answers, delay=1.5))
    b = lanes(RecordingApi("B", answers), sweep_seconds=0.1, handover_seconds=0.2)
    b.start()
    a.start()
    pool = Pool(db_url, minconn=1, maxconn=2)
    updates = [_query(i) for i in range(1, 5)]
    try:
        store_updates(pool, updates)
    finally:
        pool.close()
    a.submit(updates, time.monotonic())
    ids = [u["update_id"] for u in updates]

    recorded = _settle(lambda: _all_recorded(db_url, ids), 20)
    assert [status for _id, status, _error in recorded] == ["done"] * 4
    assert sorted(answers) == [("A", f"pcq-{i}") for i in ids]


def _claimed_by_a_dead_lane(db_url: str, update: dict, *, age: float, lapses_in: float) -> None:
    """The row a killed instance leaves: stored `age` seconds ago, its claim running for
    `lapses_in` more seconds."""
    _rows(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, received_at,"
                  " answering_until, answering_token) VALUES (%s, %s, 'pre_checkout_query', %s,"
                  " clock_timestamp() - make_interval(secs => %s),"
                  " clock_timestamp() + make_interval(secs => %s), 42)",
          (update["update_id"], update["pre_checkout_query"]["from"]["id"], Json(update), age,
           lapses_in))


def test_a_fresh_query_claimed_by_a_killed_lane_is_answered_once_the_claim_lapses(db_url,
                                                                                  lanes):
    answers: list[tuple[str, str]] = []
    update = _query(7)
    _claimed_by_a_dead_lane(db_url, update, age=0.5, lapses_in=1.5)
    b = lanes(RecordingApi("B", answers), sweep_seconds=0.2)
    b.start()
    started = time.monotonic()

    (_id, status, error), = _settle(lambda: _all_recorded(db_url, [7]), 10)
    waited = time.monotonic() - started
    assert (status, error) == ("done", None)
    assert answers == [("B", "pcq-7")]
    # Not before the dead lane's claim lapsed, and well within Telegram's 10 s.
    assert 1.3 <= waited < 5.0, waited


def test_a_query_whose_claim_lapsed_past_10_s_is_set_aside_unanswered(db_url, lanes):
    answers: list[tuple[str, str]] = []
    update = _query(8)
    _claimed_by_a_dead_lane(db_url, update, age=12, lapses_in=-8)
    b = lanes(RecordingApi("B", answers), sweep_seconds=0.2)
    b.start()

    (_id, status, error), = _settle(lambda: _all_recorded(db_url, [8]), 10)
    assert status == "skipped" and error.startswith("not answered: stored 12 s ago"), error
    assert answers == []


def test_a_lane_whose_claim_ran_out_during_the_check_does_not_answer(db_url, lanes):
    """The check took longer than the claim: that lane stays silent (another may hold the
    query by now), and the query is answered once, by the lane that claims it next."""
    answers: list[tuple[str, str]] = []
    checks = {"n": 0}

    def slow_first(conn, query: dict, now) -> None:
        checks["n"] += 1
        if checks["n"] == 1:
            time.sleep(1.0)  # past the 0.6 s claim

    a = lanes(RecordingApi("A", answers), check=slow_first, claim_seconds=0.6,
              sweep_seconds=0.2, handover_seconds=0.2)
    a.start()
    update = _query(9)
    pool = Pool(db_url, minconn=1, maxconn=2)
    try:
        store_updates(pool, [update])
    finally:
        pool.close()
    a.submit([update], time.monotonic())

    (_id, status, _error), = _settle(lambda: _all_recorded(db_url, [9]), 10)
    assert status == "done"
    assert answers == [("A", "pcq-9")]  # once: from the second claim, after the first lapsed
    assert checks["n"] == 2


def test_a_claimed_row_is_not_swept_and_a_finished_one_drops_its_claim(db_url, lanes):
    answers: list[tuple[str, str]] = []
    update = _query(10)
    _claimed_by_a_dead_lane(db_url, update, age=2, lapses_in=30)
    lane = lanes(RecordingApi("B", answers))
    assert lane.recover() == 0  # held by another lane
    _rows(db_url, "UPDATE inbox SET answering_until = clock_timestamp() - interval '1 s'"
                  " WHERE update_id = 10")
    assert lane.recover() == 1
    lane.start()
    _settle(lambda: _all_recorded(db_url, [10]), 10)
    assert _rows(db_url, "SELECT answering_until, answering_token FROM inbox"
                         " WHERE update_id = 10") == [(None, None)]
    assert answers == [("B", "pcq-10")]


def test_the_sweeper_leaves_a_query_just_stored_to_the_lane_it_was_handed_to(db_url, lanes):
    update = _query(11)
    pool = Pool(db_url, minconn=1, maxconn=2)
    try:
        store_updates(pool, [update])
    finally:
        pool.close()
    assert lanes(RecordingApi("B", []), handover_seconds=30).recover() == 0
    assert lanes(RecordingApi("C", []), handover_seconds=0).recover() == 1


def test_a_long_burst_is_recorded_as_it_goes_not_only_at_its_end(db_url, lanes):
    """One thread, checks of 0.3 s each: the first answers are recorded (within about
    RECORD_EVERY) while the burst is still being answered, long before their claims lapse."""
    answers: list[tuple[str, str]] = []

    def slow(conn, query: dict, now) -> None:
        time.sleep(0.3)  # a slow check, so the burst lasts 2.4 s

    lane = lanes(RecordingApi("A", answers), check=slow, threads=1, sweep_seconds=30)
    updates = [_query(i) for i in range(20, 28)]
    pool = Pool(db_url, minconn=1, maxconn=2)
    try:
        store_updates(pool, updates)
    finally:
        pool.close()
    lane.start()
    lane.submit(updates, time.monotonic())

    _settle(lambda: _rows(db_url, "SELECT 1 FROM inbox WHERE update_id = 20"
                                " AND status = 'done'"), 10)
    assert len(answers) < len(updates)  # recorded while the burst goes on
    recorded = _settle(lambda: _all_recorded(db_url, [u["update_id"] for u in updates]), 15)
    assert {status for _id, status, _error in recorded} == {"done"}
