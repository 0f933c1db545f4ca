"""/checkin (trainers and admins): check a member in by their card's 6-digit code or by name.

The code or name is a guided step (flow "chk", kept in PostgreSQL). A scanned QR card opens
`/start ci_<token>` instead, which the registration module's deep-link routing hands to the
same service and screens (services.checkin.scan, screens.checkin.answer). Either way the
member checked in is told by the service's notice.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import staff_only
from fitclub.callbacks import CHECKIN_CONFIRM, CHECKIN_PERSON, STAFF
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import checkin as screens
from fitclub.services import checkin, people
from fitclub.services.checkin import Outcome

FLOW = "chk"
ASK = "chk.query"


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /checkin, its staff-home section, the code-or-name step and its buttons."""
    routes = Routes(bot, deps)
    routes.command("checkin", open_step)
    routes.button(STAFF.matches(section="checkin"), open_step)
    routes.message(typed, when=flows.typed_step(deps.context, FLOW))
    routes.button(CHECKIN_PERSON, pick)
    routes.button(CHECKIN_CONFIRM, confirm)


def _ask(ctx: UpdateContext, call: types.CallbackQuery | None = None, *,
         stale: bool = False) -> None:
    """Into the step: scan, or send a code or a name (after a stale press, say so)."""
    flows.enter(ctx, ASK)
    if stale:
        ui.stale(ctx, call, refresh=screens.ask(ctx.texts))
    else:
        ui.show(ctx, screens.ask(ctx.texts), call)


@staff_only("checkin.open")
def open_step(deps: Deps, ctx: UpdateContext, member: Member,
              update: types.Message | types.CallbackQuery) -> None:
    """/checkin or the staff home's section."""
    _ask(ctx, ui.pressed(update))


@staff_only("checkin.search", leave_flow=True)
def typed(deps: Deps, ctx: UpdateContext, staff: Member, message: types.Message) -> None:
    """A code checks the member in at once; a name lists the matches. Either is a search:
    counted against SEARCH_LIMIT and audited (services/people.py)."""
    text = message.text
    per_window = deps.settings.search_limit
    if checkin.looks_like_code(text):
        retry_at = people.code_search(ctx.conn, staff.id, text, ctx.now(), per_window)
        if retry_at is not None:
            ui.show(ctx, screens.limited(ctx.texts, retry_at))
            return
        result = checkin.by_code(ctx.conn, staff.id, text, ctx.now(), deps.club.checkin)
        if result.outcome is Outcome.UNKNOWN_CODE:
            ui.show(ctx, screens.unknown_code(ctx.texts, text))
            return
        flows.leave(ctx)
        ui.show(ctx, screens.answer(ctx.texts, result))
        return
    query = people.normalize(text)
    if query is None:
        ui.show(ctx, screens.too_short(ctx.texts))
        return
    found = people.find(ctx.conn, staff.id, query, ctx.now(), per_window)
    ui.show(ctx, screens.results(ctx.texts, query, found))


@staff_only("checkin.person")
def pick(deps: Deps, ctx: UpdateContext, staff: Member, call: types.CallbackQuery) -> None:
    """A found member: their membership and the button that checks them in."""
    today = deps.club.today(ctx.now())
    found = checkin.preview(ctx.conn, CHECKIN_PERSON.parse(call.data)["member_id"], today)
    if found is None:
        _ask(ctx, call, stale=True)
        return
    ui.leave_flow(ctx, FLOW)  # a match was opened: out of the code-or-name step
    ui.show(ctx, screens.confirm(ctx.texts, *found), call)


@staff_only("checkin.confirm")
def confirm(deps: Deps, ctx: UpdateContext, staff: Member, call: types.CallbackQuery) -> None:
    """'Check in Anna Petrova'."""
    result = checkin.check_in(ctx.conn, staff.id, CHECKIN_CONFIRM.parse(call.data)["member_id"],
                              ctx.now(), deps.club.checkin, method="manual")
    if result.outcome is Outcome.GONE:
        _ask(ctx, call, stale=True)
    elif result.outcome is Outcome.ALREADY:
        # A double tap (or someone checked them in meanwhile): the screen stays as it is.
        ctx.answer_callback(call.id, screens.outcome_text(ctx.texts, result), show_alert=True)
    else:
        ui.show(ctx, screens.answer(ctx.texts, result), call)
