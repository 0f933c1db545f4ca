"""The bot with REPLICA_DATABASE_URL pointing at a real streaming standby: /report and its
exports read from the standby (its replay paused, they miss a member the primary has), the
audit log right after an export shows it all the same (read fresh), the primary stands in while
the standby is stopped (the figures and the file still right), and the standby is read from
again once it is back."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest

from fitclub import callbacks as cb
from tests import factories
from tests.e2e.harness import wait_until
from tests.e2e.session import Person
from tests.replica import Standby, standby_of

TZ = "Europe/Berlin"
READS = "fitclub_replica_reads_total"


@pytest.fixture
def standby(pg_server) -> Iterator[Standby]:
    """A streaming standby of the session's server, destroyed (by pid) at teardown."""
    yield from standby_of(pg_server)


def new_members(report: dict) -> int:
    return int(re.search(r"New members this month: (\d+)", report["text"]).group(1))


def exported_names(person: Person, report: dict) -> list[str]:
    """Press the members CSV export under `report`; the first names in the file sent."""
    before = len(person.messages())
    person.press_data(report["message_id"], cb.REPORT_EXPORT(table="members", fmt="csv"))
    doc = wait_until(lambda: next((m for m in person.messages()[before:] if m.get("document")),
                                  None), 15, "the members export")
    table = list(csv.reader(io.StringIO(doc["document"]["bytes"].decode("utf-8-sig"),
                                        newline="")))
    return sorted(row[1] for row in table[1:])


def test_reports_exports_and_the_audit_log_read_from_the_replica(emu, launcher, db_url,
                                                                 standby):
    ada, bo = Person(emu, "Ada"), Person(emu, "Bo")
    factories.member(db_url, ada.id, "Ada", role="admin")
    factories.member(db_url, bo.id, "Bo", role="admin")
    factories.member(db_url, 900001, "Anna")
    bot = launcher.start(db_url, CLUB_TIMEZONE=TZ,
                         REPLICA_DATABASE_URL=standby.url(db_url.rsplit("/", 1)[1]))
    standby.wait_caught_up()
    (report,) = ada.send("/report")
    assert new_members(report) == 3
    assert bot.metric(READS, 'source="replica"') == 1
    assert bot.metric(READS, 'source="primary"') == 0

    # Replay paused: Bea registers on the primary; the report and the export, read from the
    # standby, do not have her yet.
    standby.pause()
    factories.member(db_url, 900002, "Bea")
    standby.flush()  # acknowledged, as with synchronous_commit on (the default)
    (report,) = ada.send("/report")
    assert new_members(report) == 3
    assert exported_names(ada, report) == ["Ada", "Anna", "Bo"]
    assert bot.metric(READS, 'source="replica"') == 3
    # The audit log just after shows the export (a fresh read: the primary, the standby
    # trailing it).
    (log,) = ada.send("/audit")
    assert "Ada exported" in log["text"]
    assert bot.metric(READS, 'source="primary"') == 1
    standby.resume()
    (report,) = ada.send("/report")
    assert new_members(report) == 4

    # The standby stopped: the primary stands in, and the figures and the file are right.
    standby.stop()
    factories.member(db_url, 900003, "Cleo")
    (report,) = bo.send("/report")
    assert new_members(report) == 5
    assert exported_names(bo, report) == ["Ada", "Anna", "Bea", "Bo", "Cleo"]
    assert bot.metric(READS, 'source="primary"') == 3
    (log,) = bo.send("/audit")
    assert "Bo exported" in log["text"]
    assert bot.alive()

    # The standby back: it is read from again once 30 s have passed since the failure.
    standby.start()
    replica_reads = bot.metric(READS, 'source="replica"')

    def read_from_replica() -> bool:
        (shown,) = bo.send("/report")
        assert new_members(shown) == 5
        return bot.metric(READS, 'source="replica"') > replica_reads

    wait_until(read_from_replica, 45, "a report read from the standby again", interval=2)
