"""The plan requests section (admins): members' open requests for a plan, granted from today
(the member is told) or dismissed."""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, ui
from fitclub.callbacks import REQUEST, STAFF
from fitclub.db.members import by_id
from fitclub.screens import members_admin as screens
from fitclub.services import club, membership_admin
from fitclub.services.membership_admin import Outcome


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the requests section and its grant and dismiss buttons."""
    for handler, matches in ((requests, STAFF.matches(section="requests")),
                             (request, REQUEST.matches())):
        bot.register_callback_query_handler(partial(handler, deps), func=matches)


def _admin(ctx, call, what: str):
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what=what)


def _requests_screen(ctx):
    items, total = membership_admin.open_requests(ctx.conn)
    return screens.requests(ctx.texts, items, total)


def requests(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if _admin(ctx, call, "requests.open") is None:
        return
    ui.show(ctx, _requests_screen(ctx), call)


def request(deps, call: types.CallbackQuery) -> None:
    """Grant the requested plan from today (the member is told), or dismiss the request."""
    ctx = deps.context()
    values = REQUEST.parse(call.data)
    admin = _admin(ctx, call, f"requests.{values['act']}")
    if admin is None:
        return
    tx = ctx.texts
    if values["act"] == "dismiss":
        if not membership_admin.dismiss_request(ctx.conn, admin.id, values["request_id"]):
            ui.stale(ctx, call, refresh=_requests_screen(ctx))
            return
        ui.show(ctx, _requests_screen(ctx), call, toast=tx("mbr_request_dismissed"))
        return
    result = membership_admin.grant_request(ctx.conn, admin.id, values["request_id"],
                                            ctx.now(), club.of(deps.settings).booking)
    if result.outcome is Outcome.UNAVAILABLE:
        ui.stale(ctx, call, refresh=_requests_screen(ctx))
        return
    if result.outcome is Outcome.REFUSED:
        member = by_id(ctx.conn, result.member_id)
        ui.show(ctx, _requests_screen(ctx), call,
                toast=screens.refusal(tx, result, member))
        return
    member = by_id(ctx.conn, result.member_id)
    ui.show(ctx, _requests_screen(ctx), call, toast=tx(
        "mbr_request_granted", plan=result.membership.plan_name, name=member.name))
