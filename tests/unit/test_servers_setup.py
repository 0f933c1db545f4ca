"""tools/servers.py: nginx and PgBouncer installed when missing, the tests told why not."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tools import browser, servers

ROOT = Path(__file__).resolve().parents[2]


def _script(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_debian(tmp_path, monkeypatch):
    """apt-get and apt-cache on PATH; nothing of nginx or pgbouncer installed."""
    calls = tmp_path / "calls"

    def make(*, light: bool, apt_fails: bool = False) -> list[str]:
        _script(tmp_path, "apt-get", f'echo "$@" >> {calls}\n'
                + ('echo "E: Unable to locate package pgbouncer" >&2; exit 100\n'
                   if apt_fails else ""))
        candidate = "1.22.1-9+deb12u12" if light else "(none)"
        _script(tmp_path, "apt-cache", f'echo "nginx-light:"\necho "  Candidate: {candidate}"\n')
        monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
        monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
        monkeypatch.setattr(servers, "find", lambda name: None)
        return calls

    make.calls = lambda: calls.read_text().splitlines() if calls.exists() else []
    return make


@pytest.mark.parametrize(("light", "package"), [(True, "nginx-light"), (False, "nginx")])
def test_what_is_missing_is_installed_with_the_nginx_debian_offers(fake_debian, light, package):
    fake_debian(light=light)
    with pytest.raises(browser.InstallError, match="still missing"):
        servers.ensure()  # the fake apt-get installs nothing
    assert fake_debian.calls()[-1] == f"install -y --no-install-recommends {package} pgbouncer"


def test_nothing_is_installed_when_both_are_there(monkeypatch):
    monkeypatch.setattr(servers, "find", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(servers, "install", lambda packages: pytest.fail("installed"))
    assert servers.ensure() == {"nginx": "/usr/sbin/nginx", "pgbouncer": "/usr/sbin/pgbouncer"}


def test_apt_gets_message_is_left_for_the_tests(fake_debian, tmp_path, monkeypatch):
    fake_debian(light=True, apt_fails=True)
    monkeypatch.setattr(servers, "install",
                        lambda packages: browser.install(packages, attempts=1, pause=0))
    reason = tmp_path / "servers-missing.txt"
    monkeypatch.setattr(servers, "REASON_FILE", reason)
    assert servers.main([]) == 0
    assert "Unable to locate package pgbouncer" in reason.read_text()
    monkeypatch.setattr(servers, "find", lambda name: f"/usr/sbin/{name}")
    assert servers.main([]) == 0
    assert not reason.exists()


def test_without_root_the_reason_says_how(fake_debian, monkeypatch):
    fake_debian(light=True)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    with pytest.raises(browser.InstallError, match="needs root: apt-get install nginx-light "
                                                   "pgbouncer"):
        servers.ensure()
    assert fake_debian.calls() == []


def test_the_pgbouncer_tests_skip_with_the_reason_the_tool_left(tmp_path, monkeypatch):
    from tests import pgbouncer

    monkeypatch.setattr(servers, "find", lambda name: None)
    monkeypatch.setattr(servers, "REASON_FILE", tmp_path / "servers-missing.txt")
    assert pgbouncer.missing_reason() == ("pgbouncer is missing (python tools/servers.py "
                                          "installs it)")
    servers.REASON_FILE.write_text("apt-get install exited 100: E: Unable to locate package\n")
    assert pgbouncer.missing_reason() == ("pgbouncer is missing: apt-get install exited 100: "
                                          "E: Unable to locate package")
    with pytest.raises(pgbouncer.PgBouncerError, match="Unable to locate package"):
        pgbouncer.PgBouncer(None)  # type: ignore[arg-type]


def test_it_runs_as_a_script():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "servers.py"), "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "nginx and PgBouncer" in done.stdout
