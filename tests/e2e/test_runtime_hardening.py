"""Acceptance of the runtime against real Telegram shapes: button presses, priorities, odd
updates, commands for other bots, and health when the outbox cannot keep its promises."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.harness import TOKEN, bot_texts, inbox_status, query, wait_until


def _callback_answers(emu, user_id: int) -> list[str | None]:
    return [e["text"] for e in emu.transcript(TOKEN, user_id) if e["kind"] == "callback_answer"]


def _keyboard_messages(emu, users: list) -> list[int]:
    """Each user sends `btn k` (k its index); the message ids of the bot's `pick k` replies."""
    for k, user in enumerate(users):
        user.send_text(TOKEN, f"btn {k}")

    def shown():
        ids = [next((e["message_id"] for e in emu.transcript(TOKEN, user.id)
                     if e["kind"] == "message" and e["text"] == f"pick {k}"), None)
               for k, user in enumerate(users)]
        return None if None in ids else ids

    return wait_until(shown, 15, "every keyboard shown", interval=0.05)


@pytest.mark.parametrize("presses", [1, 100])
def test_button_presses_then_a_text_at_a_quiet_moment_are_all_answered(
        emu, launcher, db_url, presses):
    # answerCallbackQuery returns `true`, not a Message: a batch of such deliveries once
    # stopped the outbox for good. Here they are all recorded and the text after them is
    # answered as well.
    launcher.start(db_url)
    users = [emu.create_user(f"presser{i}") for i in range(presses)]
    keyboards = _keyboard_messages(emu, users)
    time.sleep(0.5)  # a quiet moment
    for i, (user, message_id) in enumerate(zip(users, keyboards, strict=True)):
        user.press_button(TOKEN, message_id, f"probe:{i}")
    wait_until(lambda: all(_callback_answers(emu, u.id) == [f"pressed {i}"]
                           for i, u in enumerate(users)), 20, "every press answered")
    time.sleep(0.5)
    users[0].send_text(TOKEN, "n 1")
    wait_until(lambda: "ack 1" in bot_texts(emu, users[0].id), 10, "the text answered")
    assert query(db_url, "SELECT status, count(*) FROM outbox WHERE method = "
                 "'answerCallbackQuery' GROUP BY status") == [("sent", presses)]


def test_a_reply_overtakes_an_announcement_queued_for_the_same_member(emu, launcher, db_url):
    launcher.start(db_url)
    user = emu.create_user("member")
    user.send_text(TOKEN, "n 1")
    wait_until(lambda: bot_texts(emu, user.id) == ["ack 1"], 10, "the first reply")
    # An announcement to this member, queued and held (not due for 3 s, as a paused sender or
    # a retry's wait would hold it): it is the head of the chat's queue by id.
    query(db_url, "INSERT INTO outbox (chat_id, method, params, priority, not_before) VALUES "
          "(%s, 'sendMessage', json_build_object('chat_id', %s, 'text', 'announcement'), 2, "
          "clock_timestamp() + interval '3 s')", (user.id, user.id))
    asked = time.monotonic()
    user.send_text(TOKEN, "n 2")
    wait_until(lambda: "ack 2" in bot_texts(emu, user.id), 10, "the reply")
    answered_in = time.monotonic() - asked
    wait_until(lambda: "announcement" in bot_texts(emu, user.id), 15, "the announcement")
    assert bot_texts(emu, user.id) == ["ack 1", "ack 2", "announcement"]
    assert answered_in < 2.5, f"the reply waited {answered_in:.1f}s"


def test_unparseable_fromless_and_other_bots_updates_fail_nothing_and_get_no_answer(
        emu, launcher, db_url):
    run = launcher.start(db_url)
    user = emu.create_user("plain")
    me = {"id": user.id, "is_bot": False, "first_name": "plain"}
    private = {"id": user.id, "type": "private", "first_name": "plain"}
    group = {"id": -100777, "type": "supergroup", "title": "Club fans"}
    odd = [
        # A forward from an origin type pyTelegramBotAPI does not know yet.
        {"message": {"message_id": 901, "date": int(time.time()), "chat": private, "from": me,
                     "text": "look", "forward_origin": {"type": "story_teller", "date": 0}}},
        # A reaction of a type it does not know.
        {"message_reaction": {"chat": private, "message_id": 1, "date": int(time.time()),
                              "user": me, "old_reaction": [],
                              "new_reaction": [{"type": "hologram"}]}},
        # An anonymous admin writing as the group: no `from` at all.
        {"message": {"message_id": 902, "date": int(time.time()), "chat": group,
                     "sender_chat": group, "text": "/help"}},
        # Our command, addressed to another bot.
        {"message": {"message_id": 903, "date": int(time.time()), "chat": private, "from": me,
                     "text": "/help@other_bot",
                     "entities": [{"type": "bot_command", "offset": 0, "length": 15}]}},
    ]
    ids = []
    for update in odd:
        update_id = emu.inject_update(TOKEN, update)
        if update_id is None:
            # Filtered by allowed_updates at tgemu: store it as one queued before the list
            # changed would be (the bot must cope with what is already in its inbox).
            update_id = 10_000_000 + len(ids)
            kind = next(iter(update))
            query(db_url, "INSERT INTO inbox (update_id, chat_id, kind, payload) VALUES "
                  "(%s, %s, %s, %s::jsonb)", (update_id, user.id, kind,
                                              json.dumps({"update_id": update_id, **update})))
        ids.append(update_id)
    # Then ours, addressed to us by name in another case: answered, so the others were seen.
    bot_name = run.log_text().split("bot username: @", 1)[1].split()[0]
    user.send_text(TOKEN, f"/help@{bot_name.upper()}")
    wait_until(lambda: bot_texts(emu, user.id), 15, "the answer to our own /help@bot")
    wait_until(lambda: all(s != "pending" for s in _statuses(db_url, ids).values()), 15,
               "the odd updates processed")
    statuses = _statuses(db_url, ids)
    assert statuses == dict.fromkeys(ids, "skipped") | {ids[2]: statuses[ids[2]]}
    assert statuses[ids[2]] in ("done", "skipped")  # handled as the group's, never failed
    assert inbox_status(db_url).get("failed", 0) == 0
    assert len(bot_texts(emu, user.id)) == 1, bot_texts(emu, user.id)
    assert emu.transcript(TOKEN, group["id"]) == []
    # The log says why in fixed words (a parse error's message, a name typed after "@", may
    # quote the update); the stored row keeps the particulars.
    log = run.log_text()
    assert "cannot parse its message: " in log and "cannot parse its message_reaction: " in log
    assert "a command for another bot" in log and "other_bot" not in log
    errors = dict(query(db_url, "SELECT update_id, error FROM inbox WHERE update_id = ANY(%s)",
                        (ids,)))
    assert "Unknown message origin type" in errors[ids[0]]
    assert "Unknown reaction type" in errors[ids[1]]
    assert errors[ids[3]] == "a command for @other_bot"


def _statuses(db_url: str, ids: list[int]) -> dict[int, str]:
    return dict(query(db_url, "SELECT update_id, status FROM inbox WHERE update_id = ANY(%s)",
                      (ids,)))


def test_healthz_is_503_while_deliveries_cannot_be_recorded(emu, launcher, db_url):
    run = launcher.start(db_url)
    user = emu.create_user("unrecorded")
    query(db_url, """
        CREATE FUNCTION refuse_sent() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'deliveries refused for the test'; END $$;
        CREATE TRIGGER refuse_sent BEFORE UPDATE ON outbox FOR EACH ROW
        WHEN (NEW.status = 'sent') EXECUTE FUNCTION refuse_sent();
    """)
    user.send_text(TOKEN, "n 1")
    _, body = wait_until(lambda: (h := run.healthz())[0] == 503 and h, 15,
                              "/healthz to turn 503")
    assert body["deliveries_unrecorded"] is True
    assert bot_texts(emu, user.id) == ["ack 1"]  # delivered once, only its record is missing
    # Claiming goes on: another chat is still answered.
    other = emu.create_user("other")
    other.send_text(TOKEN, "n 1")
    wait_until(lambda: bot_texts(emu, other.id) == ["ack 1"], 10, "the other chat answered")
    query(db_url, "DROP TRIGGER refuse_sent ON outbox")
    wait_until(lambda: run.healthz()[0] == 200, 15, "/healthz to recover")
    wait_until(lambda: query(db_url, "SELECT DISTINCT status FROM outbox") == [("sent",)], 5,
               "every delivery recorded")
    assert "deliveries cannot be recorded" in run.log_text()
    assert bot_texts(emu, user.id) == ["ack 1"]


def test_healthz_is_503_while_a_reply_has_waited_longer_than_the_set_age(emu, launcher,
                                                                          db_url):
    run = launcher.start(db_url, OUTBOX_REPLY_MAX_AGE=2)
    # A reply held back (as a long 429 or repeated 5xx would hold it) for longer than 2 s.
    query(db_url, "INSERT INTO outbox (chat_id, method, params, priority, created_at, "
          "not_before) VALUES (42, 'sendMessage', '{\"chat_id\": 42, \"text\": \"late\"}', 0, "
          "clock_timestamp() - interval '5 s', clock_timestamp() + interval '1 h')")
    status, body = run.healthz()
    assert status == 503 and body["reply_too_old"] is True, str(body)
    assert body["oldest_reply_seconds"] >= 5
    query(db_url, "DELETE FROM outbox WHERE chat_id = 42")
    assert run.healthz()[0] == 200
