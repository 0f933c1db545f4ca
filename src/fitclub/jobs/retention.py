"""Retention: a sweep every hour deletes what the club no longer keeps (services/retention.py
says what goes when), a small batch at a time.

Each run of `retention_sweep` deletes one batch (BATCH rows at most) of one table, in the
job's own short transaction, and asks to run again PAUSE_SECONDS later, moving to the next
table when a batch comes back short; after the last table it logs how many rows went from
each (counts only) and rests until the next hour. So no transaction holds more than a batch of
row locks, and those only on old rows no hot path reads; rows some transaction of the bot has
locked are passed over (SKIP LOCKED), never waited for; and between batches the job thread,
its connection and the disk are free for the bot. A backlog (the first run on an old database,
a long outage) is worked off at about BATCH rows per (PAUSE_SECONDS + a batch's time), a few
thousand rows a second, while replies go on.

Why hourly: rows come due continuously, so each run finds about an hour's worth (small, done in
a few batches); more often would only add runs that find nothing, less often would let a day's
flood wait longer. The limits are days, so an hour late is nothing.

The sweep is one shared row of the jobs table, taken with FOR UPDATE SKIP LOCKED: two
processes never run it at once, and a crash mid-batch rolls that batch back; the next run
deletes it again.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from fitclub.runtime.context import PRIORITY_REMINDER
from fitclub.runtime.jobs import JobContext, register
from fitclub.services import retention

log = logging.getLogger(__name__)

SWEEP_KIND = "retention_sweep"
SWEEP_SECONDS = 3600
BATCH = 2000
PAUSE_SECONDS = 0.2


@register(SWEEP_KIND, priority=PRIORITY_REMINDER, every=SWEEP_SECONDS)
def retention_sweep(ctx: JobContext, payload: dict) -> None:
    """Delete one batch of the current table; again shortly, or rest until the next hour."""
    position = int(payload.get("table", 0))
    if position >= len(retention.TABLES):
        position = 0
    counts: dict[str, int] = dict(payload.get("counts", {}))
    batches = int(payload.get("batches", 0)) + 1
    started = float(payload.get("started", time.time()))
    table = retention.TABLES[position]
    deleted = retention.prune_batch(ctx.conn, table, ctx.now(), retention.Limits.of(ctx.settings),
                                    BATCH)
    if deleted:
        counts[table] = counts.get(table, 0) + deleted
    if deleted < BATCH:
        position += 1
    if position < len(retention.TABLES):
        ctx.run_again(timedelta(seconds=PAUSE_SECONDS if deleted else 0),
                      payload={"table": position, "counts": counts, "batches": batches,
                               "started": started})
        return
    if counts:
        log.info("retention: deleted %s in %s batches, %.1fs",
                 ", ".join(f"{name} {n}" for name, n in counts.items()), batches,
                 time.time() - started)
    else:
        log.debug("retention: nothing to delete")
    ctx.run_again(timedelta(seconds=SWEEP_SECONDS), payload={})
