"""The bot as the end-to-end tests run it: the real app and handlers plus the probe handlers.

Settings come from the environment, exactly as `python bot.py run` reads them; with the
argument `webhook` it runs as `python bot.py webhook` does, with `--no-polling` as
`python bot.py run --no-polling`.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Runs from a checkout without installing anything, like bot.py.
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from fitclub.app import run_polling, run_webhook  # noqa: E402
from fitclub.config import ConfigError, Settings  # noqa: E402
from fitclub.handlers import MODULES  # noqa: E402
from tests.e2e import probe_handlers  # noqa: E402

# The probe module goes before the catch-all `fallback`, which must stay last.
HANDLER_MODULES = (*MODULES[:-1], probe_handlers, MODULES[-1])


def main(argv: list[str]) -> int:
    """Run until SIGTERM/SIGINT (polling, or webhook mode with argv ["webhook"]); the exit
    code is the app's."""
    try:
        settings = Settings.from_env(dotenv_path=None)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    if argv == ["webhook"]:
        return run_webhook(settings, handler_modules=HANDLER_MODULES)
    # `--no-polling`: as `bot.py run --no-polling`, an instance beside the one poller.
    return run_polling(settings, handler_modules=HANDLER_MODULES,
                       polling=argv != ["--no-polling"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
