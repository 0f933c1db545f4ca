"""The club's time zone is named one way on every screen that names it (the CSV export's
caption, the class planner's time question, a class move's time question): its IANA name,
'UTC' for any name of UTC ('Etc/UTC' on a Debian machine)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from fitclub import locales
from fitclub.locales import Localized, Texts, zone_name
from fitclub.screens import class_planner, classes, reports
from fitclub.services.class_planner import Draft
from fitclub.services.classes import AdminClass
from fitclub.services.reports import Export


@pytest.fixture
def club_zone():
    """Set the club's time zone for a test, and put the previous one back."""
    before = locales.club()

    def set_zone(name: str) -> None:
        locales.configure(timezone=name, currency=before.currency)

    yield set_zone
    locales.configure(timezone=before.timezone.key, currency=before.currency)


@pytest.mark.parametrize(("zone", "name"), [("Etc/UTC", "UTC"), ("UTC", "UTC"),
                                            ("Europe/Berlin", "Europe/Berlin"),
                                            ("Europe/Moscow", "Europe/Moscow")])
def test_the_zone_has_one_name(zone, name, club_zone):
    assert zone_name(ZoneInfo(zone)) == name
    club_zone(zone)
    assert zone_name() == name
    assert zone_name(UTC) == "UTC"


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize(("zone", "name"), [("Etc/UTC", "UTC"),
                                            ("Europe/Berlin", "Europe/Berlin")])
def test_every_screen_names_the_zone_the_same_way(lang, zone, name, club_zone):
    """Before: 'Etc/UTC' in the export's caption, 'UTC' (or 'CET', 'CEST' by the season) in
    the time questions."""
    club_zone(zone)
    tx = Texts(lang)
    starts = datetime(2030, 1, 7, 18, 0, tzinfo=UTC)  # winter: Berlin is 'CET'
    export = Export("visits", "visits.csv", b"", 3, True)
    cls = AdminClass(1, starts, 60, "scheduled", Localized("Yoga"), "Tina", "", 10, 0, 0, 0,
                     None, 2)
    captions = {
        "export": reports.export_caption(tx, export, ZoneInfo(zone)),
        "move": classes.move_time(tx, cls, date(2030, 1, 8)).text,
        "planner": class_planner.ask_time(tx, Draft(), class_planner.Names(None, None),
                                          zone_name()).text,
    }
    for where, text in captions.items():
        assert f"{name}" in text, (where, text)
        for other in ("Etc/UTC", "CET"):
            assert other not in text.replace(name, ""), (where, text)
