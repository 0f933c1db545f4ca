"""Helpers for the scripted admin sessions of plans and memberships."""

from __future__ import annotations

import html
import re
import time

from fitclub.locales import Texts
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person


def plain(tx: Texts, key: str, **values) -> str:
    """A catalog message as Telegram shows it (tags gone, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", tx(key, **values)))


def plural(tx: Texts, key: str, n: int) -> str:
    """A plural catalog message as Telegram shows it."""
    return html.unescape(re.sub(r"<[^>]+>", "", tx.plural(key, n)))


def tap(emu, db_url: str, person: Person, message: dict, data: str) -> str:
    """Press data on a message as Telegram would deliver it, even when the message no longer
    shows that button (a double tap's second press, an old keyboard); the answer's text."""
    update_id = emu.inject_update(TOKEN, {"callback_query": {
        "id": f"tap-{time.monotonic_ns()}", "chat_instance": "1",
        "from": {"id": person.id, "is_bot": False, "first_name": "Ada"},
        "message": {"message_id": message["message_id"], "date": int(time.time()),
                    "chat": {"id": person.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"},
                    "text": message.get("text") or ""},
        "data": data}})
    # Everything the press sent (its answer, an edit) is delivered before the next step, so
    # that step never takes this answer for its own.
    sent = wait_until(lambda: (rows := query(
        db_url, "SELECT method, params->>'text', status = 'sent' FROM outbox"
                " WHERE update_id = %s ORDER BY id", (update_id,))) and all(
        done for _, _, done in rows) and rows, 15, f"the answer to {data} to be delivered")
    return next(text for method, text, _ in sent if method == "answerCallbackQuery")


def step(person: Person, text: str, expect: str) -> dict:
    """Type a step's value; the bot's next message, which must contain `expect`."""
    (reply,) = person.send(text)
    assert expect in reply["text"], reply["text"]
    return reply


def edited(person: Person, message: dict, check) -> dict:
    """Until the message (edited in place) passes check; the message then."""
    return wait_until(lambda: (m := person.now(message["message_id"])) and check(m) and m, 15,
                      f"message {message['message_id']} to change")
