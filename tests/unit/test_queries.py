"""Named queries: every name the code uses exists, and the loader refuses ambiguity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fitclub.db.queries import Q, load

SRC = Path(__file__).resolve().parents[2] / "src" / "fitclub"


# Q["file.name"], and the name handed to fitclub.db.rows: rows.one(conn, "file.name", ...).
USES = re.compile(r'Q\["([a-z_]+\.[a-z_]+)"\]'
                  r'|rows\.(?:one|many|scalar|execute)\(\s*[\w.]+,\s*"([a-z_]+\.[a-z_]+)"')


def test_every_query_name_used_in_the_code_exists():
    used = set()
    for path in SRC.rglob("*.py"):
        used |= {q or r for q, r in USES.findall(path.read_text())}
    assert used, "the pattern found no query uses at all"
    assert sorted(used - Q.keys()) == []


def test_every_query_has_a_description_line():
    for path in (SRC / "db" / "sql").glob("*.sql"):
        blocks = re.split(r"^-- name: \w+\s*$", path.read_text(), flags=re.M)[1:]
        for block in blocks:
            assert block.lstrip("\n").startswith("-- "), f"{path.name}: a query lacks its line"


def test_duplicate_names_are_refused(tmp_path):
    (tmp_path / "x.sql").write_text("-- name: a\n-- one\nSELECT 1;\n-- name: a\n-- two\nSELECT 2;")
    with pytest.raises(ValueError, match=r"x\.a is defined twice"):
        load(tmp_path)


def test_blocks_are_split_and_trimmed(tmp_path):
    (tmp_path / "y.sql").write_text("-- preamble\n\n-- name: one\n-- first\nSELECT 1;\n\n"
                                    "-- name: two\n-- second\nSELECT %(x)s;\n")
    assert load(tmp_path) == {"y.one": "-- first\nSELECT 1", "y.two": "-- second\nSELECT %(x)s"}
