"""/report (admins): the club's figures, the memberships ending soon, the weekly attendance
chart and exports of members, visits and bookings (XLSX, or CSV beside it).

The report and the list of memberships ending soon are one screen, edited in place. The chart
and each exported file are sent as a new message, one per press, and the report stays on
display.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import admin_only
from fitclub.callbacks import REPORT_CHART, REPORT_EXPIRING, REPORT_EXPORT, STAFF
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import reports as screens
from fitclub.services import reports


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /report, the staff home's Reports and the report's buttons."""
    routes = Routes(bot, deps)
    routes.command("report", show_report)
    routes.button(STAFF.matches(section="report"), show_report)
    routes.button(REPORT_EXPIRING, expiring)
    routes.button(REPORT_CHART, chart)
    routes.button(REPORT_EXPORT, export)


@admin_only("report.show")
def show_report(deps: Deps, ctx: UpdateContext, member: Member,
                update: types.Message | types.CallbackQuery) -> None:
    now = ctx.now()
    found = reports.summary(ctx.conn, now, deps.club.timezone)
    ui.show(ctx, screens.report(ctx.texts, found, now), update)


@admin_only("report.expiring")
def expiring(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    found = reports.expiring(ctx.conn, ctx.now(), deps.club.timezone)
    ui.show(ctx, screens.expiring(ctx.texts, found.members, found.total), call)


@admin_only("report.chart")
def chart(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    tx = ctx.texts
    weeks = reports.weekly_attendance(ctx.conn, ctx.now(), deps.club.timezone,
                                      tx.first_week_day)
    ctx.answer_callback(call.id)
    ctx.send_photo(screens.chart(tx, weeks), caption=screens.chart_caption(tx, weeks),
                   filename="attendance.png")


@admin_only("report.export")
def export(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    pressed = REPORT_EXPORT.parse(call.data)
    table, fmt = pressed["table"], pressed["fmt"]
    if reports.exported_lately(ctx.conn, table, fmt, actor_id=admin.id):
        ctx.answer_callback(call.id, ctx.texts("rep_export_just_sent"))
        return
    timezone = deps.club.timezone
    found = reports.export(ctx.conn, table, fmt, actor_id=admin.id, now=ctx.now(),
                           timezone=timezone, lang=ctx.texts.lang)
    ctx.answer_callback(call.id)
    ctx.send_document(found.data, filename=found.filename,
                      caption=screens.export_caption(ctx.texts, found, timezone))
