"""/settings: the language and reminders on or off, as buttons edited in place."""

from __future__ import annotations

from fitclub.callbacks import SETTINGS_LANGUAGE, SETTINGS_REMINDERS
from fitclub.db.members import Member
from fitclub.locales import LANGUAGES, Texts
from fitclub.screens import Screen, inline
from fitclub.screens.account import LANGUAGE_LABELS
from fitclub.screens.menu import back_to_menu


def settings(tx: Texts, member: Member) -> Screen:
    """The member's settings with a button for each change."""
    on = member.reminders_enabled
    text = tx("settings_text", language=tx(f"language_name_{member.language}"),
              reminders=tx("settings_reminders_on" if on else "settings_reminders_off"))
    languages = [(("✅ " if lang == member.language else "") + LANGUAGE_LABELS[lang],
                  SETTINGS_LANGUAGE(lang=lang)) for lang in LANGUAGES]
    toggle = (tx("settings_turn_off" if on else "settings_turn_on"),
              SETTINGS_REMINDERS(on="n" if on else "y"))
    return Screen(text, inline([languages, [toggle], back_to_menu(tx)]))
