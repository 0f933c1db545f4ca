"""The checkout lane: every pre_checkout_query answered within Telegram's 10 seconds.

Telegram waits 10 s for `answerPreCheckoutQuery`, then fails the payment. So a pre-checkout
query never waits in the chat queue (behind the workers, the member's other updates or a
handler), nor in the outbox (behind its rate limiter, replies or an announcement):

- The intake (runtime/intake.py, of the poller or the webhook) stores the update in `inbox` as
  always (an update is committed before it is acknowledged), then hands its pre-checkout
  queries here at once. The workers never run them (`inbox.head_of_chat` passes them over),
  so they hold no chat up either.
- A few threads of this lane, each with a connection of the lane's own small pool, claim the
  stored row (still pending, and claimed by no one else: `checkout.claim` sets a claim of
  CLAIM_SECONDS on it) with the member's language, and run the check they were given (the app
  passes `payments.check_checkout`, the club's rule: one statement, which marks the order
  pre-checked and commits). Then the answer goes to Telegram directly (no connection held
  meanwhile, no outbox, outside the message limits). The rows are marked done once the burst
  is answered (and at least every RECORD_EVERY seconds meanwhile), together in one statement
  (a refusal's reason kept in `error`).
- One query, one answer, whichever instances run a lane: only the lane holding the claim
  answers, and it answers only while its claim lasts (the answer's timeout is cut to what is
  left; with nothing left it lets the claim lapse unanswered), and records the answer before
  the claim ends. The sweeper passes over claimed rows and rows younger than HANDOVER_SECONDS.
- A refusal is one line in the member's language (their stored choice, else the query's
  language_code). Anything going wrong (the database away, the check raising) is answered
  `ok: false` with a generic line (`pay_err_unavailable`) rather than letting the 10 s pass;
  an update the database would not store (yet) is refused the same way, recorded once stored.
- After a crash (a SIGKILL), a stored query still pending is answered if it is fresh, by the
  next start or another instance's sweeper once the dead lane's claim has lapsed (within
  CLAIM_SECONDS plus a sweep), and marked skipped (not answered: Telegram has failed it
  already) once it is older than 10 s. A crash between the answer and its record answers a
  fresh query a second time, which Telegram refuses, as can a query refused before the
  database stored it and taken up by another instance before its record, or one refused
  without a claim by an instance that cannot reach the database while another can: answering
  is at least once across failures, and the check is idempotent (an order already pre-checked
  stays so).
"""

from __future__ import annotations

import html
import logging
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import psycopg2.extensions

from fitclub.db.pool import Pool, is_transient
from fitclub.db.queries import Q
from fitclub.locales import language_of, t
from fitclub.logs import describe
from fitclub.runtime.telegram import BotApi, NetworkError, TelegramError, reason

log = logging.getLogger(__name__)

KIND = "pre_checkout_query"

#: Threads answering pre-checkout queries (each with a connection of the lane's own pool).
CHECKOUT_THREADS = 8

#: Seconds Telegram waits for the answer; a stored query older than this is not answered.
ANSWER_WITHIN = 10.0

#: Seconds a lane's claim on a query lasts: it answers within them, or not at all. A claim left
#: by a killed process lapses then, early enough for another lane to answer a fresh query.
CLAIM_SECONDS = 4.0

#: Seconds a stored query is left to the lane its intake handed it to before a sweeper may
#: take it up (the hand-over takes milliseconds; a query refused before it was stored is
#: recorded meanwhile).
HANDOVER_SECONDS = 1.0

#: Seconds answered outcomes may wait for their record while the lane is busy (well within
#: CLAIM_SECONDS, so a claim never lapses on a query answered and not yet recorded).
RECORD_EVERY = 1.0

#: An answer is not sent with less than this left of its claim.
LEAST_ANSWER_SECONDS = 0.2

#: The catalog key of the line sent when the query could not be checked.
GENERIC_REASON = "pay_err_unavailable"

#: check(conn, pre_checkout_query, now) -> None (ok) or the catalog key of the refusal.
Check = Callable[[psycopg2.extensions.connection, dict[str, Any], datetime], str | None]

_TAG = re.compile(r"<[^>]+>")


class Outcome(NamedTuple):
    """How one query ended, as its inbox row records it."""

    status: str  # done (answered), skipped (too old, or Telegram refused the answer), failed
    # (the answer went unanswered by the Bot API: a network error)
    error: str | None


class _Decision(NamedTuple):
    ok: bool
    reason: str | None  # catalog key of a refusal
    lang: str
    error: str | None  # what the inbox row keeps


class _Refused(Exception):
    """The check raised: refuse with the generic line."""

    def __init__(self, decision: _Decision) -> None:
        super().__init__(decision.error)
        self.decision = decision


class _Item(NamedTuple):
    update: dict[str, Any]
    received: float | None  # time.monotonic() of its getUpdates (None: found in inbox)
    stored: bool  # False: the database would not take it; refuse, record later


def reason_line(lang: str, key: str) -> str:
    """A refusal as Telegram shows it: the catalog's line, plain text, one line."""
    text = str(t(lang, key))
    if text == key:  # a key no catalog has: the generic line rather than a code
        text = str(t(lang, GENERIC_REASON))
    return " ".join(html.unescape(_TAG.sub("", text)).split())


class CheckoutLane:
    """Threads that answer pre-checkout queries straight from the intake's hand."""

    def __init__(self, *, pool: Pool, api: BotApi, check: Check,
                 threads: int = CHECKOUT_THREADS, metrics: Any = None,
                 answer_within: float = ANSWER_WITHIN, sweep_seconds: float = 2.0,
                 answer_timeout: float = 4.0, claim_seconds: float = CLAIM_SECONDS,
                 handover_seconds: float = HANDOVER_SECONDS) -> None:
        self.pool = pool
        self.api = api
        self.check = check
        self.thread_count = threads
        self.metrics = metrics
        self.answer_within = answer_within
        self.sweep_seconds = sweep_seconds
        self.answer_timeout = answer_timeout
        self.claim_seconds = claim_seconds
        self.handover_seconds = handover_seconds
        self._flushed_at = time.monotonic()
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._lock = threading.Lock()
        # Update ids queued or being answered here: handed over twice, answered once.
        self._busy: set[int] = set()
        # Answered, but the record did not commit (the database away): recorded later,
        # never answered again.
        self._unrecorded: dict[int, Outcome] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the answering threads and the sweeper (which first takes up what a previous
        run left pending)."""
        for i in range(self.thread_count):
            th = threading.Thread(target=self._loop, name=f"checkout-{i}", daemon=True)
            th.start()
            self._threads.append(th)
        sweeper = threading.Thread(target=self._sweep_loop, name="checkout-sweep", daemon=True)
        sweeper.start()
        self._threads.append(sweeper)

    def stop(self, timeout: float) -> bool:
        """Finish the queries in hand (bounded); the rest stay pending for the next start."""
        self._stop.set()
        for _ in range(self.thread_count):
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        return not any(th.is_alive() for th in self._threads)

    # -- handing over ----------------------------------------------------------------------

    def submit(self, updates: Iterable[dict[str, Any]], received: float | None = None) -> None:
        """Stored pre-checkout updates to answer now."""
        self._put(updates, received, stored=True)

    def unstored(self, updates: Iterable[dict[str, Any]], received: float | None = None) -> None:
        """Updates the database would not store (yet): refused now with the generic line;
        recorded when the intake has stored them and hands them over."""
        self._put(updates, received, stored=False)

    def _put(self, updates: Iterable[dict[str, Any]], received: float | None,
             stored: bool) -> None:
        for update in updates:
            update_id = update.get("update_id")
            if not isinstance(update_id, int):
                continue
            with self._lock:
                if update_id in self._busy:
                    continue
                self._busy.add(update_id)
            self._queue.put(_Item(update, received, stored))

    def backlog(self) -> int:
        """Queries handed over and not yet answered."""
        with self._lock:
            return len(self._busy)

    def recover(self) -> int:
        """Hand over every pre-checkout query still pending in inbox and claimed by no lane
        (at start, and every few seconds): a fresh one is answered, one older than 10 s marked
        skipped."""
        def fetch(conn):
            with conn.cursor() as cur:
                cur.execute(Q["checkout.pending"], {"after": self.handover_seconds})
                return cur.fetchall()

        rows = self.pool.run(fetch, attempts=1)
        self.submit(payload for _update_id, payload in rows)
        return len(rows)

    # -- threads ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self.flush()
                return
            update_id = item.update["update_id"]
            try:
                self.handle(item)
            except Exception:  # a bug here must not end the thread; the sweeper retries
                log.exception("checkout: update %s could not be handled", update_id,
                              extra={"update_id": update_id})
            finally:
                with self._lock:
                    self._busy.discard(update_id)
            if self._queue.empty() or self._record_due():
                # Outcomes are recorded together once a burst is answered: the answers come
                # first, each a statement sooner. A long burst records every RECORD_EVERY
                # seconds, before the claims of the queries answered lapse.
                self.flush()

    def _sweep_loop(self) -> None:
        while True:
            try:
                self.flush()
                self.recover()
            except Exception as exc:  # the database away: the next round tries again
                log.debug("checkout sweep skipped: %s", describe(exc))
            if self._stop.wait(self.sweep_seconds):
                return

    def _record_due(self) -> bool:
        with self._lock:
            return bool(self._unrecorded) and \
                time.monotonic() - self._flushed_at >= RECORD_EVERY

    def flush(self) -> None:
        """Record the outcomes answered and not yet recorded, in one statement."""
        with self._lock:
            self._flushed_at = time.monotonic()
            outcomes = dict(self._unrecorded)
        if not outcomes:
            return
        params = {"ids": list(outcomes), "statuses": [o.status for o in outcomes.values()],
                  "errors": [o.error for o in outcomes.values()]}

        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["checkout.finish_many"], params)
                return [row[0] for row in cur.fetchall()]

        try:
            stored = self.pool.run_alone(run, attempts=2, max_seconds=2.0)
        except Exception as exc:
            log.warning("checkout: %s outcomes are not recorded yet (%s)", len(outcomes),
                        describe(exc))
            return
        with self._lock:
            for update_id in stored:
                if self._unrecorded.get(update_id) is outcomes.get(update_id):
                    self._unrecorded.pop(update_id, None)

    # -- one query -------------------------------------------------------------------------

    def handle(self, item: _Item) -> Outcome | None:
        """Check and answer one query; its outcome (recorded by the next flush), None when
        it was not this lane's to answer (answered already, claimed by another lane, too old,
        or its claim ran out before the answer could go)."""
        update = item.update
        update_id = update["update_id"]
        body = update.get(KIND) if isinstance(update.get(KIND), dict) else {}
        with self._lock:
            answered = self._unrecorded.get(update_id)
        if answered is not None:
            return answered  # answered before it was stored; the flush records it
        answer_by = None  # no claim: a query the database has not stored
        if not item.stored:
            decision = _Decision(False, GENERIC_REASON, self._fallback_lang(body),
                                 "refused: the database did not store it in time")
        else:
            # The claim's token: a retried claim is this lane's again, and no one else's.
            token = secrets.randbits(62)
            # Taken before the claim is sent, so the lane's end comes before the database's.
            answer_by = time.monotonic() + self.claim_seconds
            try:
                # Autocommit: the claim and the check are one statement each, so no BEGIN
                # and COMMIT.
                decision = self.pool.run_alone(
                    lambda conn: self._decide(conn, update_id, body, token), attempts=2,
                    max_seconds=min(4.0, self.claim_seconds))
            except _Refused as refused:
                decision = refused.decision
            except Exception as exc:
                log.warning("checkout: update %s could not be checked (%s); refused",
                            update_id, describe(exc), extra={"update_id": update_id})
                decision = _Decision(False, GENERIC_REASON, self._fallback_lang(body),
                                     f"refused: not checked ({describe(exc)})"[:500])
            if decision is None:
                return None
        outcome = self._answer(update_id, body, decision, item.received, answer_by)
        if outcome is None:
            return None
        with self._lock:
            self._unrecorded[update_id] = outcome
        return outcome

    @staticmethod
    def _fallback_lang(body: dict[str, Any]) -> str:
        user = body.get("from") if isinstance(body.get("from"), dict) else {}
        return language_of(user.get("language_code"))

    def _decide(self, conn: psycopg2.extensions.connection, update_id: int,
                body: dict[str, Any], token: int) -> _Decision | None:
        """Claim the stored row; skip it if too old, else check it."""
        user = body.get("from") if isinstance(body.get("from"), dict) else {}
        user_id = user.get("id") if isinstance(user.get("id"), int) else None
        with conn.cursor() as cur:
            cur.execute(Q["checkout.claim"], {"update_id": update_id, "telegram_id": user_id,
                                              "token": token, "seconds": self.claim_seconds})
            row = cur.fetchone()
        if row is None:
            return None  # answered already, or another lane (here or elsewhere) holds it
        payload, age, language = row
        if age > self.answer_within:
            _finish(conn, update_id, Outcome(
                "skipped", f"not answered: stored {age:.0f} s ago, past Telegram's "
                           f"{self.answer_within:.0f} s"))
            log.warning("checkout: update %s was %.0f s old; not answered", update_id, age,
                        extra={"update_id": update_id})
            self._count("late")
            return None
        lang = language or language_of(user.get("language_code"))
        stored = payload.get(KIND) if isinstance(payload.get(KIND), dict) else {}
        try:
            refusal = self.check(conn, stored, datetime.now(UTC))
        except Exception as exc:
            if conn.closed or is_transient(exc):
                raise  # the whole transaction again (pool.run), or the generic refusal
            log.exception("checkout: the check of update %s failed; refused", update_id,
                          extra={"update_id": update_id})
            raise _Refused(_Decision(False, GENERIC_REASON, lang,
                                     f"refused: the check failed ({type(exc).__name__})")) from exc
        if refusal is None:
            return _Decision(True, None, lang, None)
        return _Decision(False, refusal, lang, f"refused: {refusal}")

    def _answer(self, update_id: int, body: dict[str, Any], decision: _Decision,
                received: float | None, answer_by: float | None) -> Outcome | None:
        """answerPreCheckoutQuery, straight to the Bot API (one retry on no answer), while
        the claim lasts (answer_by, monotonic; None: no claim); None when it ran out first."""
        params: dict[str, Any] = {"pre_checkout_query_id": body.get("id"), "ok": decision.ok}
        if not decision.ok:
            params["error_message"] = reason_line(decision.lang, decision.reason
                                                  or GENERIC_REASON)

        def time_left() -> float:
            if answer_by is None:
                return self.answer_timeout
            return min(self.answer_timeout, answer_by - time.monotonic())

        if time_left() < LEAST_ANSWER_SECONDS:
            # Answering now could meet another lane's answer once the claim lapses: the
            # claim lapses unanswered instead, and the sweeper takes the query up again.
            log.warning("checkout: update %s: its claim ran out before the answer; not "
                        "answered here", update_id, extra={"update_id": update_id})
            return None
        outcome = Outcome("done", decision.error)
        for attempt in (1, 2):
            try:
                self.api.call("answerPreCheckoutQuery", params, timeout=time_left())
                break
            except NetworkError as exc:
                if attempt == 1 and time_left() >= LEAST_ANSWER_SECONDS and (
                        received is None
                        or time.monotonic() - received < self.answer_within / 2):
                    continue
                outcome = Outcome("failed", f"answer not delivered: {describe(exc)}")
            except TelegramError as exc:
                # Too late, or a query Telegram does not know: nothing is left to answer (the
                # payment failed at Telegram, no money moved). Set aside, as odd input is.
                # Any other refusal (our own answer malformed) is a failure, kept with its
                # payload to look into.
                late = "query is too old" in (exc.description or "") or \
                    "query ID is invalid" in (exc.description or "")
                outcome = Outcome("skipped" if late else "failed",
                                  f"answer refused: {exc.code} "
                                  f"{reason(exc.description)}"[:500])
            log.warning("checkout: the answer to update %s failed (%s)", update_id,
                        outcome.error, extra={"update_id": update_id})
            break
        if self.metrics and received is not None:
            self.metrics.checkout_seconds.observe(time.monotonic() - received)
        if outcome.status != "done":
            self._count("failed")
        elif decision.ok:
            self._count("ok")
        else:
            self._count("error" if decision.reason == GENERIC_REASON else "refused")
        return outcome

    def _count(self, outcome: str) -> None:
        if self.metrics:
            self.metrics.checkout_answers.labels(outcome).inc()


def _finish(conn: psycopg2.extensions.connection, update_id: int, outcome: Outcome) -> None:
    with conn.cursor() as cur:
        cur.execute(Q["checkout.finish"], {"update_id": update_id, "status": outcome.status,
                                           "error": outcome.error})
