"""setMyCommands per scope and language, and the menu Telegram's lookup order picks."""

import pytest
from telebot import types
from telebot.apihelper import ApiTelegramException

from tgemu.client import RemoteEmulator


def _cmds(*names):
    return [types.BotCommand(n, n.title()) for n in names]


def _names(commands) -> list[str]:
    return [c["command"] if isinstance(c, dict) else c.command for c in commands]


@pytest.fixture
def menus(bot, emu):
    """Lists at every private-chat level, in English and Russian, for Ann (ru) and Bob (en)."""
    ann = emu.create_user(first_name="Ann", language_code="ru")
    bob = emu.create_user(first_name="Bob", language_code="en")
    bot.set_my_commands(_cmds("default"))
    bot.set_my_commands(_cmds("default_ru"), language_code="ru")
    bot.set_my_commands(_cmds("private"), scope=types.BotCommandScopeAllPrivateChats())
    bot.set_my_commands(_cmds("ann_admin"), scope=types.BotCommandScopeChat(ann.id))
    bot.set_my_commands(
        _cmds("ann_admin_ru"), scope=types.BotCommandScopeChat(ann.id), language_code="ru"
    )
    return ann, bob


def test_private_chat_lookup_order(bot, emu, token, menus):
    ann, bob = menus
    assert _names(emu.commands_for(token, ann.id)) == ["ann_admin_ru"]  # her language_code
    assert _names(emu.commands_for(token, ann.id, "en")) == ["ann_admin"]
    assert _names(emu.commands_for(token, bob.id)) == ["private"]
    bot.set_my_commands(
        _cmds("private_en"), scope=types.BotCommandScopeAllPrivateChats(), language_code="en"
    )
    assert _names(emu.commands_for(token, bob.id)) == ["private_en"]
    assert _names(emu.commands_for(token, ann.id, "en")) == ["ann_admin"]  # scope before language
    assert _names(emu.commands_for(token, bob.id, "en-US")) == ["private_en"]  # base language
    bot.delete_my_commands(scope=types.BotCommandScopeChat(ann.id), language_code="ru")
    assert _names(emu.commands_for(token, ann.id)) == ["ann_admin"]
    bot.delete_my_commands(scope=types.BotCommandScopeAllPrivateChats())
    bot.delete_my_commands(scope=types.BotCommandScopeAllPrivateChats(), language_code="en")
    assert _names(emu.commands_for(token, bob.id, "ru")) == ["default_ru"]
    assert _names(emu.commands_for(token, bob.id)) == ["default"]


def test_get_my_commands_returns_exactly_what_a_scope_and_language_hold(bot, menus):
    ann, _ = menus
    chat = types.BotCommandScopeChat(ann.id)
    assert _names(bot.get_my_commands(scope=chat, language_code="ru")) == ["ann_admin_ru"]
    assert _names(bot.get_my_commands(scope=chat)) == ["ann_admin"]
    assert bot.get_my_commands(scope=chat, language_code="de") == []  # no fallback here
    assert bot.get_my_commands(scope=types.BotCommandScopeAllGroupChats()) == []


def test_group_lookup_order_with_member_and_administrator_scopes(bot, emu, token):
    ann = emu.create_user(first_name="Ann", language_code="en")  # the creator: an admin
    bob = emu.create_user(first_name="Bob", language_code="en")
    group = emu.create_group("Gym", members=[ann, bob], supergroup=True)
    bot.set_my_commands(_cmds("default"))
    assert _names(emu.commands_for(token, group.id, user_id=bob.id)) == ["default"]
    bot.set_my_commands(_cmds("groups"), scope=types.BotCommandScopeAllGroupChats())
    bot.set_my_commands(_cmds("admins"), scope=types.BotCommandScopeAllChatAdministrators())
    assert _names(emu.commands_for(token, group.id, user_id=bob.id)) == ["groups"]
    assert _names(emu.commands_for(token, group.id, user_id=ann.id)) == ["admins"]
    bot.set_my_commands(_cmds("this_group"), scope=types.BotCommandScopeChat(group.id))
    assert _names(emu.commands_for(token, group.id, user_id=ann.id)) == ["this_group"]
    bot.set_my_commands(_cmds("bob_here"), scope=types.BotCommandScopeChatMember(group.id, bob.id))
    assert _names(emu.commands_for(token, group.id, user_id=bob.id)) == ["bob_here"]
    assert _names(emu.commands_for(token, bob.id)) == ["default"]  # his private chat


def test_a_chat_scope_for_an_unknown_chat_is_refused(bot):
    with pytest.raises(ApiTelegramException) as info:
        bot.set_my_commands(_cmds("x"), scope=types.BotCommandScopeChat(987654321))
    assert info.value.description == "Bad Request: chat not found"


def test_commands_over_the_control_api(emu, token, menus):
    ann, _ = menus
    with RemoteEmulator(emu.base_url) as remote:
        assert _names(remote.commands_for(token, ann.id)) == ["ann_admin_ru"]
        assert _names(remote.commands_for(token, ann.id, "en")) == ["ann_admin"]
    assert _names(emu.chat_state(token, ann.id)["commands"]) == ["ann_admin_ru"]


def test_a_changed_menu_reaches_the_web_chat_at_once(bot, emu, token, menus):
    """The page long-polls the chat's state by version: a new or deleted list moves the version
    of each chat it may concern, as Telegram's apps are told by updateBotCommands."""
    ann, bob = menus
    emu.chat_state(token, ann.id)  # the chats exist once someone looked
    seen = {who.id: emu.chat_state(token, who.id)["version"] for who in (ann, bob)}
    bot.delete_my_commands(scope=types.BotCommandScopeChat(ann.id), language_code="ru")
    state = emu.chat_state(token, ann.id, seen[ann.id], timeout=5)
    assert state["version"] > seen[ann.id]
    assert _names(state["commands"]) == ["ann_admin"]
    assert emu.chat_state(token, bob.id)["version"] == seen[bob.id]  # not his chat
    bot.set_my_commands(_cmds("private_2"), scope=types.BotCommandScopeAllPrivateChats())
    state = emu.chat_state(token, bob.id, seen[bob.id], timeout=5)
    assert state["version"] > seen[bob.id]
    assert _names(state["commands"]) == ["private_2"]
    now = emu.chat_state(token, bob.id)["version"]
    bot.set_my_commands(_cmds("private_2"), scope=types.BotCommandScopeAllPrivateChats())
    assert emu.chat_state(token, bob.id)["version"] == now  # the same list: nothing to tell
