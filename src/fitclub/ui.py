"""How handlers put a screen in front of the user: in place after a button, new otherwise."""

from __future__ import annotations

import logging
from typing import Any

from telebot import types

from fitclub import commands, flows
from fitclub.db import audit, rows
from fitclub.db.members import Member
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen

log = logging.getLogger(__name__)

TRAINER = ("trainer", "admin")
ADMIN = ("admin",)


def show(ctx: UpdateContext, screen: Screen, call: types.CallbackQuery | None = None,
         toast: str | None = None) -> None:
    """Answer a button press by editing its message (plus an optional toast), else reply."""
    message = call.message if call is not None else None
    if call is not None:
        ctx.answer_callback(call.id, toast)
    editable = (message is not None and getattr(message, "message_id", None)
                and isinstance(screen.markup, types.InlineKeyboardMarkup | type(None)))
    if editable:
        ctx.edit(message.message_id, screen.text, reply_markup=screen.markup
                 or types.InlineKeyboardMarkup())
    else:
        ctx.reply(screen.text, reply_markup=screen.markup)


def stale(ctx: UpdateContext, call: types.CallbackQuery, refresh: Screen | None = None) -> None:
    """A button that names something gone or not the user's: say so, refresh the view."""
    if refresh is not None:
        show(ctx, refresh, call, toast=ctx.texts("stale_button"))
    else:
        ctx.answer_callback(call.id, ctx.texts("stale_button"))


def registered(ctx: UpdateContext) -> Member | None:
    """The member behind the update if they finished registration, else None."""
    member = ctx.member
    return member if member is not None and member.registered_at is not None else None


def member_or_refuse(ctx: UpdateContext, call: types.CallbackQuery | None = None
                     ) -> Member | None:
    """The registered member; otherwise None, after telling the user how to register."""
    member = registered(ctx)
    if member is None:
        text = ctx.texts("not_registered")
        if call is not None:
            ctx.answer_callback(call.id, text, show_alert=True)
        else:
            ctx.reply(text)
    return member


def staff_or_refuse(ctx: UpdateContext, call: types.CallbackQuery | None = None, *,
                    roles: tuple[str, ...] = TRAINER, what: str) -> Member | None:
    """The registered member if their role (read from the database for this update) is one
    of `roles`; otherwise None, after a one-line refusal, a warning in the log and a
    `denied` row in the audit log naming `what` was attempted (a dotted name such as
    "classes.cancel") and the callback data.

    Every privileged handler starts with this; ids in its callback data are then checked
    against what this member may act on in the queries that use them.
    """
    member = registered(ctx)
    if member is not None and member.role in roles:
        return member
    text = ctx.texts("admins_only" if roles == ADMIN else "staff_only")
    attempt = {"what": what, "role": member.role if member else None,
               "telegram_id": ctx.user_id}
    if call is not None:
        attempt["data"] = call.data
    log.warning("refused %s to Telegram user %s (role %s)", what, ctx.user_id,
                attempt["role"])
    audit.record(ctx.conn, actor_id=member.id if member else None, action="denied",
                 entity="staff_action", details=attempt)
    if call is not None:
        ctx.answer_callback(call.id, text, show_alert=True)
    else:
        ctx.reply(text)
    return None


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
    rows.execute(ctx.conn, "members.set_language", {"id": member.id, "language": lang})
    ctx.forget_member()
    commands.set_for_member(ctx, ctx.member)
    return True


def sender_id(update: Any) -> int | None:
    """The user behind a message or callback (None for a chat posting as itself)."""
    user = getattr(update, "from_user", None)
    return user.id if user is not None else None
