"""Notices: what a change means for other people (a place offered, a membership changed).

The service that makes a change records its notices here, in the transaction that made it,
and also returns them in its result. After the handler or job, the runtime hands the
recorded ones to one delivery function (`fitclub.notify.deliver`), which renders and queues
each in its recipient's language; they commit with the change or not at all. So no caller
has to remember to pass them on.

Outside a handler or job (a test or a script calling a service directly) nothing is
delivered: the caller reads the notices from the result.
"""

from __future__ import annotations

from typing import Any

from fitclub.runtime.context import UpdateContext, current_or_none


def record(conn: Any, *notices: Any) -> None:
    """Deliver these notices after the handler or job running on conn (None is skipped)."""
    ctx = current_or_none()
    if ctx is not None and ctx.conn is conn:
        ctx.notices.extend(notice for notice in notices if notice is not None)


def take(ctx: UpdateContext) -> list[Any]:
    """The notices recorded so far in ctx's transaction, removed from it."""
    taken, ctx.notices[:] = list(ctx.notices), []
    return taken
