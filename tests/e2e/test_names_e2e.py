"""Names (issue 16, item 12), with the bot as its own process, tgemu over HTTP and a real
PostgreSQL, in English and in Russian: a name needs at least one letter of any script. "😀",
"123" and "..." are refused in one line that says so; "Анна", "José" and "李雷" are taken; a
Telegram name without a letter is not offered as the default.

Issue 17: a name with an invisible or direction-changing character is refused with why (and
Telegram's name with one is not offered as the default); a name that looks like an HTML entity
shows in an admin's button exactly as typed."""

from __future__ import annotations

import pytest

from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain
from tests.e2e.harness import query
from tests.e2e.session import Person, buttons


def _ask_phone(tx: Texts, name: str) -> str:
    """The phone question for name, with the privacy notice under it."""
    return plain(tx, "reg_ask_phone", name=name) + "\n\n" + plain(tx, "reg_privacy_notice")


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
        assert ask_phone["text"] == _ask_phone(tx, name)
        smiley.send("/cancel")
        (ask,) = smiley.send("/start")
        assert ask["text"] == plain(tx, "reg_ask_name")
    (ask_phone,) = smiley.send("  李雷 😀 ")
    assert ask_phone["text"] == _ask_phone(tx, "李雷 😀")
    done, _menu = smiley.share_contact(expect=2)
    assert done["text"] == plain(tx, "reg_done", name="李雷 😀")
    assert query(db_url, "SELECT first_name FROM members") == [("李雷 😀",)]

    # A Telegram name with a letter is still offered.
    anna = Person(emu, "Anna 😀", language_code=lang)
    (ask,) = anna.send("/start")
    assert buttons(ask) == [["Anna 😀"]]


REFUSED = {"en": "can't hold invisible, control or text-direction characters",
           "ru": "не может быть невидимых, управляющих символов и символов направления"}
ASK_PHONE = {"en": "share your phone number", "ru": "поделитесь номером телефона"}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_name_with_a_direction_override_is_refused(emu, launcher, db_url, lang):
    launcher.start(db_url)
    anna = Person(emu, "Anna\u202e", language_code=lang)
    (ask,) = anna.send("/start")
    # Telegram's name holds an override: it is not offered as the default button.
    assert ask["reply_markup"] == {"remove_keyboard": True}
    (refused,) = anna.send("Anna\u202e")
    assert REFUSED[lang] in refused["text"] and "\u202e" not in refused["text"]
    (asked,) = anna.send("Ａｎｎａ")  # fullwidth letters: NFKC makes them "Anna"
    assert ASK_PHONE[lang] in asked["text"] and "Anna" in asked["text"]
    anna.share_contact(expect=2)
    assert query(db_url, "SELECT first_name FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [("Anna",)]


def test_a_name_typed_as_an_entity_shows_as_typed_in_an_admins_button(emu, launcher, db_url):
    ada = Person(emu, "Ada")
    factories.member(db_url, ada.id, "Ada", phone="+10000000001", role="admin")
    factories.member(db_url, None, "&#8238;Eve", phone="+15551000002")
    launcher.start(db_url)
    (log,) = ada.send("/audit")
    ada.press(log, "Filter by member")
    ada.wait_edit(log["message_id"], "Filter the audit log")
    (found,) = ada.send("Eve")
    assert buttons(found) == [["&#8238;Eve"], ["Cancel"]]  # by name: no phone digit
    assert "\u202e" not in str(buttons(found))
    (by_phone,) = ada.send("+1 555 100 0002")  # her whole number: shown as typed
    assert buttons(by_phone) == [["&#8238;Eve · +15551000002"], ["Cancel"]]
    assert "\u202e" not in str(buttons(by_phone))
