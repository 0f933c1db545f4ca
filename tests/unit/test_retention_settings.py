"""RETENTION_DAYS and AUDIT_RETENTION_DAYS: defaults, and a one-line refusal at start."""

from __future__ import annotations

import pytest

from fitclub.config import ConfigError, Settings
from fitclub.services import retention

BASE = {"TELEGRAM_BOT_TOKEN": "123456789:AAHfakeTokenForTestsOnly_abcdefghijkl",
        "DATABASE_URL": "postgresql://u@127.0.0.1:5432/fitclub"}


def test_defaults_keep_a_week_and_the_audit_log_a_year():
    s = Settings.from_env(BASE)
    assert (s.retention_days, s.audit_retention_days) == (7, 365)
    assert retention.Limits.of(s) == retention.Limits(7, 365)
    s = Settings.from_env({**BASE, "RETENTION_DAYS": "30", "AUDIT_RETENTION_DAYS": "730"})
    assert retention.Limits.of(s) == retention.Limits(30, 730)


@pytest.mark.parametrize("name, raw, told", [
    ("RETENTION_DAYS", "0", "must be between 1 and 3650, got 0"),
    ("RETENTION_DAYS", "-3", "must be between 1 and 3650, got -3"),
    ("RETENTION_DAYS", "1.5", "must be a whole number, got '1.5'"),
    ("RETENTION_DAYS", "a week", "must be a whole number, got 'a week'"),
    ("AUDIT_RETENTION_DAYS", "0", "must be between 1 and 36500, got 0"),
    ("AUDIT_RETENTION_DAYS", "forever", "must be a whole number, got 'forever'"),
])
def test_a_bad_value_is_refused_in_one_line_naming_it(name, raw, told):
    with pytest.raises(ConfigError) as err:
        Settings.from_env({**BASE, name: raw})
    text = str(err.value)
    assert err.value.name == name
    assert text.startswith(f"{name} {told}; set {name}")
    assert "\n" not in text
