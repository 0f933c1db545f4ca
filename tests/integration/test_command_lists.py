"""Command lists go through the outbox; one Telegram refuses is logged and changes nothing else."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import UTC, datetime

import psycopg2
import pytest
from psycopg2.extras import Json

from fitclub import commands
from fitclub.app import create_app
from fitclub.commands import ADMIN, TRAINER, command_list, default_calls
from fitclub.config import Settings
from fitclub.db import members
from fitclub.db.members import Member
from fitclub.db.pool import Pool
from fitclub.locales import LANGUAGES, Texts
from fitclub.runtime.context import UpdateContext
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.sender import Sender
from fitclub.runtime.telegram import BotApi
from fitclub.screens import menu as menu_screens
from tests import factories
from tests.helpers import query
from tgemu import Emulator

TOKEN = "424243:" + "C" * 35


def _enqueue(db_url: str, chat_id: int, method: str, params: dict) -> None:
    query(db_url, "INSERT INTO outbox (chat_id, method, params) VALUES (%s, %s, %s)",
          (chat_id, method, Json(params)))


def test_a_refused_command_list_is_logged_and_the_chat_goes_on(db_url, caplog):
    with Emulator(global_rate=None, per_chat_rate=None) as emu:
        user = emu.create_user("Anna", language_code="ru")
        user.send_text(TOKEN, "/start")
        for method, params in default_calls():
            _enqueue(db_url, 0, method, params)
        bad = {"commands": [{"command": "Not Valid!", "description": "x"}],
               "scope": {"type": "chat", "chat_id": user.id}}
        good = {"commands": command_list(Texts("ru"), ("start", "help")),
                "scope": {"type": "chat", "chat_id": user.id}}
        _enqueue(db_url, user.id, "setMyCommands", bad)
        _enqueue(db_url, user.id, "sendMessage", {"chat_id": user.id, "text": "still here"})
        _enqueue(db_url, user.id, "setMyCommands", good)
        pool, api = Pool(db_url, minconn=1, maxconn=6), BotApi(emu.base_url, TOKEN)
        sender = Sender(pool=pool, api=api, metrics=Metrics(), rate=100, per_chat_rate=50,
                        threads=2)
        with caplog.at_level(logging.ERROR, logger="fitclub.runtime.sender"):
            sender.start()
            try:
                deadline = time.monotonic() + 15
                while query(db_url, "SELECT count(*) FROM outbox WHERE status IN"
                                    " ('pending', 'sending')")[0][0]:
                    assert time.monotonic() < deadline, "outbox did not settle"
                    time.sleep(0.05)
            finally:
                sender.stop(5)
                api.close()
                pool.close()
        statuses = query(db_url, "SELECT method, status FROM outbox WHERE chat_id = %s"
                                 " ORDER BY id", (user.id,))
        assert statuses == [("setMyCommands", "failed"), ("sendMessage", "sent"),
                            ("setMyCommands", "sent")]
        assert any("setMyCommands" in r.getMessage() for r in caplog.records)
        assert [m["text"] for m in user.read_messages(TOKEN)] == ["still here"]
        shown = emu.commands_for(TOKEN, user.id, "ru")
        assert [c["command"] for c in shown] == ["start", "help"]
        assert [c["command"] for c in emu.commands_for(TOKEN, 999_999_999, "ru")] == \
            ["start", "help"], "the default Russian list for everyone else"


def test_admins_promoted_at_start_are_audited_and_get_the_admin_list(db_url):
    people = {}
    for tg, name, role, lang, registered in ((701, "Demoted", "member", "ru", True),
                                             (702, "Trainer", "trainer", "en", True),
                                             (703, "Admin", "admin", "en", True),
                                             (704, "Halfway", "member", "en", False),
                                             (705, "Other", "member", "en", True)):
        people[tg] = factories.member(db_url, tg, name, role=role, language=lang,
                                      registered=registered)
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": db_url,
                                  "CARD_SECRET": "c" * 40, "METRICS_ADDR": "off",
                                  "DB_POOL_MIN": "1",
                                  "ADMIN_TELEGRAM_IDS": "701,702,703,704,706"},
                                 dotenv_path=None)
    pool = Pool(db_url, minconn=1, maxconn=2)
    app = create_app(settings, pool=pool, handler_modules=())
    try:
        app._promote_admins()
        app._promote_admins()  # a second start changes nothing more
    finally:
        app.api.close()
        pool.close()
    assert dict(query(db_url, "SELECT telegram_id, role FROM members")) == {
        701: "admin", 702: "admin", 703: "admin", 704: "member", 705: "member"}
    assert query(db_url, "SELECT actor_id, entity_id, details FROM audit_log"
                         " WHERE action = 'role.changed' ORDER BY entity_id") == [
        (None, people[701], {"from": "member", "to": "admin", "reason": "ADMIN_TELEGRAM_IDS"}),
        (None, people[702], {"from": "trainer", "to": "admin", "reason": "ADMIN_TELEGRAM_IDS"})]
    assert query(db_url, "SELECT chat_id, method, params FROM outbox ORDER BY chat_id") == [
        (tg, "setMyCommands", {"commands": command_list(Texts(lang), ADMIN),
                               "scope": {"type": "chat", "chat_id": tg}})
        for tg, lang in ((701, "ru"), (702, "en"))]



def _settle(db_url: str, emu: Emulator) -> None:
    """Deliver the whole outbox to the emulator with a real sender."""
    pool, api = Pool(db_url, minconn=1, maxconn=6), BotApi(emu.base_url, TOKEN)
    sender = Sender(pool=pool, api=api, metrics=Metrics(), rate=100, per_chat_rate=50,
                    threads=2)
    sender.start()
    try:
        deadline = time.monotonic() + 15
        while query(db_url, "SELECT count(*) FROM outbox WHERE status IN"
                            " ('pending', 'sending')")[0][0]:
            assert time.monotonic() < deadline, "outbox did not settle"
            time.sleep(0.05)
    finally:
        sender.stop(5)
        api.close()
        pool.close()


def test_a_role_change_while_the_start_up_list_waits_is_not_undone(db_url):
    with Emulator(global_rate=None, per_chat_rate=None) as emu:
        user = emu.create_user("Tom", language_code="en")
        tom = factories.member(db_url, user.id, "Tom", language="ru")
        conn = psycopg2.connect(db_url)
        try:
            with conn:
                assert commands.sync_batch(conn) == (1, None)  # his member list, priority 3
            with conn:  # meanwhile an admin makes him a trainer: the reply's priority
                with conn.cursor() as cur:
                    cur.execute("UPDATE members SET role = 'trainer' WHERE id = %s", (tom,))
                ctx = UpdateContext(conn, chat_id=0, user_id=None, update_id=None)
                commands.set_for_member(ctx, members.by_id(conn, tom), chat_id=user.id)
        finally:
            conn.close()
        _settle(db_url, emu)
        shown = emu.commands_for(TOKEN, user.id)
        assert shown == command_list(Texts("ru"), TRAINER)
        assert query(db_url, "SELECT priority, status, error FROM outbox"
                             " WHERE chat_id = %s ORDER BY id", (user.id,)) == [
            (3, "dropped", "superseded by a newer command list"), (0, "sent", None)]
        assert query(db_url, "SELECT fingerprint FROM command_lists WHERE chat_id = %s",
                     (user.id,)) == [(commands.fingerprint(shown),)]
        with psycopg2.connect(db_url) as conn2:
            assert commands.sync_batch(conn2) == (0, None)  # nothing left to do
        conn2.close()


def test_the_start_up_sync_goes_in_batches_behind_the_outbox_and_announcements(db_url):
    ids = [factories.member(db_url, 800 + i, f"M{i}", role=("member", "trainer", "admin")[i % 3],
                            language=("en", "ru")[i % 2]) for i in range(7)]
    factories.member(db_url, 900, "Erased", erased=True)
    factories.member(db_url, 901, "Blocked", blocked=True)
    factories.member(db_url, 902, "Halfway", registered=False)
    # An announcement is being sent: the sync waits until it is done.
    query(db_url, "INSERT INTO announcements (text, audience, status, sent_at, total)"
                  " VALUES ('News', 'all', 'sending', now(), 7)")
    pool = Pool(db_url, minconn=1, maxconn=3)
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(
        commands.sync(pool, stop, batch=3, tick=0.02)))
    most = 0
    try:
        worker.start()
        time.sleep(0.5)
        assert query(db_url, "SELECT count(*) FROM outbox") == [(0,)]
        query(db_url, "UPDATE announcements SET status = 'done', finished_at = now(),"
                      " sent_count = 7")
        deadline = time.monotonic() + 20
        while worker.is_alive():  # a slow sender: one row at a time
            assert time.monotonic() < deadline, "the sync did not finish"
            pending = query(db_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]
            most = max(most, pending)
            query(db_url, "UPDATE outbox SET status = 'sent' WHERE id = (SELECT min(id)"
                          " FROM outbox WHERE status = 'pending')")
            time.sleep(0.05)
        assert result == [7]
        assert 3 <= most <= 5, "a batch waits until fewer than a batch are pending"
        in_order = [chat for (chat,) in query(db_url, "SELECT chat_id FROM outbox ORDER BY id")]
        assert set(in_order[:4]) == {801, 802, 804, 805}, "trainers and admins first"
        sent = query(db_url, "SELECT chat_id, priority, params FROM outbox ORDER BY chat_id")
        assert [(chat, priority) for chat, priority, _ in sent] == [
            (800 + i, commands.PRIORITY_SYNC) for i in range(7)]
        people = dict(query(db_url, "SELECT telegram_id, (role, language)::text FROM members"
                                    " WHERE id = ANY(%s)", (ids,)))
        for chat, _, params in sent:
            role, lang = people[chat].strip("()").split(",")
            assert params == {"commands": commands.member_list(role, lang),
                              "scope": {"type": "chat", "chat_id": chat}}
        assert commands.sync(pool, stop) == 0  # the same version again: nothing
        # Telegram refused one (a passing error), one was dropped unsent (blocked then), and
        # one got "chat not found" (imported, never opened the chat): the next start tries
        # the first two again, and only those; the third is not tried at every start.
        query(db_url, "UPDATE outbox SET status = 'failed', error = 'Too Many Requests'"
                      " WHERE chat_id = 801")
        query(db_url, "UPDATE outbox SET status = 'dropped' WHERE chat_id = 802")
        query(db_url, "UPDATE outbox SET status = 'failed',"
                      " error = 'Bad Request: chat not found' WHERE chat_id = 803")
        assert commands.sync(pool, stop) == 2
        assert commands.sync(pool, stop) == 0
    finally:
        stop.set()
        worker.join(5)
        pool.close()
    assert query(db_url, "SELECT chat_id, count(*) FROM outbox GROUP BY chat_id"
                         " HAVING count(*) > 1 ORDER BY chat_id") == [(801, 2), (802, 2)]
    assert query(db_url, "SELECT count(*) FROM outbox") == [(9,)]
    # Member 803's /start (they opened the chat at last) queues their list; a second does not.
    conn = psycopg2.connect(db_url)
    try:
        for expected in (True, False):
            with conn:
                ctx = UpdateContext(conn, chat_id=803, user_id=803, update_id=None)
                assert commands.refresh(ctx, ctx.member) is expected
    finally:
        conn.close()
    assert query(db_url, "SELECT count(*) FROM outbox WHERE chat_id = 803 AND status ="
                         " 'pending'") == [(1,)]


def test_the_lists_before_registration_are_queued_once_per_version(db_url):
    conn = psycopg2.connect(db_url)
    try:
        for expected in (True, False):
            with conn:
                ctx = UpdateContext(conn, chat_id=0, user_id=None, update_id=None)
                assert commands.queue_defaults(ctx) is expected
        with conn, conn.cursor() as cur:  # another version's lists were queued last
            cur.execute("UPDATE command_lists SET fingerprint = '0123456789abcdef'")
        with conn:
            ctx = UpdateContext(conn, chat_id=0, user_id=None, update_id=None)
            assert commands.queue_defaults(ctx) is True
        # Telegram refused the last of them: the next start queues them again.
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE outbox SET status = 'failed' WHERE id = (SELECT max(id)"
                        " FROM outbox)")
        with conn:
            ctx = UpdateContext(conn, chat_id=0, user_id=None, update_id=None)
            assert commands.queue_defaults(ctx) is True
    finally:
        conn.close()
    assert query(db_url, "SELECT count(*) FROM outbox WHERE chat_id = 0") == [
        (3 * len(default_calls()),)]


def _commands_in(html: str) -> list[str]:
    return re.findall(r"(?<![\w/])/([a-z]+)", re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("role", sorted(commands.BY_ROLE))
def test_help_names_every_command_of_the_role_once(role, lang):
    """A command added to a role's "/" list must be added to help too (the staff's behind
    the button), and the first screen has only the member's."""
    tx = Texts(lang)
    person = Member(1, 1, "Ada", None, None, None, lang, role, datetime(2026, 1, 1, tzinfo=UTC),
                    True, None)
    first = menu_screens.help_screen(tx, person).text
    named = _commands_in(first)
    assert sorted(named) == sorted(set(commands.MEMBER) - {"help"})
    if person.is_staff:
        named += _commands_in(menu_screens.staff_help_screen(tx, person).text)
    assert sorted(named) == sorted(set(commands.BY_ROLE[role]) - {"help"})
