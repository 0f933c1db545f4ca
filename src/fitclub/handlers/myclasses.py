"""/myclasses (trainers and admins): the classes they teach, rosters, attended/no-show marks."""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, ui
from fitclub.callbacks import STAFF, TRAINER_CLASSES, TRAINER_MARK, TRAINER_ROSTER
from fitclub.screens import myclasses as screens
from fitclub.services import attendance, club
from fitclub.services.attendance import Mark, Outcome

MARKS = {"a": Mark.ATTENDED, "n": Mark.NO_SHOW}


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /myclasses, its staff-home section and the roster buttons."""
    bot.register_message_handler(partial(command, deps), commands=["myclasses"],
                                 chat_types=["private"])
    bot.register_callback_query_handler(partial(section, deps),
                                        func=STAFF.matches(section="myclasses"))
    bot.register_callback_query_handler(partial(page, deps), func=TRAINER_CLASSES.matches())
    bot.register_callback_query_handler(partial(open_roster, deps),
                                        func=TRAINER_ROSTER.matches())
    bot.register_callback_query_handler(partial(mark, deps), func=TRAINER_MARK.matches())


def _rules(deps) -> attendance.Rules:
    return club.of(deps.settings).attendance


def _list(deps, ctx, member, page_no: int = 0):
    return screens.classes(ctx.texts, attendance.taught(ctx.conn, member.id, ctx.now(),
                                                        _rules(deps)), page_no)


def _roster(deps, ctx, member, class_id: int, page_no: int):
    """The roster screen, or None when the class is not this member's to see."""
    found = attendance.roster(ctx.conn, member.id, class_id, _rules(deps))
    return None if found is None else screens.roster(ctx.texts, found, ctx.now(), page_no)


def command(deps, message: types.Message) -> None:
    ctx = deps.context()
    member = access.staff_or_refuse(ctx, what="myclasses.list")
    if member is not None:
        screen = _list(deps, ctx, member)
        ctx.reply(screen.text, reply_markup=screen.markup)


def section(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    member = access.staff_or_refuse(ctx, call, what="myclasses.list")
    if member is not None:
        ui.show(ctx, _list(deps, ctx, member), call)


def page(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    member = access.staff_or_refuse(ctx, call, what="myclasses.list")
    if member is not None:
        ui.show(ctx, _list(deps, ctx, member, TRAINER_CLASSES.parse(call.data)["page"]), call)


def open_roster(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    member = access.staff_or_refuse(ctx, call, what="myclasses.roster")
    if member is None:
        return
    values = TRAINER_ROSTER.parse(call.data)
    screen = _roster(deps, ctx, member, values["class_id"], values["page"])
    if screen is None:
        ui.stale(ctx, call, refresh=_list(deps, ctx, member))
        return
    ui.show(ctx, screen, call)


def mark(deps, call: types.CallbackQuery) -> None:
    ctx = deps.context()
    member = access.staff_or_refuse(ctx, call, what="myclasses.mark")
    if member is None:
        return
    values = TRAINER_MARK.parse(call.data)
    what = MARKS[values["mark"]]
    result = attendance.mark(ctx.conn, member.id, values["class_id"], values["booking_id"],
                             what, ctx.now(), _rules(deps))
    screen = (_roster(deps, ctx, member, result.class_id, values["page"])
              if result.class_id is not None else None)
    if result.outcome is Outcome.UNAVAILABLE or screen is None:
        ui.stale(ctx, call, refresh=screen or _list(deps, ctx, member))
        return
    ui.show(ctx, screen, call, toast=_toast(ctx.texts, result, what))


def _toast(tx, result: attendance.MarkResult, what: Mark) -> str:
    """One line on what the press did, or why it did nothing."""
    name = result.name or tx("mc_erased")
    if result.outcome is Outcome.MARKED:
        return tx(f"mc_marked_{what.value}", name=name)
    if result.outcome is Outcome.UNCHANGED:
        return tx(f"mc_unchanged_{what.value}", name=name)
    if result.outcome is Outcome.TOO_EARLY:
        return tx(f"mc_too_early_{what.value}", time=tx.time(result.opens_at))
    if result.outcome is Outcome.CLOSED:
        return tx("mc_closed", when=tx.datetime(result.closed_at))
    return tx("mc_cancelled")
