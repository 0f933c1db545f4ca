"""/checkin (trainers and admins): check a member in by their card's 6-digit code or by name.

The code or name is a guided step (flow "chk", kept in PostgreSQL). A scanned QR card opens
`/start ci_<token>` instead, which the registration module's deep-link routing hands to the
same service and screens (services.checkin.scan, screens.checkin.replies).
"""

from __future__ import annotations

from functools import partial

import telebot
from telebot import types

from fitclub import access, flows, ui
from fitclub.callbacks import CHECKIN_CONFIRM, CHECKIN_PERSON, STAFF
from fitclub.screens import checkin as screens
from fitclub.services import checkin, club, people
from fitclub.services.checkin import Outcome

FLOW = "chk"
ASK = "chk.query"


def _typed(message: types.Message) -> bool:
    """Text that is not a command (commands keep working during the step)."""
    return not (message.text or "").startswith("/")


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /checkin, its staff-home section, the code-or-name step and its buttons."""
    in_step = flows.in_flow(deps.context, FLOW)
    bot.register_message_handler(partial(open_step, deps), commands=["checkin"],
                                 chat_types=["private"])
    bot.register_callback_query_handler(partial(open_step, deps),
                                        func=STAFF.matches(section="checkin"))
    bot.register_message_handler(partial(typed, deps), func=lambda m: _typed(m) and in_step(m),
                                 content_types=["text"], chat_types=["private"])
    bot.register_callback_query_handler(partial(pick, deps), func=CHECKIN_PERSON.matches())
    bot.register_callback_query_handler(partial(confirm, deps),
                                        func=CHECKIN_CONFIRM.matches())


def _ask(ctx, call: types.CallbackQuery | None = None, *, stale: bool = False) -> None:
    """Into the step: scan, or send a code or a name (after a stale press, say so)."""
    flows.enter(ctx, ASK)
    if stale:
        ui.stale(ctx, call, refresh=screens.ask(ctx.texts))
    else:
        ui.show(ctx, screens.ask(ctx.texts), call)


def send(ctx, result: checkin.Result, call: types.CallbackQuery | None = None) -> None:
    """The staff's answer (in place after a button) and the member's note."""
    for chat_id, screen in screens.replies(ctx.texts, result):
        if chat_id is None:
            ui.show(ctx, screen, call)
        else:
            ctx.reply(screen.text, reply_markup=screen.markup, chat_id=chat_id)


def open_step(deps, update: types.Message | types.CallbackQuery) -> None:
    """/checkin or the staff home's section."""
    ctx = deps.context()
    call = update if isinstance(update, types.CallbackQuery) else None
    if access.staff_or_refuse(ctx, call, what="checkin.open") is None:
        return
    _ask(ctx, call)


def typed(deps, message: types.Message) -> None:
    """A code checks the member in at once; a name lists the matches."""
    ctx = deps.context()
    staff = access.staff_or_refuse(ctx, what="checkin.search")
    if staff is None:
        flows.leave(ctx)
        return
    text = message.text
    if checkin.looks_like_code(text):
        result = checkin.by_code(ctx.conn, staff.id, text, ctx.now(),
                                 club.of(deps.settings).checkin)
        if result.outcome is Outcome.UNKNOWN_CODE:
            ui.show(ctx, screens.unknown_code(ctx.texts, text))
            return
        flows.leave(ctx)
        send(ctx, result)
        return
    query = people.normalize(text)
    if query is None:
        ui.show(ctx, screens.too_short(ctx.texts))
        return
    ui.show(ctx, screens.results(ctx.texts, query, people.search(ctx.conn, query)))


def pick(deps, call: types.CallbackQuery) -> None:
    """A found member: their membership and the button that checks them in."""
    ctx = deps.context()
    if access.staff_or_refuse(ctx, call, what="checkin.person") is None:
        return
    today = ctx.texts.local(ctx.now()).date()
    found = checkin.preview(ctx.conn, CHECKIN_PERSON.parse(call.data)["member_id"], today)
    if found is None:
        _ask(ctx, call, stale=True)
        return
    ui.leave_flow(ctx, FLOW)  # a match was opened: out of the code-or-name step
    ui.show(ctx, screens.confirm(ctx.texts, *found), call)


def confirm(deps, call: types.CallbackQuery) -> None:
    """'Check in Anna Petrova'."""
    ctx = deps.context()
    staff = access.staff_or_refuse(ctx, call, what="checkin.confirm")
    if staff is None:
        return
    result = checkin.check_in(ctx.conn, staff.id, CHECKIN_CONFIRM.parse(call.data)["member_id"],
                              ctx.now(), club.of(deps.settings).checkin, method="manual")
    if result.outcome is Outcome.GONE:
        _ask(ctx, call, stale=True)
    elif result.outcome is Outcome.ALREADY:
        # A double tap (or someone checked them in meanwhile): the screen stays as it is.
        ctx.answer_callback(call.id, screens.outcome_text(ctx.texts, result), show_alert=True)
    else:
        send(ctx, result, call)
