"""`python -m bench` (`make bench`): every benchmark in turn, each writing its report."""

import subprocess
import sys
import time

from bench import (
    ROOT,
    announce_bench,
    charts,
    compare,
    hot_queries,
    http_clients,
    members,
    retention,
    statements,
)

CEILING = ROOT / "bench" / "tgemu_ceiling.py"

BENCHES = (
    ("fitclub vs the classic design, durability off and on", compare.main),
    ("members' journeys at a club's size: steady, Telegram's limits, saturation, "
     "announcement, growth, cold start", members.main),
    ("hot queries at 1,000 and 20,000 members, inbox and outbox up to 1M rows",
     hot_queries.main),
    ("statements per update at 100 updates/s", statements.main),
    ("announcements: 5,000 members at Telegram's limits, killed midway", announce_bench.main),
    ("retention: 1,000,000 old rows deleted while members are answered", retention.main),
    ("charts: 50 members press Activity at once while others are answered", charts.main),
    ("HTTP clients: requests vs pooled urllib3", http_clients.main),
)


def main() -> int:
    started = time.monotonic()
    failed = []
    for title, run in BENCHES:
        print(f"\n== {title} ==", flush=True)
        if run([]) != 0:
            failed.append(run.__module__)
    if CEILING.is_file():  # tgemu's own ceiling; a script of its own
        print("\n== tgemu ceiling ==", flush=True)
        if subprocess.run([sys.executable, str(CEILING)], cwd=ROOT, check=False).returncode:
            failed.append("tgemu_ceiling")
    print(f"\nbench done in {time.monotonic() - started:.0f}s; reports in bench/reports/"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
