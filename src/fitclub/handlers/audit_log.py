"""/audit (admins): the latest staff actions, paged in place, filtered by member.

The filter asks for a name (flow "aud", kept in PostgreSQL), lists the people found as
buttons and shows the chosen member's page; a wrong or short name is simply asked again.
Commands keep working during the step, /cancel leaves it, and any audit button ends it.

Pages are read through `fitclub.db.replica` as fresh reads: from the read replica once it has
replayed all the primary had committed when the page was asked for (an admin who has just acted
finds the action there), else from the primary.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import AUDIT_FILTER, AUDIT_MEMBER, AUDIT_PAGE, STAFF
from fitclub.db import replica
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import audit_log as screens
from fitclub.services import audit_log, people
from fitclub.services.audit_log import Page

FLOW = "aud"
ASK_MEMBER = "aud.member"


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /audit, the staff home's Audit log, its buttons and the search step."""
    routes = Routes(bot, deps)
    routes.command("audit", show_log)
    routes.message(search, when=flows.typed_step(deps.context, FLOW))
    routes.button(STAFF.matches(section="audit"), show_log)
    routes.button(AUDIT_PAGE, page)
    routes.button(AUDIT_MEMBER, member_page)
    routes.button(AUDIT_FILTER, ask)


def _page(deps: Deps, ctx: UpdateContext, number: int, member: Member | None = None) -> Page:
    """Page `number` of the log, all or by or on `member`, with every action committed so far."""
    return replica.read(deps.replica, ctx.conn,
                        lambda read: audit_log.page(read.conn, number, member), fresh=True)


def _show(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery, found: Page) -> None:
    """A page; one past the end (the log was read since) goes back to the newest, as stale."""
    if not found.entries and found.number > 0:
        ui.stale(ctx, call, screens.page(ctx.texts, _page(deps, ctx, 0, found.member)))
    else:
        ui.show(ctx, screens.page(ctx.texts, found), call)


@admin_only("audit.show")
def show_log(deps: Deps, ctx: UpdateContext, member: Member,
             update: types.Message | types.CallbackQuery) -> None:
    """The newest page (out of the filter's step)."""
    ui.leave_flow(ctx, FLOW)
    ui.show(ctx, screens.page(ctx.texts, _page(deps, ctx, 0)), update)


@admin_only("audit.page")
def page(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    ui.leave_flow(ctx, FLOW)
    _show(deps, ctx, call, _page(deps, ctx, AUDIT_PAGE.parse(call.data)["page"]))


@admin_only("audit.member")
def member_page(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    """The page of actions by or on one member."""
    ui.leave_flow(ctx, FLOW)
    values = AUDIT_MEMBER.parse(call.data)
    subject = audit_log.filter_member(ctx.conn, values["member_id"])
    if subject is None:
        ui.stale(ctx, call, screens.page(ctx.texts, _page(deps, ctx, 0)))
        return
    _show(deps, ctx, call, _page(deps, ctx, values["page"], subject))


@admin_only("audit.filter")
def ask(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    flows.enter(ctx, ASK_MEMBER)
    ui.show(ctx, screens.ask(ctx.texts), call)


@admin_only("audit.search", leave_flow=True)
def search(deps: Deps, ctx: UpdateContext, member: Member, message: types.Message) -> None:
    """The name typed for the filter: the people found as buttons, or ask again."""
    text = people.normalize(message.text)
    if text is None:
        screen = screens.bad_query(ctx.texts, people.MIN_QUERY, people.MAX_QUERY)
    else:
        screen = screens.found_people(ctx.texts, text, people.find(
            ctx.conn, member.id, text, ctx.now(), deps.settings.search_limit))
    ui.show(ctx, screen)
