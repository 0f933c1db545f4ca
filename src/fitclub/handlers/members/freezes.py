"""Freezing a member's membership, from the member card (/members): how many days (a button
or typed), from which day (today or typed), confirmed; and an early unfreeze, or calling off
a planned freeze.

The member is told (the services' notices); the jobs that begin and end a freeze are
jobs/freezes.py. Typed steps are part of the flow "mbr" (services.admin_input).
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
from fitclub.callbacks import FREEZE, FREEZE_DATE, FREEZE_DAY, FREEZE_DAYS, FREEZE_OK, UNFREEZE
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.handlers.members import common
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import members_admin as screens
from fitclub.services import admin_input, freezes, plans
from fitclub.services.admin_input import FREEZE_DATE_STEP, FREEZE_DAYS_STEP, SEARCH
from fitclub.services.membership_change import (
    AdminMembership,
    Refusal,
    refused,
    with_member,
)


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the freeze and unfreeze buttons and their typed steps."""
    routes = Routes(bot, deps)
    routes.button(FREEZE, freeze)
    routes.button(FREEZE_DAYS, freeze_days)
    routes.message(days_typed, when=flows.typed_step(deps.context, FREEZE_DAYS_STEP))
    routes.button(FREEZE_DATE, freeze_date)
    routes.message(date_typed, when=flows.typed_step(deps.context, FREEZE_DATE_STEP))
    routes.button(FREEZE_DAY, freeze_day)
    routes.button(FREEZE_OK, freeze_ok)
    routes.button(UNFREEZE, unfreeze)


# -- freeze ------------------------------------------------------------------------------------

def _days_ok(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery | None, member: Member,
             found: AdminMembership, days: int) -> bool:
    """Whether the membership may be frozen for `days`; otherwise the refusal with the
    numbers (the start day is chosen next)."""
    today = deps.club.today(ctx.now())
    reason = freezes.refusal(found, days, freezes.first_day(found, today), today)
    if reason is None:
        return True
    text = screens.refusal(ctx.texts, refused(reason, found, left=found.freeze_left,
                                              asked=days), member)
    if reason is Refusal.OVER_ALLOWANCE:
        flows.enter(ctx, FREEZE_DAYS_STEP, {"membership_id": found.id})
        screen = screens.freeze_choose(ctx.texts, member, found, text)
        ui.show(ctx, screen, call, toast=text if call else None)
    else:
        common.rest(ctx)
        common.card(deps, ctx, call, member.id, toast=text)
    return False


@admin_only("members.freeze")
def freeze(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """How many days: buttons within the allowance, or typed."""
    member, found = with_member(ctx.conn, FREEZE.parse(call.data)["membership_id"],
                                deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx, call)
        return
    reason = (Refusal.NOT_CURRENT if not found.current else
              Refusal.FREEZE_OPEN if found.freeze_id is not None else
              Refusal.FREEZE_NOT_ALLOWED if found.freeze_allowance <= 0 else
              Refusal.NO_ALLOWANCE if found.freeze_left <= 0 else None)
    if reason is not None:
        common.refuse(deps, ctx, call, member, found, reason)
        return
    flows.enter(ctx, FREEZE_DAYS_STEP, {"membership_id": found.id})
    ui.show(ctx, screens.freeze_choose(ctx.texts, member, found), call)


@admin_only("members.freeze")
def freeze_days(deps: Deps, ctx: UpdateContext, admin: Member,
                call: types.CallbackQuery) -> None:
    """This many days: from today, or another date?"""
    values = FREEZE_DAYS.parse(call.data)
    member, found = with_member(ctx.conn, values["membership_id"], deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx, call)
    elif _days_ok(deps, ctx, call, member, found, values["days"]):
        common.rest(ctx)
        ui.show(ctx, screens.freeze_start(ctx.texts, member, found, values["days"],
                                          deps.club.today(ctx.now())), call)


@admin_only("members.step", leave_flow=True)
def days_typed(deps: Deps, ctx: UpdateContext, admin: Member, message: types.Message) -> None:
    """The typed number of days: from today, or another date? (asked again if bad)"""
    member, found = with_member(ctx.conn, flows.current(ctx).data["membership_id"],
                                deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx)
        return
    checked = plans.check_days(message.text or "")
    if checked.problem is not None:
        ui.show(ctx, screens.freeze_choose(ctx.texts, member, found, ctx.texts(
            "mbr_bad_days", left=ctx.texts.plural("plan_days", found.freeze_left))))
        return
    if _days_ok(deps, ctx, None, member, found, checked.value):
        flows.enter(ctx, SEARCH)
        ui.show(ctx, screens.freeze_start(ctx.texts, member, found, checked.value,
                                          deps.club.today(ctx.now())))


@admin_only("members.freeze")
def freeze_date(deps: Deps, ctx: UpdateContext, admin: Member,
                call: types.CallbackQuery) -> None:
    """Type the first day of the freeze."""
    values = FREEZE_DATE.parse(call.data)
    member, found = with_member(ctx.conn, values["membership_id"], deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx, call)
    elif _days_ok(deps, ctx, call, member, found, values["days"]):
        flows.enter(ctx, FREEZE_DATE_STEP, {"membership_id": found.id, "days": values["days"]})
        ui.show(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_freeze_start",
                                      deps.club.today(ctx.now())), call)


@admin_only("members.step", leave_flow=True)
def date_typed(deps: Deps, ctx: UpdateContext, admin: Member, message: types.Message) -> None:
    """The typed first day: the freeze to confirm (asked again if outside the membership)."""
    data = flows.current(ctx).data
    member, found = with_member(ctx.conn, data["membership_id"], deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx)
        return
    today = deps.club.today(ctx.now())
    first = freezes.first_day(found, today)
    checked = admin_input.read_day(message.text, today)
    day = checked.value
    if day is None or not first <= day <= found.ends_on:
        ui.show(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_freeze_start", today,
                                      problem=checked.problem or admin_input.BAD_DATE,
                                      first=first, last=found.ends_on))
        return
    flows.enter(ctx, SEARCH)
    ui.show(ctx, screens.freeze_confirm(ctx.texts, member, found, data["days"], day))


@admin_only("members.freeze")
def freeze_day(deps: Deps, ctx: UpdateContext, admin: Member,
               call: types.CallbackQuery) -> None:
    """The freeze from this day, to confirm."""
    values = FREEZE_DAY.parse(call.data)
    member, found = with_member(ctx.conn, values["membership_id"], deps.club.today(ctx.now()))
    if found is None:
        common.to_search(ctx, call)
    elif _days_ok(deps, ctx, call, member, found, values["days"]):
        ui.show(ctx, screens.freeze_confirm(ctx.texts, member, found, values["days"],
                                            values["day"]), call)


@admin_only("members.freeze")
def freeze_ok(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    values = FREEZE_OK.parse(call.data)
    result = freezes.freeze(ctx.conn, admin.id, values["membership_id"], values["days"],
                            values["day"], ctx.now(), deps.club.booking)
    m = result.membership
    tx = ctx.texts
    # A freeze from a later day is planned, not running: the card below says so too.
    later = m is not None and m.frozen_from is not None and m.frozen_from > deps.club.today(
        ctx.now())
    common.after(deps, ctx, call, result, tx(
        "mbr_freeze_planned" if later else "mbr_frozen",
        start=tx.date(m.frozen_from, "long") if m and m.frozen_from else "",
        end=tx.date(m.frozen_until, "long") if m and m.frozen_until else ""))


# -- unfreeze ----------------------------------------------------------------------------------

@admin_only("members.unfreeze")
def unfreeze(deps: Deps, ctx: UpdateContext, admin: Member, call: types.CallbackQuery) -> None:
    """End a freeze now, or call off a planned one: ask, then do it."""
    values = UNFREEZE.parse(call.data)
    if values["step"] == "ask":
        member, found = with_member(ctx.conn, values["membership_id"], deps.club.today(ctx.now()))
        if found is None:
            common.to_search(ctx, call)
        elif found.freeze_id is None or not found.current:
            common.refuse(deps, ctx, call, member, found, Refusal.NO_FREEZE)
        else:
            ui.show(ctx, screens.unfreeze_ask(ctx.texts, member, found, deps.club.today(ctx.now())),
                    call)
        return
    result = freezes.unfreeze(ctx.conn, admin.id, values["membership_id"], ctx.now(),
                              deps.club.booking)
    m = result.membership
    common.after(deps, ctx, call, result,
                 ctx.texts("mbr_unfrozen", end=ctx.texts.date(m.ends_on, "long") if m else ""))
