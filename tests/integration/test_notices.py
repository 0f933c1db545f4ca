"""Notices travel with the change: the service records them, one function delivers them.

A handler or job never tells other people by hand: what a service records in the update's
transaction is queued by `fitclub.notify.deliver` after it, and nowhere else.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import psycopg2
import pytest

import fitclub.services
from fitclub import locales, notify
from fitclub.db.pool import Pool
from fitclub.runtime import notices
from fitclub.runtime.context import UpdateContext, bound
from fitclub.runtime.jobs import Registry
from fitclub.runtime.jobs.runner import Runner
from fitclub.services import booking, club
from tests import factories
from tests.helpers import query

NOW = datetime(2030, 6, 10, 12, 0, tzinfo=UTC)
RULES = club.of(None).booking


@pytest.fixture(autouse=True)
def _formats():
    locales.configure(timezone="UTC", currency="EUR")


@pytest.fixture
def full_class(db_url):
    """A one-place class booked by Anna (701), with Boris (702) first on the waitlist."""
    factories.plan(db_url)
    factories.class_type(db_url)
    trainer = factories.member(db_url, 700, "Tina", role="trainer")
    class_id = factories.class_(db_url, trainer, NOW + timedelta(days=2), capacity=1)
    people = {}
    for telegram_id, name in ((701, "Anna"), (702, "Boris")):
        people[name] = factories.member(db_url, telegram_id, name)
        factories.membership(db_url, people[name], starts_on=NOW.date(),
                             ends_on=NOW.date() + timedelta(days=30))
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            for name in ("Anna", "Boris"):
                booking.book(conn, people[name], class_id, NOW, RULES, waitlist_if_full=True)
    finally:
        conn.close()
    return class_id, people


def _cancel(conn, people, class_id):
    return booking.cancel_booking(conn, people["Anna"], class_id, NOW, RULES)


def _sent(db_url):
    return query(db_url, "SELECT chat_id, params->>'text', params->'reply_markup' IS NOT NULL"
                         " FROM outbox ORDER BY id")


def test_a_place_freed_in_a_handler_is_offered_by_delivering_what_the_service_recorded(
        db_url, full_class):
    class_id, people = full_class
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            ctx = UpdateContext(conn, chat_id=701, user_id=701, update_id=None)
            with bound(ctx):
                result = _cancel(conn, people, class_id)
                assert [n.telegram_id for n in ctx.notices] == [702]
                assert ctx.notices == list(result.offers)
                assert notify.deliver(ctx) == 1
            assert ctx.notices == []
            assert notify.deliver(ctx) == 0  # taken once: nothing is sent twice
    finally:
        conn.close()
    ((chat, text, buttons),) = _sent(db_url)
    assert chat == 702 and "place" in text.lower() and buttons


def test_outside_a_handler_the_result_carries_the_offer_and_nothing_is_queued(
        db_url, full_class):
    class_id, people = full_class
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            result = _cancel(conn, people, class_id)
    finally:
        conn.close()
    assert [offer.telegram_id for offer in result.offers] == [702]
    assert _sent(db_url) == []


def test_a_change_on_another_connection_is_not_delivered_by_this_update(db_url, full_class):
    class_id, people = full_class
    mine, other = psycopg2.connect(db_url), psycopg2.connect(db_url)
    try:
        ctx = UpdateContext(mine, chat_id=1, user_id=1, update_id=None)
        with bound(ctx), other:
            _cancel(other, people, class_id)
        assert ctx.notices == []
    finally:
        mine.close()
        other.close()


class _Unheard(NamedTuple):
    """Not declared a kind of notice."""

    telegram_id: int


@notices.kind
class _Unworded(NamedTuple):
    """A kind of notice nobody knows how to word."""

    telegram_id: int


def test_only_a_declared_kind_of_notice_may_be_recorded(db_url):
    conn = psycopg2.connect(db_url)
    try:
        ctx = UpdateContext(conn, chat_id=1, user_id=1, update_id=None)
        with bound(ctx), pytest.raises(TypeError, match="_Unheard is not a kind of notice"):
            notices.record(conn, _Unheard(5))
        assert ctx.notices == []
    finally:
        conn.close()


def test_a_notice_without_a_renderer_fails_the_update_instead_of_vanishing(db_url):
    conn = psycopg2.connect(db_url)
    try:
        ctx = UpdateContext(conn, chat_id=1, user_id=1, update_id=None)
        with bound(ctx):
            notices.record(conn, _Unworded(5), None)
            assert ctx.notices == [_Unworded(5)]  # None is skipped
            with pytest.raises(TypeError, match="_Unworded"):
                notify.deliver(ctx)
    finally:
        conn.close()


def test_notices_left_undelivered_fail_the_transaction():
    ctx = UpdateContext(None, chat_id=1, user_id=1, update_id=None)
    notices.check_delivered(ctx)
    ctx.notices.append(_Unworded(5))
    with pytest.raises(notices.Undelivered, match="1 notices recorded but not delivered"):
        notices.check_delivered(ctx)


def test_a_job_whose_notices_nobody_delivers_fails_and_is_retried(db_url, full_class):
    """A runner built without the app's delivery cannot drop an offer silently."""
    class_id, people = full_class
    registry = Registry()

    @registry.register("cancel_anna")
    def cancel_anna(ctx, payload):
        _cancel(ctx.conn, people, class_id)

    query(db_url, "INSERT INTO jobs (kind, payload, run_at) VALUES ('cancel_anna', '{}', now())")
    pool = Pool(db_url, minconn=1, maxconn=2)
    try:
        assert Runner(pool=pool, registry=registry).run_one().outcome == "retried"
        assert query(db_url, "SELECT last_error FROM jobs")[0][0].startswith("Undelivered")
        assert _sent(db_url) == []
        assert query(db_url, "SELECT status FROM bookings ORDER BY id") == [
            ("booked",), ("waitlisted",)]  # the cancellation rolled back with it
        query(db_url, "UPDATE jobs SET run_at = now()")
        delivering = Runner(pool=pool, registry=registry, after_job=notify.deliver)
        assert delivering.run_one().outcome == "done"
        assert [chat for chat, *_ in _sent(db_url)] == [702]
    finally:
        pool.close()


def test_every_kind_of_notice_the_services_declare_has_a_renderer():
    for info in pkgutil.iter_modules(fitclub.services.__path__):
        importlib.import_module(f"fitclub.services.{info.name}")
    declared = {kind for kind in notices.KINDS if kind.__module__.startswith("fitclub.")}
    assert len(declared) >= 9
    assert set(notify.RENDERERS) == declared
