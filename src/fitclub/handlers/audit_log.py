"""/audit (admins): the latest staff actions, paged in place, filtered by member.

The filter asks for a name (flow "aud", kept in PostgreSQL), lists the people found as
buttons and shows the chosen member's page; a wrong or short name is simply asked again.
Commands keep working during the step, /cancel leaves it, and any audit button ends it.
"""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, flows, ui
from fitclub.callbacks import AUDIT_FILTER, AUDIT_MEMBER, AUDIT_PAGE, STAFF
from fitclub.screens import audit_log as screens
from fitclub.services import audit_log, people

FLOW = "aud"
ASK_MEMBER = "aud.member"


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /audit, the staff home's Audit log, its buttons and the search step."""
    private = {"chat_types": ["private"]}
    in_search = flows.in_flow(deps.context, FLOW)
    bot.register_message_handler(partial(command, deps), commands=["audit"], **private)
    # Text that is not a command, while the filter waits for a name.
    bot.register_message_handler(
        partial(search, deps), content_types=["text"],
        func=lambda m: not (m.text or "").startswith("/") and in_search(m), **private)
    bot.register_callback_query_handler(partial(section, deps),
                                        func=STAFF.matches(section="audit"))
    bot.register_callback_query_handler(partial(page, deps), func=AUDIT_PAGE.matches())
    bot.register_callback_query_handler(partial(member_page, deps), func=AUDIT_MEMBER.matches())
    bot.register_callback_query_handler(partial(ask, deps), func=AUDIT_FILTER.matches())


def _leave_search(ctx) -> None:
    """End the filter's step if the user is at it (another feature's flow is left alone)."""
    state = flows.current(ctx).state
    if state is not None and (state == FLOW or state.startswith(FLOW + ".")):
        flows.leave(ctx)


def command(deps, message: types.Message) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, roles=access.ADMIN, what="audit.show") is not None:
        _leave_search(ctx)
        ui.show(ctx, screens.page(ctx.texts, audit_log.page(ctx.conn, 0)))


def section(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="audit.show") is not None:
        _leave_search(ctx)
        ui.show(ctx, screens.page(ctx.texts, audit_log.page(ctx.conn, 0)), call)


def _show(ctx, call, found) -> None:
    """A page; one past the end (the log was read since) goes back to the newest, as stale."""
    if not found.entries and found.number > 0:
        ui.stale(ctx, call, screens.page(ctx.texts,
                                         audit_log.page(ctx.conn, 0, found.member)))
    else:
        ui.show(ctx, screens.page(ctx.texts, found), call)


def page(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="audit.page") is None:
        return
    _leave_search(ctx)
    _show(ctx, call, audit_log.page(ctx.conn, AUDIT_PAGE.parse(call.data)["page"]))


def member_page(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="audit.member") is None:
        return
    _leave_search(ctx)
    values = AUDIT_MEMBER.parse(call.data)
    member = audit_log.filter_member(ctx.conn, values["member_id"])
    if member is None:
        ui.stale(ctx, call, screens.page(ctx.texts, audit_log.page(ctx.conn, 0)))
        return
    _show(ctx, call, audit_log.page(ctx.conn, values["page"], member))


def ask(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, roles=access.ADMIN, what="audit.filter") is None:
        return
    flows.enter(ctx, ASK_MEMBER)
    ui.show(ctx, screens.ask(ctx.texts), call)


def search(deps, message: types.Message) -> None:
    """The name typed for the filter: the people found as buttons, or ask again."""
    ctx = deps.context()
    if access.staff_or_refuse(ctx, roles=access.ADMIN, what="audit.search") is None:
        flows.leave(ctx)
        return
    text = people.normalize(message.text)
    if text is None:
        screen = screens.bad_query(ctx.texts, people.MIN_QUERY, people.MAX_QUERY)
    else:
        screen = screens.found_people(ctx.texts, text, people.search(ctx.conn, text))
    ctx.reply(screen.text, reply_markup=screen.markup)
