"""Registration keyboards, the language choice and the privacy screens."""

from __future__ import annotations

from datetime import datetime

from telebot import types

from fitclub.callbacks import LANGUAGE, PRIVACY, PRIVACY_COPY
from fitclub.db.members import Member
from fitclub.locales import LANGUAGES, Texts, zone_name
from fitclub.screens import Screen, inline
from fitclub.screens.menu import back_to_menu

LANGUAGE_LABELS = {"en": "🇬🇧 English", "ru": "🇷🇺 Русский"}


def ask_name(tx: Texts, telegram_name: str | None) -> Screen:
    """First step: the name, with Telegram's name offered as a button."""
    markup = types.ReplyKeyboardMarkup(resize_keyboard=True, one_time_keyboard=True)
    if telegram_name:
        markup.add(types.KeyboardButton(telegram_name[:64]))
    else:
        markup = types.ReplyKeyboardRemove()
    return Screen(tx("reg_ask_name"), markup)


def ask_phone(tx: Texts, name: str, key: str = "reg_ask_phone") -> Screen:
    """Second step: the member's own phone, through Telegram's contact button; the question
    (not a refusal) carries the privacy notice the person agrees to by sharing the number."""
    markup = types.ReplyKeyboardMarkup(resize_keyboard=True, one_time_keyboard=True)
    markup.add(types.KeyboardButton(tx("reg_phone_button"), request_contact=True))
    text = tx(key, name=name)
    if key == "reg_ask_phone":
        text = f"{text}\n\n{tx('reg_privacy_notice')}"
    return Screen(text, markup)


def done(tx: Texts, name: str) -> Screen:
    """Registration finished: the reply keyboard goes away."""
    return Screen(tx("reg_done", name=name), types.ReplyKeyboardRemove())


def language(tx: Texts) -> Screen:
    """The language choice."""
    return Screen(tx("language_choose"), inline(
        [[(LANGUAGE_LABELS[lang], LANGUAGE(lang=lang)) for lang in LANGUAGES]]))


def privacy(tx: Texts, member: Member, retention_days: int,
            note: str | None = None) -> Screen:
    """What the bot stores about the member (its messages for `retention_days`), with the ways
    to have a copy and to delete it; `note` is the answer to "Download my data" (sent below,
    or when the next may go)."""
    none = tx("privacy_none")
    text = tx("privacy_text", name=member.name, phone=member.phone or none,
              username=f"@{member.username}" if member.username else none,
              language=tx(f"language_name_{member.language}"),
              days=tx.plural("plan_days", retention_days))
    text += "\n\n" + tx("privacy_copy_hint")
    if note:
        text += "\n\n" + note
    return Screen(text, inline([[(tx("privacy_copy_button"), PRIVACY_COPY(member_id=member.id))],
                                [(tx("privacy_delete_button"), PRIVACY(step="ask"))],
                                back_to_menu(tx)]))


def copy_sent(tx: Texts) -> str:
    """The privacy screen's line once the copy went out (the file is just below)."""
    return tx("privacy_copy_sent")


def copy_wait(tx: Texts, sent_at: datetime, next_at: datetime) -> str:
    """The privacy screen's line when a copy went out lately: when, and when the next may go."""
    return tx("privacy_copy_wait", sent=tx.time(sent_at), time=tx.time(next_at))


def copy_caption(tx: Texts, generated_at: datetime) -> str:
    """The file's caption: what it is, as of when, in the club's time zone."""
    when = f"{tx.date(generated_at, 'long')} {tx.time(generated_at)}"
    return tx("privacy_copy_caption", when=when, zone=zone_name())


def privacy_confirm(tx: Texts) -> Screen:
    """Are you sure?"""
    return Screen(tx("privacy_confirm"), inline([
        [(tx("privacy_confirm_button"), PRIVACY(step="yes"))],
        [(tx("privacy_keep_button"), PRIVACY(step="no"))]]))
