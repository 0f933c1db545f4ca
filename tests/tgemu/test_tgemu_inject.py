"""Raw update injection: any Update JSON reaches the bot as it is, by getUpdates or webhook."""

import json

import pytest
import requests

from tests.tgemu.test_tgemu_updates import receiver  # noqa: F401 - the webhook fixture
from tgemu.client import RemoteEmulator

UNKNOWN = {"update_id": 999, "shiny_new_kind": {"id": 7, "deep": {"list": [1, 2, 3]}}}
REACTION = {
    "update_id": 5,
    "message_reaction": {
        "chat": {"id": -1001234567890, "title": "Gym", "type": "supergroup"},
        "message_id": 3,
        "date": 1700000000,
        "old_reaction": [],
        "new_reaction": [{"type": "brand_new_reaction_type", "whatever": True}],
    },
}


def _raw_updates(emu, token, **params) -> list[dict]:
    """getUpdates over plain HTTP: the JSON exactly as a bot receives it."""
    resp = requests.post(emu.api_url.format(token, "getUpdates"), json=params, timeout=10)
    return resp.json()["result"]


def test_an_unknown_kind_arrives_as_it_is_with_the_bots_next_id(emu, token):
    ann = emu.create_user(first_name="Ann")
    first = ann.send_text(token, "hi")
    uid = emu.inject_update(token, UNKNOWN)
    assert uid == first + 1  # the given update_id 999 is replaced
    (raw,) = _raw_updates(emu, token, offset=uid)
    assert raw == {**UNKNOWN, "update_id": uid}
    assert emu.unanswered(token) == []  # delivered; no chat, so no answer is expected
    with pytest.raises(ValueError):
        emu.wait_answered(token, uid, timeout=0.1)


def test_a_missing_update_id_is_assigned(emu, token):
    shape = {"poll": {"id": "p1", "question": "Yoga?", "options": [], "total_voter_count": 0}}
    uid = emu.inject_update(token, shape)
    assert _raw_updates(emu, token) == [{"update_id": uid, **shape}]


def test_allowed_updates_filters_known_kinds_but_not_unknown_ones(emu, token):
    _raw_updates(emu, token, allowed_updates=["message"])
    assert emu.inject_update(token, REACTION) is None
    uid = emu.inject_update(token, UNKNOWN)
    assert [u["update_id"] for u in _raw_updates(emu, token)] == [uid]
    assert emu.stats(token)["updates_filtered"] == 1


def test_message_reaction_is_off_by_default_as_on_telegram(emu, token):
    assert emu.inject_update(token, REACTION) is None
    _raw_updates(emu, token, allowed_updates=["message_reaction"])
    uid = emu.inject_update(token, REACTION)
    assert _raw_updates(emu, token) == [{**REACTION, "update_id": uid}]


def test_an_injected_private_message_can_be_answered_and_is_timed(bot, emu, token):
    big_id = 2**32 + 5  # ids above 2^32 exist
    update = {
        "message": {
            "message_id": 40,
            "from": {"id": big_id, "is_bot": False, "first_name": "Zed", "language_code": "de"},
            "chat": {"id": big_id, "first_name": "Zed", "type": "private"},
            "date": 1700000000,
            "text": "hello",
            "forward_origin": {"type": "future_origin", "date": 1},
        }
    }
    uid = emu.inject_update(token, update)
    (raw,) = _raw_updates(emu, token)
    assert raw["message"] == update["message"]
    assert emu.unanswered(token) == [uid]
    # Over plain HTTP: pyTelegramBotAPI cannot parse the reply, which quotes the unknown origin.
    reply = requests.post(
        emu.api_url.format(token, "sendMessage"),
        json={"chat_id": big_id, "text": "hi", "reply_to_message_id": 40},
        timeout=10,
    ).json()["result"]
    assert reply["message_id"] == 41  # message ids continue after the injected one
    assert reply["reply_to_message"]["forward_origin"]["type"] == "future_origin"
    assert emu.wait_answered(token, uid, timeout=1) >= 0
    zed = emu.user(big_id)
    assert zed.data.first_name == "Zed" and zed.data.language_code == "de"
    assert [m["text"] for m in zed.read_messages(token)] == ["hi"]


def test_an_injected_callback_query_can_be_answered(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "/start")
    query = {
        "id": "4382bfdwdsb323b2d9",
        "from": ann.data.as_user(),
        "message": {
            "message_id": 1,
            "chat": ann.data.as_chat(),
            "date": 1700000000,
            "text": "/start",
        },
        "chat_instance": "1",
        "data": "forged:\x00junk",
    }
    uid = emu.inject_update(token, {"callback_query": query})
    _raw_updates(emu, token)
    assert bot.answer_callback_query(query["id"], "no longer available") is True
    assert emu.wait_answered(token, uid, timeout=1) >= 0


def test_an_injected_group_message_without_from_registers_the_group(bot, emu, token):
    chat = {"id": -1009876543210, "title": "Gym", "type": "supergroup"}
    added = {
        "my_chat_member": {
            "chat": chat,
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "date": 1700000000,
            "old_chat_member": {
                "user": {"id": 1, "is_bot": True, "first_name": "b"},
                "status": "left",
            },
            "new_chat_member": {
                "user": {"id": 1, "is_bot": True, "first_name": "b"},
                "status": "member",
            },
        }
    }
    emu.inject_update(token, added)
    post = {
        "message_id": 9,
        "sender_chat": chat,
        "chat": chat,
        "date": 1700000000,
        "text": "/help",
    }
    uid = emu.inject_update(token, {"message": post})
    assert _raw_updates(emu, token, offset=uid) == [{"update_id": uid, "message": post}]
    assert emu.unanswered(token) == []
    assert bot.send_message(chat["id"], "I work in private chats").chat.id == chat["id"]
    assert bot.leave_chat(chat["id"]) is True
    assert emu.group(chat["id"]).bot_status(token) == "left"


def test_injection_reaches_the_webhook_as_it_is(bot, emu, token, receiver):  # noqa: F811
    hook = receiver()
    bot.set_webhook(url=hook.url)
    uid = emu.inject_update(token, UNKNOWN)
    ((_, body),) = hook.wait_for(1)
    assert body == {**UNKNOWN, "update_id": uid}


def test_control_inject_and_the_remote_client(emu, token):
    emu.add_bot(token)
    resp = requests.post(
        emu.base_url + "/control/inject",
        data=json.dumps({"token": token, "update": UNKNOWN}),
        timeout=10,
    )
    first = resp.json()["update_id"]
    with RemoteEmulator(emu.base_url) as remote:
        second = remote.inject_update(token, {"edited_message": {"message_id": 1}})
    assert second == first + 1
    kinds = [sorted(u) for u in _raw_updates(emu, token)]
    assert kinds == [["shiny_new_kind", "update_id"], ["edited_message", "update_id"]]
    bad = requests.post(emu.base_url + "/control/inject", json={"update": [1]}, timeout=10)
    assert bad.status_code == 400


def test_an_injected_message_in_a_new_group_makes_the_bot_a_member(bot, emu, token):
    chat = {"id": -4123456789, "title": "Old group", "type": "group"}
    ann = {"id": 77, "is_bot": False, "first_name": "Ann"}
    msg = {"message_id": 3, "from": ann, "chat": chat, "date": 1700000000, "text": "hi"}
    emu.inject_update(token, {"message": msg})
    assert emu.group(chat["id"]).bot_status(token) == "member"
    assert bot.send_message(chat["id"], "hello").message_id == 4
