"""Which lane each update kind runs in, and which commands are another bot's."""

from __future__ import annotations

import pytest

from fitclub.runtime.raw_updates import addressed_elsewhere, classify, user_of

USER = {"id": 6, "is_bot": False, "first_name": "U"}
CHAT = {"id": -100, "type": "supergroup", "title": "G"}


@pytest.mark.parametrize(("kind", "body", "lane"), [
    ("inline_query", {"id": "q", "from": USER, "query": "", "offset": ""}, 6),
    ("chosen_inline_result", {"result_id": "r", "from": USER, "query": ""}, 6),
    ("poll_answer", {"poll_id": "p", "user": USER, "option_ids": [0]}, 6),
    ("poll_answer", {"poll_id": "p", "voter_chat": CHAT, "option_ids": [0]}, -100),
    ("shipping_query", {"id": "s", "from": USER, "invoice_payload": "x"}, 6),
    ("pre_checkout_query", {"id": "c", "from": USER, "currency": "EUR"}, 6),
    ("business_connection", {"id": "b", "user": USER, "user_chat_id": 6}, 6),
    ("purchased_paid_media", {"from": USER, "paid_media_payload": "x"}, 6),
    ("chat_join_request", {"chat": CHAT, "from": USER, "user_chat_id": 6}, -100),
    ("message_reaction", {"chat": CHAT, "message_id": 1, "user": USER}, -100),
    ("chat_boost", {"chat": CHAT, "boost": {}}, -100),
    ("channel_post", {"message_id": 1, "chat": CHAT, "sender_chat": CHAT}, -100),
    ("callback_query", {"id": "x", "from": USER, "inline_message_id": "i"}, 6),
    ("poll", {"id": "p", "question": "?"}, 0),
    ("some_future_kind", {"from": USER}, 6),
])
def test_updates_without_a_chat_run_in_their_users_lane(kind, body, lane):
    assert classify({"update_id": 1, kind: body}) == (kind, lane)


def test_a_message_without_from_has_no_user_and_runs_in_its_chats_lane():
    update = {"update_id": 1, "message": {"message_id": 1, "chat": CHAT, "sender_chat": CHAT}}
    assert classify(update) == ("message", -100)
    assert user_of(update, "message") == {}


@pytest.mark.parametrize(("text", "ours", "other"), [
    ("/help@other_bot", "club_bot", "other_bot"),
    ("/help@Club_Bot", "club_bot", None),
    ("/help@CLUB_BOT now", "club_bot", None),
    ("/help", "club_bot", None),
    ("hello @other_bot", "club_bot", None),
    ("/help@other_bot", None, None),  # our name not known yet: nothing is taken for another's
])
def test_commands_addressed_to_another_bot_are_told_apart(text, ours, other):
    update = {"update_id": 1, "message": {"chat": {"id": 1}, "text": text}}
    assert addressed_elsewhere(update, ours) == other


def test_classify_finds_the_chat_of_each_update_kind():
    msg = {"update_id": 1, "message": {"chat": {"id": 5}, "from": {"id": 6}}}
    cb = {"update_id": 2, "callback_query": {"from": {"id": 6}, "message": {"chat": {"id": 5}}}}
    inline = {"update_id": 3, "callback_query": {"from": {"id": 6}, "id": "x"}}
    odd = {"update_id": 4, "poll": {"id": "p"}}
    assert classify(msg) == ("message", 5)
    assert classify(cb) == ("callback_query", 5)
    assert classify(inline) == ("callback_query", 6)
    assert classify(odd) == ("poll", 0)
