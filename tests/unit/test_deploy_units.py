"""Every unit in systemd/ passes `systemd-analyze verify` and scores at most 2.0 in
`systemd-analyze security --offline=true`; the webhook template and the migration unit have
the shape docs/deployment.md describes.

verify refuses units whose executables are missing, so it runs on copies with /opt/fitclub-bot
rewritten to this checkout; the template is verified as an instance (fitclub-bot-webhook@8441).
systemd itself cannot start units here: what the units do at run time is shown by
tests/e2e/test_deploy_sandbox_e2e.py, which emulates their sandbox.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fitclub.app import EXIT_WEBHOOK_SET
from fitclub.cli import EXIT_CONFIG
from fitclub.db.migrate import EXIT_UNREACHABLE

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
APP_DIR = "/opt/fitclub-bot"
PYTHON = f"{APP_DIR}/.venv/bin/python"
INSTANCE = "8441"
MAX_EXPOSURE = 2.0

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(text)
    return parser


def values(text: str, key: str) -> list[str]:
    """Every value of a key (systemd allows repeats; configparser keeps only the last)."""
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def instance_name(unit: Path) -> str:
    return unit.name.replace("@.", f"@{INSTANCE}.")


def runnable_copies(directory: Path, texts: dict[str, str] | None = None) -> list[Path]:
    """Copies of every unit (or of the given texts by unit name) runnable from this checkout."""
    paths = []
    for unit in UNITS:
        text = (texts or {}).get(unit.name, unit.read_text())
        path = directory / instance_name(unit)
        path.write_text(text.replace(PYTHON, sys.executable).replace(APP_DIR, str(directory)))
        paths.append(path)
    return paths


def verify(paths: list[Path]) -> list[str]:
    """What systemd-analyze verify says about our units (warnings included: an unknown key or
    an unparsable value is only a warning, with exit status 0)."""
    result = subprocess.run(["systemd-analyze", "verify", *map(str, paths)],
                            capture_output=True, text=True, timeout=60, check=False,
                            cwd=paths[0].parent)
    lines = (result.stdout + result.stderr).splitlines()
    names = [p.name for p in paths]
    problems = [line for line in lines if any(name in line for name in names)]
    if result.returncode != 0:
        problems.append(f"exit status {result.returncode}: {lines}")
    return problems


def exposure(path: Path) -> float:
    """The overall exposure systemd-analyze security gives a unit file (0 best, 10 worst)."""
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, f"no score in the output:\n{result.stdout}\n{result.stderr}"
    return float(found.group(1))


def test_the_three_units_are_there():
    assert [u.name for u in UNITS] == [
        "fitclub-bot-webhook@.service", "fitclub-bot.service", "fitclub-migrate.service"]


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    assert verify(runnable_copies(tmp_path)) == []


@needs_systemd_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_security_exposure_is_at_most_2(unit, tmp_path):
    path = tmp_path / instance_name(unit)
    path.write_text(unit.read_text())
    assert exposure(path) <= MAX_EXPOSURE


@needs_systemd_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_security_check_catches_a_unit_without_hardening(unit, tmp_path):
    text = unit.read_text()
    bare = text[:text.index("# Hardening")] + text[text.index("[Install]"):]
    path = tmp_path / instance_name(unit)
    path.write_text(bare)
    assert exposure(path) > MAX_EXPOSURE


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("unit", "good", "bad"),
    [
        ("fitclub-bot-webhook@.service", "Type=notify", "Type=notified"),
        ("fitclub-bot-webhook@.service", "ProtectProc=invisible", "ProtectProcs=invisible"),
        ("fitclub-migrate.service", "Type=oneshot", "Type=oneshots"),
        ("fitclub-migrate.service", "UMask=0077", "UMask=0999"),
    ],
)
def test_verify_catches_a_broken_unit(tmp_path, unit, good, bad):
    text = (SYSTEMD / unit).read_text()
    assert good in text
    problems = verify(runnable_copies(tmp_path, {unit: text.replace(good, bad)}))
    assert any(bad.split("=")[1] in p or bad.split("=")[0] in p for p in problems), problems


HARDENING = {
    "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
    "PrivateUsers": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "DevicePolicy": "closed",
    "ProtectProc": "invisible", "ProcSubset": "pid", "ProtectClock": "yes",
    "ProtectHostname": "yes", "ProtectKernelLogs": "yes", "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallArchitectures": "native", "UMask": "0077", "MemoryDenyWriteExecute": "yes",
}


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_every_unit_is_hardened_alike(unit):
    service = dict(parse(unit.read_text())["Service"])
    assert {k: service.get(k) for k in HARDENING} == HARDENING
    assert values(unit.read_text(), "SystemCallFilter")[0] == "@system-service"
    assert service["MemoryMax"] and service["TasksMax"]


@pytest.mark.parametrize("unit", ["fitclub-bot.service", "fitclub-bot-webhook@.service"])
def test_bot_units_let_the_chart_process_lower_its_priority(unit):
    """The chart process sets SCHED_IDLE (else nice): @resources stays allowed, and every
    setting left out is named in the unit with its reason."""
    text = (SYSTEMD / unit).read_text()
    assert "@resources" not in " ".join(values(text, "SystemCallFilter"))
    reasons = [line for line in text.splitlines() if line.startswith("# - ")]
    for left_out in ("~@resources", "PrivateNetwork", "IPAddressDeny"):
        assert any(left_out in line for line in reasons), left_out


def test_migration_unit_runs_migrate_once_with_its_own_settings():
    text = (SYSTEMD / "fitclub-migrate.service").read_text()
    service = parse(text)["Service"]
    assert service["Type"] == "oneshot" and service["RemainAfterExit"] == "yes"
    assert shlex.split(service["ExecStart"]) == [PYTHON, "bot.py", "migrate"]
    assert values(text, "EnvironmentFile") == [
        "/etc/fitclub-bot/env", "-/etc/fitclub-bot/migrate.env"]
    assert "@resources" in values(text, "SystemCallFilter")[1]


def test_migration_unit_runs_again_only_while_the_database_is_unreachable():
    """A database that comes up after the unit at boot: migrate waits a minute, then exits
    EXIT_UNREACHABLE and the unit runs it again; a refused migration (1), a configuration
    error (2) and a run killed by TimeoutStartSec are not run again."""
    service = parse((SYSTEMD / "fitclub-migrate.service").read_text())["Service"]
    assert service["Restart"] == "on-failure" and int(service["RestartSec"]) > 0
    prevented = service["RestartPreventExitStatus"].split()
    assert prevented == ["1", str(EXIT_CONFIG), "SIGTERM", "SIGKILL"]
    assert str(EXIT_UNREACHABLE) not in prevented


@pytest.mark.parametrize("unit", ["fitclub-bot.service", "fitclub-bot-webhook@.service"])
def test_bot_units_start_after_the_migration_and_never_see_its_role(unit):
    text = (SYSTEMD / unit).read_text()
    parsed = parse(text)
    assert parsed["Unit"]["Requires"] == "fitclub-migrate.service"
    assert "fitclub-migrate.service" in parsed["Unit"]["After"].split()
    assert values(text, "EnvironmentFile") == ["/etc/fitclub-bot/env"]
    assert "ExecStartPre" not in text


@pytest.mark.parametrize("unit", ["fitclub-bot.service", "fitclub-bot-webhook@.service"])
def test_bot_units_restart_a_crash_but_not_a_configuration_error(unit):
    """Exit status 2 (a configuration error; for the polling unit also a webhook set for the
    token) leaves the unit stopped instead of restarting it every RestartSec for ever."""
    service = parse((SYSTEMD / unit).read_text())["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"].split() == [str(EXIT_CONFIG)]
    assert EXIT_WEBHOOK_SET == EXIT_CONFIG


def test_webhook_instance_listens_on_its_port_and_keeps_metrics_apart():
    """fitclub-bot-webhook@8441: WEBHOOK_LISTEN=127.0.0.1:8441, METRICS_ADDR=127.0.0.1:18441,
    set on the command line so that /etc/fitclub-bot/env cannot override them."""
    text = (SYSTEMD / "fitclub-bot-webhook@.service").read_text()
    service = parse(text)["Service"]
    argv = [a.replace("%i", INSTANCE) for a in shlex.split(service["ExecStart"])]
    assert argv == ["/usr/bin/env", "WEBHOOK_LISTEN=127.0.0.1:8441",
                    "METRICS_ADDR=127.0.0.1:18441", PYTHON, "bot.py", "webhook"]
    assert (service["Type"], service["NotifyAccess"]) == ("notify", "main")
    assert service["CacheDirectory"] == "fitclub-bot/%i"
    assert values(text, "Environment")[1:] == ["MPLCONFIGDIR=/var/cache/fitclub-bot/%i/matplotlib",
                                               "XDG_CACHE_HOME=/var/cache/fitclub-bot/%i"]
