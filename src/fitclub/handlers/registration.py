"""/start: the registration flow for new users, the main menu for members; /cancel."""

from __future__ import annotations

import logging
import re
from functools import partial

import telebot
from telebot import types

from fitclub import commands, flows
from fitclub.callbacks import Id, parse
from fitclub.screens import account as account_screens
from fitclub.screens import checkin as checkin_screens
from fitclub.screens import menu as menu_screens
from fitclub.screens import timetable as schedule_screens
from fitclub.services import card, checkin, club, registration, timetable

log = logging.getLogger(__name__)

FLOW = "reg"
ASK_NAME = "reg.name"
ASK_PHONE = "reg.phone"
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# "/start c_<id>": a class shared from its details (screens.schedule.share_link).
_CLASS_PAYLOAD = Id()
OTHER_CONTENT = ["audio", "photo", "voice", "video", "document", "location", "sticker",
                 "video_note", "animation", "venue", "dice", "poll"]


def start_payload(text: str | None) -> str | None:
    """The deep-link payload of '/start <payload>' (Telegram allows 1-64 of A-Z a-z 0-9 _ -)."""
    parts = (text or "").split(maxsplit=1)
    if len(parts) == 2 and _PAYLOAD.match(parts[1].strip()):
        return parts[1].strip()
    return None


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /start, /cancel and the registration steps."""
    in_registration = flows.in_flow(deps.context, FLOW)
    private = {"chat_types": ["private"]}
    bot.register_message_handler(partial(cancel, deps), commands=["cancel"], **private)
    bot.register_message_handler(partial(start, deps), commands=["start"], **private)
    bot.register_message_handler(partial(step_text, deps), func=in_registration,
                                 content_types=["text"], **private)
    bot.register_message_handler(partial(step_contact, deps), func=in_registration,
                                 content_types=["contact"], **private)
    bot.register_message_handler(partial(step_other, deps), func=in_registration,
                                 content_types=OTHER_CONTENT, **private)
    bot.register_callback_query_handler(
        partial(button_during_flow, deps),
        func=lambda call: parse(call.data) is not None and in_registration(call))


def cancel(deps, message: types.Message) -> None:
    """/cancel: leave any flow; the reply keyboard goes away."""
    ctx = deps.context()
    member = ctx.member
    if not flows.leave(ctx):
        ctx.reply(ctx.texts("nothing_to_cancel"), reply_markup=types.ReplyKeyboardRemove())
        return
    registered = member is not None and member.registered_at is not None
    ctx.reply(ctx.texts("cancelled_registered" if registered else "cancelled"),
              reply_markup=types.ReplyKeyboardRemove())


def start(deps, message: types.Message) -> None:
    """/start [payload]: the main menu for a member, the first registration step otherwise."""
    ctx = deps.context()
    member = ctx.member
    payload = start_payload(message.text)
    if member is not None and member.registered_at is not None:
        flows.leave(ctx)
        open_payload(ctx, payload, deps)
        return
    user = message.from_user
    telegram_name = " ".join(filter(None, [user.first_name, user.last_name]))
    flows.enter(ctx, ASK_NAME, {"payload": payload})
    screen = account_screens.ask_name(ctx.texts, registration.check_name(telegram_name).name)
    ctx.reply(screen.text, reply_markup=screen.markup)


def open_payload(ctx, payload: str | None, deps) -> None:
    """Land a member where a deep link points; unknown payloads get the main menu."""
    if payload and payload.startswith(card.PREFIX):
        # A membership card scanned at the door: staff check its member in; anyone else is
        # told the link is for staff (the service logs and audits that refusal). The member
        # checked in is told by the service's notice.
        result = checkin.scan(ctx.conn, ctx.member, payload, ctx.now(),
                              club.of(deps.settings).checkin)
        screen = checkin_screens.answer(ctx.texts, result)
        ctx.reply(screen.text, reply_markup=screen.markup)
        return
    class_id = _CLASS_PAYLOAD.parse(payload[2:]) if payload and payload.startswith("c_") else None
    if class_id is not None:
        found = timetable.details(ctx.conn, ctx.member.id, class_id, ctx.now(),
                                 club.of(deps.settings).booking)
        if found is not None:
            screen = schedule_screens.details(
                ctx.texts, found, schedule_screens.share_link(deps.bot_username(), class_id), "s")
            ctx.reply(screen.text, reply_markup=screen.markup)
            return
    screen = menu_screens.home(ctx.texts, ctx.member)
    ctx.reply(screen.text, reply_markup=screen.markup)
    if payload:
        log.debug("start payload %r has no destination", payload)


def step_text(deps, message: types.Message) -> None:
    """Text during registration: the name, or a typed phone (refused)."""
    ctx = deps.context()
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
    ctx.reply(screen.text, reply_markup=screen.markup)


def step_contact(deps, message: types.Message) -> None:
    """A shared contact: accepted only when it is the user's own."""
    ctx = deps.context()
    flow = flows.current(ctx)
    if flow.state != ASK_PHONE:
        ctx.reply(ctx.texts("reg_name_not_text"))
        return
    name = flow.data.get("name", "")
    contact = message.contact
    if contact.user_id != message.from_user.id:
        screen = account_screens.ask_phone(ctx.texts, name, key="reg_phone_not_own")
        ctx.reply(screen.text, reply_markup=screen.markup)
        return
    phone = registration.normalize_phone(contact.phone_number)
    if phone is None:
        ctx.reply(ctx.texts("reg_phone_invalid"))
        return
    registration.complete(ctx.conn, telegram_id=message.from_user.id, name=name, phone=phone,
                          username=message.from_user.username, language=ctx.lang,
                          admin_ids=deps.settings.admin_telegram_ids)
    flows.leave(ctx)
    ctx.forget_member()
    done = account_screens.done(ctx.texts, name)
    ctx.reply(done.text, reply_markup=done.markup)
    commands.set_for_member(ctx, ctx.member)
    open_payload(ctx, flow.data.get("payload"), deps)


def step_other(deps, message: types.Message) -> None:
    """Stickers, photos and the like during registration: say what is expected."""
    ctx = deps.context()
    flow = flows.current(ctx)
    if flow.state == ASK_PHONE:
        screen = account_screens.ask_phone(ctx.texts, flow.data.get("name", ""),
                                           key="reg_phone_typed")
        ctx.reply(screen.text, reply_markup=screen.markup)
    else:
        ctx.reply(ctx.texts("reg_name_not_text"))


def button_during_flow(deps, call: types.CallbackQuery) -> None:
    """An old menu button pressed mid-registration."""
    ctx = deps.context()
    ctx.answer_callback(call.id, ctx.texts("reg_finish_first"))
