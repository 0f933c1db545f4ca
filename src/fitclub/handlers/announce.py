"""/announce (admins): compose an announcement, preview it, choose the audience, send, stop.

The compose step is a flow ("ann.compose", kept in PostgreSQL): the admin's next text or photo
becomes a draft, previewed exactly as members will get it. Everything after that is buttons on
one message, edited in place; after Send that message shows the progress (the
`announcement_progress` job edits it) with a Stop button.
"""

from __future__ import annotations

from datetime import date, timedelta

import telebot
from telebot import types

from fitclub import flows, ui
from fitclub.access import admin_only
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
    Action,
)
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import announce as screens
from fitclub.screens import staff as staff_screens
from fitclub.services import announcements, booking
from fitclub.services.announcements import Announcement, Confirmed

FLOW = "ann"
COMPOSE = "ann.compose"
# How far from today the class picker pages (club days).
CLASS_DAYS_BACK = 14
CLASS_DAYS_AHEAD = 14
# What the compose step cannot take (text and photos it can).
OTHER_CONTENT = ["audio", "voice", "video", "document", "location", "contact", "sticker",
                 "video_note", "animation", "venue", "dice", "poll", "story"]


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /announce, the compose step and the announcement buttons."""
    in_compose = flows.in_flow(deps.context, FLOW)
    routes = Routes(bot, deps)
    routes.command("announce", open_compose)
    # Commands keep working in the compose step: a text starting with "/" is left to them.
    routes.message(compose_text, when=flows.typed_step(deps.context, FLOW))
    routes.message(compose_photo, when=in_compose, content_types=["photo"])
    routes.message(compose_other, when=in_compose, content_types=OTHER_CONTENT)
    routes.button(STAFF.matches(section="announce"), open_compose)
    routes.button(ANN_HOME, back_home)
    routes.button(ANN_AUDIENCE, choose_audience)
    routes.button(ANN_CLASSES, class_day)
    routes.button(ANN_CLASS, choose_class)
    routes.button(ANN_DAYS, choose_days)
    routes.button(ANN_BACK, change_audience)
    routes.button(ANN_DISCARD, discard)
    routes.button(ANN_SEND, send)
    routes.button(ANN_STOP, stop)
    routes.button(ANN_VIEW, view)



# -- opening, and the compose step ---------------------------------------------------------------

@admin_only("announce.open")
def open_compose(deps: Deps, ctx: UpdateContext, member: Member,
                 update: types.Message | types.CallbackQuery) -> None:
    """/announce, or the staff home's Announcements (in place): the compose step."""
    flows.enter(ctx, COMPOSE)
    ui.show(ctx, screens.compose(ctx.texts, announcements.recent(ctx.conn)), update)


@admin_only("announce.home")
def back_home(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """« Staff from the compose step: leave it."""
    ui.leave_flow(ctx, FLOW)  # out of the compose step
    ui.show(ctx, staff_screens.home(ctx.texts, member), call)


@admin_only("announce.compose", leave_flow=True)
def compose_text(deps: Deps, ctx: UpdateContext, member: Member,
                 message: types.Message) -> None:
    """A text in the compose step: the draft."""
    _draft(ctx, member.id, message.text, announcements.formatting(message.entities), None)


@admin_only("announce.compose", leave_flow=True)
def compose_photo(deps: Deps, ctx: UpdateContext, member: Member,
                  message: types.Message) -> None:
    """A photo (its caption the text) in the compose step: the draft."""
    _draft(ctx, member.id, message.caption or "",
           announcements.formatting(message.caption_entities), message.photo[-1].file_id)


@admin_only("announce.compose", leave_flow=True)
def compose_other(deps: Deps, ctx: UpdateContext, member: Member,
                  message: types.Message) -> None:
    """Anything else in the compose step: say what it takes."""
    ui.show(ctx, screens.not_supported(ctx.texts))


def _draft(ctx: UpdateContext, author_id: int, text: str, entities: list,
           photo: str | None) -> None:
    ann = announcements.create_draft(ctx.conn, author_id, text, entities, photo)
    flows.leave(ctx)
    # The preview is the very call every member's message will be.
    method, params = announcements.message(ann)
    ctx.enqueue(method, {**params, "chat_id": ctx.chat_id})
    ui.show(ctx, screens.audiences(ctx.texts, ann))


# -- a draft's buttons: only its author, only while it is a draft --------------------------------

def _own_draft(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery,
               kind: Action) -> tuple[dict, Announcement] | None:
    """A press on a draft's button (`kind`, its callback action): the button's values and the
    draft; None once the press is answered (the draft gone or not this admin's)."""
    values = kind.parse(call.data)
    ann = announcements.draft_of(ctx.conn, values["ann_id"], member.id)
    if ann is None:
        _gone(deps, ctx, call, values["ann_id"], member)
        return None
    return values, ann


def _gone(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery, ann_id: int,
          member: Member) -> None:
    """An old or doubled press: where the announcement is now (if the admin may see it)."""
    found = announcements.get(ctx.conn, ann_id)
    if found is None or (found.status == "draft" and found.author_id != member.id):
        ui.stale(ctx, call)
    elif found.sent_at is None and found.status == "cancelled":
        ui.stale(ctx, call, screens.discarded(ctx.texts))
    elif found.status == "draft":
        ui.stale(ctx, call, screens.draft_state(
            ctx.texts, found, announcements.count(ctx.conn, found, deps.club.today(ctx.now()))))
    else:
        ui.stale(ctx, call, _progress(deps, ctx, ann_id))


def _progress(deps: Deps, ctx: UpdateContext, ann_id: int, *,
              refresh: bool = False) -> Screen | None:
    found = announcements.status(ctx.conn, ann_id, ctx.now(),
                                 announcements.pace(deps.settings))
    return screens.progress(ctx.texts, found, refresh=refresh) if found else None


def _confirm(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery,
             chosen: Announcement | None, ann_id: int, member: Member) -> None:
    if chosen is None:
        _gone(deps, ctx, call, ann_id, member)
        return
    recipients = announcements.count(ctx.conn, chosen, deps.club.today(ctx.now()))
    ui.show(ctx, screens.confirm(ctx.texts, chosen, recipients), call)


def _classes(deps: Deps, ctx: UpdateContext, call: types.CallbackQuery, ann: Announcement,
             day: date, *, stale: bool = False) -> None:
    first = deps.club.today(ctx.now())
    lowest = first - timedelta(days=CLASS_DAYS_BACK)
    highest = first + timedelta(days=CLASS_DAYS_AHEAD)
    if not lowest <= day <= highest:
        day, stale = first, True
    start, end = booking.day_bounds(day, deps.club.booking)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    screen = screens.classes(ctx.texts, ann, day,
                             announcements.classes_of_day(ctx.conn, start, end),
                             before if before >= lowest else None,
                             after if after <= highest else None)
    if stale:
        ui.stale(ctx, call, screen)
    else:
        ui.show(ctx, screen, call)


@admin_only("announce.audience")
def choose_audience(deps: Deps, ctx: UpdateContext, member: Member,
                    call: types.CallbackQuery) -> None:
    """Active or all: the count; class or expiring: which one first."""
    pressed = _own_draft(deps, ctx, member, call, ANN_AUDIENCE)
    if pressed is None:
        return
    values, ann = pressed
    audience = values["audience"]
    if audience == "class":
        _classes(deps, ctx, call, ann, deps.club.today(ctx.now()))
    elif audience == "expiring":
        ui.show(ctx, screens.expiring(ctx.texts, ann), call)
    else:
        _confirm(deps, ctx, call, announcements.choose_audience(ctx.conn, ann.id, member.id,
                                                                audience), ann.id, member)


@admin_only("announce.classes")
def class_day(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Another day of the class picker."""
    pressed = _own_draft(deps, ctx, member, call, ANN_CLASSES)
    if pressed is not None:
        values, ann = pressed
        _classes(deps, ctx, call, ann, values["day"])


@admin_only("announce.class")
def choose_class(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    """The members of this class; a class cancelled or gone shows today's classes again."""
    pressed = _own_draft(deps, ctx, member, call, ANN_CLASS)
    if pressed is None:
        return
    values, ann = pressed
    chosen = announcements.choose_audience(ctx.conn, ann.id, member.id, "class",
                                           class_id=values["class_id"])
    if chosen is None:
        _classes(deps, ctx, call, ann, deps.club.today(ctx.now()), stale=True)
        return
    _confirm(deps, ctx, call, chosen, ann.id, member)


@admin_only("announce.days")
def choose_days(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    """Memberships ending within this many days."""
    pressed = _own_draft(deps, ctx, member, call, ANN_DAYS)
    if pressed is not None:
        values, ann = pressed
        _confirm(deps, ctx, call, announcements.choose_audience(
            ctx.conn, ann.id, member.id, "expiring", days=int(values["days"])), ann.id, member)


@admin_only("announce.audience")
def change_audience(deps: Deps, ctx: UpdateContext, member: Member,
                    call: types.CallbackQuery) -> None:
    """Back to the choice of audience."""
    pressed = _own_draft(deps, ctx, member, call, ANN_BACK)
    if pressed is not None:
        _values, ann = pressed
        ui.show(ctx, screens.audiences(ctx.texts, ann), call)


@admin_only("announce.discard")
def discard(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Drop the draft."""
    ann_id = ANN_DISCARD.parse(call.data)["ann_id"]
    if announcements.discard(ctx.conn, ann_id, member.id):
        ui.show(ctx, screens.discarded(ctx.texts), call)
    else:
        _gone(deps, ctx, call, ann_id, member)


@admin_only("announce.send")
def send(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Send the draft: this message becomes its progress, edited by the progress job."""
    ann_id = ANN_SEND.parse(call.data)["ann_id"]
    outcome, ann = announcements.confirm(
        ctx.conn, ann_id, member.id, deps.club.today(ctx.now()), chat_id=ctx.chat_id,
        message_id=getattr(call.message, "message_id", None))
    if outcome is Confirmed.SENDING:
        ui.show(ctx, _progress(deps, ctx, ann_id), call, toast=ctx.texts("ann_sending"))
    elif outcome is Confirmed.NOBODY:
        ui.show(ctx, screens.confirm(ctx.texts, ann, 0), call,
                toast=ctx.texts("ann_nobody_toast"))
    else:
        _gone(deps, ctx, call, ann_id, member)


def _was_sent(ctx: UpdateContext, ann_id: int) -> bool:
    found = announcements.get(ctx.conn, ann_id)
    return found is not None and found.sent_at is not None


@admin_only("announce.stop")
def stop(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """Stop sending (any admin): what no sender has claimed yet is not sent."""
    ann_id = ANN_STOP.parse(call.data)["ann_id"]
    stopped = announcements.stop(ctx.conn, ann_id, member.id)
    if stopped is None:
        ui.stale(ctx, call, _progress(deps, ctx, ann_id) if _was_sent(ctx, ann_id) else None)
        return
    ui.show(ctx, _progress(deps, ctx, ann_id), call,
            toast=ctx.texts.plural("ann_stopped", stopped.taken_back))


@admin_only("announce.view")
def view(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    """An announcement's progress as it is now (any admin), with Refresh."""
    ann_id = ANN_VIEW.parse(call.data)["ann_id"]
    if not _was_sent(ctx, ann_id):
        ui.stale(ctx, call)
        return
    ui.leave_flow(ctx, FLOW)  # the compose prompt this may replace asked for a text
    ui.show(ctx, _progress(deps, ctx, ann_id, refresh=True), call)
