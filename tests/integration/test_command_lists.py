"""Command lists go through the outbox; one Telegram refuses is logged and changes nothing else."""

from __future__ import annotations

import logging
import time

from psycopg2.extras import Json

from fitclub.app import create_app
from fitclub.commands import ADMIN, command_list, default_calls
from fitclub.config import Settings
from fitclub.db.pool import Pool
from fitclub.locales import Texts
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.sender import Sender
from fitclub.runtime.telegram import BotApi
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

