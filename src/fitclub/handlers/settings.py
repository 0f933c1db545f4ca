"""/settings (language, reminders on or off, edited in place) and a reminder's Cancel button."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import REMINDER_CANCEL, SETTINGS_LANGUAGE, SETTINGS_REMINDERS
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import settings as screens
from fitclub.services import booking, reminders
from fitclub.services.booking import Outcome


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /settings, its buttons and the reminders' Cancel button."""
    routes = Routes(bot, deps)
    routes.command("settings", show_settings)
    routes.button(SETTINGS_LANGUAGE, set_language)
    routes.button(SETTINGS_REMINDERS, set_reminders)
    routes.button(REMINDER_CANCEL, cancel_from_reminder)


@member_only
def show_settings(deps: Deps, ctx: UpdateContext, member: Member,
                  message: types.Message) -> None:
    ui.show(ctx, screens.settings(ctx.texts, member))


@member_only
def set_language(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    changed = ui.change_language(ctx, member, SETTINGS_LANGUAGE.parse(call.data)["lang"])
    ui.show(ctx, screens.settings(ctx.texts, ctx.member), call,
            toast=ctx.texts("language_set") if changed else None)


@member_only
def set_reminders(deps: Deps, ctx: UpdateContext, member: Member,
                  call: types.CallbackQuery) -> None:
    on = SETTINGS_REMINDERS.parse(call.data)["on"] == "y"
    reminders.set_enabled(ctx.conn, member.id, on)
    ctx.forget_member()
    ui.show(ctx, screens.settings(ctx.texts, ctx.member), call,
            toast=ctx.texts("settings_reminders_on" if on else "settings_reminders_off"))


@member_only
def cancel_from_reminder(deps: Deps, ctx: UpdateContext, member: Member,
                         call: types.CallbackQuery) -> None:
    """Cancel only while the visit comes back; later, say why and leave the booking."""
    class_id = REMINDER_CANCEL.parse(call.data)["class_id"]
    rules = deps.club.booking
    tx = ctx.texts
    starts_at = reminders.booked_start(ctx.conn, member.id, class_id)
    message_id = getattr(call.message, "message_id", None)
    if starts_at is None:
        ctx.answer_callback(call.id, tx("stale_button"))
        if message_id:
            ctx.edit_markup(message_id, None)
        return
    now = ctx.now()
    if not booking.cancel_is_free(starts_at, now, rules):
        until = booking.free_cancel_until(starts_at, rules)
        ctx.answer_callback(call.id, tx("reminder_cancel_too_late", until=tx.time(until),
                                        bookings=tx("menu_bookings")), show_alert=True)
        if message_id:
            ctx.edit_markup(message_id, None)
        return
    result = booking.cancel_booking(ctx.conn, member.id, class_id, now, rules)
    if result.outcome not in (Outcome.CANCELLED, Outcome.LATE):
        ctx.answer_callback(call.id, tx("stale_button"))
        return
    # LATE only if the class was moved earlier after booked_start read its time.
    key = ("reminder_cancelled" if result.outcome is Outcome.CANCELLED
           else "reminder_cancelled_late")
    ui.show(ctx, Screen(tx(key, when=tx.datetime(starts_at)), None), call)
