"""Names (issue 16, item 12), with the bot as its own process, tgemu over HTTP and a real
PostgreSQL, in English and in Russian: a name needs at least one letter of any script. "😀",
"123" and "..." are refused in one line that says so; "Анна", "José" and "李雷" are taken; a
Telegram name without a letter is not offered as the default."""

from __future__ import annotations

import pytest

from fitclub.locales import Texts
from tests.e2e.admin_session import plain
from tests.e2e.harness import query
from tests.e2e.session import Person, buttons


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_name_needs_a_letter(emu, launcher, db_url, lang):
    tx = Texts(lang)
    launcher.start(db_url)
    smiley = Person(emu, "😀", language_code=lang)  # Telegram's name has no letter

    (ask,) = smiley.send("/start")
    assert ask["text"] == plain(tx, "reg_ask_name")
    assert ask["reply_markup"] == {"remove_keyboard": True}  # no "😀" button to tap
    no_letter = plain(tx, "reg_name_no_letter")
    assert "\n" not in no_letter
    for typed in ("😀", "123", "...", "😀 123 !", "+7 (999)"):
        (refused,) = smiley.send(typed)
        assert refused["text"] == no_letter, typed
    assert query(db_url, "SELECT count(*) FROM members") == [(0,)]

    # Letters of any script are a name.
    for name in ("Анна", "José"):
        (ask_phone,) = smiley.send(name)
        assert ask_phone["text"] == plain(tx, "reg_ask_phone", name=name)
        smiley.send("/cancel")
        (ask,) = smiley.send("/start")
        assert ask["text"] == plain(tx, "reg_ask_name")
    (ask_phone,) = smiley.send("  李雷 😀 ")
    assert ask_phone["text"] == plain(tx, "reg_ask_phone", name="李雷 😀")
    done, _menu = smiley.share_contact(expect=2)
    assert done["text"] == plain(tx, "reg_done", name="李雷 😀")
    assert query(db_url, "SELECT first_name FROM members") == [("李雷 😀",)]

    # A Telegram name with a letter is still offered.
    anna = Person(emu, "Anna 😀", language_code=lang)
    (ask,) = anna.send("/start")
    assert buttons(ask) == [["Anna 😀"]]
