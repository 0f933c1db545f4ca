"""Run inside the emulated unit sandbox (tests/e2e/test_deploy_sandbox_e2e.py): draws a chart
the way the bot does (runtime.pictures, its drawing process) and prints what it saw as JSON."""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import resource
import sys
from pathlib import Path

from fitclub.runtime import pictures
from fitclub.screens import activity


def drawn_at_idle_priority(key: tuple) -> bytes:
    """In the drawing process: one byte saying whether it runs at SCHED_IDLE, four with its
    peak memory in MB, then the PNG."""
    idle = os.sched_getscheduler(0) == os.SCHED_IDLE
    png = activity.draw(key)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return bytes([idle]) + peak_mb.to_bytes(4, "big") + png


def main() -> int:
    key = ("activity", ("W1", "W2", "W3"), (2, 5, 1), "Visits per week")
    renderer = pictures.Renderer(None, cooldown=0)
    picture = pictures.Picture(member_id=1, chat_id=1, update_id=1, key=key,
                               draw=_Draw(key), caption="", markup=None,
                               filename="chart.png", screen_id=None, pressed_message_id=None)
    try:
        result = renderer._draw(picture)
    finally:
        renderer._close_drawer()
    cache = Path(os.environ["MPLCONFIGDIR"])
    idle, peak_mb, png = bool(result[0]), int.from_bytes(result[1:5], "big"), result[5:]
    json.dump({"wx_refused": _wx_refused(), "drawing_process_mb": peak_mb,
               "idle": idle, "png": png[:8] == b"\x89PNG\r\n\x1a\n",
               "png_bytes": len(png), "uid": os.getuid(),
               "font_cache": sorted(p.name for p in cache.glob("fontlist-*.json")),
               "umask": oct(os.umask(0o077)), "writable": _writable(),
               "proc": sorted(os.listdir("/proc"))}, sys.stdout)
    return 0


def _wx_refused() -> dict[str, bool]:
    """Whether memory both writable and executable is refused (MemoryDenyWriteExecute)."""
    refused = {}
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC).close()
        refused["mmap"] = False
    except PermissionError:
        refused["mmap"] = True
    libc = ctypes.CDLL(None, use_errno=True)
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    refused["mprotect"] = libc.mprotect(ctypes.c_void_p(address), 4096,
                                        mmap.PROT_READ | mmap.PROT_EXEC) != 0
    return refused


def _writable() -> list[str]:
    """Which of the places a sandbox must protect (or provide) this process can write to."""
    places = [os.getcwd(), "/var/tmp", "/etc", os.environ["MPLCONFIGDIR"], "/tmp"]
    writable = []
    for place in places:
        try:
            with open(Path(place) / f".probe-{os.getpid()}", "w"):
                pass
        except OSError:
            continue
        writable.append(place)
    return writable


class _Draw:
    """Picklable: the spawned drawing process imports this module to call it."""

    def __init__(self, key: tuple) -> None:
        self.key = key

    def __call__(self) -> bytes:
        return drawn_at_idle_priority(self.key)


if __name__ == "__main__":
    sys.exit(main())
