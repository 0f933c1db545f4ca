"""`python -m bench` (`make bench`): every benchmark in turn, each writing its report."""

import subprocess
import sys
import time

from bench import ROOT, announce_bench, charts, http_clients, retention, runtime_bench

CEILING = ROOT / "bench" / "tgemu_ceiling.py"


def main() -> int:
    started = time.monotonic()
    failed = []
    print("== runtime: fitclub vs a stock pyTelegramBotAPI echo bot ==", flush=True)
    if runtime_bench.main([]) != 0:
        failed.append("runtime_bench")
    print("\n== HTTP clients: requests vs pooled urllib3 ==", flush=True)
    if http_clients.main([]) != 0:
        failed.append("http_clients")
    print("\n== announcements: 5,000 members at Telegram's limits ==", flush=True)
    if announce_bench.main([]) != 0:
        failed.append("announce_bench")
    print("\n== retention: 1,000,000 old rows deleted while members are answered ==",
          flush=True)
    if retention.main([]) != 0:
        failed.append("retention")
    print("\n== charts: 50 members press Activity at once while others are answered ==",
          flush=True)
    if charts.main([]) != 0:
        failed.append("charts")
    if CEILING.is_file():  # tgemu's own ceiling; a script of its own
        print("\n== tgemu ceiling ==", flush=True)
        if subprocess.run([sys.executable, str(CEILING)], cwd=ROOT, check=False).returncode:
            failed.append("tgemu_ceiling")
    print(f"\nbench done in {time.monotonic() - started:.0f}s; reports in bench/reports/"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
