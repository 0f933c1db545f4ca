"""The schema itself refuses invalid states (sql/0001_schema.sql), whatever the code does."""

import threading
import time
from datetime import UTC, date, datetime

import psycopg2
import psycopg2.errors
import pytest
from psycopg2 import sql

from tests import factories

SEAT_TAKING = ("booked", "attended", "no_show")


def _insert(cur, table, **values):
    """Insert one row of just these columns and return its id."""
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(map(sql.Placeholder, values)),
    )
    cur.execute(query, values)
    return cur.fetchone()[0]


def _update(cur, table, row_id, **values):
    query = sql.SQL("UPDATE {} SET {} WHERE id = %(id)s").format(
        sql.Identifier(table),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values
        ),
    )
    cur.execute(query, {**values, "id": row_id})
    assert cur.rowcount == 1


def _booked_count(cur, class_id):
    cur.execute("SELECT booked_count FROM classes WHERE id = %s", (class_id,))
    return cur.fetchone()[0]


@pytest.fixture
def cur(db):
    with db.cursor() as cursor:
        yield cursor


@pytest.fixture
def new_member(cur):
    """Make a member with a fresh Telegram id."""
    ids = iter(range(1000, 10**6))

    def make(**values):
        return factories.member(cur.connection, next(ids), "Ann", registered=False, **values)

    return make


@pytest.fixture
def new_class(cur, new_member):
    """Make a scheduled class with the given capacity."""
    trainer = new_member(role="trainer")
    class_type = factories.class_type(
        cur.connection, "Yoga", default_duration_minutes=60, default_capacity=10
    )

    def make(capacity):
        return factories.class_(
            cur.connection,
            trainer,
            datetime(2030, 1, 1, 10, 0, tzinfo=UTC),
            class_type_id=class_type,
            duration_minutes=60,
            capacity=capacity,
        )

    return make


@pytest.fixture
def book(cur):
    def make(class_id, member_id, status="booked"):
        return factories.booking(cur.connection, class_id, member_id, status=status)

    return make


@pytest.fixture
def plan(cur):
    return factories.plan(
        cur.connection, "10 visits", price_minor=500000, duration_days=30, visit_count=10
    )


@pytest.fixture
def new_membership(cur, plan):
    def make(
        member_id,
        status="active",
        visits_left=10,
        starts_on=date(2030, 1, 1),
        ends_on=date(2030, 1, 31),
    ):
        return factories.membership(
            cur.connection,
            member_id,
            plan,
            status=status,
            visits_left=visits_left,
            starts_on=starts_on,
            ends_on=ends_on,
        )

    return make


@pytest.fixture
def world(cur, new_member, new_class, book, new_membership):
    """One valid row in every table, keyed by table name."""
    member = new_member()
    klass = new_class(capacity=5)
    membership = new_membership(member)
    cur.execute("SELECT id FROM membership_plans")
    plan_id = cur.fetchone()[0]
    cur.execute("SELECT id FROM class_types")
    class_type_id = cur.fetchone()[0]
    return {
        "members": member,
        "membership_plans": plan_id,
        "memberships": membership,
        "membership_freezes": _insert(
            cur,
            "membership_freezes",
            membership_id=membership,
            frozen_from=date(2030, 1, 5),
            frozen_until=date(2030, 1, 10),
        ),
        "class_types": class_type_id,
        "classes": klass,
        "bookings": book(new_class(capacity=5), member),  # leaves "classes" empty
        "visits": factories.visit(cur.connection, member, method="qr"),
        "audit_log": _insert(
            cur, "audit_log", action="member.registered", entity="member", entity_id=member
        ),
    }


# --- bookings -------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["booked", "waitlisted", "cancelled", "attended", "no_show"])
def test_second_booking_of_a_class_by_one_member_fails(cur, new_member, new_class, book, first):
    member, klass = new_member(), new_class(capacity=5)
    book(klass, member, status=first)
    with pytest.raises(psycopg2.errors.UniqueViolation) as exc:
        book(klass, member, status="waitlisted")
    assert exc.value.diag.constraint_name == "bookings_class_id_member_id_key"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, "booked"),
        (None, "attended"),
        (None, "no_show"),
        ("waitlisted", "booked"),  # promoted from the waitlist
        ("cancelled", "booked"),  # rebooked after a cancel
        ("cancelled", "attended"),
    ],
)
def test_taking_a_seat_in_a_full_class_fails(cur, new_member, new_class, book, *, start, end):
    klass = new_class(capacity=2)
    book(klass, new_member())
    book(klass, new_member())
    latecomer = new_member()
    with pytest.raises(psycopg2.errors.CheckViolation) as exc:
        if start is None:
            book(klass, latecomer, status=end)
        else:
            _update(cur, "bookings", book(klass, latecomer, status=start), status=end)
    assert exc.value.diag.constraint_name == "classes_booked_count_check"


def test_waitlist_may_grow_beyond_capacity(cur, new_member, new_class, book):
    klass = new_class(capacity=1)
    book(klass, new_member())
    for _ in range(3):
        book(klass, new_member(), status="waitlisted")
    cur.execute(
        "SELECT count(*) FROM bookings WHERE class_id = %s AND status = 'waitlisted'", (klass,)
    )
    assert cur.fetchone()[0] == 3
    assert _booked_count(cur, klass) == 1


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_cancelling_frees_a_seat(cur, new_member, new_class, book, how):
    klass = new_class(capacity=1)
    booking = book(klass, new_member())
    if how == "cancel":
        _update(cur, "bookings", booking, status="cancelled")
    else:
        cur.execute("DELETE FROM bookings WHERE id = %s", (booking,))
    assert _booked_count(cur, klass) == 0
    book(klass, new_member())
    assert _booked_count(cur, klass) == 1


def test_capacity_cannot_drop_below_seats_taken(cur, new_member, new_class, book):
    klass = new_class(capacity=3)
    book(klass, new_member())
    book(klass, new_member())
    with pytest.raises(psycopg2.errors.CheckViolation) as exc:
        _update(cur, "classes", klass, capacity=1)
    assert exc.value.diag.constraint_name == "classes_booked_count_check"


def test_concurrent_bookings_of_the_last_seat_exactly_one_wins(db, db_url, new_member, new_class):
    klass = new_class(capacity=1)
    rivals = [new_member(), new_member()]
    db.commit()

    start = threading.Barrier(len(rivals))
    outcomes = []

    def try_to_book(member_id):
        conn = psycopg2.connect(db_url)
        try:
            start.wait(timeout=10)
            factories.booking(conn, klass, member_id)
            # Hold the transaction open so the rival's insert overlaps it.
            time.sleep(0.3)
            conn.commit()
            outcomes.append("booked")
        except psycopg2.errors.CheckViolation as exc:
            outcomes.append(exc.diag.constraint_name)
        except Exception as exc:  # anything else is reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=try_to_book, args=(m,)) for m in rivals]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["booked", "classes_booked_count_check"]
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM bookings WHERE class_id = %s", (klass,))
        assert (cur.fetchone()[0], _booked_count(cur, klass)) == (1, 1)


def test_booked_count_follows_every_kind_of_change(cur, new_member, new_class, book):
    a, b = new_class(capacity=3), new_class(capacity=3)
    members = [new_member() for _ in range(6)]
    rows = [book(a, m) for m in members[:3]]
    waiting = [book(a, m, status="waitlisted") for m in members[3:5]]
    _update(cur, "bookings", rows[0], status="attended")
    _update(cur, "bookings", rows[1], status="no_show")
    _update(cur, "bookings", rows[2], status="cancelled")
    _update(cur, "bookings", waiting[0], status="booked")
    _update(cur, "bookings", rows[2], status="waitlisted")
    _update(cur, "bookings", waiting[1], class_id=b)  # moved while waitlisted
    _update(cur, "bookings", waiting[1], status="booked")
    _update(cur, "bookings", rows[0], class_id=b)  # moved while holding a seat
    book(b, members[5], status="no_show")
    cur.execute("DELETE FROM bookings WHERE id = %s", (rows[1],))
    cur.execute("DELETE FROM members WHERE id = %s", (members[3],))  # cascades to its booking
    cur.execute(
        """SELECT c.id, c.booked_count, count(bk.id) FILTER (WHERE bk.status = ANY(%s))
             FROM classes c LEFT JOIN bookings bk ON bk.class_id = c.id
            GROUP BY c.id ORDER BY c.id""",
        (list(SEAT_TAKING),),
    )
    assert [(row[1], row[2]) for row in cur.fetchall()] == [(0, 0), (3, 3)]


def test_rebooking_after_a_cancel_joins_the_back_of_the_waitlist(
    db, cur, new_member, new_class, book
):
    klass = new_class(capacity=1)
    book(klass, new_member())
    first, second = new_member(), new_member()
    db.commit()
    # Each step commits so that each gets its own now().
    first_booking = book(klass, first, status="waitlisted")
    db.commit()
    book(klass, second, status="waitlisted")
    db.commit()
    _update(cur, "bookings", first_booking, status="cancelled")
    db.commit()
    _update(cur, "bookings", first_booking, status="waitlisted")
    db.commit()
    cur.execute(
        """SELECT member_id FROM bookings WHERE class_id = %s AND status = 'waitlisted'
            ORDER BY created_at, id""",
        (klass,),
    )
    assert [row[0] for row in cur.fetchall()] == [second, first]


# --- memberships ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE memberships SET visits_left = -1 WHERE id = %s",
        "UPDATE memberships SET visits_left = visits_left - 1 WHERE id = %s",  # check-in at 0
    ],
    ids=["set", "decrement"],
)
def test_negative_visit_balance_fails(cur, new_member, new_membership, statement):
    membership = new_membership(new_member(), visits_left=0)
    with pytest.raises(psycopg2.errors.CheckViolation) as exc:
        cur.execute(statement, (membership,))
    assert exc.value.diag.constraint_name == "memberships_visits_left_check"


@pytest.mark.parametrize("first", ["active", "frozen"])
@pytest.mark.parametrize("second", ["active", "frozen"])
def test_second_current_membership_fails(cur, new_member, new_membership, first, second):
    member = new_member()
    new_membership(member, status=first)
    with pytest.raises(psycopg2.errors.UniqueViolation) as exc:
        new_membership(member, status=second)
    assert exc.value.diag.constraint_name == "memberships_one_current_per_member"


@pytest.mark.parametrize("past", ["expired", "cancelled"])
def test_past_memberships_do_not_block_a_new_one(cur, new_member, new_membership, past):
    member = new_member()
    new_membership(member, status=past)
    new_membership(member, status=past)
    new_membership(member, status="active")
    cur.execute("SELECT count(*) FROM memberships WHERE member_id = %s", (member,))
    assert cur.fetchone()[0] == 3


@pytest.mark.parametrize(
    ("table", "columns", "constraint"),
    [
        ("memberships", ("starts_on", "ends_on"), "memberships_dates_check"),
        ("membership_freezes", ("frozen_from", "frozen_until"), "membership_freezes_dates_check"),
    ],
)
def test_range_ending_before_it_starts_fails(cur, world, table, columns, constraint):
    start, end = columns
    _update(cur, table, world[table], **{start: date(2030, 2, 1), end: date(2030, 2, 1)})
    with pytest.raises(psycopg2.errors.CheckViolation) as exc:
        _update(cur, table, world[table], **{end: date(2030, 1, 31)})
    assert exc.value.diag.constraint_name == constraint


# --- values out of their domain -------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "value", "constraint"),
    [
        ("members", "language", "de", "members_language_check"),
        ("members", "language", "EN", "members_language_check"),
        ("members", "role", "superuser", "members_role_check"),
        ("members", "role", "Admin", "members_role_check"),
        ("memberships", "status", "paused", "memberships_status_check"),
        ("classes", "status", "postponed", "classes_status_check"),
        ("bookings", "status", "pending", "bookings_status_check"),
        ("visits", "method", "nfc", "visits_method_check"),
    ],
)
def test_unknown_status_role_or_language_fails(cur, world, *, table, column, value, constraint):
    with pytest.raises(psycopg2.errors.CheckViolation) as exc:
        _update(cur, table, world[table], **{column: value})
    assert exc.value.diag.constraint_name == constraint


@pytest.mark.parametrize(
    ("table", "column", "value", "constraint"),
    [
        ("members", "telegram_id", 0, "members_telegram_id_check"),
        ("members", "first_name", " ", "members_first_name_check"),
        ("members", "phone", "call me", "members_phone_check"),
        ("members", "phone", "+7 916 123-45-67", "members_phone_check"),
        ("membership_plans", "price_minor", -1, "membership_plans_price_minor_check"),
        ("membership_plans", "duration_days", 0, "membership_plans_duration_days_check"),
        ("membership_plans", "visit_count", 0, "membership_plans_visit_count_check"),
        (
            "class_types",
            "default_duration_minutes",
            0,
            "class_types_default_duration_minutes_check",
        ),
        ("class_types", "default_capacity", 0, "class_types_default_capacity_check"),
        ("classes", "duration_minutes", 0, "classes_duration_minutes_check"),
        ("classes", "capacity", 0, "classes_capacity_check"),
        ("classes", "booked_count", -1, "classes_booked_count_check"),
        ("visits", "method", "class", "visits_class_method_check"),  # without a class
        ("audit_log", "action", "", "audit_log_action_check"),
        ("audit_log", "details", "[]", "audit_log_details_check"),
    ],
)
def test_value_out_of_range_fails(cur, world, *, table, column, value, constraint):
    with pytest.raises(psycopg2.errors.CheckViolation) as exc:
        _update(cur, table, world[table], **{column: value})
    assert exc.value.diag.constraint_name == constraint


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("members", "phone", "+79161234567"),
        ("members", "phone", "79161234567"),
        ("membership_plans", "visit_count", None),  # unlimited
        ("memberships", "visits_left", None),  # unlimited
        ("memberships", "visits_left", 0),
        ("membership_plans", "price_minor", 0),  # a free trial
    ],
)
def test_boundary_values_are_accepted(cur, world, table, column, value):
    _update(cur, table, world[table], **{column: value})
    cur.execute(
        sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            sql.Identifier(column), sql.Identifier(table)
        ),
        (world[table],),
    )
    assert cur.fetchone()[0] == value


@pytest.mark.parametrize(
    ("table", "row", "constraint"),
    [
        (
            "members",
            {"telegram_id": 42, "first_name": "Ann", "registered": False},
            "members_telegram_id_key",
        ),
        (
            "membership_plans",
            {"name": "Month", "price_minor": 1, "duration_days": 30, "visit_count": None},
            "membership_plans_name_key",
        ),
        (
            "class_types",
            {"name": "Yoga", "default_duration_minutes": 60, "default_capacity": 9},
            "class_types_name_key",
        ),
    ],
)
def test_duplicate_natural_key_fails(cur, table, row, constraint):
    make = {"members": factories.member, "membership_plans": factories.plan,
            "class_types": factories.class_type}[table]
    make(cur.connection, **row)
    with pytest.raises(psycopg2.errors.UniqueViolation) as exc:
        make(cur.connection, **row)
    assert exc.value.diag.constraint_name == constraint


# --- visits and foreign keys ----------------------------------------------------------------


def test_second_visit_to_the_same_class_fails(cur, world):
    member, klass = world["members"], world["classes"]
    factories.visit(cur.connection, member, class_id=klass, method="class")
    with pytest.raises(psycopg2.errors.UniqueViolation) as exc:
        factories.visit(cur.connection, member, class_id=klass, method="qr")
    assert exc.value.diag.constraint_name == "visits_one_per_member_class"


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("bookings", "class_id"),
        ("bookings", "member_id"),
        ("memberships", "plan_id"),
        ("classes", "trainer_id"),
        ("visits", "membership_id"),
        ("audit_log", "actor_id"),
    ],
)
def test_reference_to_a_missing_row_fails(cur, world, table, column):
    with pytest.raises(psycopg2.errors.ForeignKeyViolation):
        _update(cur, table, world[table], **{column: 999_999})


@pytest.mark.parametrize(
    ("table", "constraint"),
    [
        ("membership_plans", "memberships_plan_id_fkey"),  # retire a plan, never delete it
        ("class_types", "classes_class_type_id_fkey"),
        ("members", "classes_trainer_id_fkey"),  # the trainer of a class
    ],
)
def test_deleting_a_row_still_in_use_fails(cur, world, table, constraint):
    if table == "members":
        cur.execute("SELECT trainer_id FROM classes WHERE id = %s", (world["classes"],))
        row = cur.fetchone()[0]
    else:
        row = world[table]
    with pytest.raises(psycopg2.errors.ForeignKeyViolation) as exc:
        cur.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table)), (row,))
    assert exc.value.diag.constraint_name == constraint


def test_deleting_a_member_keeps_the_audit_trail_and_frees_their_seats(cur, world):
    member = world["members"]
    cur.execute("SELECT class_id FROM bookings WHERE id = %s", (world["bookings"],))
    klass = cur.fetchone()[0]
    assert _booked_count(cur, klass) == 1
    _update(cur, "audit_log", world["audit_log"], actor_id=member)
    cur.execute("DELETE FROM members WHERE id = %s", (member,))
    cur.execute("SELECT actor_id FROM audit_log WHERE id = %s", (world["audit_log"],))
    assert (cur.fetchone()[0], _booked_count(cur, klass)) == (None, 0)
