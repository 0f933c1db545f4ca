"""Activity: the weekly chart and its caption (the headline figures, not every bar again).

The chart's axis labels each week by the day its week starts, with the month under the first
week and wherever the month changes ('3' over 'Nov', then '10', '17', '24', '1' over 'Dec'),
so twelve weeks fit side by side in either language.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import NamedTuple

from fitclub import charts
from fitclub.callbacks import ACTIVITY_MENU
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.screens.menu import back_to_menu
from fitclub.services.activity import Activity, Week


def week_label(tx: Texts, week: Week) -> str:
    """A week by its first day, day and month ('12 Oct', '12 окт.')."""
    return tx.date(week.start, "compact")


def axis_labels(tx: Texts, weeks: Sequence[Week]) -> list[str]:
    """The weeks on a chart's axis: the day, with the month under it on the first week and
    where the month changes ('3\nNov', '10', ..., '1\nDec')."""
    labels = []
    for n, week in enumerate(weeks):
        if n and week.start.month == weeks[n - 1].start.month:
            labels.append(str(week.start.day))
        else:
            labels.append(week_label(tx, week).replace(" ", "\n", 1))
    return labels


class Headline(NamedTuple):
    """The figures a weekly chart's caption carries: visits in all, the best week (its visits
    and its first day, the latest of equals) and this week so far."""

    total: int
    best: int
    best_week: Week
    this_week: int


def headline(weeks: Sequence[Week]) -> Headline:
    """The headline figures of a chart's weeks (oldest first, this week last)."""
    best = max(reversed(weeks), key=lambda w: w.visits)
    return Headline(sum(w.visits for w in weeks), best.visits, best, weeks[-1].visits)


def summary(tx: Texts, stats: Activity, note: str | None = None) -> Screen:
    """The chart's caption: the member's figures and the weeks' headline (not every bar), and
    the way back to the menu. The same text is the screen shown while the chart is drawn, or
    instead of it, with a note saying why (`refusal`)."""
    lines = [
        tx("activity_title"),
        tx("activity_this_month", visits=tx.plural("activity_visits", stats.this_month)),
        tx("activity_last_month", visits=tx.plural("activity_visits", stats.last_month)),
        tx("activity_streak", weeks=tx.plural("activity_weeks", stats.streak)),
        tx("activity_classes", n=stats.classes),
        tx("activity_total", n=stats.total),
    ]
    if stats.favourite is not None:
        lines.append(tx("activity_favourite", name=stats.favourite))
    lines.append(weeks_line(tx, stats.weeks))
    if note:
        lines.append(note)
    return Screen("\n".join(lines), inline([[(tx("button_menu"), ACTIVITY_MENU())]]))


def weeks_line(tx: Texts, weeks: Sequence[Week]) -> str:
    """'12 visits in the last 12 weeks, best week: 4' (or none in them)."""
    count = tx.plural("activity_weeks", len(weeks))
    if not weeks or not any(w.visits for w in weeks):
        return tx("activity_weeks_none", weeks=count)
    top = headline(weeks)
    return tx("activity_weeks_headline", visits=tx.plural("activity_visits", top.total),
              weeks=count, best=top.best)


def empty(tx: Texts) -> Screen:
    """No visit yet: no chart, a word on where visits come from, the way back."""
    return Screen(tx("activity_empty"), inline([back_to_menu(tx)]))


def chart(tx: Texts, stats: Activity) -> bytes:
    """The last weeks as a bar chart (PNG), labelled in the member's language."""
    return draw(chart_key(tx, stats))


def chart_key(tx: Texts, stats: Activity) -> tuple:
    """Everything the chart shows (its labels, bars and title): equal keys, equal pictures."""
    return ("activity", tuple(axis_labels(tx, stats.weeks)),
            tuple(w.visits for w in stats.weeks), html.unescape(tx("activity_chart_title")))


def draw(key: tuple) -> bytes:
    """The chart a chart_key describes (PNG)."""
    _, labels, values, title = key
    return charts.bar_chart(list(labels), list(values), title=title)


def refusal(tx: Texts, reason: str, wait: float, cooldown: float) -> str:
    """Why this screen comes without a chart, in one line: the member's chart changed within
    the cooldown (and when to ask again), or too many members are waiting for theirs."""
    if reason == "cooldown":
        return tx("activity_chart_cooldown",
                  period=tx.plural("activity_seconds", max(1, math.ceil(cooldown))),
                  wait=tx.plural("activity_seconds", max(1, math.ceil(wait))))
    return tx("activity_chart_busy")
