"""`pip install .` gives a working `fitclub-bot`: the wheel holds every file of src/ (the
migrations as copies of sql/), declares requirements.txt and the entry point, and the installed
command migrates a real database from its own copy of the migrations."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.requirements import Requirement

from tests.helpers import query

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("pyproject.toml", "requirements.txt", "README.md", "src", "sql")
BUILD_SECONDS = 300  # setuptools comes from the package index into an isolated build env

pytestmark = pytest.mark.xdist_group("packaging")


class Installed(NamedTuple):
    """The built wheel and where it was installed."""

    wheel: Path
    site: Path
    command: Path


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The project built into a wheel from a copy of the checkout, installed with --target."""
    base = tmp_path_factory.mktemp("packaging")
    project = base / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, project / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, project / name)
    dist = base / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q",
                  "--disable-pip-version-check", "-w", str(dist)],
                 cwd=project, timeout=BUILD_SECONDS)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("fitclub_bot-*.whl")
    site = base / "site"
    done = _install(wheel, site, f"--hash=sha256:{_sha256(wheel)}")
    assert done.returncode == 0, done.stderr[-3000:]
    yield Installed(wheel, site, site / "bin" / "fitclub-bot")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _install(wheel: Path, site: Path, hashes: str) -> subprocess.CompletedProcess:
    """pip install as the docs say (--require-hashes --no-deps), of a one-line lock."""
    lock = site.parent / f"{site.name}.lock"
    lock.write_text(f"fitclub-bot @ {wheel.as_uri()} {hashes}\n", encoding="utf-8")
    return _run([sys.executable, "-m", "pip", "install", "--require-hashes", "--no-deps",
                 "--no-index", "-q", "--disable-pip-version-check", "--target", str(site),
                 "-r", str(lock)], cwd=site.parent)


def _wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as z:
        return {name: z.read(name) for name in z.namelist() if not name.endswith("/")}


def _dist_info(wheel: Path, name: str) -> str:
    files = _wheel_files(wheel)
    (key,) = [k for k in files if k.endswith(f".dist-info/{name}")]
    return files[key].decode("utf-8")


def test_the_wheel_holds_every_migration_identical_to_sql(installed):
    files = _wheel_files(installed.wheel)
    shipped = {k.removeprefix("fitclub/migrations/"): v for k, v in files.items()
               if k.startswith("fitclub/migrations/")}
    expected = {p.name: p.read_bytes() for p in (ROOT / "sql").glob("*.sql")}
    assert len(expected) >= 30
    assert sorted(shipped) == sorted(expected)
    assert [n for n in expected if shipped[n] != expected[n]] == []


def test_the_wheel_holds_every_file_of_both_packages(installed):
    """Modules, named queries, catalogs and the web chat page: all of src/, byte for byte."""
    files = _wheel_files(installed.wheel)
    src = ROOT / "src"
    expected = {str(p.relative_to(src)): p.read_bytes()
                for pkg in ("fitclub", "tgemu") for p in (src / pkg).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert "tgemu/static/index.html" in expected
    assert "fitclub/locales/ru/LC_MESSAGES/fitclub.po" in expected
    assert "fitclub/db/sql/bookings.sql" in expected
    assert sorted(set(expected) - set(files)) == []
    assert [n for n in expected if files[n] != expected[n]] == []


def test_the_wheel_declares_the_command_and_the_requirements_of_requirements_txt(installed):
    entry_points = _dist_info(installed.wheel, "entry_points.txt")
    assert "[console_scripts]\nfitclub-bot = fitclub.cli:console\n" in entry_points
    declared = sorted(str(Requirement(line.removeprefix("Requires-Dist: ")))
                      for line in _dist_info(installed.wheel, "METADATA").splitlines()
                      if line.startswith("Requires-Dist: "))
    pinned = sorted(str(Requirement(line.split("#", 1)[0]))
                    for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.split("#", 1)[0].strip())
    assert len(pinned) >= 10
    assert declared == pinned


def _env(site: Path, **extra: str) -> dict[str, str]:
    """Only the installed copy on the path; no checkout, no .env."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {**keep, "PYTHONPATH": str(site), **extra}


def test_the_installed_command_imports_the_installed_package(installed, tmp_path):
    probe = _run([sys.executable, "-c",
                  "import fitclub.db.migrate as m, tgemu.server as s;"
                  "print(m.SQL_DIR.resolve()); print(s.STATIC.resolve())"],
                 cwd=tmp_path, env=_env(installed.site))
    assert probe.returncode == 0, probe.stderr
    sql_dir, static = (Path(line) for line in probe.stdout.split())
    assert sql_dir == (installed.site / "fitclub" / "migrations").resolve()
    assert not (installed.site / "fitclub" / "migrations").is_symlink()
    assert static == (installed.site / "tgemu" / "static").resolve()


def test_the_installed_command_shows_its_help(installed, tmp_path):
    shown = _run([str(installed.command), "--help"], cwd=tmp_path, env=_env(installed.site))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: fitclub-bot ")
    for command in ("run", "webhook", "set-webhook", "delete-webhook", "migrate", "demo"):
        assert command in shown.stdout


@pytest.mark.parametrize(("args", "env", "code", "says"), [
    (["nonsense"], {}, 2, "fitclub-bot: error: argument command: invalid choice"),
    (["migrate", "--status"], {}, 2, "DATABASE_URL"),
])
def test_the_installed_command_exits_like_bot_py_on_bad_input(installed, tmp_path, args, env,
                                                              code, says):
    done = _run([str(installed.command), *args], cwd=tmp_path, env=_env(installed.site, **env))
    assert (done.returncode, says in done.stderr) == (code, True), done.stderr


def test_the_installed_command_migrates_a_database_from_its_own_copy(installed, tmp_path,
                                                                       empty_db_url):
    env = _env(installed.site, DATABASE_URL=empty_db_url)
    names = sorted(p.name for p in (ROOT / "sql").glob("*.sql"))
    status = _run([str(installed.command), "migrate", "--status"], cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stderr
    assert [line.split()[:2] for line in status.stdout.splitlines()] \
        == [["pending", name] for name in names]
    applied = _run([str(installed.command), "migrate"], cwd=tmp_path, env=env, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert [r[0] for r in query(empty_db_url, "SELECT name FROM schema_migrations ORDER BY name")] \
        == names
    again = _run([str(installed.command), "migrate", "--status"], cwd=tmp_path, env=env)
    assert again.stdout.splitlines()[-1] == "up to date"


@pytest.mark.parametrize(("hashes", "says"), [
    (f"--hash=sha256:{'0' * 64}", "DO NOT MATCH THE HASHES"),
    ("", "Hashes are required in --require-hashes mode"),
])
def test_an_install_with_required_hashes_refuses_a_file_the_lock_does_not_vouch_for(
        installed, tmp_path, hashes, says):
    done = _install(installed.wheel, tmp_path / "site", hashes)
    assert (done.returncode != 0, says in done.stderr) == (True, True), done.stderr
    assert not (tmp_path / "site" / "fitclub").exists()
