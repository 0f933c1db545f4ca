"""Plans as admins manage them, on PostgreSQL: create, edit, archive, and delete only a plan
never sold; each change audited."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from fitclub.db.migrate import SQL_DIR, Migrator
from fitclub.locales import shown
from fitclub.services import memberships, plans
from fitclub.services.plans import Draft, Outcome
from tests import factories
from tests.helpers import query

MONTH = Draft("Month", 5000, 30, 12, 7)


def _run(db_url: str, fn, *args):
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            return fn(conn, *args)
    finally:
        conn.close()


@pytest.fixture
def admin(db_url) -> int:
    return factories.member(db_url, 501, "Ada", role="admin")


def _actions(db_url: str) -> list[tuple]:
    return query(db_url, "SELECT action, details FROM audit_log WHERE entity = 'plan'"
                         " ORDER BY id")


def test_a_plan_is_created_on_sale_and_names_are_unique_in_any_case(db_url, admin):
    change = _run(db_url, plans.create, admin, MONTH)
    assert change.outcome is Outcome.DONE
    assert change.plan[1:] == ("Month", 5000, 30, 12, 7, True, 0, 0)
    again = _run(db_url, plans.create, admin, MONTH._replace(name="MONTH"))
    assert (again.outcome, again.name) == (Outcome.NAME_TAKEN, "MONTH")
    assert query(db_url, "SELECT count(*) FROM membership_plans")[0][0] == 1
    assert _actions(db_url) == [("plan.created", {
        "name": "Month", "price_minor": 5000, "duration_days": 30, "visit_count": 12,
        "freeze_days": 7})]


@pytest.mark.parametrize(("field", "value", "column"), [
    ("name", "Month plus", "name"), ("price", 5500, "price_minor"),
    ("days", 31, "duration_days"), ("visits", None, "visit_count"),
    ("freeze", 0, "freeze_days")])
def test_each_field_is_edited_and_the_old_value_audited(db_url, admin, field, value, column):
    plan_id = _run(db_url, plans.create, admin, MONTH).plan.id
    change = _run(db_url, plans.update, admin, plan_id, field, value)
    assert change.outcome is Outcome.DONE
    assert getattr(change.plan, column) == value
    assert _actions(db_url)[-1] == ("plan.updated", {
        "field": column, "old": MONTH._asdict()[column], "new": value})
    assert _run(db_url, plans.update, admin, plan_id, field, value).outcome is Outcome.SAME


def test_renaming_to_a_taken_name_is_refused(db_url, admin):
    _run(db_url, plans.create, admin, MONTH)
    other = _run(db_url, plans.create, admin, MONTH._replace(name="Year")).plan.id
    assert _run(db_url, plans.update, admin, other, "name", "month").outcome is (
        Outcome.NAME_TAKEN)
    assert _run(db_url, plans.update, admin, 999_999, "price", 1).outcome is Outcome.UNAVAILABLE


@pytest.mark.parametrize("second", ["create", "rename"])
def test_a_name_taken_by_another_admin_at_the_same_moment_is_refused(db_url, admin, second):
    # The first admin's "Gold" is not committed yet when the second admin's check runs, so
    # only the unique index can refuse the second "gold".
    silver = _run(db_url, plans.create, admin, MONTH._replace(name="Silver")).plan.id
    first = psycopg2.connect(db_url)
    results: list = []

    def other_admin() -> None:
        try:
            if second == "create":
                results.append(_run(db_url, plans.create, admin, MONTH._replace(name="gold")))
            else:
                results.append(_run(db_url, plans.update, admin, silver, "name", "gold"))
        except Exception as exc:
            results.append(exc)

    try:
        assert plans.create(first, admin, MONTH._replace(name="Gold")).outcome is Outcome.DONE
        thread = threading.Thread(target=other_admin)
        thread.start()
        deadline = time.monotonic() + 10
        while not query(db_url, "SELECT count(*) FROM pg_stat_activity"
                                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )[0][0] and thread.is_alive():
            assert time.monotonic() < deadline, "the second admin never waited"
            time.sleep(0.02)
        first.commit()
        thread.join(10)
    finally:
        first.close()
    change, = results
    assert not isinstance(change, Exception), change
    assert (change.outcome, change.name) == (Outcome.NAME_TAKEN, "gold")
    assert sorted(r[0] for r in query(db_url, "SELECT name FROM membership_plans")) == [
        "Gold", "Silver"]
    assert [a for a, _ in _actions(db_url)] == ["plan.created", "plan.created"]


def test_plans_whose_names_clash_in_case_are_told_apart_by_the_migration(empty_db_url,
                                                                         tmp_path: Path):
    before = tmp_path / "sql"
    before.mkdir()
    for path in sorted(SQL_DIR.glob("*.sql")):
        if path.name < "0017":
            shutil.copy(path, before)
    Migrator(empty_db_url, before).migrate()
    for name in ("Gold", "gold", "Silver", " GOLD "):
        query(empty_db_url, "INSERT INTO membership_plans (name, price_minor, duration_days)"
                            " VALUES (%s, 100, 30)", (name,))
    shutil.copy(SQL_DIR / "0017_plan_names.sql", before)
    Migrator(empty_db_url, before).migrate()
    assert query(empty_db_url, "SELECT name FROM membership_plans ORDER BY id") == [
        ("Gold",), ("gold (#2)",), ("Silver",), ("GOLD (#4)",)]
    assert query(empty_db_url, "SELECT actor_id, entity_id, details->>'old', details->>'new'"
                               " FROM audit_log WHERE action = 'plan.updated' ORDER BY id") == [
        (None, 2, "gold", "gold (#2)"), (None, 4, " GOLD ", "GOLD (#4)")]
    with pytest.raises(psycopg2.errors.UniqueViolation):
        query(empty_db_url, "INSERT INTO membership_plans (name, price_minor, duration_days)"
                            " VALUES ('SILVER ', 100, 30)")


def test_archive_and_put_back_on_sale(db_url, admin):
    plan_id = _run(db_url, plans.create, admin, MONTH).plan.id
    assert _run(db_url, plans.set_on_sale, admin, plan_id, False).plan.is_active is False
    assert _run(db_url, plans.set_on_sale, admin, plan_id, False).outcome is Outcome.SAME
    assert query(db_url, "SELECT count(*) FROM membership_plans WHERE is_active")[0][0] == 0
    assert _run(db_url, plans.set_on_sale, admin, plan_id, True).plan.is_active is True
    assert [a for a, _ in _actions(db_url)] == ["plan.created", "plan.archived", "plan.on_sale"]


def test_only_a_plan_never_sold_is_deleted(db_url, admin):
    sold = _run(db_url, plans.create, admin, MONTH).plan.id
    unsold = _run(db_url, plans.create, admin, MONTH._replace(name="Trial")).plan.id
    factories.membership(db_url, admin, sold, starts_on=-60, ends_on=-31, visits_left=None,
                         status="expired")
    assert _run(db_url, plans.delete, admin, sold).outcome is Outcome.SOLD
    assert _run(db_url, plans.delete, admin, unsold).outcome is Outcome.DONE
    assert _run(db_url, plans.delete, admin, unsold).outcome is Outcome.UNAVAILABLE
    assert query(db_url, "SELECT name FROM membership_plans") == [("Month",)]
    listed = _run(db_url, plans.all_plans)
    assert [(p.name, p.sold, p.current) for p in listed] == [("Month", 1, 0)]


# -- the name in both languages ---------------------------------------------------------------

GOLD = MONTH._replace(name="Gold", lang="en", name_tr="Золотой")


def test_a_plan_is_created_with_its_name_in_the_other_language_and_each_reader_sees_theirs(
        db_url, admin):
    change = _run(db_url, plans.create, admin, GOLD)
    assert change.outcome is Outcome.DONE
    name = change.plan.name
    assert (str(name), name.lang, name.translation) == ("Gold", "en", "Золотой")
    assert [shown(name, "en"), shown(name, "ru")] == ["Gold", "Золотой"]
    # Members' plans (the membership screen) carry both names too.
    (on_sale,) = _run(db_url, memberships.plans_on_sale)
    assert [shown(on_sale.name, "en"), shown(on_sale.name, "ru")] == ["Gold", "Золотой"]
    assert _actions(db_url)[-1][1]["name_ru"] == "Золотой"
    # A Russian admin's plan, typed in Russian with an English name.
    utro = _run(db_url, plans.create, admin, MONTH._replace(name="Утро", lang="ru",
                                                              name_tr="Morning")).plan
    assert [shown(utro.name, "en"), shown(utro.name, "ru")] == ["Morning", "Утро"]
    # Without a translation the one name is every reader's.
    plain_plan = _run(db_url, plans.create, admin, MONTH._replace(name="Trial")).plan
    assert [shown(plain_plan.name, "en"), shown(plain_plan.name, "ru")] == ["Trial", "Trial"]


def test_no_name_is_another_plans_name_in_either_language(db_url, admin):
    _run(db_url, plans.create, admin, GOLD)
    # (Letter case is compared as the database's locale does: Latin letters everywhere.)
    for draft in (MONTH._replace(name="Золотой"), MONTH._replace(name="Silver", name_tr="gold"),
                  MONTH._replace(name="Серебро", lang="ru", name_tr="GOLD")):
        change = _run(db_url, plans.create, admin, draft)
        assert change.outcome is Outcome.NAME_TAKEN, draft
    silver = _run(db_url, plans.create, admin, MONTH._replace(name="Silver")).plan.id
    assert _run(db_url, plans.rename, admin, silver, "ru", "Золотой").outcome is (
        Outcome.NAME_TAKEN)
    assert query(db_url, "SELECT name, name_tr FROM membership_plans ORDER BY id") == [
        ("Gold", "Золотой"), ("Silver", None)]
    # Two admins at the same moment: the database's per-language keys refuse the second.
    with pytest.raises(psycopg2.errors.UniqueViolation, match="membership_plans_name_ru_key"):
        query(db_url, "UPDATE membership_plans SET name_tr = 'Золотой' WHERE id = %s",
              (silver,))
    with pytest.raises(psycopg2.errors.UniqueViolation, match="membership_plans_name_ru_key"):
        query(db_url, "INSERT INTO membership_plans (name, lang, price_minor, duration_days)"
                      " VALUES ('Золотой ', 'ru', 100, 30)")
    with pytest.raises(psycopg2.errors.UniqueViolation, match="membership_plans_name_en_key"):
        query(db_url, "INSERT INTO membership_plans (name, lang, name_tr, price_minor,"
                      " duration_days) VALUES ('Серебро', 'ru', ' GOLD', 100, 30)")


def test_the_name_in_each_language_is_given_changed_and_removed_and_audited(db_url, admin):
    plan_id = _run(db_url, plans.create, admin, MONTH._replace(name="Gold")).plan.id
    given = _run(db_url, plans.rename, admin, plan_id, "ru", "Золотой")
    assert given.outcome is Outcome.DONE and shown(given.plan.name, "ru") == "Золотой"
    assert _run(db_url, plans.rename, admin, plan_id, "ru", "Золотой").outcome is Outcome.SAME
    assert _run(db_url, plans.rename, admin, plan_id, "en", "Gold+").outcome is Outcome.DONE
    assert _run(db_url, plans.rename, admin, plan_id, "ru", None).outcome is Outcome.DONE
    assert query(db_url, "SELECT lang, name, name_tr FROM membership_plans") == [
        ("en", "Gold+", None)]
    # The only name is kept; with a Russian name given, the English one may go and the
    # Russian one becomes the plan's name as typed.
    assert _run(db_url, plans.rename, admin, plan_id, "en", None).outcome is Outcome.LAST_NAME
    _run(db_url, plans.rename, admin, plan_id, "ru", "Золотой")
    left = _run(db_url, plans.rename, admin, plan_id, "en", None)
    assert left.outcome is Outcome.DONE
    assert query(db_url, "SELECT lang, name, name_tr FROM membership_plans") == [
        ("ru", "Золотой", None)]
    assert [shown(left.plan.name, "en"), shown(left.plan.name, "ru")] == ["Золотой"] * 2
    assert [d for a, d in _actions(db_url) if a == "plan.updated"] == [
        {"field": "name_ru", "old": None, "new": "Золотой"},
        {"field": "name_en", "old": "Gold", "new": "Gold+"},
        {"field": "name_ru", "old": "Золотой", "new": None},
        {"field": "name_ru", "old": None, "new": "Золотой"},
        {"field": "name_en", "old": "Gold+", "new": None}]


def test_existing_plans_named_in_cyrillic_are_taken_as_typed_in_russian(empty_db_url,
                                                                       tmp_path: Path):
    before = tmp_path / "sql"
    before.mkdir()
    for path in sorted(SQL_DIR.glob("*.sql")):
        if path.name < "0020":
            shutil.copy(path, before)
    Migrator(empty_db_url, before).migrate()
    for name in ("Gold", "Утро", "Yoga Пилатес"):
        query(empty_db_url, "INSERT INTO membership_plans (name, price_minor, duration_days)"
                            " VALUES (%s, 100, 30)", (name,))
    shutil.copy(SQL_DIR / "0020_translations.sql", before)
    Migrator(empty_db_url, before).migrate()
    assert query(empty_db_url, "SELECT name, lang, name_tr, name_i18n FROM membership_plans"
                               " ORDER BY id") == [
        ("Gold", "en", None, ["en", "Gold", None]), ("Утро", "ru", None, ["ru", "Утро", None]),
        ("Yoga Пилатес", "ru", None, ["ru", "Yoga Пилатес", None])]
