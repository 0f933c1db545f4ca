"""Retention: what the club keeps of the runtime's records, and for how long.

Nothing here decides anything about members, bookings or payments: visits, bookings,
memberships and payments are the club's books and stay. What goes is the machinery's trail,
which holds personal data (raw updates carry names, phones and free text; sent messages carry
member cards and exports) and would otherwise grow for ever:

| table | what goes | when |
|---|---|---|
| `inbox` | processed updates (done, failed, skipped) | received more than RETENTION_DAYS ago |
| `outbox` | delivered, failed and dropped calls | queued more than RETENTION_DAYS ago |
| `conversation_state` | a step left half done | untouched for RETENTION_DAYS |
| `chat_flood` | flood buckets | untouched for RETENTION_DAYS (full again) |
| `card_codes` | 6-digit codes | once expired |
| `card_spent` | used and replaced card tokens | once expired |
| `jobs` | finished jobs (done, failed, cancelled) | finished more than RETENTION_DAYS ago |
| `audit_log` | audit entries | older than AUDIT_RETENTION_DAYS |

Not swept here: a chat's send pacing row (`outbound_chat_pace`, its chat id a Telegram id)
goes once its bucket is full again and its pause over, deleted by a send about once a minute
(`outbound_take`, sql/0031_shared_limits.sql); `outbound_limit` holds no personal data.

Kept whatever their age: an update still pending; the outbox row a chat's command list points
at (`command_lists.outbox_id`: the start-up sync reads its status) and the rows of an
announcement whose figures are not recorded yet (`announcement_deliveries.outbox_id`);
recurring job rows; and the reminder jobs about a membership still active (their
(kind, dedup_key) row is what sends the reminder only once). A file's bytes go earlier, as soon
as its call is delivered or given up (db/sql/outbox.sql), and a skipped update keeps only its
id (db/sql/inbox.sql).

RETENTION_DAYS is at least one day, so a stored update id outlives Telegram's 24 hours of
redelivery: an update delivered twice is still recognised, while an id Telegram uses again
after a week of silence is stored and processed as the new update it is (inbox.insert_many).

Each call deletes one small batch in the caller's transaction (see db/sql/retention.sql); the
`retention_sweep` job (jobs/retention.py) calls it batch after batch, each in its own short
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fitclub.db.queries import Q
from fitclub.services import reminders

DEFAULT_DAYS = 7
DEFAULT_AUDIT_DAYS = 365

# Reminder kinds keyed by a membership: kept while it is active (see retention.jobs in SQL).
MEMBERSHIP_REMINDER_KINDS = (reminders.EXPIRY_JOB, reminders.LAST_VISIT_JOB)


@dataclass(frozen=True)
class Rule:
    """One table's rule: its query (`retention.<table>`) and which age limit it uses."""

    table: str
    # "days": RETENTION_DAYS; "audit": AUDIT_RETENTION_DAYS; "expiry": its own expiry time.
    limit: str


RULES: tuple[Rule, ...] = (
    Rule("inbox", "days"),
    Rule("outbox", "days"),
    Rule("conversation_state", "days"),
    Rule("chat_flood", "days"),
    Rule("card_codes", "expiry"),
    Rule("card_spent", "expiry"),
    Rule("jobs", "days"),
    Rule("audit_log", "audit"),
)
TABLES: tuple[str, ...] = tuple(rule.table for rule in RULES)
_BY_TABLE = {rule.table: rule for rule in RULES}


@dataclass(frozen=True)
class Limits:
    """How long things are kept, in days."""

    days: int = DEFAULT_DAYS
    audit_days: int = DEFAULT_AUDIT_DAYS

    @classmethod
    def of(cls, settings: Any) -> Limits:
        """The limits a Settings asks for (the defaults without settings)."""
        if settings is None:
            return cls()
        return cls(settings.retention_days, settings.audit_retention_days)


def cutoff(table: str, now: datetime, limits: Limits) -> datetime:
    """Rows of `table` older than this go."""
    rule = _BY_TABLE[table]
    if rule.limit == "expiry":
        return now
    days = limits.audit_days if rule.limit == "audit" else limits.days
    return now - timedelta(days=days)


def prune_batch(conn, table: str, now: datetime, limits: Limits, batch: int) -> int:
    """Delete at most `batch` of the oldest rows of `table` past their limit, in the caller's
    transaction, passing over rows another transaction holds; how many went."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    params = {"before": cutoff(table, now, limits), "limit": batch,
              "membership_kinds": list(MEMBERSHIP_REMINDER_KINDS)}
    with conn.cursor() as cur:
        cur.execute(Q[f"retention.{table}"], params)
        return int(cur.fetchone()[0])
