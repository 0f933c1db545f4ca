"""/activity and the menu's "Activity": the last weeks as a chart, with the numbers as caption.

The chart is never drawn on a worker: the handler shows the numbers as a text screen (edited
in place after a press, like the other menu screens) and hands the chart to the renderer
(`fitclub.runtime.pictures`), which draws it off the worker path and then, through the outbox,
deletes the text screen and sends the chart with the same text as its caption. A chart drawn
before (the same weeks, the same language) is sent at once instead. Telegram cannot edit a
text message into a photo (nor back), so the chart's Menu button deletes the chart and sends
the menu. Either way one screen is left on display and a press sends one new message. With
no visit yet there is no chart, only a text screen.
"""

from __future__ import annotations

import functools

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import member_only
from fitclub.callbacks import ACTIVITY_MENU, MENU
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime import pictures
from fitclub.runtime.context import UpdateContext
from fitclub.screens import activity as screens
from fitclub.screens import menu as menu_screens
from fitclub.services import activity

FILENAME = "activity.png"


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /activity, the menu's Activity and the chart's Menu button."""
    routes = Routes(bot, deps)
    routes.command("activity", show_activity)
    routes.button(MENU.matches(screen="activity"), show_activity)
    routes.button(ACTIVITY_MENU, back_to_menu)


def _pressed_id(call: types.CallbackQuery | None) -> int | None:
    """The message a press edits in place (ui.show), if any."""
    message = call.message if call is not None else None
    return getattr(message, "message_id", None) or None


def _delete_pressed(ctx: UpdateContext, call: types.CallbackQuery) -> None:
    if call.message is not None and getattr(call.message, "message_id", None):
        ctx.delete(call.message.message_id)


@member_only
def show_activity(deps: Deps, ctx: UpdateContext, member: Member,
                  update: types.Message | types.CallbackQuery) -> None:
    """The numbers at once, the chart when drawn (a chart drawn before: at once); a text
    screen alone when the member has no visits, or with a line saying why no chart comes."""
    call = ui.pressed(update)
    tx = ctx.texts
    stats = activity.of_member(ctx.conn, member.id, ctx.now(), deps.club.timezone,
                               tx.first_week_day)
    if stats.total == 0:
        ui.show(ctx, screens.empty(tx), call)
        return
    screen = screens.summary(tx, stats)
    key = screens.chart_key(tx, stats)
    renderer = pictures.installed()
    png = renderer.cached(key) if renderer else screens.draw(key)  # no renderer: a script
    if png is not None:
        if call is not None:
            ctx.answer_callback(call.id)
            _delete_pressed(ctx, call)
        ctx.send_photo(png, caption=screen.text, filename=FILENAME, reply_markup=screen.markup)
        return
    refused = renderer.admit(member.id, key)
    if refused is not None:
        ui.show(ctx, screens.summary(tx, stats, screens.refusal(
            tx, refused.reason, refused.wait, renderer.cooldown)), call)
        return
    ui.show(ctx, screen, call)
    renderer.submit(pictures.Picture(
        member_id=member.id, chat_id=ctx.chat_id, update_id=ctx.update_id, key=key,
        draw=functools.partial(screens.draw, key), caption=screen.text,
        markup=screen.markup.to_dict(),
        filename=FILENAME, screen_id=ctx.last_queued_id,
        pressed_message_id=_pressed_id(call)))


@member_only
def back_to_menu(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    ctx.answer_callback(call.id)
    _delete_pressed(ctx, call)
    ui.show(ctx, menu_screens.home(ctx.texts, member))
