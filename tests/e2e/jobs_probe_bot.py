"""probe_bot.py plus job kinds for the end-to-end job tests; E2E_POLLING=0 runs it unpolled.

- `e2e_job` {"n", "chat"}: one audit_log row (action 'e2e.job', entity_id n, the process id in
  its details), then the message `job <n>` to the chat. Counting rows per n proves each job
  ran once; counting texts at tgemu proves each message arrived once.
- `e2e_slow` {"seconds"}: sleeps, so /healthz can be seen judging an overdue job.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from psycopg2.extras import Json  # noqa: E402

from fitclub.app import run_polling  # noqa: E402
from fitclub.config import ConfigError, Settings  # noqa: E402
from fitclub.runtime.jobs import JobContext, register  # noqa: E402
from tests.e2e.probe_bot import HANDLER_MODULES  # noqa: E402

JOB_ACTION = "e2e.job"


@register("e2e_job")
def e2e_job(ctx: JobContext, payload: dict) -> None:
    """A countable effect and one message."""
    with ctx.cursor() as cur:
        cur.execute("INSERT INTO audit_log (action, entity, entity_id, details)"
                    " VALUES (%s, 'job', %s, %s)",
                    (JOB_ACTION, payload["n"], Json({"pid": os.getpid(), "job": ctx.job.id})))
    ctx.reply(f"job {payload['n']}", chat_id=payload["chat"])


@register("e2e_slow")
def e2e_slow(ctx: JobContext, payload: dict) -> None:
    """Hold the job (and so keep it overdue) for a while."""
    time.sleep(float(payload["seconds"]))


def main() -> int:
    """Run until SIGTERM/SIGINT, polling unless E2E_POLLING=0."""
    try:
        settings = Settings.from_env(dotenv_path=None)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    polling = os.environ.get("E2E_POLLING", "1") != "0"
    return run_polling(settings, handler_modules=HANDLER_MODULES, polling=polling)


if __name__ == "__main__":
    sys.exit(main())
