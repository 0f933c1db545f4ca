"""The locks (requirements.lock, requirements-dev.lock) agree with requirements*.txt and with
the installed .venv: every direct pin locked at its version, every entry hashed, nothing left
over, nothing missing, and nothing in the venv that the lock does not hold."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [("requirements.txt", "requirements.lock"),
         ("requirements-dev.txt", "requirements-dev.lock")]
OVERRIDES = ROOT / "requirements-overrides.txt"
# What each package left out by requirements-overrides.txt would be imported as.
DROPPED_MODULES = {"aiohttp": "aiohttp", "pysocks": "socks"}
# A venv brings these itself; the lock does not hold them.
VENV_OWN = {"pip", "setuptools"}
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)$")
ENTRY_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)( \\)?$")
HASH_RE = re.compile(r"^ {4}--hash=sha256:[0-9a-f]{64}( \\)?$")


def norm(name: str) -> str:
    """A distribution name as the package index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class Entry(NamedTuple):
    """One package of a lock."""

    version: str
    hashes: tuple[str, ...]
    via: tuple[str, ...]


def read_pins(path: Path) -> dict[str, str]:
    """The direct pins of a requirements file and the files it includes with -r."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins.update(read_pins(path.parent / line[3:].strip()))
            continue
        m = PIN_RE.match(line)
        assert m, f"{path.name}: not an exact pin: {raw!r}"
        pins[norm(m.group(1))] = m.group(2)
    return pins


def own_pins(path: Path) -> set[str]:
    """Names pinned in this file itself, not in the files it includes."""
    included = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("-r "):
            included |= set(read_pins(path.parent / raw[3:].strip()))
    return set(read_pins(path)) - included


def read_lock(path: Path) -> dict[str, Entry]:
    """Every entry of a lock written by `make lock`, with its hashes and `# via` reasons."""
    entries: dict[str, Entry] = {}
    name = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = ENTRY_RE.match(line)
        if m:
            name = norm(m.group(1))
            assert name not in entries, f"{path.name}: {name} twice"
            entries[name] = Entry(m.group(2), (), ())
        elif line.startswith("    --hash="):
            assert name and HASH_RE.match(line), f"{path.name}: odd hash line {line!r}"
            entries[name] = entries[name]._replace(hashes=(*entries[name].hashes, line.split()[0]))
        elif line.startswith("    # via"):
            reason = line.removeprefix("    # via").strip()
            if reason:
                entries[name] = entries[name]._replace(via=(*entries[name].via, reason))
        elif line.startswith("    #   "):
            entries[name] = entries[name]._replace(
                via=(*entries[name].via, line.removeprefix("    #   ").strip()))
        else:
            assert line.startswith("#") or not line.strip(), f"{path.name}: odd line {line!r}"
    return entries


def dropped() -> set[str]:
    """The packages requirements-overrides.txt leaves out."""
    names = set()
    for raw in OVERRIDES.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            req = Requirement(line)
            assert req.marker is not None and not req.marker.evaluate(), \
                f"an override that can be true keeps {req.name}"
            names.add(norm(req.name))
    return names


def disagreements(requirements: Path, lock: Path) -> list[str]:
    """Direct pins the lock lacks or holds at another version."""
    entries = read_lock(lock)
    return [f"{name}=={version} (lock: {entries[name].version if name in entries else 'none'})"
            for name, version in read_pins(requirements).items()
            if name not in entries or entries[name].version != version]


def leftovers(lock: Path) -> list[str]:
    """Entries there for a pin no longer in the file they name, or for a package gone."""
    entries = read_lock(lock)
    stale = []
    for name, entry in entries.items():
        reasons = [via for via in entry.via if not via.startswith("-c ")]  # -c: version only
        if not reasons:
            stale.append(f"{name} for no reason")
        for via in reasons:
            if via.startswith("-r "):
                ok = name in own_pins(lock.parent / via[3:])
            else:
                ok = norm(via) in entries
            if not ok:
                stale.append(f"{name} via {via}")
    return stale


@pytest.mark.parametrize(("requirements", "lock"), PAIRS)
def test_every_direct_pin_is_in_the_lock_at_its_version(requirements, lock):
    assert disagreements(ROOT / requirements, ROOT / lock) == [], f"{lock} is stale: make lock"


@pytest.mark.parametrize("lock", [lock for _, lock in PAIRS])
def test_every_lock_entry_has_hashes_and_the_header_says_how_to_remake_it(lock):
    text = (ROOT / lock).read_text(encoding="utf-8")
    assert text.splitlines()[:2] == [
        "# This file was autogenerated by uv via the following command:", "#    make lock"]
    entries = read_lock(ROOT / lock)
    assert len(entries) > 10
    assert sorted(n for n, e in entries.items() if not e.hashes) == []


@pytest.mark.parametrize("lock", [lock for _, lock in PAIRS])
def test_nothing_in_the_lock_is_left_over(lock):
    """Each entry is there for a direct pin of the file it names, or for a package of the lock."""
    assert leftovers(ROOT / lock) == [], f"{lock} is older than its requirements: make lock"


def test_the_two_locks_agree_on_every_package_they_share():
    run = read_lock(ROOT / "requirements.lock")
    dev = read_lock(ROOT / "requirements-dev.lock")
    assert sorted(set(run) - set(dev)) == [], "the dev lock lacks runtime packages"
    assert sorted(n for n in run if (run[n].version, set(run[n].hashes))
                  != (dev[n].version, set(dev[n].hashes))) == []


def test_the_overrides_drop_only_what_nothing_needs():
    """Dropped packages are in no lock; the test below shows nothing imports them."""
    names = dropped()
    assert names == set(DROPPED_MODULES)
    for _, lock in PAIRS:
        assert sorted(names & set(read_lock(ROOT / lock))) == []


def test_the_bot_tgemu_and_the_browser_driver_load_with_the_dropped_packages_blocked():
    blocked = sorted(DROPPED_MODULES.values())
    script = f"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import fitclub, tgemu
count = 0
for pkg in (fitclub, tgemu):
    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if not mod.name.endswith("__main__"):
            importlib.import_module(mod.name)
            count += 1
import telebot, telebot.apihelper, selenium.webdriver, selenium.webdriver.remote.remote_connection
print(count)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, cwd=ROOT, timeout=120,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout) > 100  # every module of both packages was imported


def _active(dist: importlib.metadata.Distribution, extras: set[str]) -> list[Requirement]:
    """What a distribution needs on this interpreter, with the extras asked of it."""
    env = default_environment()
    reqs = [Requirement(spec) for spec in dist.requires or []]
    return [r for r in reqs if r.marker is None
            or any(r.marker.evaluate({**env, "extra": e}) for e in extras | {""})]


def installed() -> dict[str, importlib.metadata.Distribution]:
    return {norm(d.metadata["Name"]): d for d in importlib.metadata.distributions()}


def test_the_venv_holds_exactly_the_dev_lock():
    """Installed with --no-deps, the venv is the lock: same packages, same versions."""
    dev = read_lock(ROOT / "requirements-dev.lock")
    have = {n: d.version for n, d in installed().items()}
    assert {n: (e.version, have.get(n)) for n, e in dev.items()
            if have.get(n) != e.version} == {}, "the venv differs from the lock: make clean venv"
    assert sorted(set(have) - set(dev) - VENV_OWN) == [], \
        "installed but not locked: make clean venv"


def test_every_package_the_locked_ones_need_is_locked_or_dropped():
    """--no-deps installs nothing the lock forgot: checked against each package's metadata."""
    dev = read_lock(ROOT / "requirements-dev.lock")
    dists = installed()
    extras: dict[str, set[str]] = {n: set() for n in dev}
    for _ in range(3):  # extras asked for may turn on more requirements, asking for more
        for name in dev:
            for req in _active(dists[name], extras[name]):
                if norm(req.name) in extras:
                    extras[norm(req.name)] |= req.extras
    missing = {f"{name} needs {norm(req.name)}" for name in dev
               for req in _active(dists[name], extras[name]) if norm(req.name) not in dev}
    assert sorted(m for m in missing if m.split()[-1] not in dropped()) == []
    # and each override still drops something a locked package declares (else it is stale)
    assert {m.split()[-1] for m in missing} == dropped()


def test_make_installs_the_lock_with_hashes_before_demo_and_test():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    rule = re.search(r"^\$\(STAMP\): (.*)\n((?:\t.*\n)+)", text, re.M)
    assert rule, "no install rule"
    assert rule.group(1).split() == ["$(LOCKS)"]
    assert re.search(r"^LOCKS := requirements\.lock requirements-dev\.lock$", text, re.M)
    recipe = rule.group(2).replace("\\\n", " ")
    assert "--require-hashes" in recipe and "--no-deps" in recipe
    assert "-r requirements-dev.lock" in recipe and "requirements-dev.txt" not in recipe
    for target in ("demo", "test"):
        assert re.search(rf"^{target}: \$\(STAMP\)", text, re.M), target


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """requirements*.txt and the locks in a directory of their own, to edit."""
    for name in ("requirements.txt", "requirements-dev.txt", *(lock for _, lock in PAIRS)):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    return tmp_path


def test_a_new_or_bumped_pin_that_the_lock_lacks_is_caught(copy):
    req = copy / "requirements.txt"
    text = req.read_text(encoding="utf-8")
    req.write_text(re.sub(r"^babel==\S+", "babel==0.0.1", text, flags=re.M)
                   + "leftpad==1.0.0  # new\n", encoding="utf-8")
    found = disagreements(req, copy / "requirements.lock")
    assert [f.split("==")[0] for f in found] == ["babel", "leftpad"]
    assert [f.split("==")[0] for f in disagreements(copy / "requirements-dev.txt",
                                                     copy / "requirements-dev.lock")] \
        == ["babel", "leftpad"]  # through -r requirements.txt


def test_a_lock_entry_left_from_a_removed_pin_is_caught(copy):
    req = copy / "requirements.txt"
    text = req.read_text(encoding="utf-8")
    req.write_text(re.sub(r"^segno==.*\n", "", text, flags=re.M), encoding="utf-8")
    assert leftovers(copy / "requirements.lock") == ["segno via -r requirements.txt"]
    assert "segno via -r requirements.txt" in leftovers(copy / "requirements-dev.lock")


def test_a_lock_entry_whose_only_reason_is_gone_is_caught(copy):
    lock = copy / "requirements.lock"
    text = lock.read_text(encoding="utf-8")
    # requests out of the lock: what only it needed (certifi, idna, ...) is now stale
    lock.write_text(re.sub(r"^requests==.*?\n(?=\S)", "", text, flags=re.M | re.S),
                    encoding="utf-8")
    stale = leftovers(lock)
    assert "certifi via requests" in stale and "charset-normalizer via requests" in stale


@pytest.mark.parametrize("line", ["requests>=2", "requests", "requests==2.*", "-e ."])
def test_a_requirement_that_is_not_an_exact_pin_is_refused(tmp_path, line):
    (tmp_path / "requirements.txt").write_text(f"{line}\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="not an exact pin"):
        read_pins(tmp_path / "requirements.txt")


def test_a_lock_entry_without_hashes_is_seen(tmp_path):
    (tmp_path / "x.lock").write_text("# header\nsix==1.17.0 \\\n    # via -r x.txt\n",
                                     encoding="utf-8")
    assert read_lock(tmp_path / "x.lock")["six"].hashes == ()
