#!/usr/bin/env python3
"""FitClub bot entry point: python bot.py {run,webhook,set-webhook,delete-webhook,migrate,demo}.

`run` polls; `webhook` is one instance behind nginx (set-webhook points Telegram at it once);
`python bot.py --help` lists every command and its options.
"""

import sys
from pathlib import Path

# Runs from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from fitclub.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
