"""Notices: what a change means for other people (a place offered, a membership changed).

A service declares each kind of notice with `@notices.kind` and records notices as it makes
a change, in that change's transaction; it also returns them in its result. After the
handler or job, the runtime hands the recorded ones to one delivery function
(`fitclub.notify.deliver`), which words and queues each in its recipient's language; they
commit with the change or not at all. So no caller has to remember to pass them on, and a
notice recorded but not delivered fails the update or job instead of vanishing.

Outside a handler or job (a test or a script calling a service directly) nothing is
delivered: the caller reads the notices from the result.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fitclub.runtime.context import UpdateContext, current_or_none

T = TypeVar("T", bound=type)

#: Every kind of notice the services declared.
KINDS: set[type] = set()


class Undelivered(RuntimeError):
    """Notices were recorded in a transaction that was about to commit without them."""


def kind(cls: T) -> T:
    """Declare a NamedTuple of a service as a kind of notice (`record` takes only these)."""
    KINDS.add(cls)
    return cls


def record(conn: Any, *notices: Any) -> None:
    """Deliver these notices after the handler or job running on conn (None is skipped)."""
    found = [notice for notice in notices if notice is not None]
    for notice in found:
        if type(notice) not in KINDS:
            raise TypeError(f"{type(notice).__name__} is not a kind of notice "
                            "(declare it with @notices.kind)")
    ctx = current_or_none()
    if ctx is not None and ctx.conn is conn:
        ctx.notices.extend(found)


def take(ctx: UpdateContext) -> list[Any]:
    """The notices recorded so far in ctx's transaction, removed from it."""
    taken, ctx.notices[:] = list(ctx.notices), []
    return taken


def check_delivered(ctx: UpdateContext) -> None:
    """Raise Undelivered when notices recorded in ctx's transaction were not taken."""
    if ctx.notices:
        names = sorted({type(notice).__name__ for notice in ctx.notices})
        raise Undelivered(f"{len(ctx.notices)} notices recorded but not delivered "
                          f"({', '.join(names)}): nothing delivers after this handler or job")
