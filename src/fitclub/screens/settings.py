"""/settings (language, reminders on or off, edited in place) and the reminders themselves."""

from __future__ import annotations

from datetime import datetime

from fitclub.callbacks import REMINDER_CANCEL, SETTINGS_LANGUAGE, SETTINGS_REMINDERS
from fitclub.db.members import Member
from fitclub.locales import LANGUAGES, Texts
from fitclub.screens import Screen, inline
from fitclub.screens.account import LANGUAGE_LABELS
from fitclub.screens.menu import back_to_menu
from fitclub.services.reminders import ClassReminder, MembershipReminder


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


# -- reminders (sent by jobs/reminders.py) -----------------------------------------------------

def class_reminder(tx: Texts, notice: ClassReminder, can_cancel_until: datetime | None) -> Screen:
    """A class is coming up; Cancel while the visit would still come back."""
    text = tx("reminder_class", name=notice.class_name, when=tx.datetime(notice.starts_at))
    if can_cancel_until is None:
        return Screen(text)
    text += "\n" + tx("reminder_cancel_until", until=tx.time(can_cancel_until))
    return Screen(text, inline([[(tx("reminder_cancel_button"),
                                  REMINDER_CANCEL(class_id=notice.class_id))]]))


def expiry_notice(tx: Texts, notice: MembershipReminder) -> Screen:
    """The membership ends within days."""
    return Screen(tx("reminder_expiry", plan=notice.plan_name,
                     date=tx.date(notice.ends_on, "long")))


def last_visit_notice(tx: Texts, notice: MembershipReminder) -> Screen:
    """One visit left on the membership."""
    return Screen(tx("reminder_last_visit", plan=notice.plan_name))
