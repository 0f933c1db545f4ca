"""Load scenarios against tgemu and their reports (`python -m bench`, `make bench`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "bench" / "reports"

# The throwaway server configured as the operations guide configures the club's: its default
# statement_timeout is the bot's STATEMENT_TIMEOUT (15 s), so the pool sends no SET LOCAL.
SERVER_SETTINGS = {"statement_timeout": "15s"}

# Runs from a checkout without installing the package, as bot.py does.
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


def latency_summary(values: list[float]) -> dict:
    """Seconds as a report's latency figures: n, p50/p95/p99/max/mean in ms (n 0 when none)."""
    import statistics

    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}
