"""Announcements against PostgreSQL: audiences, batches at most once per member (enforced by
the schema), Stop, progress and final figures, the draft's rules, and the sender's claim with
10,000 announcement rows queued."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, date, datetime, timedelta

import psycopg2
import psycopg2.errors
import pytest
from telebot import types

from fitclub.config import Settings
from fitclub.db.queries import Q
from fitclub.jobs import announcements as jobs
from fitclub.runtime.claimer import CLAIM_WINDOW
from fitclub.runtime.context import PRIORITY_ANNOUNCEMENT, PRIORITY_REMINDER, PRIORITY_REPLY
from fitclub.runtime.jobs.registry import Job, JobContext
from fitclub.services import announcements as ann
from fitclub.services.announcements import Confirmed
from tests import factories

TODAY = date.today()


def _exec(db, sql: str, params=None):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def _member(db, telegram_id: int, *, registered=True, blocked=False, erased=False,
            role="member") -> int:
    return factories.member(db, telegram_id, f"M{telegram_id}", registered=registered,
                            blocked=blocked, erased=erased, role=role)


def _membership(db, member_id: int, ends_in: int, status: str = "active") -> None:
    factories.membership(db, member_id, starts_on=TODAY - timedelta(days=20),
                         ends_on=TODAY + timedelta(days=ends_in), visits_left=5, status=status)


@pytest.fixture
def club(db):
    """Members of every kind an audience must tell apart; returns their ids by name."""
    factories.plan(db, "Month", price_minor=5000, duration_days=30, visit_count=12)
    ids = {"admin": _member(db, 900, role="admin"), "other_admin": _member(db, 901, role="admin"),
           "active": _member(db, 101), "ending": _member(db, 102), "none": _member(db, 103),
           "expired": _member(db, 104), "blocked": _member(db, 105, blocked=True),
           "erased": _member(db, 0, erased=True),
           "unregistered": _member(db, 107, registered=False), "frozen": _member(db, 108)}
    _membership(db, ids["active"], 25)
    _membership(db, ids["ending"], 5)
    factories.membership(db, ids["expired"], starts_on=TODAY - timedelta(days=40),
                         ends_on=TODAY - timedelta(days=1), visits_left=0, status="expired")
    _membership(db, ids["blocked"], 25)
    _membership(db, ids["unregistered"], 25)
    _membership(db, ids["frozen"], 25, status="frozen")
    factories.class_type(db, "Yoga", default_duration_minutes=60, default_capacity=10)
    ids["class"] = factories.class_(db, ids["admin"], timedelta(days=1), duration_minutes=60,
                                    capacity=10)
    for who, status in (("active", "booked"), ("none", "attended"), ("expired", "waitlisted"),
                        ("ending", "cancelled"), ("blocked", "booked")):
        factories.booking(db, ids["class"], ids[who], status=status)
    db.commit()
    return ids


def _draft(db, club, text="Pool closed <Friday> & Saturday", **audience) -> ann.Announcement:
    draft = ann.create_draft(db, club["admin"], text, [{"type": "bold", "offset": 0,
                                                        "length": 4}])
    if audience:
        draft = ann.choose_audience(db, draft.id, club["admin"], **audience)
        assert draft is not None
    return draft


def _queue_all(db, ann_id: int, limit: int = 500) -> list[ann.Batch]:
    batches = []
    while True:
        batch = ann.queue_batch(db, ann_id, TODAY, limit)
        batches.append(batch)
        if batch.finished:
            return batches


def _recipients(db, ann_id: int) -> set[int]:
    return {r[0] for r in _exec(db, "SELECT member_id FROM announcement_deliveries"
                                    " WHERE announcement_id = %s", (ann_id,))}


@pytest.mark.parametrize("days", [3, 7])
def test_ending_within_n_days_is_today_and_the_next_n_minus_one(db, club, days):
    # The fixture's "ending" member ends in 5 days; these end on the window's edges.
    inside = {_member(db, 200 + n): n for n in (0, days - 1)}
    outside = {_member(db, 300 + n): n for n in (days, -1)}
    for member_id, ends_in in {**inside, **outside}.items():
        _membership(db, member_id, ends_in)
    draft = _draft(db, club, audience="expiring", days=days)
    expected = set(inside) | ({club["ending"]} if days > 5 else set())
    assert ann.count(db, draft, TODAY) == len(expected)
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    _queue_all(db, draft.id)
    assert _recipients(db, draft.id) == expected


@pytest.mark.parametrize(("audience", "expected"), [
    ({"audience": "all"}, {"admin", "other_admin", "active", "ending", "none", "expired",
                           "frozen"}),
    ({"audience": "active"}, {"active", "ending"}),
    ({"audience": "expiring", "days": 7}, {"ending"}),
    ({"audience": "expiring", "days": 3}, set()),
    ({"audience": "class"}, {"active", "none"}),
])
def test_each_audience_reaches_its_members_and_never_blocked_erased_or_unregistered(
        db, club, audience, expected):
    if audience["audience"] == "class":
        audience = {**audience, "class_id": club["class"]}
    draft = _draft(db, club, **audience)
    assert ann.count(db, draft, TODAY) == len(expected)
    if expected:
        assert ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900,
                           message_id=5)[0] is Confirmed.SENDING
        _queue_all(db, draft.id)
        assert _recipients(db, draft.id) == {club[name] for name in expected}
    else:
        assert ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900,
                           message_id=5)[0] is Confirmed.NOBODY
        assert ann.get(db, draft.id).status == "draft"


def test_batches_queue_each_member_once_at_announcement_priority_as_previewed(db, club):
    draft = _draft(db, club, audience="all")
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    batches = _queue_all(db, draft.id, limit=3)
    assert batches == [ann.Batch(3, False), ann.Batch(3, False), ann.Batch(1, True)]
    assert ann.queue_batch(db, draft.id, TODAY, 3) == ann.Batch(0, True)  # nothing more
    method, params = ann.message(ann.get(db, draft.id))
    rows = _exec(db, "SELECT o.chat_id, o.method, o.params, o.priority, m.telegram_id"
                     " FROM announcement_deliveries d JOIN outbox o ON o.id = d.outbox_id"
                     " JOIN members m ON m.id = d.member_id WHERE d.announcement_id = %s",
                 (draft.id,))
    assert len(rows) == 7 == ann.get(db, draft.id).total
    for chat_id, row_method, row_params, priority, telegram_id in rows:
        assert (row_method, priority, chat_id) == (method, 2, telegram_id)
        assert row_params == {**params, "chat_id": telegram_id}
    assert params == {"text": "Pool closed <Friday> & Saturday",
                      "entities": [{"type": "bold", "offset": 0, "length": 4}]}
    assert ann.get(db, draft.id).queued_at is not None


def test_a_second_delivery_to_a_member_is_refused_by_the_schema(db, club):
    draft = _draft(db, club, audience="active")
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    _queue_all(db, draft.id)
    db.commit()
    with pytest.raises(psycopg2.errors.UniqueViolation):
        _exec(db, "INSERT INTO announcement_deliveries (announcement_id, member_id, outbox_id)"
                  " VALUES (%s, %s, 1)", (draft.id, club["active"]))
    db.rollback()


def test_two_runners_at_once_still_queue_each_member_once(db_url, db, club):
    draft = _draft(db, club, audience="all")
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    db.commit()
    start = threading.Barrier(2)
    errors = []

    def run():
        conn = psycopg2.connect(db_url)
        try:
            start.wait()
            while True:
                with conn:
                    if ann.queue_batch(conn, draft.id, TODAY, 2).finished:
                        return
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert _exec(db, "SELECT count(*), count(DISTINCT member_id) FROM announcement_deliveries") \
        == [(7, 7)]
    assert _exec(db, "SELECT count(*), count(DISTINCT chat_id) FROM outbox WHERE priority = 2") \
        == [(7, 7)]


def test_the_queue_job_paces_rows_at_announce_rate_and_ends_when_all_are_queued(db, club):
    draft = _draft(db, club, audience="all")  # 7 recipients
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "1:" + "x" * 35,
                                  "DATABASE_URL": "postgresql:///x", "ANNOUNCE_RATE": "4"})
    assert ann.queue_rate(settings) == 4.0
    assert ann.queue_rate(settings.replace(outbound_rate=2.0)) == 2.0  # never above the bot's
    start = datetime.now(UTC)
    queued = []
    for seconds in (0.0, 0.5, 1.0):
        (job_id, payload, run_at), = _exec(db, "SELECT id, payload, run_at FROM jobs"
                                               " WHERE kind = 'announcement_queue'")
        job = Job(job_id, "announcement_queue", payload, None, run_at, 0, None, None)
        now = start + timedelta(seconds=seconds)
        jobs.queue(JobContext(db, job=job, now=now, settings=settings), payload)
        queued.append(len(_recipients(db, draft.id)))
        (next_run,), = _exec(db, "SELECT run_at FROM jobs WHERE id = %s", (job_id,))
        if queued[-1] < 7:
            assert next_run > run_at  # again in half a second
    # A first second's worth, then the rate for the half second since, then the last one.
    assert queued == [4, 6, 7]
    assert ann.get(db, draft.id).queued_at is not None


SPEED = ann.Pace(queue_rate=25.0, send_rate=30.0, progress_seconds=5.0)


def _waiting(db, n: int, priority: int) -> None:
    """n messages to other chats waiting in the outbox at this priority."""
    _exec(db, "INSERT INTO outbox (chat_id, method, params, priority)"
              " SELECT 700000 + g, 'sendMessage', '{}', %s FROM generate_series(1, %s) g",
          (priority, n))


def test_the_estimate_is_the_time_until_the_progress_says_delivered(db, club):
    """What waits before the announcement at the send rate, its own messages at the queue
    rate (at the send rate once queued), then the progress edit that will say so: 7 members
    at 25/s take a fraction of a second, but the message says "delivered" at its next edit,
    5 s on (it said "1 s")."""
    draft = _draft(db, club, audience="all")  # 7 recipients
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    sent_at = ann.get(db, draft.id).sent_at
    assert ann.status(db, draft.id, sent_at, SPEED).eta_seconds == 5.0
    assert ann.status(db, draft.id, sent_at, SPEED._replace(progress_seconds=1.0)) \
        .eta_seconds == 2.0  # 0.28 s and a second for the last one, to the next edit
    # At a slow ANNOUNCE_RATE its own messages take their time: 7 at 0.5/s is 14 s.
    assert ann.status(db, draft.id, sent_at, SPEED._replace(queue_rate=0.5)) \
        .eta_seconds == 15.0
    # 300 replies and reminders waiting go first: 10 s at 30/s.
    _waiting(db, 200, PRIORITY_REPLY)
    _waiting(db, 100, PRIORITY_REMINDER)
    assert ann.status(db, draft.id, sent_at, SPEED).eta_seconds == 15.0
    # Another announcement's rows queued before its own go first too; later ones and the
    # start-up command lists (a lower priority) do not.
    _waiting(db, 150, PRIORITY_ANNOUNCEMENT)
    assert ann.status(db, draft.id, sent_at, SPEED).eta_seconds == 20.0
    _queue_all(db, draft.id)
    _waiting(db, 300, PRIORITY_ANNOUNCEMENT)
    _waiting(db, 300, PRIORITY_ANNOUNCEMENT + 1)
    assert ann.status(db, draft.id, sent_at, SPEED).eta_seconds == 20.0
    # All queued, nothing before them: a fraction of a second at the send rate.
    _exec(db, "DELETE FROM outbox WHERE chat_id > 700000")
    assert ann.status(db, draft.id, sent_at, SPEED._replace(queue_rate=0.5)) \
        .eta_seconds == 5.0


def _set_status(db, ann_id: int, statuses: list[str]) -> None:
    """Give the announcement's outbox rows these statuses, in member order."""
    ids = [r[0] for r in _exec(db, "SELECT outbox_id FROM announcement_deliveries"
                                   " WHERE announcement_id = %s ORDER BY member_id", (ann_id,))]
    for outbox_id, status in zip(ids, statuses, strict=False):
        _exec(db, "UPDATE outbox SET status = %s, claim_token = CASE WHEN %s = 'sending'"
                  " THEN 1 END, lease_until = CASE WHEN %s = 'sending' THEN now() END"
                  " WHERE id = %s", (status, status, status, outbox_id))


def test_stop_takes_back_unclaimed_rows_and_the_figures_settle_after_those_in_flight(db, club):
    draft = _draft(db, club, audience="all")
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    _queue_all(db, draft.id, limit=3)
    _set_status(db, draft.id, ["sent", "dropped", "sending"])
    stopped = ann.stop(db, draft.id, club["other_admin"])  # any admin may stop it
    assert stopped.taken_back == 4 and stopped.announcement.status == "cancelled"
    assert ann.stop(db, draft.id, club["admin"]) is None  # a second Stop
    assert _exec(db, "SELECT count(*) FROM outbox WHERE priority = 2") == [(3,)]
    assert ann.progress(db, draft.id) == ann.Progress(sent=1, failed=0, blocked=1, waiting=1,
                                                      queued=3)
    assert ann.queue_batch(db, draft.id, TODAY, 3) == ann.Batch(0, True)
    assert not ann.settle(db, draft.id)  # one still in flight
    _exec(db, "UPDATE outbox SET status = 'sent', claim_token = NULL, lease_until = NULL"
              " WHERE status = 'sending'")
    assert ann.settle(db, draft.id)
    final = ann.get(db, draft.id)
    assert (final.status, final.sent_count, final.blocked_count) == ("cancelled", 2, 1)
    status = ann.status(db, draft.id, final.finished_at, SPEED)
    assert status.left == 0 and status.eta_seconds is None
    assert _exec(db, "SELECT action, actor_id FROM audit_log WHERE entity = 'announcement'"
                     " ORDER BY id") == [("announcement.create", club["admin"]),
                                         ("announcement.send", club["admin"]),
                                         ("announcement.cancel", club["other_admin"])]


def test_progress_counts_sent_failed_blocked_and_left_and_it_is_done_when_none_waits(db, club):
    draft = _draft(db, club, audience="all")
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    ann.queue_batch(db, draft.id, TODAY, 3)  # 4 of 7 not queued yet
    _set_status(db, draft.id, ["sent", "failed"])
    sent_at = ann.get(db, draft.id).sent_at
    status = ann.status(db, draft.id, sent_at + timedelta(seconds=10), SPEED)
    assert (status.progress.sent, status.progress.failed, status.left) == (1, 1, 5)
    # 5 left at the rate so far (2 in 10 s): 25 s, and a second for the last one; "delivered"
    # shows at the progress edit after that.
    assert status.eta_seconds == 30.0
    assert not ann.settle(db, draft.id)  # not everyone is queued
    _queue_all(db, draft.id, limit=3)
    _exec(db, "UPDATE outbox SET status = 'sent' WHERE status = 'pending' AND priority = 2")
    assert ann.settle(db, draft.id)
    done = ann.get(db, draft.id)
    assert (done.status, done.sent_count, done.failed_count, done.blocked_count) == (
        "done", 6, 1, 0)
    assert not ann.settle(db, draft.id)  # once


def test_a_draft_is_its_authors_and_is_sent_once(db, club):
    draft = _draft(db, club)
    other = club["other_admin"]
    assert ann.draft_of(db, draft.id, other) is None
    assert ann.choose_audience(db, draft.id, other, "all") is None
    assert ann.choose_audience(db, draft.id, club["admin"], "expiring", days=5) is None
    assert ann.choose_audience(db, draft.id, club["admin"], "class", class_id=99999) is None
    assert ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900,
                       message_id=5)[0] is Confirmed.GONE  # no audience yet
    ann.choose_audience(db, draft.id, club["admin"], "active")
    assert ann.confirm(db, draft.id, other, TODAY, chat_id=901, message_id=5)[0] \
        is Confirmed.GONE
    assert ann.discard(db, draft.id, other) is False
    assert ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900,
                       message_id=5)[0] is Confirmed.SENDING
    assert ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900,
                       message_id=5)[0] is Confirmed.GONE  # a double tap
    assert ann.discard(db, draft.id, club["admin"]) is False
    assert _exec(db, "SELECT kind, dedup_key FROM jobs WHERE kind LIKE 'announcement%%'"
                     " ORDER BY kind") == [("announcement_progress", f"announcement:{draft.id}"),
                                           ("announcement_queue", f"announcement:{draft.id}")]
    second = _draft(db, club, text="Another")
    assert ann.discard(db, second.id, club["admin"])
    assert ann.get(db, second.id).status == "cancelled"
    assert [a.id for a in ann.recent(db)] == [draft.id]  # drafts and discarded ones aside


def test_the_schema_refuses_impossible_announcements(db, club):
    bad = [
        ("INSERT INTO announcements (author_id, text) VALUES (%s, '  ')", "content"),
        ("INSERT INTO announcements (author_id, text, audience) VALUES (%s, 'x', 'expiring')",
         "days"),
        ("INSERT INTO announcements (author_id, text, status) VALUES (%s, 'x', 'sending')",
         "sent"),
        ("INSERT INTO announcements (author_id, text, photo_file_id)"
         " VALUES (%s, repeat('x', 1025), 'f')", "content"),
    ]
    for sql, constraint in bad:
        with pytest.raises(psycopg2.errors.CheckViolation, match=constraint):
            _exec(db, sql, (club["admin"],))
        db.rollback()


def test_the_members_message_keeps_formatting_and_the_photo():
    entities = [types.MessageEntity("bold", 0, 4), types.MessageEntity("bot_command", 5, 5),
                types.MessageEntity("text_link", 11, 4, url="https://x.example")]
    kept = ann.formatting(entities)
    assert kept == [{"type": "bold", "offset": 0, "length": 4},
                    {"type": "text_link", "offset": 11, "length": 4,
                     "url": "https://x.example"}]
    photo = ann.Announcement(*([None] * 20))._replace(text="Hi", entities=kept,
                                                      photo_file_id="F1")
    assert ann.message(photo) == ("sendPhoto", {"photo": "F1", "caption": "Hi",
                                                "caption_entities": kept})
    assert ann.message(photo._replace(text="", entities=[])) == ("sendPhoto", {"photo": "F1"})


def test_claiming_stays_fast_with_ten_thousand_announcement_rows_queued(db, club):
    """The sender's claim (and /healthz's oldest-reply query) with 10,000 rows of one
    announcement pending and a reply queued behind them."""
    factories.members(db, [{"telegram_id": 200000 + g, "first_name": f"P{g}"}
                           for g in range(1, 10001)])
    draft = _draft(db, club, audience="all")
    ann.confirm(db, draft.id, club["admin"], TODAY, chat_id=900, message_id=5)
    started = time.perf_counter()
    batches = _queue_all(db, draft.id)
    queue_seconds = time.perf_counter() - started
    _exec(db, "INSERT INTO outbox (chat_id, method, params, priority) VALUES"
              " (200001, 'sendMessage', '{\"chat_id\": 200001, \"text\": \"reply\"}', 0)")
    db.commit()
    assert _exec(db, "SELECT count(*) FROM outbox WHERE status = 'pending' AND priority = 2") \
        == [(10_007,)]
    params = {"done_ids": [], "done_tokens": [], "done_message_ids": [], "limit": 100,
              "lease": 90.0, "process": "00000000-0000-0000-0000-00000000a11c",
              "window": CLAIM_WINDOW}
    claims, reply_ages = [], []
    for _ in range(7):
        with db.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(Q["outbox.mark_and_claim"], params)
            claimed = cur.fetchall()
            claims.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cur.execute(Q["outbox.oldest_reply_age"])
            cur.fetchone()
            reply_ages.append(time.perf_counter() - t0)
        db.rollback()
        # The reply overtakes the announcement rows, its own chat's included.
        assert len(claimed) == 100
        assert [(r[2], r[8]) for r in claimed if r[2] == 200001] == [(200001, 0)]
    claim_ms = statistics.median(claims) * 1000
    age_ms = statistics.median(reply_ages) * 1000
    print(f"\n10,007 announcement rows queued in {len(batches)} batches of 500 in "
          f"{queue_seconds:.2f}s; claim of 100: median {claim_ms:.1f} ms (max "
          f"{max(claims) * 1000:.1f}); oldest-reply query: median {age_ms:.2f} ms")
    assert claim_ms < 250, f"claim took {claim_ms:.0f} ms with 10,000 rows queued"
    assert age_ms < 50
