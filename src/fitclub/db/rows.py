"""Named rows: query functions hand their callers NamedTuples, never positional tuples.

`one()` and `many()` run a named query and build the row type from each result, checking once
per call that the query's columns are the row's fields in the same order, so a query and its
row type cannot drift apart silently. A field declared `Localized` (club content in two
languages) is built from the `*_i18n` column the query returns for it.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ForwardRef, NamedTuple, TypeVar, get_args

from fitclub.db.queries import Q
from fitclub.locales import Localized

R = TypeVar("R", bound=NamedTuple)
_LOCALIZED = {"Localized", "Localized | None", "None | Localized"}


def _is_localized(annotation: object) -> bool:
    if isinstance(annotation, ForwardRef):  # NamedTuple's form of a postponed annotation
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        return annotation.strip() in _LOCALIZED
    if isinstance(annotation, types.UnionType):
        return Localized in get_args(annotation)
    return annotation is Localized


@functools.cache
def _localized_fields(row_type: type) -> frozenset[int]:
    """The positions of a row type's fields declared Localized."""
    annotations = getattr(row_type, "__annotations__", {})
    return frozenset(i for i, field in enumerate(row_type._fields)
                     if _is_localized(annotations.get(field)))


def build(row_type: type[R], row: tuple) -> R:
    """A row as row_type, its Localized fields built from their `*_i18n` columns."""
    localized = _localized_fields(row_type)
    if not localized:
        return row_type(*row)
    return row_type(*(Localized.from_db(v) if i in localized else v for i, v in enumerate(row)))


def _check(cur, row_type: type[R], name: str) -> None:
    columns = tuple(col.name for col in cur.description)
    if columns != row_type._fields:
        raise TypeError(f"{name} returns {columns}, {row_type.__name__} expects "
                        f"{row_type._fields}")


def one(conn_or_cur, name: str, params: dict[str, Any], row_type: type[R]) -> R | None:
    """The first row of a named query as row_type, or None."""
    with _cursor(conn_or_cur) as cur:
        cur.execute(Q[name], params)
        _check(cur, row_type, name)
        row = cur.fetchone()
        return build(row_type, row) if row else None


def many(conn_or_cur, name: str, params: dict[str, Any], row_type: type[R]) -> list[R]:
    """Every row of a named query as row_type."""
    with _cursor(conn_or_cur) as cur:
        cur.execute(Q[name], params)
        _check(cur, row_type, name)
        return [build(row_type, row) for row in cur.fetchall()]


def scalar(conn_or_cur, name: str, params: dict[str, Any]) -> Any:
    """The first column of the first row (None when there is no row)."""
    with _cursor(conn_or_cur) as cur:
        cur.execute(Q[name], params)
        row = cur.fetchone()
        return row[0] if row else None


def execute(conn_or_cur, name: str, params: dict[str, Any]) -> int:
    """Run a named statement; the number of rows it touched."""
    with _cursor(conn_or_cur) as cur:
        cur.execute(Q[name], params)
        return cur.rowcount


@contextmanager
def savepoint(conn, name: str) -> Iterator[None]:
    """A savepoint around a few statements: an error inside undoes only them, so an expected
    one (a unique violation) leaves the transaction usable."""
    with conn.cursor() as cur:
        cur.execute(f"SAVEPOINT {name}")
    try:
        yield
    except Exception:
        with conn.cursor() as cur:
            cur.execute(f"ROLLBACK TO SAVEPOINT {name}")
        raise
    with conn.cursor() as cur:
        cur.execute(f"RELEASE SAVEPOINT {name}")


class _Borrowed:
    """A cursor of a connection (closed after use), or a given cursor (left open)."""

    def __init__(self, conn_or_cur) -> None:
        self.given = conn_or_cur if hasattr(conn_or_cur, "execute") else None
        self.conn = None if self.given else conn_or_cur
        self.cur = None

    def __enter__(self):
        if self.given is not None:
            return self.given
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, *exc) -> None:
        if self.cur is not None:
            self.cur.close()


def _cursor(conn_or_cur) -> _Borrowed:
    return _Borrowed(conn_or_cur)
