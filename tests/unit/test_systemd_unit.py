"""systemd/fitclub-bot.service runs the bot as a dedicated user, after the migration unit."""

import configparser
import pathlib
import shlex
import shutil
import subprocess
import sys

import pytest

UNIT = pathlib.Path(__file__).resolve().parents[2] / "systemd" / "fitclub-bot.service"
MIGRATE_UNIT = UNIT.with_name("fitclub-migrate.service")
APP_DIR = "/opt/fitclub-bot"
PYTHON = f"{APP_DIR}/.venv/bin/python"


@pytest.fixture(scope="module")
def unit():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("Unit", "After", "network-online.target postgresql.service fitclub-migrate.service"),
        ("Unit", "Wants", "network-online.target"),
        ("Unit", "Requires", "fitclub-migrate.service"),
        ("Service", "Type", "notify"),
        ("Service", "NotifyAccess", "main"),
        ("Service", "WatchdogSec", "60"),
        ("Service", "User", "fitclub"),
        ("Service", "Group", "fitclub"),
        ("Service", "WorkingDirectory", APP_DIR),
        ("Service", "EnvironmentFile", "/etc/fitclub-bot/env"),
        ("Service", "Restart", "on-failure"),
        ("Service", "RestartSec", "5"),
        ("Service", "KillSignal", "SIGTERM"),
        ("Service", "TimeoutStopSec", "30"),
        ("Service", "NoNewPrivileges", "yes"),
        ("Service", "ProtectSystem", "strict"),
        ("Service", "ProtectHome", "yes"),
        ("Service", "PrivateTmp", "yes"),
        ("Install", "WantedBy", "multi-user.target"),
    ],
)
def test_unit_sets(unit, section, key, value):
    assert unit.get(section, key, fallback=None) == value


def test_unit_runs_the_bot_from_its_venv(unit):
    assert shlex.split(unit.get("Service", "ExecStart")) == [PYTHON, "bot.py", "run"]


def test_unit_leaves_migrations_to_the_migration_unit():
    """No ExecStartPre: migrations run once in fitclub-migrate.service (Requires= and After=)."""
    assert "ExecStartPre" not in UNIT.read_text()
    assert MIGRATE_UNIT.is_file()


def test_unit_runs_as_a_dedicated_unprivileged_user(unit):
    assert unit.get("Service", "User") not in {"", "root", "nobody"}


def _verify(unit_text, directory):
    """Problems systemd-analyze verify reports about a copy of the unit, runnable here."""
    # verify refuses a unit whose executables are missing, so point them at ones that exist.
    def runnable(text):
        return text.replace(PYTHON, sys.executable).replace(APP_DIR, str(directory))

    assert sys.executable in runnable(unit_text)
    path = directory / UNIT.name
    path.write_text(runnable(unit_text))
    # The unit Requires= the migration unit: verify looks for it next to the unit.
    (directory / MIGRATE_UNIT.name).write_text(runnable(MIGRATE_UNIT.read_text()))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Lines about other units or the host (missing /etc files in a container, say) are not ours
    # to fix. Every line about this unit is: systemd reports unknown keys and unparsable values
    # only as warnings, with exit status 0, so the exit status alone would miss them.
    lines = (result.stdout + result.stderr).splitlines()
    problems = [line for line in lines if UNIT.name in line]
    if result.returncode != 0:
        problems.append(f"exit status {result.returncode}: {lines}")
    return problems


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    assert _verify(UNIT.read_text(), tmp_path) == []


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ("Restart=on-failure", "Restart=sometimes"),
        ("Type=notify", "Typ=notify"),
    ],
)
def test_systemd_analyze_verify_check_catches_a_broken_unit(tmp_path, good, bad):
    text = UNIT.read_text()
    assert good in text
    problems = _verify(text.replace(good, bad), tmp_path)
    assert problems
    assert any(bad.split("=")[1] in p or bad.split("=")[0] in p for p in problems)


def test_charts_keep_their_font_cache_in_the_units_cache_directory(unit):
    """ProtectSystem=strict and ProtectHome=yes leave matplotlib nowhere to write its font
    cache but the CacheDirectory systemd makes for the unit; MPLCONFIGDIR must point there."""
    cache = unit.get("Service", "CacheDirectory")
    environment = [line.split("=", 1)[1] for line in UNIT.read_text().splitlines()
                   if line.startswith("Environment=")]
    mpl = [e.split("=", 1)[1] for e in environment if e.startswith("MPLCONFIGDIR=")]
    assert mpl and mpl[0].startswith(f"/var/cache/{cache}/")
    assert "PYTHONUNBUFFERED=1" in environment
