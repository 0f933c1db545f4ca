"""Update ids: Telegram's restart after a week of silence, set by hand (in-process and remote)."""

import pytest
import requests

from tgemu.client import RemoteEmulator


def _raw_updates(emu, token, **params) -> list[dict]:
    resp = requests.post(emu.api_url.format(token, "getUpdates"), json=params, timeout=10)
    return resp.json()["result"]


def test_the_next_update_id_can_start_again_at_one_seen_before(emu, token):
    ann = emu.create_user(first_name="Ann")
    first = ann.send_text(token, "one")
    ann.send_text(token, "two")
    assert [u["update_id"] for u in _raw_updates(emu, token)] == [first, first + 1]
    _raw_updates(emu, token, offset=first + 2)  # confirmed, as a bot does
    emu.set_next_update_id(token, first)
    again = ann.send_text(token, "three")
    assert again == first
    (raw,) = _raw_updates(emu, token)
    assert (raw["update_id"], raw["message"]["text"]) == (first, "three")
    assert ann.send_text(token, "four") == first + 1  # and on by one from there


def test_the_control_api_sets_it_and_refuses_nonsense(emu, token):
    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "hi")
    with RemoteEmulator(emu.base_url) as remote:
        remote.set_next_update_id(token, 700)
        assert ann.send_text(token, "again") == 700
        with pytest.raises(Exception, match="positive integer"):
            remote.set_next_update_id(token, 0)
    with pytest.raises(ValueError):
        emu.set_next_update_id(token, -5)
