"""Fixtures for tgemu's tests: a running emulator, a fresh token, pyTelegramBotAPI aimed at it."""

import secrets
import string

import pytest
import telebot
from telebot import apihelper

from tests.tgemu.echobot import EchoBot
from tgemu import Emulator

_ALPHABET = string.ascii_letters + string.digits + "_-"


def new_token() -> str:
    """A well-formed, random bot token."""
    return f"{secrets.randbelow(10**9) + 10**9}:" + "".join(
        secrets.choice(_ALPHABET) for _ in range(35)
    )


@pytest.fixture
def emu():
    """An emulator on a free port, with Telegram's default limits; stopped after the test."""
    emulator = Emulator(port=0, webhook_retry_base=0.2, webhook_timeout=5)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def token():
    return new_token()


@pytest.fixture
def api(emu, monkeypatch):
    """pyTelegramBotAPI pointed at the emulator (restored afterwards).

    Its getUpdates turns long_polling_timeout=0 into the default 10 s; a default of 0 makes a
    bare get_updates() a short poll, so tests wait only where they ask to.
    """
    monkeypatch.setattr(apihelper, "API_URL", emu.api_url)
    monkeypatch.setattr(apihelper, "LONG_POLLING_TIMEOUT", 0)
    monkeypatch.setattr(apihelper, "FILE_URL", emu.base_url + "/file/bot{0}/{1}")
    return apihelper


@pytest.fixture
def bot(api, token):
    """A TeleBot for direct calls from the test; no polling."""
    return telebot.TeleBot(token, threaded=False)


@pytest.fixture
def echo_bot(api, token):
    """The echo bot polling the emulator in a thread; stopped after the test."""
    running = EchoBot(token).start()
    try:
        yield running
    finally:
        running.stop()
