"""Scheduling, moving and cancelling jobs from any transaction (a handler's, a service's, a job's).

Each function takes the caller's connection or cursor and writes in the caller's transaction:
a job scheduled by a handler that rolls back never existed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions
from psycopg2.extras import Json

from fitclub.db.queries import Q

# The dedup_key of a recurring kind's one row.
RECURRING_KEY = "recurring"

When = dt.datetime | dt.timedelta | None


@contextmanager
def _cursor(target: Any) -> Iterator[psycopg2.extensions.cursor]:
    if isinstance(target, psycopg2.extensions.cursor):
        yield target
    else:
        with target.cursor() as cur:
            yield cur


def _when(run_at: When) -> dict[str, Any]:
    """Query parameters for a due time: an aware datetime, a delay, or None for now."""
    if run_at is None:
        return {"run_at": None, "delay": 0.0}
    if isinstance(run_at, dt.timedelta):
        return {"run_at": None, "delay": run_at.total_seconds()}
    if isinstance(run_at, dt.datetime):
        if run_at.tzinfo is None or run_at.utcoffset() is None:
            raise ValueError("run_at must be time-zone aware (a naive time is ambiguous)")
        return {"run_at": run_at, "delay": 0.0}
    raise TypeError(f"run_at must be a datetime, a timedelta or None, not {type(run_at).__name__}")


def schedule(target: Any, kind: str, payload: dict[str, Any] | None = None,
             run_at: When = None, *, key: str | None = None,
             max_attempts: int | None = None) -> bool:
    """Add a job due at run_at (an aware datetime, a delay from now, or None for now).

    With a key, a job of the same kind and key that exists in any status (pending, done,
    failed, cancelled) makes this a no-op; returns whether a row was added.
    """
    with _cursor(target) as cur:
        cur.execute(Q["jobs.schedule"], {"kind": kind, "payload": Json(payload or {}),
                                         "key": key, "max_attempts": max_attempts,
                                         **_when(run_at)})
        return cur.fetchone() is not None


def reschedule(target: Any, kind: str, key: str, run_at: When, *,
               payload: dict[str, Any] | None = None, max_attempts: int | None = None) -> None:
    """Make the job (kind, key) pending at run_at, whatever its state, creating it if missing.

    The payload is replaced when given, kept otherwise; attempts start again from zero. Use it
    when the thing a job is about changed (a class moved): the job runs again at the new time
    even if it ran before.
    """
    with _cursor(target) as cur:
        cur.execute(Q["jobs.reschedule"], {
            "kind": kind, "key": key, "payload": None if payload is None else Json(payload),
            "max_attempts": max_attempts, **_when(run_at)})


def cancel(target: Any, kind: str, key: str) -> bool:
    """Cancel the pending job (kind, key); False when there is none (already run, or never)."""
    with _cursor(target) as cur:
        cur.execute(Q["jobs.cancel"], {"kind": kind, "key": key})
        return cur.fetchone() is not None


def run_again(target: Any, job_id: int, run_at: When, *,
              payload: dict[str, Any] | None = None) -> None:
    """Make a running job due again instead of done (JobContext.run_again calls this)."""
    with _cursor(target) as cur:
        cur.execute(Q["jobs.run_again"], {
            "id": job_id, "payload": None if payload is None else Json(payload),
            **_when(run_at)})


def ensure_recurring(target: Any, kind: str, every_seconds: float) -> bool:
    """Make sure the one row of a recurring kind exists and is pending; True if created here.

    Safe to call from every instance at every start: the row's dedup key makes a second
    creation a no-op, and a row left failed or cancelled (or with another interval) is
    brought back to pending with this interval.
    """
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    params = {"kind": kind, "key": RECURRING_KEY, "every": float(every_seconds),
              "max_attempts": None}
    with _cursor(target) as cur:
        cur.execute(Q["jobs.ensure_recurring"], params)
        if cur.fetchone() is not None:
            return True
        cur.execute(Q["jobs.revive_recurring"], params)
        return False
