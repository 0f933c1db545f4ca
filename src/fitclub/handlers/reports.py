"""/report (admins): the club's figures, the memberships ending soon, the weekly attendance
chart and CSV exports of members, visits and bookings.

The report and the list of memberships ending soon are one screen, edited in place. The chart
and each CSV file are sent as a new message, one per press, and the report stays on display.
"""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, ui
from fitclub.callbacks import REPORT_CHART, REPORT_EXPIRING, REPORT_EXPORT, STAFF
from fitclub.screens import reports as screens
from fitclub.services import reports


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /report, the staff home's Reports and the report's buttons."""
    private = {"chat_types": ["private"]}
    bot.register_message_handler(partial(command, deps), commands=["report"], **private)
    bot.register_callback_query_handler(partial(section, deps),
                                        func=STAFF.matches(section="report"))
    bot.register_callback_query_handler(partial(expiring, deps), func=REPORT_EXPIRING.matches())
    bot.register_callback_query_handler(partial(chart, deps), func=REPORT_CHART.matches())
    bot.register_callback_query_handler(partial(export, deps), func=REPORT_EXPORT.matches())


def _report(deps, ctx):
    now = ctx.now()
    return screens.report(ctx.texts, reports.summary(ctx.conn, now, deps.settings.club_timezone),
                          now)


def command(deps, message: types.Message) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, roles=access.ADMIN, what="report.show") is not None:
        ui.show(ctx, _report(deps, ctx))


def section(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="report.show") is not None:
        ui.show(ctx, _report(deps, ctx), call)


def expiring(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="report.expiring") is None:
        return
    found = reports.expiring(ctx.conn, ctx.now(), deps.settings.club_timezone)
    ui.show(ctx, screens.expiring(ctx.texts, found.members, found.total), call)


def chart(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="report.chart") is None:
        return
    tx = ctx.texts
    weeks = reports.weekly_attendance(ctx.conn, ctx.now(), deps.settings.club_timezone,
                                      tx.first_week_day)
    ctx.answer_callback(call.id)
    ctx.send_photo(screens.chart(tx, weeks), caption=screens.chart_caption(tx, weeks),
                   filename="attendance.png")


def export(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    admin = access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="report.export")
    if admin is None:
        return
    timezone = deps.settings.club_timezone
    table = REPORT_EXPORT.parse(call.data)["table"]
    if reports.exported_lately(ctx.conn, table, actor_id=admin.id):
        ctx.answer_callback(call.id, ctx.texts("rep_export_just_sent"))
        return
    found = reports.export(ctx.conn, table, actor_id=admin.id, now=ctx.now(),
                           timezone=timezone)
    ctx.answer_callback(call.id)
    ctx.send_document(found.data, filename=found.filename,
                      caption=screens.export_caption(ctx.texts, found, timezone))
