"""Bot commands: setMyCommands per scope and language, and the list a user is shown.

Lookup follows https://core.telegram.org/bots/api#determining-list-of-commands: the first list
that is set wins, each scope tried with the user's language first, then without one. A change
reaches the chats it may concern at once (Telegram's apps are told by updateBotCommands): their
version moves on, so the web chat's long poll shows the new menu without waiting for a message.
"""

from tgemu.errors import bad_request
from tgemu.markup import parse_commands, parse_scope

_ADMIN = ("creator", "administrator")


class CommandsMixin:
    """The commands half of Bot."""

    def _scope_key(self, p) -> tuple:
        scope = parse_scope(p.get("scope"))
        if len(scope) > 1:
            # Scopes that name a chat must name one Telegram knows; @username is resolved.
            raw = scope[1]
            if raw.startswith("@"):
                data = self.emu.group_by_username(raw[1:])
                if data is None:
                    raise bad_request("chat not found")
                scope = (scope[0], str(data.id), *scope[2:])
            else:
                try:
                    chat_id = int(raw)
                except ValueError:
                    raise bad_request("chat not found") from None
                known = self.emu.group_data(chat_id) if chat_id < 0 else self.emu.has_user(chat_id)
                if not known:
                    raise bad_request("chat not found")
                scope = (scope[0], str(chat_id), *scope[2:])
        return (scope, str(p.get("language_code") or ""))

    def api_setmycommands(self, p):
        commands = parse_commands(p.get("commands") if p.get("commands") is not None else "[]")
        key = self._scope_key(p)
        with self.lock:
            before = self.commands.get(key)
            if commands:
                self.commands[key] = commands
            else:
                self.commands.pop(key, None)
            if self.commands.get(key) != before:
                self._menus_changed(key[0])
            return True

    def api_getmycommands(self, p):
        key = self._scope_key(p)
        with self.lock:
            return [dict(c) for c in self.commands.get(key, [])]

    def api_deletemycommands(self, p):
        key = self._scope_key(p)
        with self.lock:
            if self.commands.pop(key, None) is not None:
                self._menus_changed(key[0])
            return True

    def _menus_changed(self, scope: tuple) -> None:
        """Wake whoever watches a chat whose menu this scope may decide. Lock held."""
        if len(scope) > 1:  # chat, chat_administrators, chat_member: that one chat
            chat = self.chats.get(int(scope[1]))
            if chat is not None:
                chat.changed()
            return
        for chat in self.chats.values():  # default, all_private_chats and the like
            chat.changed()

    def commands_for(
        self, chat_id: int, language_code: str | None, user_id: int | None = None
    ) -> list[dict]:
        """The command menu Telegram shows this user in this chat. Lock held.

        A private chat's id is its user's id. In groups, user_id selects the chat_member scope
        and, for the group's creator and administrators, the administrator scopes.
        """
        cid = str(chat_id)
        if chat_id > 0:
            scopes = [("chat", cid), ("all_private_chats",), ("default",)]
        else:
            data = self.emu.group_data(chat_id)
            admin = data is not None and user_id is not None and data.members.get(user_id) in _ADMIN
            scopes = []
            if user_id is not None:
                scopes.append(("chat_member", cid, str(user_id)))
            if admin:
                scopes.append(("chat_administrators", cid))
            scopes.append(("chat", cid))
            if admin:
                scopes.append(("all_chat_administrators",))
            scopes += [("all_group_chats",), ("default",)]
        for scope in scopes:
            for lang in _languages(language_code):
                found = self.commands.get((scope, lang))
                if found is not None:
                    return [dict(c) for c in found]
        return []

    def menu_for(self, user) -> list[dict]:
        """The command menu of this user's private chat with the bot. Lock held."""
        return self.commands_for(user.id, user.language_code)


def _languages(code: str | None) -> list[str]:
    """The language codes to try: the user's ("pt-br"), its base language ("pt"), then none."""
    out = []
    if code:
        out.append(code)
        base = code.split("-")[0].split("_")[0]
        if base != code:
            out.append(base)
    out.append("")
    return out
