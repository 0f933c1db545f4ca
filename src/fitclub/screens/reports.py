"""/report: the club's figures, the memberships ending soon, the weekly chart, the exports'
captions."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from fitclub import charts
from fitclub.callbacks import (
    REPORT_CHART,
    REPORT_EXPIRING,
    REPORT_EXPORT,
    REPORT_PAYMENTS,
    STAFF,
)
from fitclub.locales import Raw, Texts, zone_name
from fitclub.screens import Screen, inline
from fitclub.screens.activity import axis_labels, headline, week_label
from fitclub.screens.staff import back_row
from fitclub.services.activity import Week
from fitclub.services.reports import (
    EXPIRING_DAYS,
    OCCUPANCY_DAYS,
    Expiring,
    Export,
    MethodCount,
    Summary,
)
from fitclub.services.spreadsheets import csv_separator

_METHODS = ("qr", "code", "manual", "class")
#: The tables the report itself exports (payments are exported from its Payments screen).
CLUB_EXPORTS = ("members", "visits", "bookings")
_ORDER = {method: n for n, method in enumerate(_METHODS)}


def _method(tx: Texts, found: MethodCount) -> str:
    name = tx(f"rep_method_{found.method}") if found.method in _METHODS else found.method
    return tx("rep_method_item", method=Raw(name), n=found.visits)


def report(tx: Texts, s: Summary, at: datetime) -> Screen:
    """The figures of the day and the buttons to the chart, the list, the payments and the
    exports (each table's XLSX with its CSV beside it, a line saying which is which)."""
    if s.checkins:
        methods = sorted(s.by_method, key=lambda m: (_ORDER.get(m.method, len(_ORDER)), m.method))
        checkins = tx("rep_checkins_by", n=s.checkins,
                      methods=Raw(" · ".join(_method(tx, m) for m in methods)))
    else:
        checkins = tx("rep_checkins", n=0)
    window = tx.plural("rep_days", OCCUPANCY_DAYS)
    lines = [
        tx("rep_title", when=tx.datetime(at)), "",
        checkins,
        tx("rep_active", n=s.active_members),
        tx("rep_expiring", days=tx.plural("rep_days", EXPIRING_DAYS), n=s.expiring),
        tx("rep_new", n=s.new_members), "",
        tx("rep_occupancy_title", days=window),
    ]
    for t in s.occupancy:
        lines.append(tx("rep_occupancy_line", name=t.name, percent=t.percent,
                        places=tx.plural("rep_places", t.places, taken=t.taken),
                        classes=tx.plural("rep_classes", t.classes)))
    if not s.occupancy:
        lines.append(tx("rep_occupancy_none", days=window))
    lines += ["", tx("rep_export_formats", separator=csv_separator(tx.lang))]
    rows = [
        [(tx("rep_button_chart"), REPORT_CHART()),
         (tx("rep_button_expiring", n=s.expiring), REPORT_EXPIRING())],
        *(export_row(tx, table) for table in CLUB_EXPORTS),
        [(tx("rep_button_payments"), REPORT_PAYMENTS())],
        [(tx("rep_button_refresh"), STAFF(section="report")), *back_row(tx)],
    ]
    return Screen("\n".join(lines), inline(rows))


def export_row(tx: Texts, table: str) -> list[tuple[str, str]]:
    """A table's XLSX button with its CSV beside it."""
    return [(tx(f"rep_button_export_{table}"), REPORT_EXPORT(table=table, fmt="xlsx")),
            (tx("rep_button_csv"), REPORT_EXPORT(table=table, fmt="csv"))]


def expiring(tx: Texts, found: list[Expiring], total: int) -> Screen:
    """The memberships ending soon, soonest first; more than shown are counted."""
    days = tx.plural("rep_days", EXPIRING_DAYS)
    lines = [tx("rep_expiring_title", days=days, n=total)]
    for m in found:
        visits = (tx("rep_unlimited") if m.visits_left is None
                  else tx.plural("rep_visits_left", m.visits_left))
        lines.append(tx("rep_expiring_line", name=m.name, plan=m.plan,
                        date=tx.date(m.ends_on, "long"), visits=visits))
    if total > len(found):
        lines.append(tx("rep_expiring_more", n=total - len(found)))
    if not total:
        lines.append(tx("rep_expiring_none", days=days))
    rows = [[(tx("rep_button_back"), STAFF(section="report")), *back_row(tx)]]
    return Screen("\n".join(lines), inline(rows))


def chart(tx: Texts, weeks: tuple[Week, ...]) -> bytes:
    """Club visits per week as a bar chart (PNG), labelled in the admin's language."""
    return draw(chart_key(tx, weeks))


def chart_key(tx: Texts, weeks: tuple[Week, ...]) -> tuple:
    """Everything the weekly chart shows (labels, bars, title): equal keys, equal pictures."""
    return ("report", tuple(axis_labels(tx, weeks)), tuple(w.visits for w in weeks),
            html.unescape(tx("rep_chart_title")))


def draw(key: tuple) -> bytes:
    """The chart a chart_key describes (PNG; picklable, drawn in the drawing process)."""
    _, labels, values, title = key
    return charts.bar_chart(list(labels), list(values), title=title)


def chart_caption(tx: Texts, weeks: tuple[Week, ...]) -> str:
    """The chart's headline figures (not every bar again): visits in the weeks shown, the
    best week and this week so far."""
    count = tx.plural("rep_weeks", len(weeks))
    if not weeks or not any(w.visits for w in weeks):
        return tx("rep_chart_caption_none", weeks=count)
    top = headline(weeks)
    return tx("rep_chart_caption", visits=tx.plural("rep_chart_visits", top.total),
              weeks=count, best=top.best, week=week_label(tx, top.best_week),
              now=top.this_week)


def export_caption(tx: Texts, found: Export, timezone: ZoneInfo) -> str:
    """What an exported file holds: the table, its rows, the time zone; a warning when cut
    short."""
    rows = tx.plural("rep_rows", found.rows)
    text = tx("rep_export_caption", table=tx(f"rep_table_{found.table}"), rows=rows,
              timezone=zone_name(timezone))
    if not found.complete:
        text += "\n" + tx("rep_export_partial")
    return text
