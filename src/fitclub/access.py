"""Who may run a handler: one decorator per kind of user, on every handler.

- `@member_only`: registered members; anyone else is told how to register.
- `@staff_only("what")`: trainers and admins; `@admin_only("what")`: admins only. Anyone
  else gets one line ("This is for club staff only."), a warning in the log and a `denied`
  row in the audit log naming `what` was attempted (a dotted name such as "classes.cancel")
  and the button's data. The role is read from the database for this update.
- `@anyone`: open to every user (/start, /help, the catch-all); the member may be None.

A typed step of a staff flow takes `leave_flow=True`: a refusal also ends the user's flow, so
their next text is not taken for a step again.

A decorated handler is called as `handler(deps, ctx, member, update)`; the decorator makes it a
`(deps, update)` callable for `fitclub.routes.Routes`. Ids in an update are then checked
against what this member may act on, in the queries that use them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from telebot import types

from fitclub import flows, ui
from fitclub.db import audit
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.runtime.context import UpdateContext

log = logging.getLogger(__name__)

TRAINER = ("trainer", "admin")
ADMIN = ("admin",)

Guarded = Callable[[Deps, UpdateContext, Member, Any], None]
Open = Callable[[Deps, UpdateContext, Member | None, Any], None]
Handler = Callable[[Deps, Any], None]


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
    """The registered member if their role is one of `roles`; otherwise None, after the
    refusal, the log line and the `denied` audit row described above."""
    member = registered(ctx)
    if member is not None and member.role in roles:
        return member
    text = ctx.texts("admins_only" if roles == ADMIN else "staff_only")
    attempt = {"what": what, "role": member.role if member else None,
               "telegram_id": ctx.user_id}
    if call is not None:
        attempt["data"] = call.data
    # The member id, or the update for someone unregistered: never the Telegram id.
    log.warning("refused %s to %s (role %s)", what,
                f"member {member.id}" if member else f"the sender of update {ctx.update_id}",
                attempt["role"], extra={"update_id": ctx.update_id})
    audit.record(ctx.conn, actor_id=member.id if member else None, action="denied",
                 entity="staff_action", details=attempt)
    if call is not None:
        ctx.answer_callback(call.id, text, show_alert=True)
    else:
        ctx.reply(text)
    return None


def fresh_or_refuse(ctx: UpdateContext, update: Any) -> bool:
    """Whether the update may act: a press of a flow step's button from an earlier step or
    run of the flow (`fitclub.flows`) answers "no longer available" and changes nothing."""
    flows.note_update(ctx, update)
    call = ui.pressed(update)
    if call is None or flows.fresh(ctx, call):
        return True
    ctx.answer_callback(call.id, ctx.texts("stale_button"))
    return False


def anyone(handler: Open) -> Handler:
    """Open to every user: called with the member, or None for someone not registered."""
    @functools.wraps(handler)
    def run(deps: Deps, update: Any) -> None:
        ctx = deps.context()
        if fresh_or_refuse(ctx, update):
            handler(deps, ctx, registered(ctx), update)

    return run


def member_only(handler: Guarded) -> Handler:
    """Registered members only."""
    @functools.wraps(handler)
    def run(deps: Deps, update: Any) -> None:
        ctx = deps.context()
        member = member_or_refuse(ctx, ui.pressed(update))
        if member is not None and fresh_or_refuse(ctx, update):
            handler(deps, ctx, member, update)

    return run


def staff_only(what: str, *, roles: tuple[str, ...] = TRAINER,
               leave_flow: bool = False) -> Callable[[Guarded], Handler]:
    """Trainers and admins only (or `roles`); `what` names the attempt in a refusal, and
    `leave_flow` ends the user's flow after one."""
    def decorate(handler: Guarded) -> Handler:
        @functools.wraps(handler)
        def run(deps: Deps, update: Any) -> None:
            ctx = deps.context()
            member = staff_or_refuse(ctx, ui.pressed(update), roles=roles, what=what)
            if member is not None:
                if fresh_or_refuse(ctx, update):
                    handler(deps, ctx, member, update)
            elif leave_flow:
                flows.leave(ctx)

        return run

    return decorate


def admin_only(what: str, *, leave_flow: bool = False) -> Callable[[Guarded], Handler]:
    """Admins only; `what` names the attempt in a refusal, and `leave_flow` ends the user's
    flow after one."""
    return staff_only(what, roles=ADMIN, leave_flow=leave_flow)
