"""Flood limits, blocking, and injected faults, each counted."""

import time

import pytest
import requests
from telebot.apihelper import ApiTelegramException


@pytest.fixture
def started(emu, token):
    """Make n users who have started the bot."""

    def make(n):
        users = [emu.create_user(first_name=f"U{i}") for i in range(n)]
        for u in users:
            u.send_text(token, "/start")
        return users

    return make


def test_per_chat_limit_answers_429_with_retry_after(bot, emu, token, started):
    (ann,) = started(1)
    for i in range(3):  # the default burst
        bot.send_message(ann.id, f"m{i}")
    with pytest.raises(ApiTelegramException) as info:
        bot.send_message(ann.id, "one too many")
    assert info.value.error_code == 429
    assert info.value.description == "Too Many Requests: retry after 1"
    assert info.value.result_json["parameters"] == {"retry_after": 1}
    time.sleep(1.05)
    assert bot.send_message(ann.id, "after waiting").text == "after waiting"
    assert emu.stats(token)["rate_limited"] == 1


def test_global_limit_spans_chats(bot, emu, token, started):
    emu.configure(global_rate=5, per_chat_rate=None)
    users = started(6)
    for u in users[:5]:
        bot.send_message(u.id, "hi")
    with pytest.raises(ApiTelegramException) as info:
        bot.send_message(users[5].id, "hi")
    assert info.value.error_code == 429
    assert info.value.result_json["parameters"]["retry_after"] >= 1
    stats = emu.stats(token)
    assert (stats["rate_limited"], stats["http_429"], stats["sent_messages"]) == (1, 1, 5)


def test_a_group_takes_20_messages_a_minute(bot, emu, token, started):
    emu.configure(global_rate=None, per_chat_rate=None)
    group = emu.create_group("Gym", members=started(1), supergroup=True)
    group.add_bot(token)
    for i in range(20):
        bot.send_message(group.id, f"m{i}")
    with pytest.raises(ApiTelegramException) as info:
        bot.send_message(group.id, "one too many")
    assert info.value.error_code == 429
    assert info.value.result_json["parameters"]["retry_after"] == 3  # 60 s / 20
    emu.configure(per_group_per_minute=None)
    assert bot.send_message(group.id, "limit off").text == "limit off"


def test_limits_can_be_turned_off(bot, emu, token, started):
    emu.configure(global_rate=None, per_chat_rate=None)
    (ann,) = started(1)
    for i in range(50):
        bot.send_message(ann.id, f"m{i}")
    assert emu.stats(token)["rate_limited"] == 0


def test_blocked_user_gets_403_and_the_bot_learns_it(bot, emu, token, started):
    (ann,) = started(1)
    ann.block(token)
    with pytest.raises(ApiTelegramException) as info:
        bot.send_message(ann.id, "still there?")
    assert (info.value.error_code, info.value.description) == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    member = bot.get_updates()[-1].my_chat_member
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("member", "kicked")
    ann.unblock(token)
    assert bot.send_message(ann.id, "welcome back").text == "welcome back"


def test_injected_5xx_is_served_and_counted(bot, emu, token, started):
    (ann,) = started(1)
    emu.configure(fault_rate=1.0, fault_kinds=("5xx",))
    with pytest.raises(ApiTelegramException) as info:
        bot.send_message(ann.id, "hi")
    assert (info.value.error_code, info.value.description) == (500, "Internal Server Error")
    assert bot.get_updates(long_polling_timeout=0)  # update plumbing is spared
    emu.configure(fault_rate=0.0)
    bot.send_message(ann.id, "hi")
    stats = emu.stats(token)
    assert stats["faults"] == {"5xx": 1} and stats["sent_messages"] == 1


def test_injected_429_carries_the_configured_retry_after(bot, emu, token, started):
    (ann,) = started(1)
    emu.configure(fault_rate=1.0, fault_kinds=["429"], fault_retry_after=7)
    with pytest.raises(ApiTelegramException) as info:
        bot.send_message(ann.id, "hi")
    assert info.value.result_json["parameters"] == {"retry_after": 7}
    assert emu.stats(token)["http_429"] == 1


def test_injected_drop_closes_the_connection_without_an_answer(emu, token, started):
    (ann,) = started(1)
    emu.configure(fault_rate=1.0, fault_kinds=("drop",))
    with requests.Session() as s, pytest.raises(requests.ConnectionError):
        s.post(
            f"{emu.base_url}/bot{token}/sendMessage",
            params={"chat_id": ann.id, "text": "hi"},
            timeout=5,
        )
    assert emu.stats(token)["faults"] == {"drop": 1}
    assert emu.transcript(token, ann.id) == []  # a dropped call did nothing


def test_injected_lost_answer_delivers_but_never_answers(emu, token, started):
    (ann,) = started(1)
    emu.configure(fault_rate=1.0, fault_kinds=("lost",))
    with requests.Session() as s, pytest.raises(requests.ConnectionError):
        s.post(
            f"{emu.base_url}/bot{token}/sendMessage",
            params={"chat_id": ann.id, "text": "hi"},
            timeout=5,
        )
    assert emu.stats(token)["faults"] == {"lost": 1}
    assert [e["text"] for e in emu.transcript(token, ann.id)] == ["hi"]  # it did arrive


def test_injected_slow_answer_still_succeeds(bot, emu, token, started):
    (ann,) = started(1)
    emu.configure(fault_rate=1.0, fault_kinds=("slow",), slow_seconds=0.4)
    begun = time.monotonic()
    assert bot.send_message(ann.id, "slowly").text == "slowly"
    assert time.monotonic() - begun >= 0.4
    assert emu.stats(token)["faults"] == {"slow": 1}


def test_fault_rate_is_a_share_of_calls(emu, token, started):
    (ann,) = started(1)
    emu.configure(
        per_chat_rate=None, global_rate=None, fault_rate=0.3, fault_kinds=("5xx",), seed=7
    )
    with requests.Session() as s:
        codes = [
            s.get(
                f"{emu.base_url}/bot{token}/sendMessage",
                params={"chat_id": ann.id, "text": "x"},
                timeout=5,
            ).status_code
            for _ in range(300)
        ]
    failed = codes.count(500)
    assert 50 <= failed <= 130
    assert emu.stats(token)["faults_total"] == failed


def test_unknown_settings_are_refused(emu):
    with pytest.raises(TypeError, match="no_such_knob"):
        emu.configure(no_such_knob=1)
    with pytest.raises(ValueError, match="fault_kinds"):
        emu.configure(fault_kinds=("meteor",))
