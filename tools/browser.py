"""Debian's Chromium and ChromeDriver (and an emoji font) for the web chat tests and the
documentation's screenshots.

`make test` runs this before pytest: what is missing is installed with apt-get (as root), with
retries, and apt's own message is printed when it still fails. The reason is also written to
`REASON_FILE`, and the browser tests then skip with it, as they do for a user who is not root.

    python tools/browser.py            # Chromium and ChromeDriver
    python tools/browser.py --fonts    # and fonts-noto-color-emoji (for screenshots)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER_PACKAGES = ("chromium", "chromium-driver")
FONT_PACKAGES = ("fonts-noto-color-emoji",)
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
REASON_FILE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "browser-missing.txt"
ATTEMPTS = 3
RETRY_SECONDS = 10.0


class InstallError(Exception):
    """apt-get could not install what is missing; the message is apt's own."""


def chromium() -> str | None:
    """The Chromium binary, if installed with its driver."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    return binary if binary and os.path.exists(CHROMEDRIVER) else None


def _apt(*args: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise InstallError(f"apt-get {' '.join(args)} exited {done.returncode}:\n{output}")


def install(packages: tuple[str, ...], *, attempts: int = ATTEMPTS,
            pause: float = RETRY_SECONDS) -> None:
    """apt-get update and install, tried `attempts` times (a busy apt lock or a mirror
    hiccup passes); InstallError with apt's message when every attempt failed."""
    if os.geteuid() != 0:
        raise InstallError(f"{', '.join(packages)} are missing and installing them needs "
                           f"root: apt-get install {' '.join(packages)}")
    last: InstallError | None = None
    for attempt in range(1, attempts + 1):
        try:
            _apt("update")
            _apt("install", "-y", "--no-install-recommends", *packages)
            return
        except (InstallError, subprocess.TimeoutExpired) as exc:
            last = exc if isinstance(exc, InstallError) else InstallError(str(exc))
            print(f"attempt {attempt} of {attempts} failed: {last}", file=sys.stderr)
            if attempt < attempts:
                time.sleep(pause)
    assert last is not None
    raise last


def ensure(*, fonts: bool = False) -> str:
    """Chromium's path, installing what is missing; InstallError says why it cannot be."""
    missing = () if chromium() else BROWSER_PACKAGES
    if fonts and not EMOJI_FONT.exists():
        missing += FONT_PACKAGES
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", file=sys.stderr)
        install(missing)
    binary = chromium()
    if binary is None:
        raise InstallError("apt-get succeeded but chromium or /usr/bin/chromedriver is "
                           "still missing")
    return binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", action="store_true", help="also the emoji font")
    args = parser.parse_args(argv)
    REASON_FILE.unlink(missing_ok=True)
    try:
        binary = ensure(fonts=args.fonts)
    except InstallError as exc:
        REASON_FILE.parent.mkdir(parents=True, exist_ok=True)
        REASON_FILE.write_text(str(exc))
        print(f"browser tests will be skipped: {exc}", file=sys.stderr)
        return 0
    print(f"browser: {binary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
