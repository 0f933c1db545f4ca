"""Debian's nginx and PgBouncer for the tests that run them (the webhook fleet behind nginx,
the bot through PgBouncer in transaction pooling).

`make test` runs this before pytest, as it runs tools/browser.py: what is missing is installed
with apt-get (as root, with that tool's retries), and when it cannot be, the reason is written
to `REASON_FILE` and those tests skip with it.

    python tools/servers.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: tools/ is on sys.path, not the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.browser import InstallError, install

REASON_FILE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "servers-missing.txt"
SBIN = ("/usr/sbin", "/usr/bin", "/sbin")


def find(name: str) -> str | None:
    """The executable `name`, on PATH or in the system's sbin directories."""
    return shutil.which(name) or next(
        (f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None)


def nginx_package() -> str:
    """nginx-light where Debian still has it (bookworm and older: fewer modules), else nginx."""
    try:
        shown = subprocess.run(["apt-cache", "policy", "nginx-light"], capture_output=True,
                               text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "nginx"
    candidate = next((ln.split(":", 1)[1].strip() for ln in shown.splitlines()
                      if ln.strip().startswith("Candidate:")), "(none)")
    return "nginx-light" if candidate != "(none)" else "nginx"


def missing() -> tuple[str, ...]:
    """The Debian packages to install for what is not there."""
    wanted = []
    if find("nginx") is None:
        wanted.append(nginx_package())
    if find("pgbouncer") is None:
        wanted.append("pgbouncer")
    return tuple(wanted)


def ensure() -> dict[str, str]:
    """{name: path} of nginx and pgbouncer, installing what is missing; InstallError says why
    it cannot be."""
    packages = missing()
    if packages:
        print(f"installing {' '.join(packages)} with apt-get", file=sys.stderr)
        install(packages)
    found = {name: find(name) for name in ("nginx", "pgbouncer")}
    absent = [name for name, path in found.items() if path is None]
    if absent:
        raise InstallError(f"apt-get succeeded but {', '.join(absent)} is still missing")
    return {name: path for name, path in found.items() if path}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    REASON_FILE.unlink(missing_ok=True)
    try:
        paths = ensure()
    except InstallError as exc:
        REASON_FILE.parent.mkdir(parents=True, exist_ok=True)
        REASON_FILE.write_text(str(exc))
        print(f"nginx and PgBouncer tests will be skipped: {exc}", file=sys.stderr)
        return 0
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
