"""/people (admins): find a person, open their card, give them another role.

The search is a guided step (flow "ppl", kept in PostgreSQL): the admin types a name, phone
or username and gets the matches as buttons. A role change goes through a confirmation; the
person is then told in their language and their "/" command list follows their new role
(the role service's notice).
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import PEOPLE_PERSON, PEOPLE_ROLE, PEOPLE_SET_ROLE, STAFF
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import people as screens
from fitclub.services import people, roles
from fitclub.services.roles import Outcome

FLOW = "ppl"
ASK = "ppl.query"


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /people, its staff-home section, the search step and the card's buttons."""
    routes = Routes(bot, deps)
    routes.command("people", open_search)
    routes.button(STAFF.matches(section="people"), open_search)
    routes.message(search, when=flows.typed_step(deps.context, FLOW))
    routes.button(PEOPLE_PERSON, open_person)
    routes.button(PEOPLE_ROLE, ask_role)
    routes.button(PEOPLE_SET_ROLE, set_role)


def _card(deps: Deps, ctx: UpdateContext, viewer: Member, person_id: int) -> Screen | None:
    """The person's card as this admin sees it, or None when they are gone."""
    found = roles.card(ctx.conn, person_id, deps.club.today(ctx.now()))
    if found is None:
        return None
    bootstrap = found.person.telegram_id in deps.settings.admin_telegram_ids
    return screens.card(ctx.texts, found, viewer_id=viewer.id, bootstrap=bootstrap)


def _gone(ctx: UpdateContext, call: types.CallbackQuery) -> None:
    """The person is gone: say so, and back to the search."""
    flows.enter(ctx, ASK)
    ui.stale(ctx, call, refresh=screens.ask(ctx.texts))


@admin_only("people.open")
def open_search(deps: Deps, ctx: UpdateContext, member: Member,
                update: types.Message | types.CallbackQuery) -> None:
    """/people or the staff home's section: ask whom to find."""
    flows.enter(ctx, ASK)
    ui.show(ctx, screens.ask(ctx.texts), update)


@admin_only("people.search", leave_flow=True)
def search(deps: Deps, ctx: UpdateContext, member: Member, message: types.Message) -> None:
    """The typed name, phone or username: the matches as buttons, or ask again."""
    query = people.normalize(message.text)
    if query is None:
        ui.show(ctx, screens.too_short(ctx.texts))
        return
    found = people.find(ctx.conn, member.id, query, ctx.now(), deps.settings.search_limit)
    ui.show(ctx, screens.results(ctx.texts, query, found))


@admin_only("people.person")
def open_person(deps: Deps, ctx: UpdateContext, viewer: Member,
                call: types.CallbackQuery) -> None:
    """A person's card, in place of the results."""
    screen = _card(deps, ctx, viewer, PEOPLE_PERSON.parse(call.data)["person_id"])
    if screen is None:
        _gone(ctx, call)
        return
    ui.leave_flow(ctx, FLOW)  # the card replaces the search results
    ui.show(ctx, screen, call)


@admin_only("people.role")
def ask_role(deps: Deps, ctx: UpdateContext, viewer: Member, call: types.CallbackQuery) -> None:
    """'Make trainer' and the like: the confirmation step."""
    values = PEOPLE_ROLE.parse(call.data)
    _answer(deps, ctx, call, viewer,
            roles.propose(ctx.conn, viewer.id, values["person_id"], values["role"]))


@admin_only("people.set_role")
def set_role(deps: Deps, ctx: UpdateContext, viewer: Member, call: types.CallbackQuery) -> None:
    """The confirmed change (the person is told by the service's notice)."""
    values = PEOPLE_SET_ROLE.parse(call.data)
    _answer(deps, ctx, call, viewer, roles.change_role(
        ctx.conn, viewer.id, values["person_id"], values["was"], values["role"]))


def _answer(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery, viewer: Member,
            change: roles.Change) -> None:
    """Show what became of a proposed or confirmed change."""
    tx = ctx.texts
    person = change.person
    if change.outcome is Outcome.NOT_ADMIN:
        ctx.answer_callback(call.id, tx("admins_only"), show_alert=True)
    elif change.outcome is Outcome.SELF:
        # Only forged data gets here: one's own card offers no role buttons.
        ctx.answer_callback(call.id, tx("ppl_self"), show_alert=True)
    elif person is None:
        _gone(ctx, call)
    elif change.outcome is Outcome.READY:
        ui.show(ctx, screens.confirm(tx, person, change.new), call)
    elif change.outcome is Outcome.STALE:
        # A double tap finds the change already made; otherwise someone else changed it.
        done = person.role == change.new
        ui.show(ctx, _card(deps, ctx, viewer, person.id), call,
                toast=screens.changed_toast(tx, person) if done else tx("ppl_stale"))
    else:
        ui.show(ctx, _card(deps, ctx, viewer, person.id), call,
                toast=screens.changed_toast(tx, person))
