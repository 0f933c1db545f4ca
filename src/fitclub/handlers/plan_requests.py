"""The plan requests section (admins): members' open requests for a plan, granted from today
(the member is told) or dismissed."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import admin_only
from fitclub.callbacks import REQUEST, STAFF
from fitclub.db.members import Member, by_id
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import members_admin as member_screens
from fitclub.screens import plan_requests as screens
from fitclub.services import plan_requests
from fitclub.services.membership_change import Outcome


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the requests section and its grant and dismiss buttons."""
    routes = Routes(bot, deps)
    routes.button(STAFF.matches(section="requests"), show_requests)
    routes.button(REQUEST.matches(act="grant"), grant)
    routes.button(REQUEST.matches(act="dismiss"), dismiss)


def _screen(ctx: UpdateContext) -> Screen:
    items, total = plan_requests.open_requests(ctx.conn)
    return screens.requests(ctx.texts, items, total)


@admin_only("requests.open")
def show_requests(deps: Deps, ctx: UpdateContext, admin: Member,
                  call: types.CallbackQuery) -> None:
    ui.show(ctx, _screen(ctx), call)


@admin_only("requests.grant")
def grant(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """Grant the requested plan from today (the member is told by the service's notice)."""
    result = plan_requests.grant_request(ctx.conn, admin.id,
                                         REQUEST.parse(call.data)["request_id"], ctx.now(),
                                         deps.club.booking)
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=_screen(ctx))
        return
    tx = ctx.texts
    member = by_id(ctx.conn, result.member_id)
    if result.outcome is Outcome.REFUSED:
        toast = member_screens.refusal(tx, result, member)
    else:
        toast = tx("mbr_request_granted", plan=result.membership.plan_name, name=member.name)
    ui.show(ctx, _screen(ctx), call, toast=toast)


@admin_only("requests.dismiss")
def dismiss(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    if not plan_requests.dismiss_request(ctx.conn, admin.id,
                                         REQUEST.parse(call.data)["request_id"]):
        ui.stale(ctx, call, refresh=_screen(ctx))
        return
    ui.show(ctx, _screen(ctx), call, toast=ctx.texts("mbr_request_dismissed"))
