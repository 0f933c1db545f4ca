"""/people (admins): find a person, open their card, give them another role.

The search is a guided step (flow "ppl", kept in PostgreSQL): the admin types a name, phone
or username and gets the matches as buttons. A role change goes through a confirmation; the
person is then told in their language and their "/" command list follows their new role.
"""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, flows, ui
from fitclub.callbacks import PEOPLE_PERSON, PEOPLE_ROLE, PEOPLE_SET_ROLE, STAFF
from fitclub.db.members import Member
from fitclub.screens import Screen
from fitclub.screens import people as screens
from fitclub.services import people, roles
from fitclub.services.roles import Outcome

FLOW = "ppl"
ASK = "ppl.query"


def _typed(message: types.Message) -> bool:
    """Text that is not a command (commands keep working during the search)."""
    return not (message.text or "").startswith("/")


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /people, its staff-home section, the search step and the card's buttons."""
    in_search = flows.in_flow(deps.context, FLOW)
    bot.register_message_handler(partial(open_search, deps), commands=["people"],
                                 chat_types=["private"])
    bot.register_callback_query_handler(partial(open_search, deps),
                                        func=STAFF.matches(section="people"))
    bot.register_message_handler(partial(search, deps),
                                 func=lambda m: _typed(m) and in_search(m),
                                 content_types=["text"], chat_types=["private"])
    bot.register_callback_query_handler(partial(open_person, deps),
                                        func=PEOPLE_PERSON.matches())
    bot.register_callback_query_handler(partial(ask_role, deps), func=PEOPLE_ROLE.matches())
    bot.register_callback_query_handler(partial(set_role, deps),
                                        func=PEOPLE_SET_ROLE.matches())


def _admin(ctx, call: types.CallbackQuery | None, what: str) -> Member | None:
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what=what)


def _card(ctx, deps, viewer: Member, person_id: int) -> Screen | None:
    """The person's card as this admin sees it, or None when they are gone."""
    found = roles.card(ctx.conn, person_id, ctx.texts.local(ctx.now()).date())
    if found is None:
        return None
    bootstrap = found.person.telegram_id in deps.settings.admin_telegram_ids
    return screens.card(ctx.texts, found, viewer_id=viewer.id, bootstrap=bootstrap)


def _gone(ctx, call: types.CallbackQuery) -> None:
    """The person is gone: say so, and back to the search."""
    flows.enter(ctx, ASK)
    ui.stale(ctx, call, refresh=screens.ask(ctx.texts))


def open_search(deps, update: types.Message | types.CallbackQuery) -> None:
    """/people or the staff home's section: ask whom to find."""
    ctx = deps.context()
    call = update if isinstance(update, types.CallbackQuery) else None
    if _admin(ctx, call, "people.open") is None:
        return
    flows.enter(ctx, ASK)
    ui.show(ctx, screens.ask(ctx.texts), call)


def search(deps, message: types.Message) -> None:
    """The typed name, phone or username: the matches as buttons, or ask again."""
    ctx = deps.context()
    if _admin(ctx, None, "people.search") is None:
        flows.leave(ctx)
        return
    query = people.normalize(message.text)
    if query is None:
        ui.show(ctx, screens.too_short(ctx.texts))
        return
    ui.show(ctx, screens.results(ctx.texts, query, people.search(ctx.conn, query)))


def open_person(deps, call: types.CallbackQuery) -> None:
    """A person's card, in place of the results."""
    ctx = deps.context()
    viewer = _admin(ctx, call, "people.person")
    if viewer is None:
        return
    screen = _card(ctx, deps, viewer, PEOPLE_PERSON.parse(call.data)["person_id"])
    if screen is None:
        _gone(ctx, call)
        return
    ui.leave_flow(ctx, FLOW)  # the card replaces the search results
    ui.show(ctx, screen, call)


def ask_role(deps, call: types.CallbackQuery) -> None:
    """'Make trainer' and the like: the confirmation step."""
    ctx = deps.context()
    viewer = _admin(ctx, call, "people.role")
    if viewer is None:
        return
    values = PEOPLE_ROLE.parse(call.data)
    _answer(ctx, deps, call, viewer,
            roles.propose(ctx.conn, viewer.id, values["person_id"], values["role"]))


def set_role(deps, call: types.CallbackQuery) -> None:
    """The confirmed change: made, the person told, their command list re-set."""
    ctx = deps.context()
    viewer = _admin(ctx, call, "people.set_role")
    if viewer is None:
        return
    values = PEOPLE_SET_ROLE.parse(call.data)
    _answer(ctx, deps, call, viewer, roles.change_role(
        ctx.conn, viewer.id, values["person_id"], values["was"], values["role"]))


def _answer(ctx, deps, call: types.CallbackQuery, viewer: Member, change: roles.Change) -> None:
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
        ui.show(ctx, _card(ctx, deps, viewer, person.id), call,
                toast=screens.changed_toast(tx, person) if done else tx("ppl_stale"))
    else:
        # The person is told, and their command list follows (by the service's notice).
        ui.show(ctx, _card(ctx, deps, viewer, person.id), call,
                toast=screens.changed_toast(tx, person))
