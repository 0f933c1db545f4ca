"""Small helpers shared by the test modules."""

from __future__ import annotations

import json
from datetime import date, datetime, tzinfo
from typing import Any

import psycopg2


def query(db_url: str, sql: str, params: Any = None) -> list[tuple]:
    """Rows of one statement on a fresh connection (no pool), committed and closed."""
    conn = psycopg2.connect(db_url, connect_timeout=3)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def stored_text(value: object) -> str | None:
    """A stored value as the text a person's identifiers could be read from: bytes decoded
    (UTF-8, bad bytes replaced), JSON as written (and arrays, their times as text), text as
    it is; None for anything else."""
    if isinstance(value, memoryview | bytes):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return None


def as_in_file(value: object, tz: tzinfo) -> object:
    """A database value as a member's copy of their data writes it (ISO 8601, moments in tz)."""
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_as_in_file(db_url: str, sql: str, params: Any, tz: tzinfo) -> list[list]:
    """The rows of a query with each value as the copy of a member's data writes it."""
    return [[as_in_file(v, tz) for v in row] for row in query(db_url, sql, params)]


def in_transaction(db_url: str, fn, *args: Any, **kwargs: Any) -> Any:
    """fn(conn, *args, **kwargs) in one transaction on a fresh connection, committed (rolled
    back if it raises) and closed: a service called as a handler or a job would call it."""
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            return fn(conn, *args, **kwargs)
    finally:
        conn.close()
