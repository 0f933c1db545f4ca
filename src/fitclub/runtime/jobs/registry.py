"""Job kinds and the context a job runs in.

A kind is one function registered under a name::

    @register("offer_expiry")
    def offer_expiry(ctx: JobContext, payload: dict) -> None:
        ...

It runs inside the transaction that took its row; whatever it writes (domain rows, outbox
messages through `ctx.reply`, follow-up jobs through `ctx.schedule`) commits with the job
being marked done, or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2.extensions

from fitclub.config import Settings
from fitclub.runtime.context import PRIORITY_REMINDER, UpdateContext
from fitclub.runtime.jobs import scheduling

JobFunction = Callable[["JobContext", dict[str, Any]], None]

DEFAULT_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class JobSpec:
    """A registered kind: its function and how it is run."""

    kind: str
    fn: JobFunction
    priority: int = PRIORITY_REMINDER
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    # Recurring kinds (sweepers) run every this many seconds, from one row shared by every
    # instance; the runner creates that row at start.
    every: float | None = None


@dataclass(frozen=True)
class Job:
    """One taken row of the jobs table."""

    id: int
    kind: str
    payload: dict[str, Any]
    key: str | None
    run_at: dt.datetime
    attempts: int
    max_attempts: int | None
    every_seconds: float | None


class Registry:
    """Job kinds by name. The process-wide one is `REGISTRY`; tests may build their own."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}

    def register(self, kind: str, *, priority: int = PRIORITY_REMINDER,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 every: float | None = None) -> Callable[[JobFunction], JobFunction]:
        """Decorator: run the function for jobs of `kind` (a name may be registered once)."""
        if every is not None and every <= 0:
            raise ValueError(f"job kind {kind!r}: every must be positive seconds")

        def add(fn: JobFunction) -> JobFunction:
            existing = self._specs.get(kind)
            if existing is not None and existing.fn is not fn:
                raise ValueError(f"job kind {kind!r} is registered twice "
                                 f"({existing.fn.__module__}.{existing.fn.__qualname__})")
            self._specs[kind] = JobSpec(kind, fn, priority, max_attempts, every)
            return fn

        return add

    def get(self, kind: str) -> JobSpec | None:
        """The spec of a kind, or None when nothing in this process registered it."""
        return self._specs.get(kind)

    def recurring(self) -> list[JobSpec]:
        """Kinds registered with `every=`."""
        return [s for s in self._specs.values() if s.every is not None]

    def kinds(self) -> list[str]:
        """Every registered name."""
        return sorted(self._specs)


REGISTRY = Registry()
register = REGISTRY.register


class JobContext(UpdateContext):
    """A job's transaction, used like a handler's context.

    A job has no chat of its own: `ctx.reply(text, chat_id=...)` names the recipient, and
    `ctx.chat(chat_id)` gives a view bound to one chat for `edit`, `send_photo` and the rest
    (for a member's private chat, its `member` and `texts` are that member's). Messages go out
    at the kind's priority (reminders by default).
    """

    def __init__(self, conn: psycopg2.extensions.connection, *, job: Job, now: dt.datetime,
                 settings: Settings | None, priority: int = PRIORITY_REMINDER,
                 chat_id: int = 0, registry: Registry | None = None,
                 parent: JobContext | None = None) -> None:
        super().__init__(conn, chat_id=chat_id, user_id=None, update_id=None, priority=priority)
        self.job = job
        self._now = now
        self.settings = settings
        self.registry = registry or REGISTRY
        self._parent = parent

    def now(self) -> dt.datetime:
        """The database's time when the job was taken (aware), the same throughout the job."""
        return self._now

    def chat(self, chat_id: int) -> JobContext:
        """The same transaction, bound to one chat (messages default to it)."""
        view = JobContext(self.conn, job=self.job, now=self._now, settings=self.settings,
                          priority=self.priority, chat_id=chat_id, registry=self.registry,
                          parent=self._parent or self)
        # A private chat's id is its user's id: member lookups and language then work.
        view.user_id = chat_id if chat_id > 0 else None
        return view

    def enqueue(self, method: str, params: dict[str, Any], *, chat_id: int | None = None,
                file: tuple[str, str, bytes] | None = None, priority: int | None = None) -> int:
        """Queue any Bot API call in the job's transaction; returns the outbox id."""
        target = self.chat_id if chat_id is None else chat_id
        if not target:
            raise ValueError(f"job {self.job.kind} #{self.job.id} has no chat of its own: "
                             "pass chat_id=... or use ctx.chat(chat_id)")
        row_id = super().enqueue(method, params, chat_id=target, file=file, priority=priority)
        if self._parent is not None:
            self._parent.queued += 1
        return row_id

    def schedule(self, kind: str, payload: dict[str, Any] | None = None,
                 run_at: dt.datetime | dt.timedelta | None = None, *,
                 key: str | None = None, max_attempts: int | None = None) -> bool:
        """Schedule a follow-up job in this transaction (see fitclub.runtime.jobs.schedule)."""
        return scheduling.schedule(self.conn, kind, payload, run_at, key=key,
                                   max_attempts=max_attempts)

    def run_again(self, run_at: scheduling.When, *,
                  payload: dict[str, Any] | None = None) -> None:
        """Keep this job pending, due again at run_at (a delay or a time), instead of done.

        For work done a batch at a time (an announcement to thousands): each run handles one
        batch, saves where it got to in the payload, and asks to run again. Attempts start
        again from zero; if this run fails, the request is rolled back with everything else.
        """
        scheduling.run_again(self.conn, self.job.id, run_at, payload=payload)

    def cancel(self, kind: str, key: str) -> bool:
        """Cancel a pending job in this transaction (see fitclub.runtime.jobs.cancel)."""
        return scheduling.cancel(self.conn, kind, key)
