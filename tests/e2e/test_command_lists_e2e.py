"""The "/" menu follows the person: people already in the database (the demo's admin and
trainers, imported members) get their list when the bot starts, only chats whose list is out
of date are set, a second start with the same version sets nothing, and "delete my data"
takes the member's list away at once, also on the web chat's page. The bot as its own
process, tgemu over HTTP, a real PostgreSQL."""

from __future__ import annotations

import signal
import time

import pytest

from fitclub.commands import ADMIN, MEMBER, TRAINER, UNREGISTERED
from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, button_data

COMMAND_CALLS = ("SELECT count(*) FROM outbox WHERE method IN"
                 " ('setMyCommands', 'deleteMyCommands')")


def _names(emu, person: Person, lang: str | None = None) -> list[str]:
    return [c["command"] for c in emu.commands_for(TOKEN, person.id, lang)]


def _public(names: tuple[str, ...]) -> list[str]:
    return [n.removesuffix("_new") for n in names]


def _stop(run) -> None:
    run.signal(signal.SIGTERM)
    assert run.wait(30) == 0


def test_people_already_in_the_database_get_their_list_at_start_and_only_once(
        emu, launcher, db_url):
    ada = Person(emu, "Ada")              # the preloaded admin (as in the demo)
    tom = Person(emu, "Tom", "ru")        # a trainer who chose Russian
    ivan = Person(emu, "Ivan", "en")      # imported: a member, Russian in the bot
    gone = Person(emu, "Gone")            # blocked the bot: nothing is sent to them
    factories.member(db_url, ada.id, "Ada", role="admin")
    factories.member(db_url, tom.id, "Tom", role="trainer", language="ru")
    ivan_id = factories.member(db_url, ivan.id, "Ivan", language="ru")
    factories.member(db_url, gone.id, "Gone", blocked=True)
    factories.member(db_url, None, "Erased", erased=True)
    for person in (ada, tom, ivan):
        assert _names(emu, person) == [], "tgemu starts with no lists at all"

    first = launcher.start(db_url, ADMIN_TELEGRAM_IDS=str(ada.id))
    wait_until(lambda: _names(emu, ada) == list(ADMIN), 20, "the admin's own list")
    wait_until(lambda: _names(emu, tom) == list(TRAINER), 20, "the trainer's own list")
    wait_until(lambda: _names(emu, ivan) == list(MEMBER), 20, "the imported member's list")
    # Each in the member's language, whatever their Telegram app's is.
    assert emu.commands_for(TOKEN, ada.id) == [
        {"command": n, "description": Texts("en")(f"cmd_{n}")} for n in ADMIN]
    assert emu.commands_for(TOKEN, tom.id, "en") == [
        {"command": n, "description": Texts("ru")(f"cmd_{n}")} for n in TRAINER]
    assert emu.commands_for(TOKEN, ivan.id, "en")[0]["description"] == \
        Texts("ru")("cmd_start")
    # Everyone else: the lists before registration, per language.
    # (chat 0's three calls go one after another, not before the members' lists)
    wait_until(lambda: _names(emu, gone) == _public(UNREGISTERED), 20, "the newcomers' list")
    wait_until(lambda: emu.commands_for(TOKEN, 999_999_999, "ru")[0]["description"] ==
               Texts("ru")("cmd_start_new"), 20, "the newcomers' Russian list")
    # Background work: below replies, reminders and announcements; one per chat.
    assert sorted(query(db_url, "SELECT chat_id, priority FROM outbox"
                                " WHERE method = 'setMyCommands' AND chat_id <> 0")) == \
        sorted([(ada.id, 3), (tom.id, 3), (ivan.id, 3)])
    wait_until(lambda: "command lists: 3 queued" in first.log_text(), 10, "the sync's report")
    assert "3 out of date" in first.log_text()
    calls = query(db_url, COMMAND_CALLS)[0][0]
    _stop(first)

    # The same version again: nothing is queued, the log says so.
    second = launcher.start(db_url, ADMIN_TELEGRAM_IDS=str(ada.id))
    wait_until(lambda: "every chat is up to date" in second.log_text(), 10,
               "the second start's report")
    time.sleep(1)
    assert query(db_url, COMMAND_CALLS) == [(calls,)]
    _stop(second)

    # A change made straight in the database (a language here): only that chat is set again.
    query(db_url, "UPDATE members SET language = 'en' WHERE id = %s", (ivan_id,))
    third = launcher.start(db_url)
    wait_until(lambda: emu.commands_for(TOKEN, ivan.id, "en")[0]["description"] ==
               Texts("en")("cmd_start"), 20, "Ivan's list in English")
    wait_until(lambda: "command lists: 1 queued" in third.log_text(), 10, "the third report")
    assert query(db_url, COMMAND_CALLS) == [(calls + 1,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_after_delete_my_data_the_menu_is_the_newcomers_at_once(emu, launcher, db_url, lang):
    launcher.start(db_url, PER_CHAT_RATE="2")  # near Telegram's pace: calls a moment apart
    anna = Person(emu, "Anna", lang)
    anna.send("/start")
    anna.send("Anna")
    anna.share_contact(expect=2)
    wait_until(lambda: _names(emu, anna) == list(MEMBER), 15, "the member's list")

    (privacy,) = anna.send("/privacy")
    tx = Texts(lang)
    anna.press_data(privacy["message_id"], button_data(privacy, "🗑"))
    confirm = wait_until(lambda: (m := anna.now(privacy["message_id"])) and tx(
        "privacy_confirm_button") in str(m.get("reply_markup")) and m, 15, "the confirmation")
    # The web chat's page: it shows the state it last got and asks again for a newer one
    # (a long poll), as a Telegram app is told of a changed command list.
    page = emu.chat_state(TOKEN, anna.id)
    anna.press_data(privacy["message_id"], button_data(confirm, tx("privacy_confirm_button")))
    deadline = time.monotonic() + 8
    shown = page["commands"]
    while time.monotonic() < deadline:
        page = emu.chat_state(TOKEN, anna.id, page["version"],
                              timeout=deadline - time.monotonic())
        if time.monotonic() >= deadline:
            break  # no newer state came: the page still shows what it had
        shown = page["commands"]
        if [c["command"] for c in shown] == _public(UNREGISTERED):
            break
    assert [c["command"] for c in shown] == _public(UNREGISTERED), \
        "the page was not told that the list changed"
    assert shown[0]["description"] == tx("cmd_start_new")
    anna.wait_edit(privacy["message_id"], tx("privacy_deleted")[:10])
    assert query(db_url, "SELECT count(*) FROM command_lists WHERE chat_id = %s",
                 (anna.id,)) == [(0,)]
