"""Simulated users, transcripts, latency, the control API and the command line."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tgemu.client import RemoteEmulator

ROOT = Path(__file__).resolve().parents[2]


def test_user_chats_with_a_real_bot_and_presses_its_button(emu, token, echo_bot):
    ann = emu.create_user(first_name="Ann", username="ann", language_code="en")
    ann.send_text(token, "/start")
    (hello,) = ann.wait_for_messages(token, count=1, timeout=10)
    assert hello["text"] == "Hello, Ann!"
    button = hello["reply_markup"]["inline_keyboard"][0][0]
    ann.press_button(token, hello["message_id"], button["callback_data"])
    deadline = time.monotonic() + 10
    while ann.current_message(token, hello["message_id"])["text"] != "You pressed 1":
        assert time.monotonic() < deadline, "the bot never edited the message"
        time.sleep(0.02)
    events = emu.transcript(token, ann.id, include_user=True)
    assert [(e["from"], e["kind"]) for e in events] == [
        ("user", "message"),
        ("bot", "message"),
        ("user", "callback"),
        ("bot", "callback_answer"),
        ("bot", "edit"),
    ]


def test_update_carries_the_command_entity_and_the_user(bot, emu, token):
    ann = emu.create_user(first_name="Ann", username="ann", language_code="ru")
    ann.send_text(token, "/book@fitclub_bot yoga")
    msg = bot.get_updates()[0].message
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [("bot_command", 0, 17)]
    assert (msg.from_user.username, msg.from_user.language_code) == ("ann", "ru")
    assert msg.chat.type == "private" and msg.chat.id == ann.id


def test_contact_location_and_photo_reach_the_bot(bot, emu, token):
    ann = emu.create_user(first_name="Ann", phone_number="+15550001")
    ann.send_contact(token)
    ann.send_location(token, 55.75, 37.61)
    ann.send_photo(token, b"\xff\xd8photo-bytes", caption="me")
    contact, location, photo = (u.message for u in bot.get_updates())
    assert (contact.contact.phone_number, contact.contact.user_id) == ("+15550001", ann.id)
    assert (location.location.latitude, location.location.longitude) == (55.75, 37.61)
    file_path = bot.get_file(photo.photo[-1].file_id).file_path
    assert bot.download_file(file_path) == b"\xff\xd8photo-bytes" and photo.caption == "me"


def test_pressing_a_button_that_was_never_sent_is_refused(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "/start")
    plain = bot.send_message(ann.id, "no keyboard")
    with pytest.raises(LookupError):
        ann.press_button(token, plain.message_id, "anything")
    with pytest.raises(LookupError):
        ann.press_button(token, 1, "anything")  # the user's own message
    with pytest.raises(LookupError):
        ann.press_button(token, 999, "anything")


def test_wait_for_messages_times_out(emu, token):
    ann = emu.create_user(first_name="Ann")
    with pytest.raises(TimeoutError):
        ann.wait_for_messages(token, count=1, timeout=0.2)


def test_latency_runs_from_delivery_to_the_first_answering_call(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    uid = ann.send_text(token, "hi")
    time.sleep(0.2)  # waiting before getUpdates does not count
    bot.get_updates()
    time.sleep(0.1)
    bot.send_message(ann.id, "answer")
    latency = emu.latencies(token)[uid]
    assert 0.1 <= latency < 0.5
    pct = emu.latency_percentiles(token)
    assert pct["count"] == 1 and pct["p50"] == pct["max"] == latency


def test_answer_callback_query_answers_its_update(bot, emu, token):
    from telebot import types

    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "/start")
    kb = types.InlineKeyboardMarkup()
    kb.add(types.InlineKeyboardButton("A", callback_data="a"))
    msg = bot.send_message(ann.id, "pick", reply_markup=kb)
    uid = ann.press_button(token, msg.message_id, "a")
    query = bot.get_updates()[-1].callback_query
    assert emu.unanswered(token) == [1, uid]
    bot.answer_callback_query(query.id)
    assert uid in emu.latencies(token) and emu.unanswered(token) == [1]


def test_control_api_drives_a_user_from_another_process(emu, token, echo_bot):
    with RemoteEmulator(emu.base_url) as remote:
        ann = remote.create_user(first_name="Ann", username="ann")
        uid = ann.send_text(token, "/start")
        (hello,) = ann.wait_for_messages(token, 1, timeout=10)
        assert hello["text"] == "Hello, Ann!"
        assert remote.wait_answered(token, uid, timeout=5) >= 0
        ann.press_button(token, hello["message_id"], "press:1")
        deadline = time.monotonic() + 10
        while not any(e["kind"] == "edit" for e in remote.transcript(token, ann.id)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stats = remote.stats(token)
        assert stats["calls"]["sendMessage"] == 1 and stats["edits"] == 1
        assert remote.configure(fault_rate=0.5)["fault_rate"] == 0.5
        assert emu.config.fault_rate == 0.5
        with pytest.raises(TimeoutError):
            ann.wait_for_messages(token, 1, timeout=0.2)
        assert uid in remote.latencies(token)


def test_control_api_answers_json_errors(emu):
    with requests.Session() as s:
        missing = s.get(emu.base_url + "/control/nothing", timeout=5)
        no_user = s.post(
            emu.base_url + "/control/users/42/send_text",
            json={"token": "1:" + "a" * 35, "text": "x"},
            timeout=5,
        )
        page = s.get(emu.base_url + "/", timeout=5)
    assert missing.status_code == 404 and missing.json()["ok"] is False
    assert no_user.status_code == 404 and "42" in no_user.json()["error"]
    assert page.status_code == 200 and "tgemu web chat" in page.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line_serves_a_preregistered_bot(token):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tgemu", "--port", str(port), "--token", token],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        with requests.Session() as s:
            while True:
                try:
                    bots = s.get(f"http://127.0.0.1:{port}/control/bots", timeout=2).json()
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, "tgemu did not start"
                    time.sleep(0.1)
            assert [b["token"] for b in bots["bots"]] == [token]
            me = s.get(f"http://127.0.0.1:{port}/bot{token}/getMe", timeout=2).json()
        assert me["ok"] and me["result"]["is_bot"]
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_web_chat_view_serves_sent_files(bot, emu, token):
    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "/start")
    sent = bot.send_photo(ann.id, ("card.png", b"\x89PNG\r\n\x1a\nrest"), caption="card")
    view = emu.chat_state(token, ann.id)
    (photo,) = [m for m in view["messages"] if "photo" in m]
    assert photo["photo"] == sent.photo[-1].file_id and photo["caption"] == "card"
    with requests.Session() as s:
        resp = s.get(f"{emu.base_url}/control/files/{photo['photo']}", timeout=5)
    assert resp.content == b"\x89PNG\r\n\x1a\nrest"
    assert resp.headers["Content-Type"] == "image/png"
