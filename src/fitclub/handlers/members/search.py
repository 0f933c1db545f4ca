"""/members (admins): find a member, their card, and notes on them.

At the flow's resting step, "mbr.search", a typed text is a new search; the plan requests
section is handlers/plan_requests.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import MEMBER_CARD, MEMBER_FIND, MEMBER_FLOW_CANCEL, NOTE, STAFF
from fitclub.db.members import Member, by_id
from fitclub.deps import Deps
from fitclub.handlers.members import common
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import members_admin as screens
from fitclub.services import admin_input, member_card, people
from fitclub.services.admin_input import FLOW, NOTE_STEP, SEARCH, STEPS


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /members, the members section, the card, notes and the typed search."""
    routes = Routes(bot, deps)
    routes.command("members", show_search)
    routes.button(STAFF.matches(section="members"), show_search)
    routes.button(MEMBER_FIND, show_search)
    routes.button(MEMBER_CARD, open_card)
    routes.button(MEMBER_FLOW_CANCEL, leave_step)
    routes.button(NOTE, ask_note)
    routes.message(note_typed, when=flows.typed_step(deps.context, NOTE_STEP))
    routes.message(search, when=_at_rest(deps))


def _at_rest(deps: Deps) -> Callable[[Any], bool]:
    """A typed text in the flow, at no step that takes something else (those have their
    own handlers)."""
    typed = flows.typed_step(deps.context, FLOW)
    return lambda message: typed(message) and flows.current(deps.context()).state not in STEPS


@admin_only("members.open")
def show_search(deps: Deps, ctx: UpdateContext, admin: Member,
                update: types.Message | types.CallbackQuery) -> None:
    """Ask for a name, phone or username (/members, the section, Find another)."""
    flows.enter(ctx, SEARCH)
    ui.show(ctx, screens.search_prompt(ctx.texts), update)


@admin_only("members.step", leave_flow=True)
def search(deps: Deps, ctx: UpdateContext, admin: Member, message: types.Message) -> None:
    """A typed name, whole phone number or username: the members found, a button each
    (counted against SEARCH_LIMIT and audited, services/people.py)."""
    tx = ctx.texts
    query = people.normalize(message.text or "")
    if query is None:
        ui.show(ctx, screens.search_prompt(tx, "mbr_search_short"))
        return
    found = people.find(ctx.conn, admin.id, query, ctx.now(), deps.settings.search_limit)
    ui.show(ctx, screens.search_results(tx, query, found))


@admin_only("members.card")
def open_card(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    common.rest(ctx)
    common.card(deps, ctx, call, MEMBER_CARD.parse(call.data)["member_id"])


@admin_only("members.step")
def leave_step(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """Out of the step being typed, back to the card."""
    common.rest(ctx)
    common.card(deps, ctx, call, MEMBER_FLOW_CANCEL.parse(call.data)["member_id"],
                toast=ctx.texts("mbr_step_cancelled"))


@admin_only("members.note")
def ask_note(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    member = by_id(ctx.conn, NOTE.parse(call.data)["member_id"])
    if member is None:
        common.to_search(ctx, call)
        return
    flows.enter(ctx, NOTE_STEP, {"member_id": member.id})
    ui.show(ctx, screens.ask_note(ctx.texts, member), call)


@admin_only("members.step", leave_flow=True)
def note_typed(deps: Deps, ctx: UpdateContext, admin: Member, message: types.Message) -> None:
    """The note: saved, then the card says so (asked again when empty or too long)."""
    member = by_id(ctx.conn, flows.current(ctx).data["member_id"])
    checked = admin_input.check_note(message.text or "")
    if member is not None and checked.problem is not None:
        ui.show(ctx, screens.ask_note(ctx.texts, member, problem=True))
        return
    if member is None or not member_card.add_note(ctx.conn, admin.id, member.id,
                                                  checked.value):
        common.to_search(ctx, problem="mbr_step_gone")
        return
    flows.enter(ctx, SEARCH)
    common.card(deps, ctx, None, member.id, note=ctx.texts("mbr_note_saved"))
