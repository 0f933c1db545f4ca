"""Retention end to end: the bot answers an update whose id Telegram used again after a week
of silence, and keeps answering every member while its job deletes a large backlog."""

from __future__ import annotations

import re
import time

from psycopg2.extras import Json

from tests.e2e.harness import TOKEN, Stream, bot_texts, query, wait_until

OLD_ID = 41


def test_an_update_id_telegram_uses_again_after_a_week_is_answered(emu, launcher, db_url):
    # Update 41 came from another chat eight days ago, was processed and answered. Retention
    # keeps 30 days here, so its row is still stored when Telegram starts its ids again.
    query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  " processed_at) VALUES (%s, 999, 'message', %s, 'done',"
                  " now() - interval '8 days', now() - interval '8 days')",
          (OLD_ID, Json({"update_id": OLD_ID, "message": {"text": "n 7"}})))
    (old_reply,) = query(db_url, "INSERT INTO outbox (chat_id, method, params, status,"
                                 " update_id, created_at, sent_at) VALUES (999, 'sendMessage',"
                                 " '{}', 'sent', %s, now() - interval '8 days', now()"
                                 " - interval '8 days') RETURNING id", (OLD_ID,))[0]
    launcher.start(db_url, RETENTION_DAYS="30")
    emu.set_next_update_id(TOKEN, OLD_ID)
    zoe = emu.create_user("Zoe")
    assert zoe.send_text(TOKEN, "n 1") == OLD_ID
    wait_until(lambda: "ack 1" in bot_texts(emu, zoe.id), 20, "the answer to update 41")
    assert query(db_url, "SELECT chat_id, status, payload->'message'->>'text' FROM inbox"
                         " WHERE update_id = %s", (OLD_ID,)) == [(zoe.id, "done", "n 1")]
    # Its effect happened once, and its reply is the only one taken for update 41's.
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'e2e.effect'"
                         " AND entity_id = %s", (OLD_ID,)) == [(1,)]
    assert query(db_url, "SELECT chat_id, params->>'text' FROM outbox WHERE update_id = %s",
                 (OLD_ID,)) == [(zoe.id, "ack 1")]
    assert query(db_url, "SELECT update_id FROM outbox WHERE id = %s", (old_reply,)) == [(None,)]
    # The next id goes on as usual.
    zoe.send_text(TOKEN, "n 2")
    wait_until(lambda: "ack 2" in bot_texts(emu, zoe.id), 20, "the answer to update 42")
    assert bot_texts(emu, zoe.id) == ["ack 1", "ack 2"]


INBOX_ROWS = 60_000
OUTBOX_ROWS = 40_000


def _backlog(db_url: str) -> None:
    """100,000 rows past the limit: processed updates and sent messages of eight days ago."""
    query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload, status, received_at,"
                  " processed_at) SELECT 10000000 + n, n %% 500, 'message',"
                  " jsonb_build_object('update_id', 10000000 + n, 'message',"
                  "   jsonb_build_object('text', repeat('x', 200))), 'done',"
                  " now() - interval '8 days', now() - interval '8 days'"
                  " FROM generate_series(1, %s) n", (INBOX_ROWS,))
    query(db_url, "INSERT INTO outbox (chat_id, method, params, status, created_at, sent_at)"
                  " SELECT n %% 500, 'sendMessage', jsonb_build_object('text', repeat('y', 200)),"
                  " 'sent', now() - interval '8 days', now() - interval '8 days'"
                  " FROM generate_series(1, %s) n", (OUTBOX_ROWS,))


def _old_rows(db_url: str) -> int:
    return query(db_url, "SELECT (SELECT count(*) FROM inbox WHERE update_id > 10000000)"
                         " + (SELECT count(*) FROM outbox WHERE created_at"
                         "    < now() - interval '7 days')")[0][0]


def test_the_bot_answers_everyone_while_retention_deletes_a_large_backlog(
        emu, launcher, db_url):
    _backlog(db_url)
    stream = Stream(emu, 20, prefix="member")
    run = launcher.start(db_url)  # the sweep is due at start: it begins at once
    rounds_during = 0
    deadline = time.monotonic() + 240
    while _old_rows(db_url) and time.monotonic() < deadline:
        stream.send(1)  # every member sends one more message
        rounds_during += 1
        time.sleep(0.3)
    assert _old_rows(db_url) == 0, "the backlog was not deleted in time"
    assert rounds_during >= 3, "the prune was over before the members had written"
    stream.wait_processed(db_url, 60)
    stream.assert_replies_exactly_once_in_order()
    stream.assert_effects_exactly_once(db_url)
    pattern = re.compile(r"retention: deleted inbox (\d+), outbox (\d+)")
    line = wait_until(lambda: pattern.search(run.log_text()), 30, "the sweep's log line")
    assert (int(line[1]), int(line[2])) == (INBOX_ROWS, OUTBOX_ROWS)
