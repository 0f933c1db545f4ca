"""What the /members screens share: back to the search, the member card after a change, the
flow's resting step."""

from __future__ import annotations

from telebot import types

from fitclub import flows, ui
from fitclub.db.members import Member, by_id
from fitclub.deps import Deps
from fitclub.runtime.context import UpdateContext
from fitclub.screens import members_admin as screens
from fitclub.services import admin_input, member_card, payments_admin
from fitclub.services.admin_input import SEARCH
from fitclub.services.membership_change import AdminMembership, Outcome, Refusal, Result, refused


def to_search(ctx: UpdateContext, call: types.CallbackQuery | None = None,
              problem: str | None = None) -> None:
    """Back to the search: the member or membership a button or step named is gone."""
    flows.enter(ctx, SEARCH)
    if call is not None:
        ui.stale(ctx, call, refresh=screens.search_prompt(ctx.texts))
    else:
        ui.show(ctx, screens.search_prompt(ctx.texts, problem))


def card(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery | None, member_id: int,
         *, toast: str | None = None, note: str | None = None) -> None:
    """The member's card in place of the pressed message (the search if they are gone)."""
    if call is None and toast and not note:
        note, toast = toast, None  # a typed step has no button to answer: say it in the card
    found = member_card.card(ctx.conn, member_id, ctx.now(), deps.club.booking)
    if found is None:
        to_search(ctx, call, "mbr_step_gone")
        return
    ui.show(ctx, screens.card(ctx.texts, found, note,
                              payments_admin.of_member(ctx.conn, member_id)), call, toast=toast)


def rest(ctx: UpdateContext) -> None:
    """Back to the flow's resting step (the search) from a step that takes a value."""
    if admin_input.back_to_rest(flows.current(ctx).state):
        flows.enter(ctx, SEARCH)


def refuse(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery, member: Member,
           found: AdminMembership, reason: Refusal) -> None:
    """The card, with why this membership cannot change so."""
    result = refused(reason, found, left=found.freeze_left)
    card(deps, ctx, call, member.id, toast=screens.refusal(ctx.texts, result, member))


def after(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery | None, result: Result,
          done: str) -> None:
    """The card after a change: `done` (the member is told), refused (why), or stale."""
    if result.outcome is Outcome.UNAVAILABLE and result.member_id is None:
        to_search(ctx, call)
        return
    rest(ctx)
    member = by_id(ctx.conn, result.member_id) if result.outcome is Outcome.REFUSED else None
    line = screens.outcome(ctx.texts, result, member, done)
    card(deps, ctx, call, result.member_id, toast=line,
         note=line if result.outcome is Outcome.DONE else None)
