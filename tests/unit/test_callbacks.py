"""The callback codec: what it builds parses back; anything else is a stale button."""

from __future__ import annotations

from datetime import date

import pytest

from fitclub import callback_codec
from fitclub.callbacks import (
    LANGUAGE,
    MENU,
    PLAN_REQUEST,
    Day,
    Id,
    Number,
    action,
    parse,
    stamp,
)


def test_round_trip():
    assert MENU(screen="membership") == "m:membership"
    assert parse("m:membership") == (MENU, {"screen": "membership"})
    assert PLAN_REQUEST.parse(PLAN_REQUEST(plan_id=2**63 - 1)) == {"plan_id": 2**63 - 1}
    assert LANGUAGE.parse("lg:ru") == {"lang": "ru"}


@pytest.mark.parametrize("data", [
    None, "", "garbage", "m", "m:", "m:nope", "m:home:extra", "zz:1", "pr:0", "pr:-1",
    "pr:01", "pr:1.5", "pr:9223372036854775808", "pr:１２", "lg:de", "x" * 64,
    "pr:" + "9" * 61, "m:home\x00", "pr:1 ", " pr:1",
])
def test_anything_that_does_not_parse_is_stale(data):
    assert parse(data) is None


def test_another_actions_data_does_not_match():
    assert PLAN_REQUEST.parse(MENU(screen="home")) is None


def test_data_over_64_bytes_is_refused_when_built():
    wide = action("tw", a=Id(), b=Id(), c=Id(), d=Id())
    with pytest.raises(ValueError, match="64 bytes"):
        wide(a=2**62, b=2**62, c=2**62, d=2**62)


def test_fields_are_typed():
    with pytest.raises(ValueError):
        PLAN_REQUEST(plan_id="1")
    with pytest.raises(ValueError):
        MENU(screen="admin")
    day = action("td", day=Day())
    assert day.parse(day(day=date(2026, 3, 29))) == {"day": date(2026, 3, 29)}
    assert day.parse("td:20260230") is None


def test_prefixes_are_unique_and_short():
    with pytest.raises(ValueError):
        action("m")
    with pytest.raises(ValueError):
        action("toolong")
    assert len(callback_codec._ACTIONS) >= 4


def test_a_flow_steps_button_carries_the_token_stamped_in():
    step = action("tfs", flow_step=True, pick=Id())
    built = step(pick=7)
    assert built == "tfs:7:0"  # built by a screen: no flow's token yet
    stamped = stamp(built, 123456)
    assert stamped == "tfs:7:123456"
    assert step.parse(stamped)["v"] == 123456
    assert step.parse(stamped) == {"pick": 7, "v": 123456}
    assert stamp(built, None) == "tfs:7:0"  # outside a flow: stale when pressed
    # Other buttons are left as they are and carry no token.
    assert stamp(MENU(screen="home"), 5) == "m:home"
    assert "v" not in MENU.parse(MENU(screen="home"))
    # The data of an older version (no token) no longer parses: stale.
    assert parse("tfs:7") is None


def test_every_step_button_fits_with_the_largest_token():
    for declared in list(callback_codec._ACTIONS.values()):
        if declared.flow_step:
            widest = {name: kind.top if isinstance(kind, Number) else
                      2**63 - 1 if isinstance(kind, Id) else
                      date(2026, 12, 31) if isinstance(kind, Day) else
                      max(kind.words, key=len)
                      for name, kind in declared.fields}
            widest["v"] = callback_codec.TOKEN_MAX
            assert len(declared(**widest).encode()) <= 64, declared.prefix


def test_the_token_field_name_is_reserved():
    with pytest.raises(ValueError, match="token"):
        action("tft", v=Id())
