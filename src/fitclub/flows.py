"""Multi-step conversations: registration and the staff's guided flows.

The step and what was gathered so far live in `conversation_state`, in the update's own
transaction, so a flow survives a restart and resumes where it was. Read once per update
(cached on the context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from psycopg2.extras import Json

from fitclub.db import rows
from fitclub.runtime.context import UpdateContext

# conversation_state is keyed by bot, chat, user and thread; flows use one bot id and no
# thread, so a user has at most one flow per chat.
FLOW_BOT_ID = 0


class Flow(NamedTuple):
    """The step a user is at (None outside any flow) and its data."""

    state: str | None
    data: dict[str, Any]


def _key(ctx: UpdateContext) -> dict[str, Any]:
    return {"bot_id": FLOW_BOT_ID, "chat_id": ctx.chat_id, "user_id": ctx.user_id or 0,
            "thread_key": ""}


def current(ctx: UpdateContext) -> Flow:
    """The user's flow in this chat (one query per update)."""
    if "flow" not in ctx.cache:
        found = rows.one(ctx.conn, "state.get", _key(ctx), Flow)
        ctx.cache["flow"] = Flow(found.state, dict(found.data)) if found else Flow(None, {})
    return ctx.cache["flow"]


def enter(ctx: UpdateContext, state: str, data: dict[str, Any] | None = None) -> None:
    """Go to a step, with the flow's data (replaced)."""
    data = dict(data or {})
    rows.execute(ctx.conn, "state.put", {**_key(ctx), "state": state, "data": Json(data)})
    ctx.cache["flow"] = Flow(state, data)


def leave(ctx: UpdateContext) -> bool:
    """End the flow; True if there was one."""
    had = current(ctx).state is not None
    rows.execute(ctx.conn, "state.delete", _key(ctx))
    ctx.cache["flow"] = Flow(None, {})
    return had


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
