"""The checkout lane against tgemu and PostgreSQL: pre_checkout_query answered at once, beside
the chat queue; refusals in the member's language; errors refused in time; what a restart
finds; payments never flood-controlled away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from psycopg2.extras import Json

from fitclub.db.pool import Pool
from fitclub.db.queries import Q
from fitclub.locales import t
from fitclub.runtime import intake as intake_module
from fitclub.runtime import poller as poller_module
from fitclub.runtime.chat_queue import ChatQueue
from fitclub.runtime.checkout import GENERIC_REASON, CheckoutLane, reason_line
from fitclub.runtime.dispatcher import Workers
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.poller import Poller, store_updates
from fitclub.runtime.telegram import BotApi, TelegramError
from tests import factories
from tests.helpers import query as _rows
from tgemu import Emulator

TOKEN = "626262:" + "C" * 35
PROVIDER = "284685063:TEST:fitclub"


class Checks:
    """The check handed to the lane (the app hands payments.check_checkout): records what it
    was asked and answers `answer` (None = ok, a catalog key, or an exception to raise)."""

    def __init__(self, answer: Any = None) -> None:
        self.answer = answer
        self.asked: list[dict] = []

    def __call__(self, conn, query: dict, now) -> str | None:
        self.asked.append(query)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


class Rig:
    """tgemu, a poller and a checkout lane (no workers: the lane needs none)."""

    def __init__(self, db_url: str, emu: Emulator, check: Checks) -> None:
        self.db_url = db_url
        self.emu = emu
        self.check = check
        self.pool = Pool(db_url, minconn=1, maxconn=4)
        self.lane_pool = Pool(db_url, minconn=1, maxconn=5, timeout=2.0)
        self.api = BotApi(emu.base_url, TOKEN)
        self.metrics = Metrics()
        self.lane = CheckoutLane(pool=self.lane_pool, api=BotApi(emu.base_url, TOKEN),
                                 check=check, metrics=self.metrics, sweep_seconds=0.5)
        self.announced: list[tuple[int, int]] = []
        self.poller = Poller(pool=self.pool, api=self.api, on_stored=self.announced.extend,
                             backlog=lambda: 0, backlog_limit=10, timeout=1,
                             checkout=self.lane)
        # Every answerPreCheckoutQuery tgemu is sent: the query's id.
        self.answers: list[str] = []
        dispatch = emu.call

        def recording(token, method, params):
            if method == "answerPreCheckoutQuery":
                self.answers.append(params.get("pre_checkout_query_id"))
            return dispatch(token, method, params)

        emu.call = recording

    def start(self) -> None:
        self.lane.start()
        self.poller.start()

    def invoice(self, user) -> int:
        """The bot's invoice in the user's chat (the chat opened first); its message id."""
        self.emu.open_chats(TOKEN, [user])
        msg = self.api.call("sendInvoice", {
            "chat_id": user.id, "title": "Ten visits", "description": "10 visits in 30 days",
            "payload": f"o{user.id}.n.sig", "provider_token": PROVIDER, "currency": "EUR",
            "prices": [{"label": "Ten", "amount": 3500}]})
        return msg["message_id"]

    def pay(self, user) -> dict:
        return self.emu.pay(TOKEN, user.id, self.invoice(user))

    def close(self) -> None:
        self.poller.stop()
        self.lane.stop(5)
        self.api.close()
        self.pool.close()
        self.lane_pool.close()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(global_rate=None, per_chat_rate=None) as emulator:
        yield emulator


@pytest.fixture
def rig(db_url, emu) -> Iterator[Any]:
    made: list[Rig] = []

    def make(check: Checks) -> Rig:
        made.append(Rig(db_url, emu, check))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _settled(db_url: str, update_id: int, timeout: float = 20) -> tuple:
    """(status, error) of the row once recorded (the record follows the answer, and the row
    itself may not be stored yet: a batch slow to store is answered before it is in)."""
    seen: list = []

    def recorded():
        seen[:] = _rows(db_url, "SELECT status, error FROM inbox WHERE update_id = %s",
                        (update_id,))
        return bool(seen) and seen[0][0] != "pending" and seen[0]

    try:
        return _wait(recorded, timeout)
    except AssertionError:
        state = seen[0] if seen else "no row stored"
        raise AssertionError(f"update {update_id} not recorded within {timeout} s: "
                             f"{state}") from None


def _histogram_count(metrics: Metrics) -> float:
    return metrics.registry.get_sample_value("fitclub_checkout_answer_seconds_count") or 0.0


def test_a_pre_checkout_query_is_answered_by_the_lane_at_once(db_url, emu, rig):
    check = Checks(None)
    r = rig(check)
    r.start()
    user = emu.create_user("Payer")
    paid = r.pay(user)

    assert (paid["status"], paid["ok"]) == ("paid", True)
    assert paid["answer_seconds"] < 1.0, paid
    query, = check.asked
    assert (query["from"]["id"], query["total_amount"], query["currency"],
            query["invoice_payload"]) == (user.id, 3500, "EUR", f"o{user.id}.n.sig")
    update_id = paid["pre_checkout_update_id"]
    assert _settled(db_url, update_id) == ("done", None)
    # The workers never hear of it; the successful_payment message is theirs.
    time.sleep(1.5)
    assert update_id not in {u for u, _ in r.announced}
    assert paid["successful_payment_update_id"] in {u for u, _ in r.announced}
    assert _histogram_count(r.metrics) == 1
    assert r.metrics.registry.get_sample_value("fitclub_checkout_answers_total",
                                               {"outcome": "ok"}) == 1


@pytest.mark.parametrize(("member_language", "language_code", "shown"), [
    ("ru", "en", "ru"),      # the member's choice wins over Telegram's language
    ("en", "ru", "en"),
    (None, "ru", "ru"),      # not a member: Telegram's language
    (None, "de", "en"),      # a language the club has no catalog for: English
])
def test_a_refusal_is_one_line_in_the_members_language(db_url, emu, rig, member_language,
                                                       language_code, shown):
    r = rig(Checks("pay_err_price_changed"))
    r.start()
    user = emu.create_user("Payer", language_code=language_code)
    if member_language:
        factories.member(db_url, user.id, "Payer", language=member_language)
    paid = r.pay(user)

    assert (paid["status"], paid["ok"]) == ("refused", False)
    assert paid["error_message"] == reason_line(shown, "pay_err_price_changed")
    assert "\n" not in paid["error_message"] and "<" not in paid["error_message"]
    assert paid["error_message"].split(":")[0] in t(shown, "pay_err_price_changed")
    assert _settled(db_url, paid["pre_checkout_update_id"]) == (
        "done", "refused: pay_err_price_changed")


@pytest.mark.parametrize("failure", [
    RuntimeError("a bug in the check"),
    psycopg2.OperationalError("server closed the connection unexpectedly"),  # database away
], ids=["check raises", "database away"])
def test_a_query_that_cannot_be_checked_is_refused_with_the_generic_line_in_time(
        db_url, emu, rig, failure):
    r = rig(Checks(failure))
    r.start()
    user = emu.create_user("Payer", language_code="ru")
    paid = r.pay(user)

    assert (paid["status"], paid["ok"]) == ("refused", False)
    assert paid["error_message"] == reason_line("ru", GENERIC_REASON)
    assert paid["answer_seconds"] < 5.0, paid
    status, error = _settled(db_url, paid["pre_checkout_update_id"])
    assert status == "done" and error.startswith("refused:"), error
    assert r.metrics.registry.get_sample_value("fitclub_checkout_answers_total",
                                               {"outcome": "error"}) == 1


def test_a_batch_the_database_will_not_store_is_refused_at_once_and_recorded_later(
        db_url, emu, rig, monkeypatch):
    stored = intake_module.store_updates
    refusals = {"left": 12}  # about 6 s of the poller's backoff

    def failing(pool, updates, **kwargs):
        if any("pre_checkout_query" in u for u in updates) and refusals["left"] > 0:
            refusals["left"] -= 1
            raise psycopg2.OperationalError("the database is away")
        return stored(pool, updates, **kwargs)

    monkeypatch.setattr(intake_module, "store_updates", failing)
    monkeypatch.setattr(Poller, "_retrying", _fast_retrying(Poller._retrying))
    check = Checks(None)
    r = rig(check)
    r.start()
    user = emu.create_user("Payer")
    paid = r.pay(user)

    assert (paid["status"], paid["ok"]) == ("refused", False)
    assert paid["error_message"] == reason_line("en", GENERIC_REASON)
    assert paid["answer_seconds"] < 2.0, paid
    update_id = paid["pre_checkout_update_id"]

    def recorded():
        rows = _rows(db_url, "SELECT status, error FROM inbox WHERE update_id = %s",
                     (update_id,))
        return rows and rows[0][0] != "pending" and rows[0]

    assert _wait(recorded, 20) == ("done", "refused: the database did not store it in time")
    assert check.asked == []  # answered once, never checked after the fact
    assert r.answers == [paid["pre_checkout_query_id"]]


def test_a_batch_slow_to_store_is_refused_by_the_deadline_and_recorded_once_stored(
        db_url, emu, rig):
    """The database takes the batch, but slowly (a lock held 6 s): the pre-checkout is not
    kept waiting past Telegram's 10 s; it is refused at the store deadline, answered once, and
    recorded when the batch is in."""
    check = Checks(None)
    r = rig(check)
    r.start()
    user = emu.create_user("Payer")
    invoice = r.invoice(user)
    locker = psycopg2.connect(db_url)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE inbox IN SHARE MODE")  # inserts wait for it
        release = threading.Timer(6.0, locker.commit)
        release.start()
        paid = emu.pay(TOKEN, user.id, invoice)
    finally:
        release.join()
        locker.close()

    assert (paid["status"], paid["ok"]) == ("refused", False), paid
    assert paid["error_message"] == reason_line("en", GENERIC_REASON)
    assert poller_module.STORE_DEADLINE <= paid["answer_seconds"] < 5.0, paid
    assert _settled(db_url, paid["pre_checkout_update_id"]) == (
        "done", "refused: the database did not store it in time")
    assert check.asked == []
    assert r.answers == [paid["pre_checkout_query_id"]]


def _fast_retrying(original):
    def retrying(self):
        r = original(self)
        r.wait = lambda retry_state: 0.5
        return r

    return retrying


def _wait(check, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_after_a_restart_a_fresh_query_is_answered_and_an_old_one_skipped(db_url, emu, rig):
    check = Checks(None)
    r = rig(check)
    user = emu.create_user("Payer")
    result: dict = {}
    payer = threading.Thread(target=lambda: result.update(r.pay(user)))
    payer.start()
    # Stored, then the process died before the lane answered it.
    updates = _wait(lambda: r.api.call("getUpdates", {"timeout": 0}), 5)
    assert store_updates(r.pool, updates)
    _rows(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, received_at)"
                  " VALUES (1000, %s, 'pre_checkout_query', %s, now() - interval '30 s')",
          (user.id, '{"update_id": 1000, "pre_checkout_query": {"id": "old-query",'
                    ' "from": {"id": 1, "first_name": "X"}, "currency": "EUR",'
                    ' "total_amount": 3500, "invoice_payload": "x"}}'))
    r.lane.start()  # what a new process does first
    payer.join(12)

    assert (result["status"], result["ok"]) == ("paid", True)
    assert r.answers == [result["pre_checkout_query_id"]]
    assert _settled(db_url, updates[0]["update_id"]) == ("done", None)
    status, error = _settled(db_url, 1000)
    assert status == "skipped"
    assert error.startswith("not answered: stored 30 s ago, past Telegram's 10 s"), error
    assert _rows(db_url, "SELECT payload FROM inbox WHERE update_id = 1000") == [
        ({"update_id": 1000},)]
    assert r.metrics.registry.get_sample_value("fitclub_checkout_answers_total",
                                               {"outcome": "late"}) == 1


def test_an_answer_telegram_refuses_is_set_aside_not_failed(db_url, emu, rig):
    """A query Telegram no longer takes (too late, or an id it never gave) leaves nothing to
    answer: the row is skipped with Telegram's reason, counted as failed in the metrics."""
    r = rig(Checks(None))
    r.start()
    user = emu.create_user("Payer")
    update_id = emu.inject_update(TOKEN, {"pre_checkout_query": {
        "id": "never-given", "from": {"id": user.id, "is_bot": False, "first_name": "P"},
        "currency": "EUR", "total_amount": 3500, "invoice_payload": "x"}})

    status, error = _wait(lambda: _rows(db_url, "SELECT status, error FROM inbox WHERE"
                                                " update_id = %s AND status <> 'pending'",
                                        (update_id,)), 10)[0]
    assert status == "skipped" and error.startswith("answer refused: 400 Bad Request"), error
    assert r.answers == ["never-given"]
    assert r.metrics.registry.get_sample_value("fitclub_checkout_answers_total",
                                               {"outcome": "failed"}) == 1


def test_an_answer_telegram_refuses_as_malformed_is_kept_as_failed(db_url, emu, rig):
    """Our own answer refused (not a late or unknown query) is a failure to look into: the
    row is failed, not skipped, so it keeps its payload."""
    r = rig(Checks(None))
    real = r.lane.api

    class Refusing:
        def call(self, method, params, **kw):
            if method == "answerPreCheckoutQuery":
                raise TelegramError(method, 400, "Bad Request: ERROR_MESSAGE_INVALID")
            return real.call(method, params, **kw)

        def close(self):
            real.close()

    r.lane.api = Refusing()
    r.start()
    user = emu.create_user("Payer")
    update_id = emu.inject_update(TOKEN, {"pre_checkout_query": {
        "id": "q1", "from": {"id": user.id, "is_bot": False, "first_name": "P"},
        "currency": "EUR", "total_amount": 3500, "invoice_payload": "x"}})
    status, error, kept = _wait(lambda: _rows(
        db_url, "SELECT status, error, payload ? 'pre_checkout_query' FROM inbox"
                " WHERE update_id = %s AND status <> 'pending'", (update_id,)), 10)[0]
    assert (status, kept) == ("failed", True), (status, error)
    assert error.startswith("answer refused: 400"), error


def _pending(db_url: str, update_id: int, chat: int, kind: str, body: dict) -> None:
    _rows(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload) VALUES (%s, %s, %s,"
                  " %s)", (update_id, chat, kind, Json({"update_id": update_id, kind: body})))


def test_the_workers_pass_over_a_pending_pre_checkout_query(db_url):
    chat = 77
    _pending(db_url, 1, chat, "pre_checkout_query", {"id": "q", "from": {"id": chat}})
    _pending(db_url, 2, chat, "message", {"message_id": 2, "date": 0, "text": "hi",
                                          "chat": {"id": chat, "type": "private"}})
    assert _rows(db_url, Q["inbox.pending_by_chat"]) == [(chat, 1)]
    head = _rows(db_url, Q["inbox.head_of_chat"], {"chat_id": chat})
    assert [row[0] for row in head] == [2]


def _paid_message(update_id: int, chat: int) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()),
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "T", "language_code": "en"},
        "successful_payment": {"currency": "EUR", "total_amount": 3500,
                               "invoice_payload": "o1.n.sig",
                               "telegram_payment_charge_id": f"tg_{update_id}",
                               "provider_payment_charge_id": f"pr_{update_id}"}}}


def test_flood_control_never_drops_a_payment(db_url):
    chat = 88
    factories.member(db_url, chat, "Payer", blocked=True)  # and marked blocked, too
    handled: list[int] = []
    pool = Pool(db_url, minconn=1, maxconn=4)
    queue = ChatQueue()
    workers = Workers(pool=pool, queue=queue, handle=lambda p: handled.append(p["update_id"]),
                      threads=2, max_attempts=3, flood_rate=0.01, flood_burst=2)
    spam = [{"update_id": i, "message": {
        "message_id": i, "date": 0, "text": "spam", "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "T"}}} for i in range(1, 6)]
    try:
        for _update_id, lane in store_updates(pool, [*spam, _paid_message(6, chat)]):
            queue.add(lane)
        workers.start()
        _wait(lambda: _rows(db_url, "SELECT count(*) FROM inbox WHERE status = 'pending'")
              == [(0,)], 20)
    finally:
        workers.stop(5)
        pool.close()
    assert handled == [1, 2, 6]
    assert _rows(db_url, "SELECT update_id, status FROM inbox ORDER BY update_id") == [
        (1, "done"), (2, "done"), (3, "skipped"), (4, "skipped"), (5, "skipped"), (6, "done")]
