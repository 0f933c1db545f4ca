"""A member's activity: visits by calendar month and week, the weekly streak, classes, favourite.

Everything follows the club's calendar. A visit belongs to the local date of its check-in in
the club's time zone (a daylight-saving change moves no visit across midnight), months are
calendar months of those dates, and a week is seven local dates starting on the locale's first
day of the week (Monday in Russian, Sunday in English).

"Classes attended" counts visits with a class: check-in writes one `visits` row per visit
(method 'qr', 'manual' or 'class'; a class check-in names its class, a QR check-in may be
matched to one). Visits are what happened at the door, so classes never exceed visits, one
class counts once (a unique index), and the favourite type is taken from the same rows. A
booking marked 'attended' without a check-in is not counted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from fitclub.db import rows
from fitclub.locales import Localized

WEEKS_SHOWN = 12


class Week(NamedTuple):
    """One week of the chart: its first local date and the visits in it."""

    start: date
    visits: int


class Activity(NamedTuple):
    """A member's activity as of a moment."""

    this_month: int
    last_month: int
    streak: int  # weeks in a row with a visit (see `streak`)
    classes: int  # visits with a class, all time
    total: int  # visits, all time
    favourite: Localized | None  # the class type visited most (a tie: the one visited last)
    weeks: tuple[Week, ...]  # the last WEEKS_SHOWN weeks, oldest first, this week last


class _WeekRow(NamedTuple):
    week_start: date
    visits: int
    classes: int
    this_month: int
    last_month: int


def week_start(day: date, first_week_day: int) -> date:
    """The first date of the week holding day (first_week_day: 0 = Monday ... 6 = Sunday)."""
    return day - timedelta(days=(day.weekday() - first_week_day) % 7)


def month_starts(today: date) -> tuple[date, date]:
    """The first dates of this calendar month and the one before."""
    this_month = today.replace(day=1)
    return this_month, (this_month - timedelta(days=1)).replace(day=1)


def streak(visited: set[date], this_week: date) -> int:
    """Consecutive weeks with at least one visit, counted back from this week.

    While this week has no visit yet, the count starts at last week instead: a streak is not
    broken until a whole week has passed without a visit. No visit this week or last: 0.
    """
    week = this_week if this_week in visited else this_week - timedelta(weeks=1)
    count = 0
    while week in visited:
        count += 1
        week -= timedelta(weeks=1)
    return count


def of_member(conn, member_id: int, now: datetime, tz: ZoneInfo,
              first_week_day: int) -> Activity:
    """The member's activity up to now, weeks starting on first_week_day (0 = Monday).

    One query for the weekly counts (a member's whole history is one row per week with a
    visit), and one for the favourite class type when there are class visits.
    """
    today = now.astimezone(tz).date()
    this_month, last_month = month_starts(today)
    found = rows.many(conn, "activity.weeks", {
        "member_id": member_id, "now": now, "timezone": tz.key,
        "first_week_day": first_week_day, "this_month": this_month,
        "last_month": last_month}, _WeekRow)
    classes = sum(r.classes for r in found)
    favourite = None
    if classes:
        favourite = Localized.from_db(rows.scalar(conn, "activity.favourite",
                                                  {"member_id": member_id, "now": now}))
    this_week = week_start(today, first_week_day)
    per_week = {r.week_start: r.visits for r in found}
    shown = tuple(Week(start, per_week.get(start, 0)) for start in
                  (this_week - timedelta(weeks=back) for back in range(WEEKS_SHOWN - 1, -1, -1)))
    return Activity(
        this_month=sum(r.this_month for r in found),
        last_month=sum(r.last_month for r in found),
        streak=streak(set(per_week), this_week),
        classes=classes,
        total=sum(r.visits for r in found),
        favourite=favourite,
        weeks=shown,
    )
