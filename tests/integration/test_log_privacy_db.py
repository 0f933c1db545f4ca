"""A database error quotes the row it refused (DETAIL: "Failing row contains (..., Zebulonia,
..., +15557308142, ...)", "Key (telegram_id)=(...) already exists"); the bot's log lines and
tracebacks never do (issue 17, finding 9). Real PostgreSQL, the real workers and log set-up."""

from __future__ import annotations

import io
import logging
import sys
import threading

import psycopg2
import pytest

from fitclub import logs
from fitclub.runtime.context import current
from tests import factories
from tests.integration.test_worker import Harness, _msg

NAME, PHONE, TELEGRAM_ID = "Zebulonia", "+15557308142", 731954268


def _refused(db_url: str, sql: str, params: tuple) -> psycopg2.Error:
    conn = psycopg2.connect(db_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
    except psycopg2.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("the database took the row")


@pytest.fixture
def bot_log(monkeypatch):
    """The bot's own log set-up (LOG_LEVEL=DEBUG) writing into a string."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root, telebot_log = logging.getLogger(), logging.getLogger("TeleBot")
    saved = root.handlers[:], root.level, telebot_log.level, sys.excepthook, \
        threading.excepthook
    logs.configure("DEBUG")
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]
    telebot_log.setLevel(saved[2])
    sys.excepthook, threading.excepthook = saved[3], saved[4]


def test_a_refused_row_is_described_by_sqlstate_and_constraint_only(db_url):
    factories.member(db_url, TELEGRAM_ID, NAME, phone=PHONE)
    duplicate = _refused(db_url, "INSERT INTO members (telegram_id, first_name, phone) "
                                 "VALUES (%s, %s, %s)", (TELEGRAM_ID, NAME, PHONE))
    bad_phone = _refused(db_url, "INSERT INTO members (telegram_id, first_name, phone) "
                                 "VALUES (%s, %s, %s)", (TELEGRAM_ID + 1, NAME, "x" + PHONE))
    # What the database says: the Telegram id, the name and the phone.
    assert str(TELEGRAM_ID) in str(duplicate)
    assert NAME in str(bad_phone) and PHONE in str(bad_phone)
    assert logs.describe(duplicate) == \
        "UniqueViolation: SQLSTATE 23505 (constraint members_telegram_id_key, table members)"
    assert logs.describe(bad_phone) == \
        "CheckViolation: SQLSTATE 23514 (constraint members_phone_check, table members)"


def test_a_handler_failing_on_a_refused_row_logs_its_update_not_the_row(db_url, bot_log):
    """The worker's retry lines, its give-up line and the traceback name the update and the
    constraint; the chat id, the name and the phone are nowhere in the log."""
    def handle(payload):
        with current().conn.cursor() as cur:
            cur.execute("INSERT INTO members (telegram_id, first_name, phone) "
                        "VALUES (%s, %s, %s)", (TELEGRAM_ID, NAME, "x" + PHONE))

    harness = Harness(db_url, handle, max_attempts=2)
    try:
        harness.feed([_msg(424242, TELEGRAM_ID, "hello")])
        harness.run_until_done(db_url)
    finally:
        harness.close()
    text = bot_log.getvalue()
    assert "update 424242 failed (attempt 1 of 2), retrying in 0.05s: CheckViolation: " \
           "SQLSTATE 23514 (constraint members_phone_check, table members)" in text
    assert "update 424242 failed for good after 2 attempts" in text
    assert "Traceback (most recent call last)" in text and "in handle" in text
    for secret in (NAME, PHONE, PHONE[1:], str(TELEGRAM_ID)):
        assert secret not in text, secret
