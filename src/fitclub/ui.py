"""How handlers put a screen in front of the user: in place after a button, new otherwise."""

from __future__ import annotations

from typing import Any

from telebot import types

from fitclub import commands, flows
from fitclub.callbacks import stamp
from fitclub.db.members import Member
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.services import account


def pressed(update: Any) -> types.CallbackQuery | None:
    """The button press an update is, or None (a message, a command, nothing)."""
    return update if isinstance(update, types.CallbackQuery) else None


def show(ctx: UpdateContext, screen: Screen, update: Any = None,
         toast: str | None = None) -> None:
    """Answer a button press by editing its message (plus an optional toast), else reply
    (`update` may be the message or command that asked, or None).

    Buttons of a flow's step get the step's token (`fitclub.flows`), and the flow remembers
    the message so their keyboards go when the flow moves on to a new message or ends."""
    call = pressed(update)
    message = call.message if call is not None else None
    if call is not None:
        ctx.answer_callback(call.id, toast)
    steps = flows.step_buttons(screen.markup)
    if steps:
        _stamp(screen.markup, flows.current(ctx).token)
    editable = (message is not None and getattr(message, "message_id", None)
                and isinstance(screen.markup, types.InlineKeyboardMarkup | type(None)))
    if editable:
        ctx.edit(message.message_id, screen.text, reply_markup=screen.markup
                 or types.InlineKeyboardMarkup())
        if steps:
            flows.shown(ctx, steps=True, message_id=message.message_id)
    else:
        sent = ctx.reply(screen.text, reply_markup=screen.markup)
        flows.shown(ctx, steps=steps, outbox_id=sent[-1])


def _stamp(markup: types.InlineKeyboardMarkup, token: int | None) -> None:
    for row in markup.keyboard:
        for button in row:
            if button.callback_data:
                button.callback_data = stamp(button.callback_data, token)


def stale(ctx: UpdateContext, call: types.CallbackQuery, refresh: Screen | None = None) -> None:
    """A button that names something gone or not the user's: say so, refresh the view."""
    if refresh is not None:
        show(ctx, refresh, call, toast=ctx.texts("stale_button"))
    else:
        ctx.answer_callback(call.id, ctx.texts("stale_button"))


def leave_flow(ctx: UpdateContext, flow: str) -> None:
    """Out of this feature's flow (`flow` or one of its steps) when a button led elsewhere;
    another feature's flow stays."""
    state = flows.current(ctx).state
    if state is not None and (state == flow or state.startswith(flow + ".")):
        flows.leave(ctx)


def change_language(ctx: UpdateContext, member: Member, lang: str) -> bool:
    """Store the member's language and queue their command list in it; False if unchanged."""
    if lang == member.language:
        return False
    account.set_language(ctx.conn, member.id, lang)
    ctx.forget_member()
    commands.set_for_member(ctx, ctx.member)
    return True
