"""Small helpers shared by the test modules."""

from __future__ import annotations

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
