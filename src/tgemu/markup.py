"""Reply markup, bot commands and scopes, validated as Telegram validates them."""

import json
import re

from tgemu.errors import bad_request

_BUTTON_KINDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SCOPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}


def load_json(value, error: str):
    """Accept a JSON string (form and query parameters) or an already decoded object (JSON body)."""
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(error) from None
    return value


def parse_reply_markup(value) -> dict | None:
    """Validate reply_markup; returns the normalized markup or None when absent."""
    if value is None or value == "":
        return None
    markup = load_json(value, "can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _inline_rows(markup["inline_keyboard"])}
    if "keyboard" in markup:
        return _reply_keyboard(markup)
    if markup.get("remove_keyboard"):
        out = {"remove_keyboard": True}
        if "selective" in markup:
            out["selective"] = bool(markup["selective"])
        return out
    if markup.get("force_reply"):
        out = {"force_reply": True}
        if markup.get("input_field_placeholder"):
            out["input_field_placeholder"] = str(markup["input_field_placeholder"])
        return out
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_rows(rows) -> list[list[dict]]:
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    out = []
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        out.append([_inline_button(b) for b in row])
    return out


def _inline_button(button) -> dict:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    kinds = [k for k in _BUTTON_KINDS if k in button]
    if not kinds:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    out = {"text": text}
    for key in kinds:
        out[key] = button[key]
    if "callback_data" in out:
        data = out["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in out and (not isinstance(out["url"], str) or not out["url"]):
        raise bad_request("BUTTON_URL_INVALID")
    if not text:
        raise bad_request("BUTTON_TEXT_INVALID")
    return out


def _reply_keyboard(markup: dict) -> dict:
    rows = markup["keyboard"]
    if not isinstance(rows, list):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
    out_rows = []
    for row in rows:
        if not isinstance(row, list):
            raise bad_request("can't parse keyboard button: KeyboardButton must be an Object")
        buttons = []
        for raw in row:
            b = {"text": raw} if isinstance(raw, str) else raw
            if not isinstance(b, dict) or not isinstance(b.get("text"), str) or not b["text"]:
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            buttons.append(dict(b))
        out_rows.append(buttons)
    out = {"keyboard": out_rows}
    for key in ("resize_keyboard", "one_time_keyboard", "is_persistent", "selective"):
        if key in markup:
            out[key] = bool(markup[key])
    if markup.get("input_field_placeholder"):
        out["input_field_placeholder"] = str(markup["input_field_placeholder"])
    return out


def callback_buttons(markup: dict | None) -> set[str]:
    """Every callback_data of an inline keyboard."""
    if not markup or "inline_keyboard" not in markup:
        return set()
    return {
        b["callback_data"] for row in markup["inline_keyboard"] for b in row if "callback_data" in b
    }


def parse_commands(value) -> list[dict]:
    """Validate setMyCommands' commands."""
    commands = load_json(value, "can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    out = []
    for c in commands:
        if not isinstance(c, dict):
            raise bad_request("can't parse BotCommand: BotCommand must be an Object")
        command = str(c.get("command", "")).lstrip("/")
        description = str(c.get("description", ""))
        if not _COMMAND.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request(
                "command description is empty"
                if not description
                else "BOT_COMMAND_DESCRIPTION_INVALID"
            )
        out.append({"command": command, "description": description})
    return out


def parse_scope(value) -> tuple:
    """A hashable key for a BotCommandScope (default when absent)."""
    if value is None or value == "":
        return ("default",)
    scope = load_json(value, "can't parse BotCommandScope JSON object")
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("wrong BotCommandScope type specified")
    kind = scope["type"]
    if kind in ("chat", "chat_administrators"):
        return (kind, str(scope.get("chat_id")))
    if kind == "chat_member":
        return (kind, str(scope.get("chat_id")), str(scope.get("user_id")))
    return (kind,)
