"""/announce (admins): compose an announcement, preview it, choose the audience, send, stop.

The compose step is a flow ("ann.compose", kept in PostgreSQL): the admin's next text or photo
becomes a draft, previewed exactly as members will get it. Everything after that is buttons on
one message, edited in place; after Send that message shows the progress (the
`announcement_progress` job edits it) with a Stop button.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import telebot
from telebot import types

from fitclub import access, flows, ui
from fitclub.callbacks import (
    ANN_AUDIENCE,
    ANN_BACK,
    ANN_CLASS,
    ANN_CLASSES,
    ANN_DAYS,
    ANN_DISCARD,
    ANN_HOME,
    ANN_SEND,
    ANN_STOP,
    ANN_VIEW,
    STAFF,
)
from fitclub.db.members import Member
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import announce as screens
from fitclub.screens import staff as staff_screens
from fitclub.services import announcements, booking, club, timetable
from fitclub.services.announcements import Announcement, Confirmed

FLOW = "ann"
COMPOSE = "ann.compose"
# How far from today the class picker pages (club days).
CLASS_DAYS_BACK = 14
CLASS_DAYS_AHEAD = 14
# What the compose step cannot take (text and photos it can).
OTHER_CONTENT = ["audio", "voice", "video", "document", "location", "contact", "sticker",
                 "video_note", "animation", "venue", "dice", "poll", "story"]


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /announce, the compose step and the announcement buttons."""
    in_compose = flows.in_flow(deps.context, FLOW)
    private = {"chat_types": ["private"]}
    bot.register_message_handler(partial(open_command, deps), commands=["announce"], **private)
    # Commands keep working in the compose step: text starting with "/" is left to them.
    bot.register_message_handler(
        partial(compose_text, deps), content_types=["text"],
        func=lambda m: in_compose(m) and not (m.text or "").startswith("/"), **private)
    bot.register_message_handler(partial(compose_photo, deps), content_types=["photo"],
                                 func=in_compose, **private)
    bot.register_message_handler(partial(compose_other, deps), content_types=OTHER_CONTENT,
                                 func=in_compose, **private)
    for handler, kind in ((open_section, STAFF.matches(section="announce")),
                          (back_home, ANN_HOME.matches()),
                          (choose_audience, ANN_AUDIENCE.matches()),
                          (class_day, ANN_CLASSES.matches()),
                          (choose_class, ANN_CLASS.matches()),
                          (choose_days, ANN_DAYS.matches()),
                          (change_audience, ANN_BACK.matches()),
                          (discard, ANN_DISCARD.matches()),
                          (send, ANN_SEND.matches()),
                          (stop, ANN_STOP.matches()),
                          (view, ANN_VIEW.matches())):
        bot.register_callback_query_handler(partial(handler, deps), func=kind)


def _admin(ctx: UpdateContext, call: types.CallbackQuery | None, what: str) -> Member | None:
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what=what)


def _today(ctx: UpdateContext, deps) -> date:
    return timetable.today(ctx.now(), club.of(deps.settings).booking)


# -- opening, and the compose step ---------------------------------------------------------------

def _compose(ctx: UpdateContext) -> Screen:
    flows.enter(ctx, COMPOSE)
    return screens.compose(ctx.texts, announcements.recent(ctx.conn))


def open_command(deps, message: types.Message) -> None:
    """/announce: the compose step."""
    ctx = deps.context()
    if _admin(ctx, None, "announce.open") is None:
        return
    screen = _compose(ctx)
    ctx.reply(screen.text, reply_markup=screen.markup)


def open_section(deps, call: types.CallbackQuery) -> None:
    """The staff home's Announcements: the compose step, in place."""
    ctx = deps.context()
    if _admin(ctx, call, "announce.open") is not None:
        ui.show(ctx, _compose(ctx), call)


def back_home(deps, call: types.CallbackQuery) -> None:
    """« Staff from the compose step: leave it."""
    ctx = deps.context()
    member = _admin(ctx, call, "announce.home")
    if member is not None:
        ui.leave_flow(ctx, FLOW)  # out of the compose step
        ui.show(ctx, staff_screens.home(ctx.texts, member), call)


def _composer(ctx: UpdateContext) -> Member | None:
    """The admin in the compose step; anyone else is refused and taken out of it."""
    member = _admin(ctx, None, "announce.compose")
    if member is None:
        flows.leave(ctx)
    return member


def compose_text(deps, message: types.Message) -> None:
    """A text in the compose step: the draft."""
    ctx = deps.context()
    member = _composer(ctx)
    if member is not None:
        _draft(ctx, member.id, message.text, announcements.formatting(message.entities), None)


def compose_photo(deps, message: types.Message) -> None:
    """A photo (its caption the text) in the compose step: the draft."""
    ctx = deps.context()
    member = _composer(ctx)
    if member is not None:
        _draft(ctx, member.id, message.caption or "",
               announcements.formatting(message.caption_entities), message.photo[-1].file_id)


def compose_other(deps, message: types.Message) -> None:
    """Anything else in the compose step: say what it takes."""
    ctx = deps.context()
    if _composer(ctx) is not None:
        ctx.reply(screens.not_supported(ctx.texts).text)


def _draft(ctx: UpdateContext, author_id: int, text: str, entities: list,
           photo: str | None) -> None:
    ann = announcements.create_draft(ctx.conn, author_id, text, entities, photo)
    flows.leave(ctx)
    # The preview is the very call every member's message will be.
    method, params = announcements.message(ann)
    ctx.enqueue(method, {**params, "chat_id": ctx.chat_id})
    screen = screens.audiences(ctx.texts, ann)
    ctx.reply(screen.text, reply_markup=screen.markup)


# -- a draft's buttons: only its author, only while it is a draft --------------------------------

def _own_draft(ctx: UpdateContext, deps, call, kind,
               what: str) -> tuple[Member, dict, Announcement] | None:
    """A press on a draft's button (`kind`, its callback action): the admin, the button's values
    and the draft; None once the press is answered (refused, or the draft gone or not theirs)."""
    member = _admin(ctx, call, what)
    if member is None:
        return None
    values = kind.parse(call.data)
    ann = announcements.draft_of(ctx.conn, values["ann_id"], member.id)
    if ann is None:
        _gone(ctx, deps, call, values["ann_id"], member)
        return None
    return member, values, ann


def _gone(ctx: UpdateContext, deps, call, ann_id: int, member: Member) -> None:
    """An old or doubled press: where the announcement is now (if the admin may see it)."""
    found = announcements.get(ctx.conn, ann_id)
    if found is None or (found.status == "draft" and found.author_id != member.id):
        ui.stale(ctx, call)
    elif found.sent_at is None and found.status == "cancelled":
        ui.stale(ctx, call, screens.discarded(ctx.texts))
    elif found.status == "draft":
        ui.stale(ctx, call, screens.draft_state(
            ctx.texts, found, announcements.count(ctx.conn, found, _today(ctx, deps))))
    else:
        ui.stale(ctx, call, _progress(ctx, deps, ann_id))


def _progress(ctx: UpdateContext, deps, ann_id: int, *, refresh: bool = False) -> Screen | None:
    found = announcements.status(ctx.conn, ann_id, ctx.now(),
                                 announcements.queue_rate(deps.settings))
    return screens.progress(ctx.texts, found, refresh=refresh) if found else None


def _confirm(ctx: UpdateContext, deps, call, chosen: Announcement | None, ann_id: int,
             member: Member) -> None:
    if chosen is None:
        _gone(ctx, deps, call, ann_id, member)
        return
    recipients = announcements.count(ctx.conn, chosen, _today(ctx, deps))
    ui.show(ctx, screens.confirm(ctx.texts, chosen, recipients), call)


def _classes(ctx: UpdateContext, deps, call, ann: Announcement, day: date, *,
             stale: bool = False) -> None:
    first = _today(ctx, deps)
    lowest = first - timedelta(days=CLASS_DAYS_BACK)
    highest = first + timedelta(days=CLASS_DAYS_AHEAD)
    if not lowest <= day <= highest:
        day, stale = first, True
    start, end = booking.day_bounds(day, club.of(deps.settings).booking)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    screen = screens.classes(ctx.texts, ann, day,
                             announcements.classes_of_day(ctx.conn, start, end),
                             before if before >= lowest else None,
                             after if after <= highest else None)
    if stale:
        ui.stale(ctx, call, screen)
    else:
        ui.show(ctx, screen, call)


def choose_audience(deps, call: types.CallbackQuery) -> None:
    """Active or all: the count; class or expiring: which one first."""
    ctx = deps.context()
    pressed = _own_draft(ctx, deps, call, ANN_AUDIENCE, "announce.audience")
    if pressed is None:
        return
    member, values, ann = pressed
    audience = values["audience"]
    if audience == "class":
        _classes(ctx, deps, call, ann, _today(ctx, deps))
    elif audience == "expiring":
        ui.show(ctx, screens.expiring(ctx.texts, ann), call)
    else:
        _confirm(ctx, deps, call, announcements.choose_audience(ctx.conn, ann.id, member.id,
                                                                audience), ann.id, member)


def class_day(deps, call: types.CallbackQuery) -> None:
    """Another day of the class picker."""
    ctx = deps.context()
    pressed = _own_draft(ctx, deps, call, ANN_CLASSES, "announce.classes")
    if pressed is not None:
        _member, values, ann = pressed
        _classes(ctx, deps, call, ann, values["day"])


def choose_class(deps, call: types.CallbackQuery) -> None:
    """The members of this class; a class cancelled or gone shows today's classes again."""
    ctx = deps.context()
    pressed = _own_draft(ctx, deps, call, ANN_CLASS, "announce.class")
    if pressed is None:
        return
    member, values, ann = pressed
    chosen = announcements.choose_audience(ctx.conn, ann.id, member.id, "class",
                                           class_id=values["class_id"])
    if chosen is None:
        _classes(ctx, deps, call, ann, _today(ctx, deps), stale=True)
        return
    _confirm(ctx, deps, call, chosen, ann.id, member)


def choose_days(deps, call: types.CallbackQuery) -> None:
    """Memberships ending within this many days."""
    ctx = deps.context()
    pressed = _own_draft(ctx, deps, call, ANN_DAYS, "announce.days")
    if pressed is not None:
        member, values, ann = pressed
        _confirm(ctx, deps, call, announcements.choose_audience(
            ctx.conn, ann.id, member.id, "expiring", days=int(values["days"])), ann.id, member)


def change_audience(deps, call: types.CallbackQuery) -> None:
    """Back to the choice of audience."""
    ctx = deps.context()
    pressed = _own_draft(ctx, deps, call, ANN_BACK, "announce.audience")
    if pressed is not None:
        _member, _values, ann = pressed
        ui.show(ctx, screens.audiences(ctx.texts, ann), call)


def discard(deps, call: types.CallbackQuery) -> None:
    """Drop the draft."""
    ctx = deps.context()
    member = _admin(ctx, call, "announce.discard")
    if member is None:
        return
    ann_id = ANN_DISCARD.parse(call.data)["ann_id"]
    if announcements.discard(ctx.conn, ann_id, member.id):
        ui.show(ctx, screens.discarded(ctx.texts), call)
    else:
        _gone(ctx, deps, call, ann_id, member)


def send(deps, call: types.CallbackQuery) -> None:
    """Send the draft: this message becomes its progress, edited by the progress job."""
    ctx = deps.context()
    member = _admin(ctx, call, "announce.send")
    if member is None:
        return
    ann_id = ANN_SEND.parse(call.data)["ann_id"]
    outcome, ann = announcements.confirm(
        ctx.conn, ann_id, member.id, _today(ctx, deps), chat_id=ctx.chat_id,
        message_id=getattr(call.message, "message_id", None))
    if outcome is Confirmed.SENDING:
        ui.show(ctx, _progress(ctx, deps, ann_id), call, toast=ctx.texts("ann_sending"))
    elif outcome is Confirmed.NOBODY:
        ui.show(ctx, screens.confirm(ctx.texts, ann, 0), call,
                toast=ctx.texts("ann_nobody_toast"))
    else:
        _gone(ctx, deps, call, ann_id, member)


def _was_sent(ctx: UpdateContext, ann_id: int) -> bool:
    found = announcements.get(ctx.conn, ann_id)
    return found is not None and found.sent_at is not None


def stop(deps, call: types.CallbackQuery) -> None:
    """Stop sending (any admin): what no sender has claimed yet is not sent."""
    ctx = deps.context()
    member = _admin(ctx, call, "announce.stop")
    if member is None:
        return
    ann_id = ANN_STOP.parse(call.data)["ann_id"]
    stopped = announcements.stop(ctx.conn, ann_id, member.id)
    if stopped is None:
        ui.stale(ctx, call, _progress(ctx, deps, ann_id) if _was_sent(ctx, ann_id) else None)
        return
    ui.show(ctx, _progress(ctx, deps, ann_id), call,
            toast=ctx.texts.plural("ann_stopped", stopped.taken_back))


def view(deps, call: types.CallbackQuery) -> None:
    """An announcement's progress as it is now (any admin), with Refresh."""
    ctx = deps.context()
    if _admin(ctx, call, "announce.view") is None:
        return
    ann_id = ANN_VIEW.parse(call.data)["ann_id"]
    if not _was_sent(ctx, ann_id):
        ui.stale(ctx, call)
        return
    ui.leave_flow(ctx, FLOW)  # the compose prompt this may replace asked for a text
    ui.show(ctx, _progress(ctx, deps, ann_id, refresh=True), call)
