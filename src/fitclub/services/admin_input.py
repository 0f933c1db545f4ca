"""What admins type at the steps of /members: dates, changes of visits, reasons and notes,
each checked; and the names of those steps.

The steps form the conversation flow "mbr" (fitclub.flows). Its resting step, SEARCH, takes a
typed text as a new search; every other step takes one kind of input and goes back to rest.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

FLOW = "mbr"
SEARCH = "mbr.search"
GRANT_DATE_STEP = "mbr.grant_date"
FREEZE_DAYS_STEP = "mbr.freeze_days"
FREEZE_DATE_STEP = "mbr.freeze_date"
DELTA_STEP = "mbr.delta"
REASON_STEP = "mbr.reason"
NOTE_STEP = "mbr.note"
#: The steps that take something other than a search.
STEPS = frozenset({GRANT_DATE_STEP, FREEZE_DAYS_STEP, FREEZE_DATE_STEP, DELTA_STEP,
                   REASON_STEP, NOTE_STEP})


def back_to_rest(state: str | None) -> bool:
    """Whether showing a card (a change made, a step left) brings the admin back to SEARCH:
    from any other step of this flow, and from a plan step (the plans section's flow) they
    walked away from; another feature's flow is left alone."""
    state = state or ""
    return state != SEARCH and (state.startswith(FLOW + ".") or state.startswith("plan."))


MAX_DELTA = 1000
MIN_REASON, MAX_REASON = 3, 200
MAX_NOTE = 500


class Checked(NamedTuple):
    """A typed value, else the catalog key of its problem."""

    value: object = None
    problem: str | None = None


_DATE_FORMATS = (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{1,2})[./](\d{1,2})[./](\d{4})",
                 r"(\d{1,2})[./](\d{1,2})")


def parse_day(text: str, today: date) -> date | None:
    """A typed date: 2026-05-01, 01.05.2026, 1/5/2026, or 01.05 (its next occurrence)."""
    text = (text or "").strip()
    for n, pattern in enumerate(_DATE_FORMATS):
        found = re.fullmatch(pattern, text)
        if found is None:
            continue
        numbers = [int(g) for g in found.groups()]
        try:
            if n == 0:
                return date(numbers[0], numbers[1], numbers[2])
            if n == 1:
                return date(numbers[2], numbers[1], numbers[0])
            day = date(today.year, numbers[1], numbers[0])
            return day if day >= today else date(today.year + 1, numbers[1], numbers[0])
        except ValueError:
            return None
    return None


def check_delta(text: str) -> Checked:
    """A change of visits: '+2', '-1' or '3' (not zero, at most 1000 either way)."""
    cleaned = re.sub(r"\s", "", text or "").replace("\u2212", "-")
    if not re.fullmatch(r"[+-]?\d{1,4}", cleaned):
        return Checked(problem="mbr_bad_delta")
    value = int(cleaned)
    if value == 0 or abs(value) > MAX_DELTA:
        return Checked(problem="mbr_bad_delta")
    return Checked(value)


def check_reason(text: str) -> Checked:
    """The reason for an adjustment: 3-200 characters."""
    reason = " ".join((text or "").split())
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        return Checked(problem="mbr_bad_reason")
    return Checked(reason)


def check_note(text: str) -> Checked:
    """A note: 1-500 characters (line breaks kept)."""
    note = "\n".join(line.strip() for line in (text or "").strip().splitlines()).strip()
    if not note or len(note) > MAX_NOTE:
        return Checked(problem="mbr_bad_note")
    return Checked(note)
