"""Named SQL queries, parsed once from the `.sql` files beside this module.

A block starts with `-- name: <name>` and a one-line comment saying what it does; it is
looked up as `Q["<file stem>.<name>"]`. Parameters are psycopg2's `%(name)s`.
"""

from __future__ import annotations

import re
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")
_HEADER = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.M)


def load(sql_dir: Path = SQL_DIR) -> dict[str, str]:
    """Every named query in sql_dir, keyed `stem.name`; duplicate names are refused."""
    queries: dict[str, str] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        parts = _HEADER.split(text)
        # parts = [preamble, name1, body1, name2, body2, ...]
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            key = f"{path.stem}.{name}"
            if key in queries:
                raise ValueError(f"query {key} is defined twice in {path.name}")
            sql = body.strip().rstrip(";").strip()
            if not sql:
                raise ValueError(f"query {key} in {path.name} is empty")
            queries[key] = sql
    return queries


Q: dict[str, str] = load()
