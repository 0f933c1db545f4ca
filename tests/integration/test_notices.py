"""Notices travel with the change: the service records them, one function delivers them.

A handler or job never tells other people by hand: what a service records in the update's
transaction is queued by `fitclub.notify.deliver` after it, and nowhere else.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import psycopg2
import pytest

import fitclub.services
from fitclub import locales, notify
from fitclub.runtime import notices
from fitclub.runtime.context import UpdateContext, bound
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
    """A notice nobody knows how to word."""

    telegram_id: int


def test_a_notice_without_a_renderer_fails_the_update_instead_of_vanishing(db_url):
    conn = psycopg2.connect(db_url)
    try:
        ctx = UpdateContext(conn, chat_id=1, user_id=1, update_id=None)
        with bound(ctx):
            notices.record(conn, _Unheard(5), None)
            assert ctx.notices == [_Unheard(5)]  # None is skipped
            with pytest.raises(TypeError, match="_Unheard"):
                notify.deliver(ctx)
    finally:
        conn.close()


def _notice_types() -> set[type]:
    """Every class of the services whose docstring says it is a notice."""
    found = set()
    for info in pkgutil.iter_modules(fitclub.services.__path__):
        module = importlib.import_module(f"fitclub.services.{info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == module.__name__
                    and (value.__doc__ or "").startswith("A notice")):
                found.add(value)
    return found


def test_every_notice_the_services_define_has_a_renderer_and_nothing_else_does():
    types = _notice_types()
    assert len(types) >= 8
    assert set(notify.RENDERERS) == types


def test_every_recorded_notice_is_a_notice_type():
    """What a service passes to notices.record is built from a notice class (or is a row of
    one, as the offers are), so the renderer check above covers it."""
    names = {t.__name__ for t in _notice_types()}
    package = Path(fitclub.services.__file__).parent
    recorded: set[str] = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record"
                    and getattr(node.func.value, "id", None) == "notices"):
                recorded |= {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call)
                             and isinstance(n.func, ast.Name) and n.func.id[0].isupper()}
    assert recorded and recorded <= names
