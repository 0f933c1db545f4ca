"""Screens: a message's text and keyboard, built from what a service returned.

Pure functions of their inputs and a `Texts` (language and formats): no database, no
Telegram calls. Handlers show them with `fitclub.ui.show`, in place where the user pressed a
button.
"""

from __future__ import annotations

import html
from typing import Any, NamedTuple

from telebot import types


class Screen(NamedTuple):
    """A message to show: HTML text and an optional keyboard."""

    text: str
    markup: Any = None


def person(tx: Any, name: str | None) -> str:
    """A person's name as others see it: "(deleted member)" once they erased their data
    (their name is gone; a trainer's name comes as '' then)."""
    return name or tx("member_erased")


def inline(rows: list[list[tuple[str, str]]]) -> types.InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback_data).

    Labels are plain text for Telegram, while catalog messages come HTML-escaped: they are
    unescaped here, then cut to 64 characters at most.
    """
    markup = types.InlineKeyboardMarkup()
    for row in rows:
        markup.row(*(types.InlineKeyboardButton(html.unescape(label)[:64], callback_data=data)
                     for label, data in row))
    return markup
