"""Hot queries on PostgreSQL (issue 20): a member's open bookings are found through
bookings_member_open_idx (sql/0035_performance_indexes.sql), reading only the open places,
not the member's whole booking history."""

from __future__ import annotations

import psycopg2
import pytest

from bench.history import TELEGRAM_BASE, seed_club
from fitclub.db.queries import Q


def _plan(conn, name: str, params: dict) -> dict:
    with conn.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + Q[name], params)
        return cur.fetchone()[0][0]["Plan"]


def _nodes(plan: dict) -> list[dict]:
    found = [plan]
    for sub in plan.get("Plans", []):
        found += _nodes(sub)
    return found


@pytest.fixture
def club(db_url: str):
    """A 200-member club with a year of history (about 100 past bookings per member)."""
    seed_club(db_url, members=200, weeks_back=52, weeks_ahead=2)
    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT m.id, count(*) FILTER (WHERE b.status IN ('booked', 'waitlisted')),"
                    " count(*) FROM members m JOIN bookings b ON b.member_id = m.id"
                    " WHERE m.telegram_id = %s GROUP BY m.id", (TELEGRAM_BASE + 100,))
        member_id, open_places, history = cur.fetchone()
        cur.execute("SELECT now()")
        now = cur.fetchone()[0]
    conn.rollback()
    assert open_places > 0 and history > 5 * open_places  # a history to skip
    yield conn, member_id, open_places, now
    conn.close()


@pytest.mark.parametrize("name, key", [("bookings.upcoming_for_member", "member_id"),
                                       ("members.future_places", "id")])
def test_open_bookings_of_a_member_read_only_open_places(club, name, key):
    conn, member_id, open_places, now = club
    plan = _plan(conn, name, {key: member_id, "now": now})
    conn.rollback()
    scans = [n for n in _nodes(plan) if n.get("Relation Name") == "bookings"
             or n.get("Index Name", "").startswith("bookings_member")]
    assert any(n.get("Index Name") == "bookings_member_open_idx" for n in scans), scans
    # The bookings read are the open ones, not the history.
    read = max(n.get("Actual Rows", 0) * n.get("Actual Loops", 1) for n in scans)
    assert read <= open_places
