"""Retention on PostgreSQL: each table loses its rows past the limit and keeps the newer ones,
a batch at a time, passing over rows the bot holds; files go when their call is given up;
a flood leaves only ids; an update id Telegram uses again is stored as a new update."""

from __future__ import annotations

import logging
import time

import psycopg2
import pytest
from psycopg2.extras import Json

from fitclub.db.pool import Pool
from fitclub.db.queries import Q
from fitclub.jobs import retention as job
from fitclub.runtime.jobs import Registry, ensure_recurring
from fitclub.runtime.jobs.runner import Runner
from fitclub.runtime.poller import store_updates
from fitclub.services import reminders, retention
from tests import factories
from tests.helpers import query

LIMITS = retention.Limits(days=7, audit_days=365)
OLD = "now() - interval '8 days'"
NEW = "now() - interval '6 days'"


def _now(db_url: str):
    return query(db_url, "SELECT now()")[0][0]


def _prune_all(db_url: str, table: str, batch: int = 1000, limits=LIMITS) -> int:
    """Batches until one comes back short, each committed on its own; rows deleted."""
    conn = psycopg2.connect(db_url)
    total = 0
    try:
        while True:
            with conn:
                n = retention.prune_batch(conn, table, _now(db_url), limits, batch)
            total += n
            if n < batch:
                return total
    finally:
        conn.close()


# -- what each table keeps -----------------------------------------------------------------

def _inbox(db_url: str, update_id: int, status: str, received: str) -> None:
    processed = "NULL" if status == "pending" else received
    query(db_url, f"INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  f" processed_at) VALUES (%s, 1, 'message', '{{}}', %s, {received}, {processed})",
          (update_id, status))


def test_inbox_loses_processed_updates_past_the_limit_only(db_url):
    for update_id, status in ((1, "done"), (2, "failed"), (3, "skipped")):
        _inbox(db_url, update_id, status, OLD)
    _inbox(db_url, 4, "pending", OLD)      # never processed: kept whatever its age
    _inbox(db_url, 5, "done", NEW)         # processed 6 days ago: kept
    assert _prune_all(db_url, "inbox") == 3
    assert query(db_url, "SELECT update_id FROM inbox ORDER BY 1") == [(4,), (5,)]


def _outbox(db_url: str, status: str, created: str, method: str = "sendMessage") -> int:
    claim = ", 1, now() + interval '1 minute'" if status == "sending" else ", NULL, NULL"
    return query(db_url, f"INSERT INTO outbox (chat_id, method, params, status, created_at,"
                         f" claim_token, lease_until) VALUES (7, %s, '{{}}', %s, {created}"
                         f"{claim}) RETURNING id", (method, status))[0][0]


def _announcement(db_url: str, member_id: int, outbox_id: int, finished: bool) -> None:
    if finished:
        status, figures = "done", "now(), 1, 0, 0"
    else:
        status, figures = "sending", "NULL, NULL, NULL, NULL"
    (ann,) = query(db_url, "INSERT INTO announcements (text, audience, status, sent_at, total,"
                           " finished_at, sent_count, failed_count, blocked_count)"
                           f" VALUES ('Hi', 'all', %s, now(), 1, {figures}) RETURNING id",
                   (status,))[0]
    query(db_url, "INSERT INTO announcement_deliveries (announcement_id, member_id, outbox_id)"
                  " VALUES (%s, %s, %s)", (ann, member_id, outbox_id))


def test_outbox_loses_delivered_and_given_up_calls_past_the_limit_only(db_url):
    gone = [_outbox(db_url, status, OLD) for status in ("sent", "failed", "dropped")]
    kept = [_outbox(db_url, "pending", OLD), _outbox(db_url, "sending", OLD),
            _outbox(db_url, "sent", NEW)]
    # The command list's row: the start-up sync reads its status (failed: set it again).
    listed = _outbox(db_url, "failed", OLD, method="setMyCommands")
    query(db_url, "INSERT INTO command_lists (chat_id, fingerprint, outbox_id)"
                  " VALUES (7, '0123456789abcdef', %s)", (listed,))
    # An announcement still going out counts its rows; a finished one has its figures.
    member_id = factories.member(db_url, 7, "Anna")
    counting = _outbox(db_url, "sent", OLD)
    _announcement(db_url, member_id, counting, finished=False)
    counted = _outbox(db_url, "sent", OLD)
    other = factories.member(db_url, 8, "Boris")
    _announcement(db_url, other, counted, finished=True)
    assert _prune_all(db_url, "outbox") == len(gone) + 1
    assert sorted(r[0] for r in query(db_url, "SELECT id FROM outbox")) == \
        sorted([*kept, listed, counting])


def test_conversations_and_flood_buckets_untouched_past_the_limit_go(db_url):
    for chat, when in ((1, OLD), (2, NEW)):
        query(db_url, "INSERT INTO conversation_state (bot_id, chat_id, user_id, state, data,"
                      f" updated_at) VALUES (1, %s, %s, 'step', '{{}}', {when})", (chat, chat))
        query(db_url, "INSERT INTO chat_flood (chat_id, tokens, updated_at)"
                      f" VALUES (%s, 3, {when})", (chat,))
    assert _prune_all(db_url, "conversation_state") == 1
    assert _prune_all(db_url, "chat_flood") == 1
    assert query(db_url, "SELECT chat_id FROM conversation_state") == [(2,)]
    assert query(db_url, "SELECT chat_id FROM chat_flood") == [(2,)]


def test_card_codes_and_spent_tokens_go_once_expired(db_url):
    member_id = factories.member(db_url, 7, "Anna")
    for code, token, expires in (("111111", "t-old", "now() - interval '1 minute'"),
                                 ("222222", "t-live", "now() + interval '4 minutes'")):
        query(db_url, "INSERT INTO card_codes (code, member_id, token, issued_at, expires_at)"
                      f" VALUES (%s, %s, %s, now() - interval '1 hour', {expires})",
              (code, member_id, token))
        query(db_url, "INSERT INTO card_spent (token, member_id, reason, at, expires_at)"
                      f" VALUES (%s, %s, 'used', now() - interval '1 hour', {expires})",
              (token, member_id))
    assert _prune_all(db_url, "card_codes") == 1
    assert _prune_all(db_url, "card_spent") == 1
    assert query(db_url, "SELECT code FROM card_codes") == [("222222",)]
    assert query(db_url, "SELECT token FROM card_spent") == [("t-live",)]


def _job(db_url: str, kind: str, status: str, finished: str, payload: dict | None = None,
         every: float | None = None, key: str | None = None) -> int:
    done = "NULL" if status == "pending" else finished
    return query(db_url, "INSERT INTO jobs (kind, payload, status, finished_at, every_seconds,"
                         f" dedup_key) VALUES (%s, %s, %s, {done}, %s, %s) RETURNING id",
                 (kind, Json(payload or {}), status, every, key))[0][0]


def test_finished_jobs_past_the_limit_go_but_a_live_membership_keeps_its_reminder(db_url):
    factories.plan(db_url)
    member_id = factories.member(db_url, 7, "Anna")
    active = factories.membership(db_url, member_id)
    ended = factories.membership(db_url, member_id, starts_on=-60, ends_on=-31,
                                 status="expired")
    gone = [_job(db_url, "offer_expiry", status, OLD) for status in ("done", "failed",
                                                                     "cancelled")]
    gone.append(_job(db_url, reminders.LAST_VISIT_JOB, "done", OLD, {"membership_id": ended},
                     key=str(ended)))
    kept = [_job(db_url, "offer_expiry", "pending", OLD),
            _job(db_url, "offer_expiry", "done", NEW),
            # One visit left and still active: deleting its row would remind again.
            _job(db_url, reminders.LAST_VISIT_JOB, "done", OLD, {"membership_id": active},
                 key=str(active))]
    assert _prune_all(db_url, "jobs") == len(gone)
    assert sorted(r[0] for r in query(db_url, "SELECT id FROM jobs")) == sorted(kept)


def test_audit_entries_go_after_their_own_limit(db_url):
    for days in (400, 366, 364, 30):
        query(db_url, "INSERT INTO audit_log (at, action, entity) VALUES"
                      " (now() - make_interval(days => %s), 'x', 'y')", (days,))
    # RETENTION_DAYS (7) does not apply: entries of 30 and 364 days stay.
    assert _prune_all(db_url, "audit_log") == 2
    assert sorted(r[0] for r in query(db_url, "SELECT extract(day FROM now() - at)::int"
                                              " FROM audit_log")) == [30, 364]
    # A shorter audit limit is honoured too.
    assert _prune_all(db_url, "audit_log", limits=retention.Limits(7, 100)) == 1


def test_rule_table_names_match_their_queries():
    assert set(retention.TABLES) == {k.split(".", 1)[1] for k in Q if k.startswith("retention.")}


# -- batches and locks ---------------------------------------------------------------------

def test_a_batch_deletes_at_most_its_size_oldest_first(db_url):
    query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  " processed_at) SELECT n, 1, 'message', '{}', 'done',"
                  " now() - interval '30 days' + n * interval '1 minute', now()"
                  " FROM generate_series(1, 25) n")
    conn = psycopg2.connect(db_url)
    try:
        deleted = []
        for _ in range(4):
            with conn:
                deleted.append(retention.prune_batch(conn, "inbox", _now(db_url), LIMITS, 10))
            if deleted[-1] == 10:
                left = [r[0] for r in query(db_url, "SELECT update_id FROM inbox ORDER BY 1")]
                assert left == list(range(sum(deleted) + 1, 26))  # the oldest went first
    finally:
        conn.close()
    assert deleted == [10, 10, 5, 0]


def test_a_row_the_bot_holds_is_passed_over_not_waited_for(db_url):
    for update_id in (1, 2, 3):
        _inbox(db_url, update_id, "done", OLD)
    holder = psycopg2.connect(db_url)
    pruner = psycopg2.connect(db_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1 FROM inbox WHERE update_id = 2 FOR UPDATE")
        with pruner, pruner.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '1s'")  # waiting would fail the statement
            assert retention.prune_batch(pruner, "inbox", _now(db_url), LIMITS, 10) == 2
        holder.rollback()
    finally:
        holder.close()
        pruner.close()
    assert query(db_url, "SELECT update_id FROM inbox") == [(2,)]
    assert _prune_all(db_url, "inbox") == 1  # the next run takes it


# -- files, floods -------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["failed", "dropped"])
def test_a_file_loses_its_bytes_as_soon_as_its_call_is_given_up(db_url, status):
    (row_id,) = query(db_url, "INSERT INTO outbox (chat_id, method, params, file_field,"
                              " file_name, file_bytes, status, claim_token, lease_until)"
                              " VALUES (7, 'sendDocument', '{}', 'document', 'members.csv',"
                              " 'Anna;+15551000001', 'sending', 42, now() + interval '1 minute')"
                              " RETURNING id")[0]
    query(db_url, Q["outbox.mark_failed"], {"id": row_id, "token": 42, "status": status,
                                            "error": "Bad Request: file too big"})
    assert query(db_url, "SELECT status, file_name, file_bytes FROM outbox") == \
        [(status, "members.csv", None)]


def test_an_update_skipped_by_flood_control_keeps_only_its_id(db_url):
    _inbox(db_url, 9, "pending", "now()")
    query(db_url, "UPDATE inbox SET payload = %s WHERE update_id = 9",
          (Json({"update_id": 9, "message": {"text": "+15551000001 spam"}}),))
    query(db_url, Q["inbox.finish"], {"update_id": 9, "status": "skipped",
                                      "error": "flood control", "attempted": 0})
    assert query(db_url, "SELECT status, payload FROM inbox") == \
        [("skipped", {"update_id": 9})]


def test_a_processed_update_keeps_its_payload_until_retention(db_url):
    _inbox(db_url, 9, "pending", "now()")
    query(db_url, "UPDATE inbox SET payload = '{\"update_id\": 9, \"message\": {}}'")
    query(db_url, Q["inbox.finish"], {"update_id": 9, "status": "done", "error": None,
                                      "attempted": 0})
    assert query(db_url, "SELECT payload FROM inbox") == [({"update_id": 9, "message": {}},)]


# -- update ids used again -----------------------------------------------------------------

@pytest.fixture
def pool(db_url):
    p = Pool(db_url, minconn=1, maxconn=4)
    yield p
    p.close()


def _update(update_id: int, chat: int, text: str) -> dict:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 1, "text": text,
                                                "chat": {"id": chat, "type": "private"}}}


def test_an_update_id_used_again_after_a_day_is_a_new_update(db_url, pool):
    # Update 5 of chat 1, processed two days ago, answered by outbox row `old_reply`.
    query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  " processed_at, scrub_when_done) VALUES (5, 1, 'message', %s, 'done',"
                  " now() - interval '2 days', now() - interval '2 days', true)",
          (Json(_update(5, 1, "old")),))
    (old_reply,) = query(db_url, "INSERT INTO outbox (chat_id, method, params, status,"
                                 " update_id) VALUES (1, 'sendMessage', '{}', 'sent', 5)"
                                 " RETURNING id")[0]
    assert store_updates(pool, [_update(5, 2, "new")]) == [(5, 2)]
    # An erasure's flag on the old row does not carry over to the new update.
    assert query(db_url, "SELECT chat_id, status, attempts, processed_at,"
                         " payload->'message'->>'text', received_at > now() - interval '1 minute',"
                         " scrub_when_done FROM inbox") == [(2, "pending", 0, None, "new", True,
                                                             False)]
    # The old reply is no longer taken for one of the new update's.
    assert query(db_url, "SELECT update_id FROM outbox WHERE id = %s", (old_reply,)) == [(None,)]


@pytest.mark.parametrize("status, age", [("done", "1 hour"), ("pending", "3 days")])
def test_a_redelivery_within_a_day_or_of_a_pending_update_is_ignored(db_url, pool, status,
                                                                     age):
    processed = "NULL" if status == "pending" else "now()"
    query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  f" processed_at) VALUES (5, 1, 'message', %s, %s, now() - interval '{age}',"
                  f" {processed})", (Json(_update(5, 1, "first")), status))
    query(db_url, "INSERT INTO outbox (chat_id, method, params, status, update_id)"
                  " VALUES (1, 'sendMessage', '{}', 'sent', 5)")
    assert store_updates(pool, [_update(5, 1, "first")]) == []
    assert query(db_url, "SELECT status, payload->'message'->>'text' FROM inbox") == \
        [(status, "first")]
    assert query(db_url, "SELECT update_id FROM outbox") == [(5,)]


# -- the job -------------------------------------------------------------------------------

def test_the_sweep_works_through_every_table_in_batches_and_logs_counts_only(
        db_url, monkeypatch, caplog):
    monkeypatch.setattr(job, "BATCH", 4)
    monkeypatch.setattr(job, "PAUSE_SECONDS", 0)
    query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  " processed_at) SELECT n, 1, 'message', '{}', 'done', now() - interval"
                  " '9 days', now() FROM generate_series(1, 10) n")
    query(db_url, "INSERT INTO outbox (chat_id, method, params, status, created_at)"
                  " SELECT 1, 'sendMessage', '{}', 'sent', now() - interval '9 days'"
                  " FROM generate_series(1, 5)")
    query(db_url, "INSERT INTO audit_log (at, action, entity)"
                  " VALUES (now() - interval '400 days', 'x', 'y'), (now(), 'x', 'y')")
    registry = Registry()
    registry.register(job.SWEEP_KIND, every=job.SWEEP_SECONDS)(job.retention_sweep)
    pool = Pool(db_url, minconn=1, maxconn=2)
    try:
        pool.run(lambda conn: ensure_recurring(conn, job.SWEEP_KIND, job.SWEEP_SECONDS))
        runner = Runner(pool=pool, registry=registry, threads=1, poll_seconds=0.05)
        with caplog.at_level(logging.INFO, logger="fitclub.jobs.retention"):
            started = time.monotonic()
            while time.monotonic() - started < 30 and runner.run_due(limit=1) == 1:
                pass
    finally:
        pool.close()
    assert query(db_url, "SELECT count(*) FROM inbox")[0][0] == 0
    assert query(db_url, "SELECT count(*) FROM outbox")[0][0] == 0
    assert query(db_url, "SELECT count(*) FROM audit_log")[0][0] == 1
    # Rests until the next hour with an empty payload.
    assert query(db_url, "SELECT status, payload, run_at > now() + interval '50 minutes'"
                         " FROM jobs WHERE kind = %s", (job.SWEEP_KIND,)) == \
        [("pending", {}, True)]
    lines = [r.getMessage() for r in caplog.records if r.name == "fitclub.jobs.retention"]
    assert len(lines) == 1, lines
    # inbox 10 rows in batches of 4 (4, 4, 2), outbox 5 (4, 1), 6 empty tables, audit 1.
    assert lines[0].startswith("retention: deleted inbox 10, outbox 5, audit_log 1 in 11 batches")
