"""Multi-step conversations: registration and the staff's guided flows.

The step and what was gathered so far live in `conversation_state`, in the update's own
transaction, so a flow survives a restart and resumes where it was. Read once per update
(cached on the context).

Every step has a token, new whenever the flow moves to another step or starts again. Buttons
of a step (`action(..., flow_step=True)`) carry it (`fitclub.ui.show` stamps it in), and a press
whose token is not the flow's current one is stale (`fitclub.access`): a button of an earlier
step, of an earlier run of the flow or of a flow that ended changes nothing. The messages a
flow showed with such buttons are remembered; when the flow sends its next step as a new
message, or ends, their keyboards are taken off.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, NamedTuple

from psycopg2.extras import Json
from telebot import types

from fitclub.callbacks import TOKEN_FIELD, TOKEN_MAX, parse
from fitclub.db import rows
from fitclub.runtime.context import UpdateContext

# conversation_state is keyed by bot, chat, user and thread; flows use one bot id and no
# thread, so a user has at most one flow per chat.
FLOW_BOT_ID = 0
# Where the flow's own bookkeeping (token, messages shown) is kept inside the stored data.
_OWN = "_flow"
# Remembered messages: ("m", Telegram message id) or ("o", outbox id of a message not known
# to be sent when it was remembered).
Shown = tuple[str, int]


class Flow(NamedTuple):
    """The step a user is at (None outside any flow), its data, the step's token and the
    messages with step buttons the flow has shown."""

    state: str | None
    data: dict[str, Any]
    token: int | None = None
    shown: tuple[Shown, ...] = ()


class _Sent(NamedTuple):
    result_message_id: int


def _key(ctx: UpdateContext) -> dict[str, Any]:
    return {"bot_id": FLOW_BOT_ID, "chat_id": ctx.chat_id, "user_id": ctx.user_id or 0,
            "thread_key": ""}


def current(ctx: UpdateContext) -> Flow:
    """The user's flow in this chat (one query per update)."""
    if "flow" not in ctx.cache:
        if "flow_row" in ctx.cache:  # read ahead with the update (inbox.begin)
            row = ctx.cache.pop("flow_row")
            found = _Stored(*row) if row is not None else None
        else:
            found = rows.one(ctx.conn, "state.get", _key(ctx), _Stored)
        ctx.cache["flow_stored"] = found is not None
        if found is None:
            ctx.cache["flow"] = Flow(None, {})
        else:
            data = dict(found.data)
            own = data.pop(_OWN, None) or {}
            ctx.cache["flow"] = Flow(found.state, data, own.get("v"),
                                     tuple((kind, int(i)) for kind, i in own.get("m", ())))
    return ctx.cache["flow"]


class _Stored(NamedTuple):
    state: str
    data: dict[str, Any]


def _put(ctx: UpdateContext, flow: Flow) -> None:
    stored = {**flow.data, _OWN: {"v": flow.token, "m": [list(s) for s in flow.shown]}}
    rows.execute(ctx.conn, "state.put", {**_key(ctx), "state": flow.state,
                                         "data": Json(stored)})
    ctx.cache["flow"] = flow
    ctx.cache["flow_stored"] = True


def _new_token(old: int | None) -> int:
    token = old
    while token == old:
        token = 1 + secrets.randbelow(TOKEN_MAX)
    return token


def note_update(ctx: UpdateContext, update: Any) -> None:
    """Remember what this update is (`fitclub.access` calls it): a press of a step's button
    or a typed answer continues the flow; a command or another button starts it anew."""
    ctx.cache["flow_update"] = update


def _continues(ctx: UpdateContext) -> bool:
    update = ctx.cache.get("flow_update")
    if isinstance(update, types.CallbackQuery):
        found = parse(update.data)
        return found is not None and found[0].flow_step
    text = getattr(update, "text", None) or ""
    return not text.startswith("/")


def _pressed_message(ctx: UpdateContext) -> int | None:
    update = ctx.cache.get("flow_update")
    if isinstance(update, types.CallbackQuery):
        return getattr(update.message, "message_id", None)
    return None


def enter(ctx: UpdateContext, state: str, data: dict[str, Any] | None = None) -> None:
    """Go to a step, with the flow's data (replaced). Another step, or the flow started again
    by a command or a button that opens it, gets a new token."""
    data = {k: v for k, v in (data or {}).items() if k != _OWN}
    was = current(ctx)
    if was.state is not None and not _continues(ctx):
        _clear(ctx, was.shown)  # the earlier run's keyboards go
        was = Flow(None, {})
    token = was.token if (was.state == state and was.token) else _new_token(was.token)
    if token != was.token:
        ctx.cache["flow_moved"] = True
    _put(ctx, Flow(state, data, token, was.shown))


def leave(ctx: UpdateContext) -> bool:
    """End the flow; True if there was one. Its messages' step buttons are taken off (the
    pressed message's too, unless the handler shows a screen on it)."""
    was = current(ctx)
    had = was.state is not None
    if had:
        _clear(ctx, was.shown)
    if ctx.cache.get("flow_stored", True):  # nothing stored (read this update): no DELETE
        rows.execute(ctx.conn, "state.delete", _key(ctx))
    ctx.cache["flow"] = Flow(None, {})
    ctx.cache["flow_stored"] = False
    return had


def shown(ctx: UpdateContext, *, steps: bool, message_id: int | None = None,
          outbox_id: int | None = None) -> None:
    """A screen went out (`fitclub.ui.show`), with or without step buttons: edited into
    message_id, or as a new message (its outbox id). A new message that is a step (it has
    step buttons, or the flow moved on in this update) takes the keyboards off the flow's
    earlier ones; an aside (/help during a step) leaves them. A screen with step buttons is
    remembered. Costs no query for an update that never looked at its flow."""
    if not steps and "flow" not in ctx.cache:
        return
    flow = current(ctx)
    if flow.state is None:
        return
    if outbox_id is not None:
        if steps or ctx.cache.get("flow_moved"):
            _clear(ctx, flow.shown)
            _put(ctx, flow._replace(shown=(("o", outbox_id),) if steps else ()))
    elif steps and message_id is not None and ("m", message_id) not in flow.shown:
        _put(ctx, flow._replace(shown=(*flow.shown, ("m", message_id))))


def _clear(ctx: UpdateContext, messages: tuple[Shown, ...]) -> None:
    """Take the keyboards off these messages, except the one pressed (the handler's screen
    replaces it). A message whose sending is not recorded yet keeps its keyboard; its buttons
    are stale anyway."""
    keep = _pressed_message(ctx)
    ids = {i for kind, i in messages if kind == "m"}
    outbox = [i for kind, i in messages if kind == "o"]
    if outbox:
        ids.update(row.result_message_id for row in rows.many(
            ctx.conn, "outbox.message_ids", {"ids": outbox, "chat_id": ctx.chat_id}, _Sent))
    for message_id in sorted(ids - {keep}):
        ctx.edit_markup(message_id, None)


def fresh(ctx: UpdateContext, call: types.CallbackQuery) -> bool:
    """Whether a press may act: any button but a step's, or a step's whose token is the
    flow's current one."""
    found = parse(call.data)
    if found is None or not found[0].flow_step:
        return True
    token = current(ctx).token
    return token is not None and found[1][TOKEN_FIELD] == token


def step_buttons(markup: Any) -> bool:
    """Whether an inline keyboard has a button of a flow's step."""
    for row in getattr(markup, "keyboard", None) or []:
        for button in row:
            found = parse(getattr(button, "callback_data", None))
            if found is not None and found[0].flow_step:
                return True
    return False


def in_flow(context: Callable[[], UpdateContext], prefix: str) -> Callable[[Any], bool]:
    """A handler filter: the user is at a step of the flow `prefix` ('reg' matches 'reg.*')."""
    def check(_update: Any) -> bool:
        state = current(context()).state
        return state is not None and (state == prefix or state.startswith(prefix + "."))

    return check


def typed_step(context: Callable[[], UpdateContext], *prefixes: str) -> Callable[[Any], bool]:
    """A handler filter: a typed text while the user is at a step of one of these flows.

    Commands are not steps: /cancel leaves the flow, any other command still works.
    """
    def check(message: Any) -> bool:
        if (getattr(message, "text", None) or "").startswith("/"):
            return False
        state = current(context()).state
        return state is not None and any(state == p or state.startswith(p + ".")
                                         for p in prefixes)

    return check
