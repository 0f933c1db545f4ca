"""Settings: defaults, validation with one-line errors, secrets never shown."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fitclub.config import ConfigError, Settings, describe
from fitclub.logs import RedactSecrets

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHfakeTokenForTestsOnly_abcdefghijkl"
BASE = {"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "postgresql://u@127.0.0.1:5432/fitclub"}


def _clean_env(**extra: str) -> dict[str, str]:
    names = {env for env, _, _ in describe()}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def test_defaults():
    s = Settings.from_env(BASE)
    assert (s.db_pool_min, s.db_pool_max) == (5, 50)
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.metrics_addr == ("127.0.0.1", 9108)
    assert s.admin_telegram_ids == ()
    assert s.worker_threads + s.sender_threads <= s.db_pool_max


def test_values_are_parsed():
    s = Settings.from_env({**BASE, "ADMIN_TELEGRAM_IDS": "1, 22,333", "DB_POOL_TIMEOUT": "2.5",
                           "TELEGRAM_API_URL": "http://127.0.0.1:8081/", "METRICS_ADDR": "off",
                           "CLUB_TIMEZONE": "Europe/Moscow", "LOG_LEVEL": "debug"})
    assert s.admin_telegram_ids == (1, 22, 333)
    assert s.db_pool_timeout == 2.5
    assert s.telegram_api_url == "http://127.0.0.1:8081"
    assert s.metrics_addr is None
    assert s.club_timezone == "Europe/Moscow"
    assert s.log_level == "DEBUG"


@pytest.mark.parametrize("name, value", [
    ("DB_POOL_MAX", "fifty"),
    ("DB_POOL_MAX", "0"),
    ("DB_POOL_TIMEOUT", "soon"),
    ("CLUB_TIMEZONE", "Mars/Olympus"),
    ("METRICS_ADDR", "localhost"),
    ("ADMIN_TELEGRAM_IDS", "12,abc"),
    ("TELEGRAM_API_URL", "api.telegram.org"),
    ("LOG_FORMAT", "xml"),
    ("DATABASE_URL", "fitclub"),
    ("TELEGRAM_BOT_TOKEN", "not-a-token"),
])
def test_malformed_value_names_the_variable(name, value):
    with pytest.raises(ConfigError) as err:
        Settings.from_env({**BASE, name: value})
    assert err.value.name == name
    assert str(err.value).startswith(name)


def test_pool_min_above_max_is_refused():
    with pytest.raises(ConfigError, match="DB_POOL_MIN"):
        Settings.from_env({**BASE, "DB_POOL_MIN": "20", "DB_POOL_MAX": "10",
                           "WORKER_THREADS": "2", "SENDER_THREADS": "1"})


@pytest.mark.parametrize(("card", "dedup", "ok"), [("5", "10", True), ("10", "10", True),
                                                  ("11", "10", False), ("5", "4.5", False)])
def test_a_card_that_outlives_the_dedup_window_is_refused(card, dedup, ok):
    env = {**BASE, "CARD_TOKEN_MINUTES": card, "CHECKIN_DEDUP_MINUTES": dedup}
    if ok:
        assert Settings.from_env(env).card_token_minutes == int(card)
        return
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert err.value.name == "CARD_TOKEN_MINUTES"
    assert f"CARD_TOKEN_MINUTES ({card}) exceeds CHECKIN_DEDUP_MINUTES ({dedup})" in str(err.value)
    assert "lower CARD_TOKEN_MINUTES or raise CHECKIN_DEDUP_MINUTES" in str(err.value)


def test_threads_that_could_exhaust_the_pool_are_refused():
    with pytest.raises(ConfigError, match=r"WORKER_THREADS.*exceeds DB_POOL_MAX"):
        Settings.from_env({**BASE, "WORKER_THREADS": "48", "DB_POOL_MAX": "50"})


@pytest.mark.parametrize(("pool_max", "webhook_max_connections", "refused"), [
    ("34", "40", False),   # 16 + 4 + 2 + 4 reserved + 8 webhook threads
    ("33", "40", True),
    ("28", "2", False),    # Telegram opens 2 connections: 2 webhook threads
    ("27", "2", True),
])
def test_webhook_mode_counts_its_server_threads_against_the_pool(pool_max,
                                                                 webhook_max_connections,
                                                                 refused):
    s = Settings.from_env({**BASE, "DB_POOL_MAX": pool_max,
                           "WEBHOOK_MAX_CONNECTIONS": webhook_max_connections})
    s.check()  # polling needs 27 only
    if refused:
        with pytest.raises(ConfigError, match=r"^WORKER_THREADS \+ SENDER_THREADS \+ "
                                              r"JOB_THREADS \+ 4 reserved \+ \d webhook threads"
                                              rf" = {int(pool_max) + 1} exceeds DB_POOL_MAX"):
            s.check(webhook=True)
    else:
        s.check(webhook=True)


def test_bot_py_webhook_refuses_a_pool_too_small_for_its_threads(tmp_path):
    """Refused before the database is asked: one line, exit 2."""
    res = subprocess.run([sys.executable, str(ROOT / "bot.py"), "webhook"], cwd=tmp_path,
                         env=_clean_env(**BASE, CARD_SECRET="c" * 32, WEBHOOK_SECRET="s" * 32,
                                        DB_POOL_MAX="27"),
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "8 webhook threads = 34 exceeds DB_POOL_MAX (27)" in lines[0]
    assert TOKEN not in res.stderr + res.stdout


@pytest.mark.parametrize("missing", ["TELEGRAM_BOT_TOKEN", "DATABASE_URL"])
def test_required_value_missing(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        Settings.from_env(env)


def test_malformed_token_is_never_echoed():
    bad = "123:secret-looking-but-short"
    with pytest.raises(ConfigError) as err:
        Settings.from_env({**BASE, "TELEGRAM_BOT_TOKEN": bad})
    assert bad not in str(err.value)


def test_repr_hides_secrets():
    s = Settings.from_env({**BASE, "DATABASE_URL": "postgresql://u:hunter2@db:5432/x"})
    text = repr(s)
    assert TOKEN not in text
    assert "hunter2" not in text
    assert "telegram_bot_token='***'" in text


def test_dotenv_is_loaded_and_real_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nDATABASE_URL=postgresql://from-file/x\n"
                        "DB_POOL_TIMEOUT=7\n")
    for name, _, _ in describe():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DB_POOL_TIMEOUT", "3")
    s = Settings.from_env(dotenv_path=env_file)
    assert s.database_url == "postgresql://from-file/x"
    assert s.db_pool_timeout == 3.0


def test_env_example_lists_every_setting_with_its_default():
    text = (ROOT / ".env.example").read_text()
    assigned = dict(line.split("=", 1) for line in text.splitlines()
                    if line and not line.startswith("#"))
    assert {env: default or "" for env, default, _ in describe()} == assigned


def _settings_table(text: str) -> list[tuple[str, str, str]]:
    """(variable, default, meaning) of each row of the table under "| Variable |"."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Variable |"))
    found = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        env, default, meaning = (cell.strip() for cell in line.strip("|").split("|", 2))
        found.append((env.strip("`"), default, meaning))
    return found


def test_operations_guide_has_one_row_per_setting_with_its_default_and_meaning():
    rows = _settings_table((ROOT / "docs" / "operations.md").read_text())
    assert [env for env, _, _ in rows] == [env for env, _, _ in describe()]
    for (env, shown, meaning), (_, default, told) in zip(rows, describe(), strict=True):
        expected = ("*(required)*" if default is None else "*(empty)*" if default == ""
                    else f"`{default}`")
        assert shown == expected, env
        # The guide may add to the meaning config.py gives, never say something else.
        assert meaning.startswith(told), env


def test_run_without_token_prints_one_line_and_exits_2(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "bot.py"), "run"], cwd=tmp_path,
                         env=_clean_env(), capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert "Traceback" not in res.stderr


def test_run_with_malformed_setting_exits_2_without_leaking_token(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "bot.py"), "run"], cwd=tmp_path,
                         env=_clean_env(**BASE, DB_POOL_MAX="lots"),
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 2
    assert "DB_POOL_MAX" in res.stderr
    assert TOKEN not in res.stderr + res.stdout


def test_log_filter_redacts_tokens_and_secrets():
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "GET https://api.telegram.org/bot%s/getMe pw=%s",
                               (TOKEN, "hunter2"), None)
    RedactSecrets(("hunter2",)).filter(record)
    text = record.getMessage()
    assert TOKEN not in text
    assert "hunter2" not in text
    assert "/bot<token>/getMe" in text


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False)])
def test_env_file_open_to_others_gives_one_warning_without_its_content(
        tmp_path, monkeypatch, caplog, mode, warned):
    env_file = tmp_path / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nDATABASE_URL=postgresql://u:pw1@h/x\n")
    env_file.chmod(mode)
    for name, _, _ in describe():
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, logger="fitclub.config"):
        Settings.from_env(dotenv_path=env_file)
    lines = [r for r in caplog.records if r.name == "fitclub.config"]
    if not warned:
        assert lines == []
        return
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    text = lines[0].getMessage()
    assert str(env_file) in text and f"{mode:04o}" in text and f"chmod 600 {env_file}" in text
    assert TOKEN not in text and "pw1" not in text


def test_run_warns_on_a_world_readable_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql://u:pw1@127.0.0.1:1/x\n")
    env_file.chmod(0o644)
    proc = subprocess.run([sys.executable, str(ROOT / "bot.py"), "run"], cwd=tmp_path,
                          env=_clean_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 2  # no token: refused, but the warning came first
    assert "env file .env holds secrets but has mode 0644" in proc.stderr
    assert "chmod 600 .env" in proc.stderr and "pw1" not in proc.stderr
