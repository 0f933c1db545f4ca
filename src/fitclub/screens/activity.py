"""Activity: the weekly chart and its caption (the same numbers, for screen readers)."""

from __future__ import annotations

import html

from fitclub import charts
from fitclub.callbacks import ACTIVITY_MENU
from fitclub.locales import Raw, Texts
from fitclub.screens import Screen, inline
from fitclub.screens.menu import back_to_menu
from fitclub.services.activity import Activity, Week


def week_label(tx: Texts, week: Week) -> str:
    """A week by its first day, day and month ('12 Oct', '12 окт.')."""
    return tx.date(week.start, "compact")


def summary(tx: Texts, stats: Activity) -> Screen:
    """The chart's caption: every number of the screen, and the way back to the menu."""
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
    weeks = Raw(", ".join(tx("activity_week_item", week=week_label(tx, w), n=w.visits)
                          for w in stats.weeks))
    lines.append(tx("activity_last_weeks", weeks=weeks))
    return Screen("\n".join(lines), inline([[(tx("button_menu"), ACTIVITY_MENU())]]))


def empty(tx: Texts) -> Screen:
    """No visit yet: no chart, a word on where visits come from, the way back."""
    return Screen(tx("activity_empty"), inline([back_to_menu(tx)]))


def chart(tx: Texts, stats: Activity) -> bytes:
    """The last weeks as a bar chart (PNG), labelled in the member's language."""
    return charts.bar_chart([week_label(tx, w) for w in stats.weeks],
                            [w.visits for w in stats.weeks],
                            title=html.unescape(tx("activity_chart_title")))
