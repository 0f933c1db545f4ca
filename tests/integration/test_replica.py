"""The read replica (fitclub.db.replica) against a real streaming standby of the test server:
reads go to the standby (shown by pausing its replay), a fresh read never misses what the
primary has committed, and the primary stands in when the standby is stopped, unreachable, not
a standby, lost mid-read or too far behind; the standby is tried again 30 s after a failure."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from fitclub.db import audit
from fitclub.db.replica import PRIMARY, REPLICA, Read, Replica, read
from fitclub.devdb import free_port
from fitclub.handlers import reports as report_handlers
from fitclub.services import audit_log, reports
from tests import factories
from tests.e2e.harness import wait_until
from tests.replica import Standby, standby_of

TZ = ZoneInfo("Europe/Berlin")


@pytest.fixture
def standby(pg_server) -> Iterator[Standby]:
    """A streaming standby of the session's server, destroyed (by pid) at teardown."""
    yield from standby_of(pg_server)


@pytest.fixture
def primary(db_url: str) -> Iterator[psycopg2.extensions.connection]:
    """The primary's connection, as the update's transaction would be."""
    conn = psycopg2.connect(db_url)
    yield conn
    conn.close()


@pytest.fixture
def silent() -> Iterator[int]:
    """A port on 127.0.0.1 whose listener completes the TCP handshake and then says nothing."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def dbname(db_url: str) -> str:
    return db_url.rsplit("/", 1)[1]


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(standby: Standby, db_url: str, sources: list[str] | None = None, **kwargs) -> Replica:
    return Replica(standby.url(dbname(db_url)),
                   on_read=sources.append if sources is not None else None, **kwargs)


def members_csv(read_: Read) -> tuple[str, str]:
    found = reports.build_export(read_.conn, "members", "csv", now=datetime.now(UTC),
                                 timezone=TZ)
    return read_.source, found.data.decode("utf-8-sig")


def test_an_export_reads_the_standby(standby, db_url, primary):
    factories.member(db_url, 5001, "Ada")
    standby.wait_caught_up()
    sources: list[str] = []
    replica = make(standby, db_url, sources)
    try:
        standby.pause()
        factories.member(db_url, 5002, "Bea")  # committed on the primary, not yet replayed
        standby.flush()  # acknowledged, as with synchronous_commit on
        source, text = replica.read(primary, members_csv)
        assert source == REPLICA and "Ada" in text and "Bea" not in text
        # The same export on the primary has her: the difference is where it was read.
        assert "Bea" in read(None, primary, members_csv)[1]
        standby.resume()
        source, text = replica.read(primary, members_csv)
        assert source == REPLICA and "Bea" in text
        assert sources == [REPLICA, REPLICA]
    finally:
        replica.close()


def test_a_trailing_read_says_how_old_its_data_is(standby, db_url, primary):
    replica = make(standby, db_url)
    try:
        standby.wait_caught_up()
        assert replica.read(primary, lambda r: (r.source, r.as_of)) == (REPLICA, None)
        factories.member(db_url, 5003, "Ada")
        standby.wait_caught_up()
        replayed = datetime.now(UTC)
        standby.pause()
        factories.member(db_url, 5004, "Bea")
        standby.flush()  # acknowledged, as with synchronous_commit on
        source, as_of = replica.read(primary, lambda r: (r.source, r.as_of))
        assert source == REPLICA
        assert as_of is not None and as_of <= replayed
    finally:
        standby.resume()
        replica.close()


def test_the_audit_log_read_fresh_has_what_was_just_done(standby, db_url, primary):
    admin = factories.member(db_url, 5005, "Ada", role="admin")
    sources: list[str] = []
    replica = make(standby, db_url, sources)
    page = lambda r: (r.source, audit_log.page(r.conn, 0))  # noqa: E731
    try:
        standby.wait_caught_up()
        standby.pause()
        with psycopg2.connect(db_url) as acting:
            audit.record(acting, actor_id=admin, action="report.export", entity="report",
                         details={"table": "members", "format": "csv", "rows": 1,
                                  "complete": True})
        acting.close()
        standby.flush()  # acknowledged, as with synchronous_commit on
        source, found = replica.read(primary, page, fresh=True)
        assert source == PRIMARY and [e.action for e in found.entries] == ["report.export"]
        # Not fresh, the same page from the paused standby misses the action.
        source, found = replica.read(primary, page)
        assert source == REPLICA and found.entries == ()
        standby.resume()
        source, found = replica.read(primary, page, fresh=True)
        assert source == REPLICA and [e.action for e in found.entries] == ["report.export"]
        assert sources == [PRIMARY, REPLICA, REPLICA]
    finally:
        replica.close()


def test_the_primary_stands_in_while_the_standby_is_stopped(standby, db_url, primary, caplog):
    caplog.set_level(logging.WARNING, logger="fitclub.db.replica")
    factories.member(db_url, 5006, "Ada")
    clock = Clock()
    replica = make(standby, db_url, clock=clock)
    try:
        standby.wait_caught_up()
        assert replica.read(primary, members_csv)[0] == REPLICA
        standby.stop()
        factories.member(db_url, 5007, "Bea")
        source, text = replica.read(primary, members_csv)
        assert source == PRIMARY and "Ada" in text and "Bea" in text
        assert replica.down()
        (warned,) = [r.getMessage() for r in caplog.records]
        assert warned.startswith("replica: unreachable (OperationalError")
        assert warned.endswith("reading from the primary for the next 30 s")
        standby.start()
        clock.now += 29  # left alone for 30 s after the failure
        assert replica.read(primary, members_csv)[0] == PRIMARY
        clock.now += 2
        source, text = replica.read(primary, members_csv)
        assert source == REPLICA and "Bea" in text
        assert not replica.down()
    finally:
        replica.close()


@pytest.mark.parametrize("url", [
    "postgresql://fitclub@127.0.0.1:{port}/fitclub",  # nobody listens
    "{standby}/no_such_database",
    "postgresql://fitclub@127.0.0.1:{silent}/fitclub",  # accepts, never answers: the timeout
], ids=["closed-port", "no-database", "silent"])
def test_an_unreachable_replica_costs_one_short_wait(standby, db_url, primary, silent, url):
    target = url.format(port=free_port(), standby=standby.url().rsplit("/", 1)[0],
                        silent=silent)
    clock = Clock()
    replica = Replica(target, clock=clock)
    try:
        started = time.monotonic()
        assert replica.read(primary, lambda r: r.source) == PRIMARY
        assert time.monotonic() - started < 4  # the 2 s connect timeout and the fallback
        assert replica.down()
        started = time.monotonic()
        assert replica.read(primary, lambda r: r.source) == PRIMARY
        assert time.monotonic() - started < 0.5  # not tried again meanwhile
    finally:
        replica.close()


def test_a_server_that_is_not_a_standby_is_not_read_from(db_url, primary):
    replica = Replica(db_url)  # the primary itself, given as the replica by mistake
    try:
        assert replica.read(primary, lambda r: r.source) == PRIMARY
        assert replica.down()
    finally:
        replica.close()


def test_a_standby_lost_mid_read_hands_the_read_to_the_primary(standby, db_url, primary):
    replica = make(standby, db_url)

    def reading(r: Read) -> str:
        if r.source == REPLICA:
            with r.conn.cursor() as cur:  # the standby drops this connection mid-read
                cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return r.source

    try:
        standby.wait_caught_up()
        assert replica.read(primary, reading) == PRIMARY
        assert replica.down()
    finally:
        replica.close()


def test_a_standby_too_far_behind_is_not_read_from(standby, db_url, primary):
    replica = make(standby, db_url, max_lag=0.0)
    try:
        factories.member(db_url, 5008, "Ada")
        standby.wait_caught_up()
        standby.pause()
        factories.member(db_url, 5009, "Bea")
        standby.flush()  # acknowledged, as with synchronous_commit on
        assert replica.read(primary, members_csv)[0] == PRIMARY
        assert not replica.down()  # behind is not down: the next read asks again
    finally:
        standby.resume()
        replica.close()


def test_replica_reads_are_read_only_with_the_long_timeout(standby, db_url, primary):
    replica = make(standby, db_url)

    def settings(r: Read) -> tuple[str, str]:
        with r.conn.cursor() as cur:
            cur.execute("SELECT current_setting('transaction_read_only'), "
                        "current_setting('statement_timeout')")
            return cur.fetchone()

    try:
        standby.wait_caught_up()
        assert replica.read(primary, settings) == ("on", "5min")
    finally:
        replica.close()


def test_an_error_of_the_read_itself_is_not_hidden(standby, db_url, primary):
    replica = make(standby, db_url)

    def broken(r: Read) -> None:
        with r.conn.cursor() as cur:
            cur.execute("SELECT no_such_column FROM members")

    try:
        standby.wait_caught_up()
        with pytest.raises(psycopg2.errors.UndefinedColumn):
            replica.read(primary, broken)
        assert not replica.down()
        assert replica.read(primary, lambda r: r.source) == REPLICA
    finally:
        replica.close()


def test_the_report_of_a_trailing_standby_is_dated_by_its_data(standby, db_url, primary):
    replica = make(standby, db_url)
    try:
        factories.member(db_url, 5010, "Ada")
        standby.wait_caught_up()
        replayed = datetime.now(UTC)
        standby.pause()
        factories.member(db_url, 5011, "Bea")
        standby.flush()  # acknowledged, as with synchronous_commit on
        now = datetime.now(UTC)
        found, at = replica.read(primary, lambda r: (
            reports.summary(r.conn, now, TZ), report_handlers._as_of(r, now)))
        assert found.new_members == 1 and at <= replayed < now
        standby.resume()
        found, at = replica.read(primary, lambda r: (
            reports.summary(r.conn, now, TZ), report_handlers._as_of(r, now)))
        assert found.new_members == 2 and at == now
    finally:
        standby.resume()
        replica.close()


@pytest.fixture
def impatient_standby(pg_server) -> Iterator[Standby]:
    """A standby that cancels a query in the way of replay at once."""
    yield from standby_of(pg_server, {"max_standby_streaming_delay": "0"})


def test_a_read_cancelled_by_a_recovery_conflict_runs_on_the_primary(impatient_standby, db_url,
                                                                     primary):
    replica = make(impatient_standby, db_url)

    def reading(r: Read) -> str:
        with r.conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM members")  # holds its lock on members
            if r.source == REPLICA:
                locker = psycopg2.connect(db_url)
                with locker, locker.cursor() as on_primary:
                    on_primary.execute("LOCK TABLE members IN ACCESS EXCLUSIVE MODE")
                locker.close()
                # Replaying that lock cancels this transaction (bounded, should it not).
                cur.execute("SELECT pg_sleep(20)")
        return r.source

    try:
        impatient_standby.wait_caught_up()
        started = time.monotonic()
        assert replica.read(primary, reading) == PRIMARY
        assert time.monotonic() - started < 10
        assert not replica.down()  # the standby is fine: the next read goes there
        assert replica.read(primary, lambda r: r.source) == REPLICA
    finally:
        replica.close()


def test_the_pool_opens_on_first_use_and_holds_at_most_four(standby, db_url):
    replica = make(standby, db_url)

    def backends() -> int:
        conn = psycopg2.connect(standby.url())
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity"
                            " WHERE application_name = 'fitclub-replica'")
                return cur.fetchone()[0]
        finally:
            conn.close()

    together = threading.Barrier(4, timeout=20)
    seen: list[tuple[str, int]] = []

    def reading(r: Read) -> None:
        together.wait()  # four reads at once: all the pool holds
        seen.append((r.source, backends()))
        together.wait()

    def one_read() -> None:
        conn = psycopg2.connect(db_url)
        try:
            replica.read(conn, reading)
        finally:
            conn.close()

    try:
        standby.wait_caught_up()
        assert backends() == 0
        threads = [threading.Thread(target=one_read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(seen) == 8 and {source for source, _ in seen} == {REPLICA}
        assert max(n for _, n in seen) == 4
    finally:
        replica.close()
    wait_until(lambda: backends() == 0, 10, "the pool's connections closed")
