"""/start: the registration flow for new users, the main menu for members (or where a deep
link points); /cancel."""

from __future__ import annotations

import html
import logging
import re

import telebot
from telebot import types

from fitclub import commands, flows, ui
from fitclub.access import anyone
from fitclub.callbacks import Id, parse
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import account as account_screens
from fitclub.screens import checkin as checkin_screens
from fitclub.screens import menu as menu_screens
from fitclub.screens import timetable as timetable_screens
from fitclub.services import card, checkin, registration, timetable

log = logging.getLogger(__name__)

FLOW = "reg"
ASK_NAME = "reg.name"
ASK_PHONE = "reg.phone"
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# "/start c_<id>": a class shared from its details (screens.timetable.share_link).
_CLASS_PAYLOAD = Id()
OTHER_CONTENT = ["audio", "photo", "voice", "video", "document", "location", "sticker",
                 "video_note", "animation", "venue", "dice", "poll"]


def start_payload(text: str | None) -> str | None:
    """The deep-link payload of '/start <payload>' (Telegram allows 1-64 of A-Z a-z 0-9 _ -)."""
    parts = (text or "").split(maxsplit=1)
    if len(parts) == 2 and _PAYLOAD.match(parts[1].strip()):
        return parts[1].strip()
    return None


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /cancel, /start and the registration steps."""
    routes = Routes(bot, deps)
    in_registration = flows.in_flow(deps.context, FLOW)
    # This module is registered first and pyTelegramBotAPI runs the first match: /cancel and
    # /start come before the steps (they work mid-registration), and the steps take every
    # other private message and button of a user who is registering, before any other module.
    routes.command("cancel", cancel)
    routes.command("start", start)
    routes.message(step_text, when=in_registration)
    routes.message(step_contact, when=in_registration, content_types=["contact"])
    routes.message(step_other, when=in_registration, content_types=OTHER_CONTENT)
    routes.button(lambda call: parse(call.data) is not None and in_registration(call),
                  button_during_flow)


@anyone
def cancel(deps: Deps, ctx: UpdateContext, member: Member | None,
           message: types.Message) -> None:
    """/cancel: leave any flow; the reply keyboard goes away."""
    if not flows.leave(ctx):
        ctx.reply(ctx.texts("nothing_to_cancel"), reply_markup=types.ReplyKeyboardRemove())
        return
    ctx.reply(ctx.texts("cancelled_registered" if member is not None else "cancelled"),
              reply_markup=types.ReplyKeyboardRemove())


@anyone
def start(deps: Deps, ctx: UpdateContext, member: Member | None,
          message: types.Message) -> None:
    """/start [payload]: the main menu for a member, the first registration step otherwise."""
    payload = start_payload(message.text)
    if member is not None:
        flows.leave(ctx)
        commands.refresh(ctx, member)
        open_payload(deps, ctx, member, payload)
        return
    user = message.from_user
    telegram_name = " ".join(filter(None, [user.first_name, user.last_name]))
    flows.enter(ctx, ASK_NAME, {"payload": payload})
    ui.show(ctx, account_screens.ask_name(ctx.texts,
                                          registration.check_name(telegram_name).name))


def open_payload(deps: Deps, ctx: UpdateContext, member: Member, payload: str | None) -> None:
    """Land a member where a deep link points; a link that leads nowhere (a class that does
    not exist, was cancelled or is over; a payload of no kind the bot makes) says so in one
    line above the main menu."""
    if payload and payload.startswith(card.PREFIX):
        # A membership card scanned at the door: staff check its member in; anyone else is
        # told the link is for staff (the service logs and audits that refusal). The member
        # checked in is told by the service's notice.
        result = checkin.scan(ctx.conn, member, payload, ctx.now(), deps.club.checkin)
        ui.show(ctx, checkin_screens.answer(ctx.texts, result))
        return
    note = None
    if payload and payload.startswith(timetable.LINK_PREFIX):
        class_id = _CLASS_PAYLOAD.parse(payload[len(timetable.LINK_PREFIX):])
        found = timetable.linked(ctx.conn, member.id, class_id, ctx.now(), deps.club.booking)
        if found.details is not None:
            ui.show(ctx, timetable_screens.details(
                ctx.texts, found.details,
                timetable_screens.share_link(deps.bot_username(), class_id), "s"))
            return
        note = timetable_screens.link_gone(ctx.texts, found)
    elif payload:
        log.debug("a start payload of %s characters has no destination", len(payload))
        note = ctx.texts("link_unknown")
    ui.show(ctx, menu_screens.home(ctx.texts, member, note=note))


@anyone
def step_text(deps: Deps, ctx: UpdateContext, member: Member | None,
              message: types.Message) -> None:
    """Text during registration: the name, or a typed phone (refused)."""
    flow = flows.current(ctx)
    if (message.text or "").startswith("/"):
        ctx.reply(ctx.texts("reg_finish_first"))
        return
    if flow.state == ASK_NAME:
        checked = registration.check_name(message.text)
        if checked.name is None:
            ctx.reply(ctx.texts(checked.problem, length=checked.length))
            return
        flows.enter(ctx, ASK_PHONE, {**flow.data, "name": checked.name})
        screen = account_screens.ask_phone(ctx.texts, checked.name)
    else:
        # Only the number Telegram shares for the user counts; a typed one is refused.
        screen = account_screens.ask_phone(ctx.texts, flow.data.get("name", ""),
                                           key="reg_phone_typed")
    ui.show(ctx, screen)


@anyone
def step_contact(deps: Deps, ctx: UpdateContext, member: Member | None,
                 message: types.Message) -> None:
    """A shared contact: accepted only when it is the user's own."""
    flow = flows.current(ctx)
    if flow.state != ASK_PHONE:
        ctx.reply(ctx.texts("reg_name_not_text"))
        return
    name = flow.data.get("name", "")
    contact = message.contact
    if contact.user_id != message.from_user.id:
        ui.show(ctx, account_screens.ask_phone(ctx.texts, name, key="reg_phone_not_own"))
        return
    phone = registration.normalize_phone(contact.phone_number)
    if phone is None:
        ctx.reply(ctx.texts("reg_phone_invalid"))
        return
    registration.complete(ctx.conn, telegram_id=message.from_user.id, name=name, phone=phone,
                          username=message.from_user.username, language=ctx.lang,
                          admin_ids=deps.settings.admin_telegram_ids,
                          notice=html.unescape(ctx.texts("reg_privacy_notice")))
    flows.leave(ctx)
    ctx.forget_member()
    ui.show(ctx, account_screens.done(ctx.texts, name))
    commands.set_for_member(ctx, ctx.member)
    open_payload(deps, ctx, ctx.member, flow.data.get("payload"))


@anyone
def step_other(deps: Deps, ctx: UpdateContext, member: Member | None,
               message: types.Message) -> None:
    """Stickers, photos and the like during registration: say what is expected."""
    flow = flows.current(ctx)
    if flow.state == ASK_PHONE:
        ui.show(ctx, account_screens.ask_phone(ctx.texts, flow.data.get("name", ""),
                                               key="reg_phone_typed"))
    else:
        ctx.reply(ctx.texts("reg_name_not_text"))


@anyone
def button_during_flow(deps: Deps, ctx: UpdateContext, member: Member | None,
                       call: types.CallbackQuery) -> None:
    """A button of an earlier message pressed mid-registration."""
    ctx.answer_callback(call.id, ctx.texts("reg_finish_first"))
