"""Scripted users for feature tests: send, press, and read what the bot showed, as a person.

Each step waits for what the bot does in answer (a new message, an edit in place, a callback
answer) and returns it, so a test reads as the conversation it checks.
"""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.harness import TOKEN, wait_until
from tgemu import Emulator


def buttons(message: dict[str, Any]) -> list[list[str]]:
    """Labels of a message's keyboard (inline or reply), row by row."""
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [[b["text"] if isinstance(b, dict) else str(b) for b in row] for row in rows]


def button_data(message: dict[str, Any], label: str) -> str:
    """The callback_data of the inline button whose label contains `label`."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if label in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"no button {label!r} in {buttons(message)}")


class Person:
    """A simulated Telegram user talking to the bot under test."""

    def __init__(self, emu: Emulator, first_name: str, language_code: str = "en",
                 **kw: Any) -> None:
        self.emu = emu
        self.user = emu.create_user(first_name, language_code=language_code, **kw)
        self.id = self.user.id

    def events(self) -> list[dict[str, Any]]:
        """Everything the bot did in this chat, in order."""
        return self.emu.transcript(TOKEN, self.id)

    def _sent_after(self, before: int, expect: int, timeout: float) -> list[dict[str, Any]]:
        """The first `expect` new bot messages after event index `before` (transcript entries:
        text, message_id and reply_markup as sent, reply keyboards included)."""
        def arrived():
            new = [e for e in self.events()[before:] if e["kind"] == "message"]
            return new[:expect] if len(new) >= expect else None

        return wait_until(arrived, timeout, f"{expect} new message(s) from the bot")

    def send(self, text: str, expect: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        """Send text; the bot's next `expect` new messages."""
        before = len(self.events())
        self.user.send_text(TOKEN, text)
        return self._sent_after(before, expect, timeout) if expect else []

    def share_contact(self, phone: str | None = None, expect: int = 1) -> list[dict[str, Any]]:
        """Share a contact (the user's own unless `phone` is someone else's)."""
        before = len(self.events())
        self.user.send_contact(TOKEN, phone)
        return self._sent_after(before, expect, 15) if expect else []

    def press(self, message: dict[str, Any], label: str, timeout: float = 15) -> dict[str, Any]:
        """Press an inline button; waits for the bot's callback answer. Returns that answer."""
        return self.press_data(message["message_id"], button_data(message, label), timeout)

    def press_data(self, message_id: int, data: str, timeout: float = 15) -> dict[str, Any]:
        """Press a button the message shows, by its data; returns the callback answer."""
        before = len(self.events())
        update_id = self.user.press_button(TOKEN, message_id, data)
        assert update_id is not None
        return self._answer(before, data, timeout)

    def inject_press(self, message_id: int, data: str, timeout: float = 15) -> dict[str, Any]:
        """A press of data the message need not show (an old button, a double tap, a forged
        id), delivered as Telegram would; returns the callback answer."""
        before = len(self.events())
        self.emu.inject_update(TOKEN, {"callback_query": {
            "id": f"injected-{time.monotonic_ns()}", "chat_instance": "1", "data": data,
            "from": {"id": self.id, "is_bot": False, "first_name": self.user.data.first_name,
                     "language_code": self.user.data.language_code},
            "message": {"message_id": message_id, "date": int(time.time()), "text": "",
                        "chat": {"id": self.id, "type": "private"},
                        "from": {"id": 1, "is_bot": True, "first_name": "FitClub"}}}})
        return self._answer(before, data, timeout)

    def _answer(self, before: int, data: str, timeout: float) -> dict[str, Any]:
        """The bot's first callback answer after event index `before`."""
        answer = wait_until(lambda: next((e for e in self.events()[before:]
                                          if e["kind"] == "callback_answer"), None),
                            timeout, f"an answer to the press of {data!r}")
        time.sleep(0.05)  # the edit, if any, goes out right after the answer
        return answer

    def now(self, message_id: int) -> dict[str, Any]:
        """The message as it is now (after edits)."""
        return self.user.current_message(TOKEN, message_id)

    def wait_edit(self, message_id: int, containing: str, timeout: float = 15) -> dict[str, Any]:
        """Until the message shows `containing`; the message then."""
        return wait_until(lambda: (m := self.now(message_id)) and containing in (
            m.get("text") or m.get("caption") or "") and m, timeout,
            f"message {message_id} to show {containing!r}")

    def messages(self) -> list[dict[str, Any]]:
        """Every message the bot sent to this chat (transcript entries)."""
        return [e for e in self.events() if e["kind"] == "message"]
