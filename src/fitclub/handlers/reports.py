"""/report (admins): the club's figures, the memberships ending soon, the weekly attendance
chart, the payments of the last 30 days and exports of members, visits, bookings and payments
(XLSX, or CSV beside it).

The report, the list of memberships ending soon and the payments are one screen, edited in
place. The chart and each exported file are sent as a new message, one per press, and the report
stays on display. The chart is never drawn on a worker: one drawn before is sent at once, else the
renderer draws it and sends it when ready (the press says so in a pop-up).

Every figure, list and file is read through `fitclub.db.replica` (the read replica when there is
one, else the update's transaction); the audit row of an export and the check against a double
tap stay on the primary. The report's time is that of its data: the press, or the last commit
the replica had replayed when it trailed the primary.
"""

from __future__ import annotations

import functools
from datetime import datetime

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import admin_only
from fitclub.callbacks import REPORT_CHART, REPORT_EXPIRING, REPORT_EXPORT, REPORT_PAYMENTS, STAFF
from fitclub.db import replica
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime import pictures
from fitclub.runtime.context import UpdateContext
from fitclub.screens import payments_admin as payment_screens
from fitclub.screens import reports as screens
from fitclub.services import payments_admin, reports

CHART_FILE = "attendance.png"

def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /report, the staff home's Reports and the report's buttons."""
    routes = Routes(bot, deps)
    routes.command("report", show_report)
    routes.button(STAFF.matches(section="report"), show_report)
    routes.button(REPORT_EXPIRING, expiring)
    routes.button(REPORT_CHART, chart)
    routes.button(REPORT_EXPORT, export)
    routes.button(REPORT_PAYMENTS, payments)


@admin_only("report.show")
def show_report(deps: Deps, ctx: UpdateContext, member: Member,
                update: types.Message | types.CallbackQuery) -> None:
    now = ctx.now()
    found, at = replica.read(deps.replica, ctx.conn, lambda read: (
        reports.summary(read.conn, now, deps.club.timezone), _as_of(read, now)))
    ui.show(ctx, screens.report(ctx.texts, found, at), update)


def _as_of(read: replica.Read, now: datetime) -> datetime:
    """The moment the figures read are as of: `now`, or earlier when the replica trailed."""
    return min(read.as_of, now) if read.as_of is not None else now


@admin_only("report.expiring")
def expiring(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    now = ctx.now()
    found = replica.read(deps.replica, ctx.conn, lambda read: reports.expiring(
        read.conn, now, deps.club.timezone))
    ui.show(ctx, screens.expiring(ctx.texts, found.members, found.total), call)


@admin_only("report.payments")
def payments(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Payments of the last 30 days, those that need a refund, and the payments export."""
    now = ctx.now()
    found, due = replica.read(deps.replica, ctx.conn, lambda read: (
        payments_admin.report(read.conn, now, deps.club.timezone),
        payments_admin.to_refund(read.conn)))
    ui.show(ctx, payment_screens.report(ctx.texts, found, due, deps.club.today(now)), call)


@admin_only("report.chart")
def chart(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """The weekly chart below the report: at once when drawn before, else drawn off the
    worker path (`fitclub.runtime.pictures`) and sent when ready, the press saying so."""
    tx = ctx.texts
    now = ctx.now()
    weeks = replica.read(deps.replica, ctx.conn, lambda read: reports.weekly_attendance(
        read.conn, now, deps.club.timezone, tx.first_week_day))
    key, caption = screens.chart_key(tx, weeks), screens.chart_caption(tx, weeks)
    renderer = pictures.installed()
    png = renderer.cached(key) if renderer else screens.draw(key)  # no renderer: a script
    if png is not None:
        ctx.answer_callback(call.id)
        ctx.send_photo(png, caption=caption, filename=CHART_FILE)
        return
    ctx.answer_callback(call.id, tx("rep_chart_drawing"))
    renderer.submit(pictures.Picture(
        member_id=member.id, chat_id=ctx.chat_id, update_id=ctx.update_id, key=key,
        draw=functools.partial(screens.draw, key), caption=caption, markup=None,
        filename=CHART_FILE, screen_id=None, pressed_message_id=None))


@admin_only("report.export")
def export(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    pressed = REPORT_EXPORT.parse(call.data)
    table, fmt = pressed["table"], pressed["fmt"]
    if reports.exported_lately(ctx.conn, table, fmt, actor_id=admin.id):
        ctx.answer_callback(call.id, ctx.texts("rep_export_just_sent"))
        return
    timezone, now = deps.club.timezone, ctx.now()
    found = replica.read(deps.replica, ctx.conn, lambda read: reports.build_export(
        read.conn, table, fmt, now=now, timezone=timezone, lang=ctx.texts.lang))
    reports.record_export(ctx.conn, found, actor_id=admin.id)
    ctx.answer_callback(call.id)
    ctx.send_document(found.data, filename=found.filename,
                      caption=screens.export_caption(ctx.texts, found, timezone))
