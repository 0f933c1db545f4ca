"""Acceptance: a user who blocked the bot is recorded and gets no more sends; a poison update
is marked failed and its chat keeps working."""

from __future__ import annotations

from datetime import timedelta

from tests import factories
from tests.e2e.harness import TOKEN, bot_texts, query, record_calls, wait_until

MAX_ATTEMPTS = 3


def test_blocked_user_is_recorded_after_a_403_and_gets_no_more_sends(emu, launcher, db_url):
    """A user sends /start, `n 1`, `n 2`, `slow 2` and blocks the bot before it runs: the
    welcome gets 403 and the member's blocked_at is set by that 403 (their my_chat_member update
    still waits behind the slow one); the later replies, and a message another chat's update
    addresses to them, are dropped without a call. Their updates still take effect."""
    calls = record_calls(emu)
    blocker, other = emu.create_user("blocker"), emu.create_user("other")
    # A registered member: the 403 is recorded on their row.
    factories.member(db_url, blocker.id, "Blocker")
    for text in ("/start", "n 1", "n 2", "slow 2"):
        blocker.send_text(TOKEN, text)
    blocker.block(TOKEN)
    bot = launcher.start(db_url)

    wait_until(lambda: query(db_url, "SELECT blocked_at IS NOT NULL FROM members"
                                     " WHERE telegram_id = %s", (blocker.id,)) == [(True,)],
               15, "the member to be recorded as blocked")
    assert query(db_url, "SELECT status FROM inbox WHERE kind = 'my_chat_member'") == \
        [("pending",)], "blocked_at must come from the 403, not from the my_chat_member update"
    wait_until(lambda: query(db_url, "SELECT count(*) FROM inbox WHERE status = 'pending'")
               == [(0,)], 15, "every update to be processed")

    other.send_text(TOKEN, f"tell {blocker.id} we miss you")
    assert other.wait_for_messages(TOKEN, 1, timeout=10)[0]["text"] == f"told {blocker.id}"
    wait_until(lambda: query(db_url, "SELECT count(*) FROM outbox"
                                     " WHERE status IN ('pending', 'sending')") == [(0,)],
               15, "the outbox to settle")

    to_blocker = [method for _, method, chat in calls if chat == str(blocker.id)]
    assert to_blocker == ["sendMessage"], "only the send that got 403 may reach a blocked chat"
    assert emu.stats(TOKEN)["errors"] == {"Forbidden: bot was blocked by the user": 1}
    assert bot_texts(emu, blocker.id) == []
    # (His "/" command list, queued at start-up, is the bot's set-up, not a message to him.)
    rows = query(db_url, "SELECT params->>'text', status, error FROM outbox"
                         " WHERE chat_id = %s AND method <> 'setMyCommands' ORDER BY id",
                 (blocker.id,))
    assert [status for _, status, _ in rows] == ["dropped"] * 5, rows
    assert rows[0][2] == "Forbidden: bot was blocked by the user"
    assert [text for text, _, _ in rows[1:]] == ["ack 1", "ack 2", "slept 2", "we miss you"]
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'e2e.effect'") == [(3,)]
    assert bot.metric("fitclub_telegram_403_total") == 1


def test_poison_update_is_marked_failed_and_its_chat_keeps_working(emu, launcher, db_url):
    """An update whose handler always raises is tried MAX_ATTEMPTS times, its partial effect
    rolled back each time, then marked failed with one "Something went wrong" reply; the
    chat's next update (`n 1`, queued behind it) is then answered."""
    launcher.start(db_url, MAX_ATTEMPTS=MAX_ATTEMPTS)
    user = emu.create_user("poisoner")
    poison = user.send_text(TOKEN, "boom")
    after = user.send_text(TOKEN, "n 1")

    got = user.wait_for_messages(TOKEN, 2, timeout=20)
    assert [m["text"] for m in got] == [
        "Something went wrong on our side. Please try again in a moment.", "ack 1"]
    status, attempts, error = query(
        db_url, "SELECT status, attempts, error FROM inbox WHERE update_id = %s", (poison,))[0]
    assert (status, attempts) == ("failed", MAX_ATTEMPTS)
    assert "poison update" in error
    assert query(db_url, "SELECT status FROM inbox WHERE update_id = %s", (after,)) == \
        [("done",)]
    effects = dict(query(db_url, "SELECT entity_id, count(*) FROM audit_log"
                                 " WHERE action = 'e2e.effect' GROUP BY entity_id"))
    assert effects == {after: 1}, "the poison update's effect must have been rolled back"
    wait_until(lambda: len(bot_texts(emu, user.id)) >= 2, 5, "the replies")
    assert len(bot_texts(emu, user.id)) == 2


def test_a_member_marked_blocked_who_writes_later_is_answered_again(emu, launcher, db_url):
    """A 403 from before the user started the bot (or a missed unblock) marked them blocked;
    a message they send after it clears the mark, and the reply reaches them. Messages sent
    before the 403 (the test above) do not clear it."""
    person = emu.create_user("Late")
    factories.member(db_url, person.id, "Late", phone="+4915100001",
                     blocked=timedelta(minutes=-1))
    launcher.start(db_url)
    person.send_text(TOKEN, "/help")
    (reply,) = person.wait_for_messages(TOKEN, 1, timeout=10)
    assert reply["text"].startswith("FitClub bot\n/start – main menu")
    assert query(db_url, "SELECT blocked_at FROM members WHERE telegram_id = %s",
                 (person.id,)) == [(None,)]
