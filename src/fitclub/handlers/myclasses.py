"""/myclasses (trainers and admins): the classes they teach, rosters, attended/no-show marks."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import staff_only
from fitclub.callbacks import STAFF, TRAINER_CLASSES, TRAINER_MARK, TRAINER_ROSTER
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.locales import Texts
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import myclasses as screens
from fitclub.services import attendance
from fitclub.services.attendance import Mark, Outcome

MARKS = {"a": Mark.ATTENDED, "n": Mark.NO_SHOW}


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /myclasses, its staff-home section and the roster buttons."""
    routes = Routes(bot, deps)
    routes.command("myclasses", show_classes)
    routes.button(STAFF.matches(section="myclasses"), show_classes)
    routes.button(TRAINER_CLASSES, page)
    routes.button(TRAINER_ROSTER, open_roster)
    routes.button(TRAINER_MARK, mark)


def _list(deps: Deps, ctx: UpdateContext, member: Member, page_no: int = 0) -> Screen:
    taught = attendance.taught(ctx.conn, member.id, ctx.now(), deps.club.attendance)
    return screens.classes(ctx.texts, taught, page_no)


def _roster(deps: Deps, ctx: UpdateContext, member: Member, class_id: int,
            page_no: int, note: str | None = None) -> Screen | None:
    """The roster screen, or None when the class is not this member's to see."""
    found = attendance.roster(ctx.conn, member.id, class_id, deps.club.attendance)
    return None if found is None else screens.roster(ctx.texts, found, ctx.now(), page_no,
                                                     note)


@staff_only("myclasses.list")
def show_classes(deps: Deps, ctx: UpdateContext, member: Member,
                 update: types.Message | types.CallbackQuery) -> None:
    ui.show(ctx, _list(deps, ctx, member), update)


@staff_only("myclasses.list")
def page(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    ui.show(ctx, _list(deps, ctx, member, TRAINER_CLASSES.parse(call.data)["page"]), call)


@staff_only("myclasses.roster")
def open_roster(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    values = TRAINER_ROSTER.parse(call.data)
    screen = _roster(deps, ctx, member, values["class_id"], values["page"])
    if screen is None:
        ui.stale(ctx, call, refresh=_list(deps, ctx, member))
        return
    ui.show(ctx, screen, call)


@staff_only("myclasses.mark")
def mark(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    values = TRAINER_MARK.parse(call.data)
    what = MARKS[values["mark"]]
    result = attendance.mark(ctx.conn, member.id, values["class_id"], values["booking_id"],
                             what, ctx.now(), deps.club.attendance)
    toast = _toast(ctx.texts, result, what)
    # A press that changed nothing says why on the roster too, not only in the pop-up.
    note = None if result.outcome in (Outcome.MARKED, Outcome.UNAVAILABLE) else toast
    screen = (_roster(deps, ctx, member, result.class_id, values["page"], note)
              if result.class_id is not None else None)
    if result.outcome is Outcome.UNAVAILABLE or screen is None:
        ui.stale(ctx, call, refresh=screen or _list(deps, ctx, member))
        return
    ui.show(ctx, screen, call, toast=toast)


def _toast(tx: Texts, result: attendance.MarkResult, what: Mark) -> str:
    """One line on what the press did, or why it did nothing."""
    name = result.name or tx("member_erased")
    if result.outcome is Outcome.MARKED:
        return tx(f"mc_marked_{what.value}", name=name)
    if result.outcome is Outcome.UNCHANGED:
        return tx(f"mc_unchanged_{what.value}", name=name)
    if result.outcome is Outcome.TOO_EARLY:
        return tx(f"mc_too_early_{what.value}", time=tx.time(result.opens_at))
    if result.outcome is Outcome.CLOSED:
        return tx("mc_closed", when=tx.datetime(result.closed_at))
    if result.outcome is Outcome.CHECKED_IN:
        return tx("mc_checked_in_no_show", name=name, time=tx.time(result.checked_in_at))
    return tx("mc_cancelled")
