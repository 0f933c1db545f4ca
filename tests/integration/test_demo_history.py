"""Demo members and their history: consistent with the club's rules, loaded once."""

from __future__ import annotations

from fitclub.demo_data import CLUB_MEMBERS, load_demo_data, load_demo_history
from tests.helpers import query


def _load(db, db_url):
    load_demo_data(db, timezone="Europe/Berlin")
    return load_demo_history(db, timezone="Europe/Berlin")


def test_members_history_and_coming_bookings(db, db_url):
    result = _load(db, db_url)
    assert result["loaded"] is True and result["members"] == len(CLUB_MEMBERS)
    assert query(db_url, "SELECT count(*) FROM members WHERE telegram_id BETWEEN 910001"
                         " AND 910099 AND registered_at IS NOT NULL")[0][0] == len(CLUB_MEMBERS)
    # Everyone but one holds a current membership; that one asked for a plan.
    assert query(db_url, "SELECT count(*) FROM memberships WHERE status = 'active'")[0][0] == \
        len(CLUB_MEMBERS) - 1
    assert query(db_url, "SELECT count(*) FROM plan_requests WHERE status = 'open'") == [(1,)]
    # Two memberships end within the week (the reports and reminders have something).
    assert query(db_url, "SELECT count(*) FROM memberships"
                         " WHERE ends_on < current_date + 7")[0][0] >= 2
    # Every attended booking of a past class has its visit, no-shows have none.
    assert query(db_url, """
        SELECT count(*) FILTER (WHERE b.status = 'attended' AND v.id IS NULL),
               count(*) FILTER (WHERE b.status = 'no_show' AND v.id IS NOT NULL),
               count(*) FILTER (WHERE b.status = 'attended')
        FROM bookings b JOIN classes c ON c.id = b.class_id
        LEFT JOIN visits v ON v.member_id = b.member_id AND v.class_id = b.class_id
        WHERE c.starts_at < now()""")[0][:2] == (0, 0)
    assert result["visits"] == query(db_url, "SELECT count(*) FROM visits")[0][0] > 50
    # Nothing waits to be marked, so the no-show sweep has nothing to do.
    assert query(db_url, "SELECT count(*) FROM bookings b JOIN classes c ON c.id = b.class_id"
                         " WHERE c.starts_at < now() AND b.status = 'booked'") == [(0,)]
    # A coming Strength class is full, with two in its waitlist; counts match the bookings.
    assert query(db_url, """
        SELECT c.booked_count = c.capacity, count(*) FILTER (WHERE b.status = 'waitlisted')
        FROM classes c JOIN class_types t ON t.id = c.class_type_id
        JOIN bookings b ON b.class_id = c.id
        WHERE t.name = 'Strength' AND c.starts_at > now()
        GROUP BY c.id, c.booked_count, c.capacity HAVING count(*) > c.capacity""") == [(True, 2)]


def test_loading_the_history_twice_adds_nothing(db, db_url):
    _load(db, db_url)
    counts = query(db_url, "SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM"
                           " bookings), (SELECT count(*) FROM visits)")
    assert load_demo_history(db, timezone="Europe/Berlin") == {"loaded": False}
    assert query(db_url, "SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM"
                         " bookings), (SELECT count(*) FROM visits)") == counts
