"""The Bot API client: Telegram's answers become the right errors; tokens never leak."""

from __future__ import annotations

import json

import pytest

from fitclub.devdb import free_port
from fitclub.runtime.context import UpdateContext, bound
from fitclub.runtime.telegram import BotApi, HandlerCalledTelegram, NetworkError, TelegramError

TOKEN = "777777:" + "T" * 35


@pytest.mark.parametrize("status, body, code, retry_after", [
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
           "parameters": {"retry_after": 3}}, 429, 3),
    (403, {"ok": False, "error_code": 403,
           "description": "Forbidden: bot was blocked by the user"}, 403, None),
    (502, None, 502, None),
])
def test_error_answers_become_telegram_errors(status, body, code, retry_after):
    data = b"<html>Bad Gateway</html>" if body is None else json.dumps(body).encode()
    with pytest.raises(TelegramError) as err:
        BotApi._result("sendMessage", status, data)
    assert (err.value.code, err.value.retry_after) == (code, retry_after)
    assert err.value.blocked == (code == 403)
    assert err.value.transient == (code >= 500)


def test_ok_answer_returns_the_result():
    assert BotApi._result("getMe", 200, b'{"ok": true, "result": {"id": 1}}') == {"id": 1}


def test_network_error_names_the_method_but_not_the_token():
    api = BotApi(f"http://127.0.0.1:{free_port()}", TOKEN, connect_timeout=1)
    with pytest.raises(NetworkError) as err:
        api.call("sendMessage", {"chat_id": 1, "text": "x"})
    assert "sendMessage" in str(err.value)
    assert TOKEN not in str(err.value) and TOKEN not in repr(err.value)
    api.close()


def test_a_handler_calling_telegram_directly_is_stopped():
    api = BotApi(f"http://127.0.0.1:{free_port()}", TOKEN)
    ctx = UpdateContext(conn=None, chat_id=1, user_id=1, update_id=1)
    with bound(ctx), pytest.raises(HandlerCalledTelegram, match=r"ctx\.reply"):
        api.telebot_sender("post", f"{api.base_url}/bot{TOKEN}/sendMessage",
                           params={"chat_id": 1, "text": "x"})
    api.close()
