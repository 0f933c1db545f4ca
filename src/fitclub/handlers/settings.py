"""/settings (language, reminders on or off, edited in place) and a reminder's Cancel button."""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, ui
from fitclub.callbacks import REMINDER_CANCEL, SETTINGS_LANGUAGE, SETTINGS_REMINDERS
from fitclub.screens import Screen
from fitclub.screens import settings as screens
from fitclub.services import booking, club, reminders
from fitclub.services.booking import Outcome


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /settings and its buttons."""

    @bot.message_handler(commands=["settings"], chat_types=["private"])
    def show_settings(message: types.Message) -> None:
        ctx = deps.context()
        member = access.member_or_refuse(ctx)
        if member is None:
            return
        screen = screens.settings(ctx.texts, member)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=SETTINGS_LANGUAGE.matches())
    def set_language(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = access.member_or_refuse(ctx, call)
        if member is None:
            return
        changed = ui.change_language(ctx, member, SETTINGS_LANGUAGE.parse(call.data)["lang"])
        ui.show(ctx, screens.settings(ctx.texts, ctx.member), call,
                toast=ctx.texts("language_set") if changed else None)

    @bot.callback_query_handler(func=SETTINGS_REMINDERS.matches())
    def set_reminders(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = access.member_or_refuse(ctx, call)
        if member is None:
            return
        on = SETTINGS_REMINDERS.parse(call.data)["on"] == "y"
        reminders.set_enabled(ctx.conn, member.id, on)
        ctx.forget_member()
        ui.show(ctx, screens.settings(ctx.texts, ctx.member), call,
                toast=ctx.texts("settings_reminders_on" if on else "settings_reminders_off"))

    bot.register_callback_query_handler(partial(cancel_from_reminder, deps),
                                        func=REMINDER_CANCEL.matches())


def cancel_from_reminder(deps, call: types.CallbackQuery) -> None:
    """Cancel only while the visit comes back; later, say why and leave the booking."""
    ctx = deps.context()
    member = access.member_or_refuse(ctx, call)
    if member is None:
        return
    class_id = REMINDER_CANCEL.parse(call.data)["class_id"]
    rules = club.of(deps.settings).booking
    tx = ctx.texts
    starts_at = reminders.booked_start(ctx.conn, member.id, class_id)
    message_id = getattr(call.message, "message_id", None)
    if starts_at is None:
        ctx.answer_callback(call.id, tx("stale_button"))
        if message_id:
            ctx.edit_markup(message_id, None)
        return
    until = reminders.free_cancel_until(starts_at, rules.cancel_window_hours)
    now = ctx.now()
    if now >= until:
        ctx.answer_callback(call.id, tx("reminder_cancel_too_late", until=tx.time(until)),
                            show_alert=True)
        if message_id:
            ctx.edit_markup(message_id, None)
        return
    result = booking.cancel_booking(ctx.conn, member.id, class_id, now, rules)
    if result.outcome not in (Outcome.CANCELLED, Outcome.LATE):
        ctx.answer_callback(call.id, tx("stale_button"))
        return
    key = ("reminder_cancelled" if result.outcome is Outcome.CANCELLED
           else "reminder_cancelled_late")
    ui.show(ctx, Screen(tx(key, when=tx.datetime(starts_at)), None), call)
