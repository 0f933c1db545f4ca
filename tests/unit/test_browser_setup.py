"""tools/browser.py: apt-get retried, its own message shown, the browser tests told why."""

from __future__ import annotations

import os
import stat

import pytest

from tools import browser


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    """An apt-get on PATH that fails its first `failures` calls with apt's lock message."""
    calls = tmp_path / "calls"

    def install(failures: int) -> None:
        script = tmp_path / "apt-get"
        script.write_text(
            "#!/bin/sh\n"
            f'echo "$@" >> {calls}\n'
            f'n=$(wc -l < {calls})\n'
            f'if [ "$n" -le {failures} ]; then\n'
            '  echo "E: Could not get lock /var/lib/apt/lists/lock" >&2; exit 100\n'
            "fi\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
        monkeypatch.setattr(browser.os, "geteuid", lambda: 0)

    install.calls = lambda: calls.read_text().splitlines() if calls.exists() else []
    return install


def test_a_failed_apt_get_is_tried_again(fake_apt):
    fake_apt(failures=1)
    browser.install(("chromium",), attempts=3, pause=0)
    assert fake_apt.calls() == ["update", "update", "install -y --no-install-recommends chromium"]


def test_apt_gets_own_message_is_shown_when_every_attempt_fails(fake_apt, capsys):
    fake_apt(failures=99)
    with pytest.raises(browser.InstallError, match="Could not get lock") as failed:
        browser.install(("chromium",), attempts=2, pause=0)
    assert "exited 100" in str(failed.value)
    assert len(fake_apt.calls()) == 2
    assert capsys.readouterr().err.count("Could not get lock") == 2


def test_without_root_nothing_runs_and_the_reason_says_how(monkeypatch, fake_apt):
    fake_apt(failures=0)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    with pytest.raises(browser.InstallError, match="needs root: apt-get install chromium"):
        browser.install(("chromium",))
    assert fake_apt.calls() == []


def test_the_reason_is_left_for_the_browser_tests(tmp_path, monkeypatch):
    reason = tmp_path / "browser-missing.txt"
    monkeypatch.setattr(browser, "REASON_FILE", reason)

    def refuse(**_):
        raise browser.InstallError("apt-get install exited 100:\nE: Unable to locate package")

    monkeypatch.setattr(browser, "ensure", refuse)
    assert browser.main([]) == 0
    assert "Unable to locate package" in reason.read_text()
    monkeypatch.setattr(browser, "ensure", lambda **_: "/usr/bin/chromium")
    assert browser.main([]) == 0
    assert not reason.exists()
