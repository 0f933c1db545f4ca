"""Load scenarios against tgemu and their reports (`python -m bench`, `make bench`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "bench" / "reports"

# Runs from a checkout without installing the package, as bot.py does.
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
