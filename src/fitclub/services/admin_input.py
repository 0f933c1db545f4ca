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


# A typed date: 2026-05-01; 01.05.2026, 1/5/2026, 01.05.26; 01.05 (its next occurrence).
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY = re.compile(r"(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?")
#: A typed value that reads as a date, but no such day is in the calendar (31.02, 12.13).
NO_SUCH_DATE = "mbr_no_such_date"
#: Not written as a date, or a day outside those allowed: the message names the range.
BAD_DATE = "mbr_bad_date"


def read_day(text: str | None, today: date) -> Checked:
    """A typed date, else why not: BAD_DATE (not written as a date) or NO_SUCH_DATE (31.02,
    a 13th month). Without a year it is the next such day from today (29.02: the next leap
    year's)."""
    text = (text or "").strip()
    if found := _ISO_DAY.fullmatch(text):
        year, month, day = (int(g) for g in found.groups())
    elif found := _DAY.fullmatch(text):
        day, month = int(found[1]), int(found[2])
        year = None if found[3] is None else int(found[3]) + (2000 if len(found[3]) == 2 else 0)
    else:
        return Checked(problem=BAD_DATE)
    if year is not None:
        try:
            return Checked(date(year, month, day))
        except ValueError:
            return Checked(problem=NO_SUCH_DATE)
    for year in range(today.year, today.year + 5):  # a leap day comes within four years
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return Checked(candidate)
    return Checked(problem=NO_SUCH_DATE)


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
