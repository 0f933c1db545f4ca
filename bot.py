#!/usr/bin/env python3
"""FitClub bot entry point: python bot.py {run,migrate,demo}."""

import sys
from pathlib import Path

# Runs from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from fitclub.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
