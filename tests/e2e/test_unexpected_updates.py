"""What real Telegram sends besides the happy path.

Groups and channels the bot is added to, and a feed of raw update shapes injected as they
are (tgemu's inject call): nothing fails, nothing is said in a group or channel except one
goodbye, every private text gets exactly one answer.
"""

from __future__ import annotations

import itertools
import time

from tests.e2e.harness import TOKEN, inbox_status, query, wait_until

NOW = int(time.time())
_ids = itertools.count(1)
BIG_USER = 5_000_000_000  # above 2^32: ids are 64-bit


def _user(uid: int, lang: str = "en") -> dict:
    return {"id": uid, "is_bot": False, "first_name": f"U{uid}", "language_code": lang}


def _private(uid: int, **content) -> dict:
    return {"message": {"message_id": next(_ids), "date": NOW, "from": _user(uid),
                        "chat": {"id": uid, "type": "private", "first_name": f"U{uid}"},
                        **content}}


def _group(chat_id: int, kind: str = "group", sender: dict | None = None, **content) -> dict:
    msg = {"message_id": next(_ids), "date": NOW,
           "chat": {"id": chat_id, "type": kind, "title": "Gym chat"}, **content}
    if sender is not None:
        msg["from"] = sender
    return {"message": msg}


def _cmd(text: str) -> dict:
    word = text.split(maxsplit=1)[0]
    return {"text": text, "entities": [{"type": "bot_command", "offset": 0,
                                        "length": len(word)}]}


def feed(bot_username: str, base: int) -> tuple[list[dict], dict[int, int]]:
    """(updates, {private user id: texts that must get exactly one answer})."""
    u = itertools.count(base)
    texts: dict[int, int] = {}

    def text_from(uid: int, text: str, answered: bool = True) -> dict:
        if answered:
            texts[uid] = texts.get(uid, 0) + 1
        return _private(uid, **(_cmd(text) if text.startswith("/") else {"text": text}))

    group, supergroup, channel = -4_000_000_001, -1_001_000_000_001, -1_001_000_000_002
    sticker = {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False}
    photo = [{"file_id": "p1", "file_unique_id": "p1", "width": 90, "height": 90}]
    poll = {"id": "poll1", "question": "Yoga or HIIT?", "options": [
        {"text": "Yoga", "voter_count": 0, "persistent_id": "a"},
        {"text": "HIIT", "voter_count": 0, "persistent_id": "b"}],
        "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
        "allows_multiple_answers": False}
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                 "username": "GroupAnonymousBot"}
    member = {"user": _user(99), "status": "member"}
    updates = [
        text_from(next(u), "hello"),
        text_from(next(u), "/help"),
        text_from(next(u), f"/help@{bot_username}"),
        text_from(next(u), "/help@SomeOtherBot", answered=False),
        text_from(next(u), "/schedule@someotherbot", answered=False),
        text_from(next(u), "/nonsense"),
        text_from(next(u), "<b>Anna</b> & co 💪"),
        text_from(next(u), "שלום, مرحبا"),
        text_from(BIG_USER, "hi from a 64-bit id"),
        _private(next(u), sticker=sticker),
        _private(next(u), voice={"file_id": "v", "file_unique_id": "v", "duration": 2}),
        _private(next(u), photo=photo),
        _private(next(u), document={"file_id": "d", "file_unique_id": "d"}),
        _private(next(u), location={"latitude": 52.5, "longitude": 13.4}),
        _private(next(u), contact={"phone_number": "+49151", "first_name": "X"}),
        _private(next(u), poll=poll),
        _private(next(u), dice={"emoji": "🎲", "value": 3}),
        _private(next(u), video_note={"file_id": "n", "file_unique_id": "n", "length": 1,
                                      "duration": 1}),
        _private(next(u), venue={"location": {"latitude": 1.0, "longitude": 2.0},
                                 "title": "Gym", "address": "Main st"}),
        {**text_from(next(u), "forwarded text")},
        _private(next(u), text="from a hidden user",
                 forward_origin={"type": "hidden_user", "date": NOW,
                                 "sender_user_name": "Ghost"}),
        _private(next(u), text="from a channel", forward_origin={
            "type": "channel", "date": NOW, "message_id": 5,
            "chat": {"id": channel, "type": "channel", "title": "News"}}),
        _private(next(u), text="a future origin",
                 forward_origin={"type": "future_origin_kind", "date": NOW}),
        {"edited_message": _private(next(u), text="edited", edit_date=NOW)["message"]},
        {"callback_query": {"id": "cq1", "from": _user(next(u)), "chat_instance": "1",
                            "data": "garbage:%%%"}},
        {"callback_query": {"id": "cq2", "from": _user(next(u)), "chat_instance": "2",
                            "game_short_name": "game"}},
        {"inline_query": {"id": "iq1", "from": _user(next(u)), "query": "yoga",
                          "offset": ""}},
        {"chosen_inline_result": {"result_id": "r1", "from": _user(next(u)), "query": "y"}},
        {"poll": poll},
        {"poll_answer": {"poll_id": "poll1", "user": _user(next(u)), "option_ids": [0]}},
        {"chat_join_request": {"chat": {"id": supergroup, "type": "supergroup",
                                        "title": "Gym"}, "from": _user(next(u)),
                               "user_chat_id": 5, "date": NOW}},
        {"message_reaction": {"chat": {"id": group, "type": "group", "title": "Gym chat"},
                              "message_id": 1, "user": _user(next(u)), "date": NOW,
                              "old_reaction": [],
                              "new_reaction": [{"type": "future_reaction", "x": 1}]}},
        {"message_reaction_count": {"chat": {"id": channel, "type": "channel", "title": "N"},
                                    "message_id": 1, "date": NOW, "reactions": []}},
        {"chat_member": {"chat": {"id": group, "type": "group", "title": "Gym chat"},
                         "from": _user(next(u)), "date": NOW, "old_chat_member": member,
                         "new_chat_member": {**member, "status": "left"}}},
        {"channel_post": {"message_id": next(_ids), "date": NOW, "text": "/help",
                          "chat": {"id": channel, "type": "channel", "title": "News"},
                          "sender_chat": {"id": channel, "type": "channel", "title": "News"}}},
        {"edited_channel_post": {"message_id": 1, "date": NOW, "edit_date": NOW, "text": "x",
                                 "chat": {"id": channel, "type": "channel", "title": "N"}}},
        _group(group, sender=_user(next(u)), text="hello everyone"),
        _group(group, sender=_user(next(u)), **_cmd("/help")),
        _group(supergroup, "supergroup", sender=_user(next(u)), **_cmd("/start")),
        _group(group, **_cmd("/help")),  # no `from`: the group itself
        _group(supergroup, "supergroup", sender=anonymous,
               sender_chat={"id": supergroup, "type": "supergroup", "title": "Gym"},
               **_cmd("/help")),
        _group(group, sender=_user(next(u)), new_chat_members=[_user(next(u))]),
        {"pre_checkout_query": {"id": "pc", "from": _user(next(u)), "currency": "EUR",
                                "total_amount": 100, "invoice_payload": "x"}},
        {"shipping_query": {"id": "sq", "from": _user(next(u)), "invoice_payload": "x",
                            "shipping_address": {"country_code": "DE", "state": "",
                                                 "city": "B", "street_line1": "s",
                                                 "street_line2": "", "post_code": "1"}}},
        {"chat_boost": {"chat": {"id": channel, "type": "channel", "title": "N"},
                        "boost": {"boost_id": "b", "add_date": NOW, "expiration_date": NOW,
                                  "source": {"source": "premium", "user": _user(7)}}}},
        {"some_update_from_the_future": {"id": 1, "from": _user(next(u))}},
        {"business_message": {"message_id": 1, "date": NOW, "business_connection_id": "bc",
                              "chat": {"id": 77, "type": "private"}, "text": "hi"}},
    ]
    return updates, texts


def test_a_feed_of_raw_update_shapes_fails_nothing_and_answers_each_private_text_once(
        emu, launcher, db_url):
    launcher.start(db_url)
    username = emu.bots()[0].username
    updates, texts = feed(username, base=700_000_001)
    assert len(updates) >= 40
    delivered = [emu.inject_update(TOKEN, update) for update in updates]
    # allowed_updates keeps out what the bot does not ask for (inline queries, polls...).
    delivered = [d for d in delivered if d is not None]
    assert len(delivered) >= 30

    def processed():
        statuses = inbox_status(db_url)
        return (statuses.get("pending", 0) == 0
                and sum(statuses.values()) == len(delivered)) or (statuses, len(delivered))

    wait_until(lambda: processed() is True, 30, "every delivered update to be processed")
    statuses = inbox_status(db_url)
    assert statuses.get("failed", 0) == 0, query(db_url, "SELECT kind, error FROM inbox"
                                                         " WHERE status = 'failed'")
    skipped = [error for (error,) in query(db_url, "SELECT error FROM inbox"
                                                   " WHERE status = 'skipped'")]
    assert any("future_origin_kind" in e for e in skipped), skipped
    assert sum("a command for @" in e for e in skipped) == 2, skipped

    replies = dict(query(db_url, "SELECT chat_id, count(*) FROM outbox"
                                 " WHERE method = 'sendMessage' GROUP BY chat_id"))
    to_groups = query(db_url, "SELECT chat_id, method FROM outbox WHERE chat_id < 0")
    assert to_groups == [], "nothing goes to a group or channel it was not added to"
    for uid, expected in texts.items():
        assert replies.get(uid) == expected, (uid, replies.get(uid))
    ignored = [u for u in range(700_000_004, 700_000_006)]  # the two other bots' commands
    assert all(uid not in replies for uid in ignored)


def test_added_to_a_group_it_says_goodbye_once_and_leaves(emu, launcher, db_url):
    launcher.start(db_url)
    anna, boris = emu.create_user("Anna"), emu.create_user("Boris", language_code="ru")
    group = emu.create_group("Morning yoga", members=[anna, boris])
    supergroup = emu.create_group("Club", members=[boris, anna], supergroup=True)
    channel = emu.create_channel("Club news", owner=anna)
    group.add_bot(TOKEN, by=anna)
    supergroup.add_bot(TOKEN, by=boris)
    channel.add_bot(TOKEN, by=anna)

    def left(chat) -> bool:
        return chat.bot_status(TOKEN) in ("left", "kicked")

    wait_until(lambda: left(group) and left(supergroup) and left(channel), 20,
               "the bot to leave the group, the supergroup and the channel")
    said = [e for e in group.transcript(TOKEN) if e["kind"] == "message"]
    assert len(said) == 1 and "private chats only" in said[0]["text"]
    said_ru = [e for e in supergroup.transcript(TOKEN) if e["kind"] == "message"]
    assert len(said_ru) == 1 and "только в личных чатах" in said_ru[0]["text"]
    assert [e for e in channel.transcript(TOKEN) if e["kind"] == "message"] == []
    wait_until(lambda: inbox_status(db_url).get("pending", 0) == 0, 15, "all processed")
    assert inbox_status(db_url).get("failed", 0) == 0
    assert len([e for e in group.transcript(TOKEN) if e["kind"] == "message"]) == 1
