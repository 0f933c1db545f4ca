"""/language and /privacy (what the bot stores, "download my data" and "delete my data")."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import commands, ui
from fitclub.access import anyone, member_only
from fitclub.callbacks import LANGUAGE, PRIVACY, PRIVACY_COPY
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import Screen
from fitclub.screens import account as screens
from fitclub.screens import menu as menu_screens
from fitclub.services import personal_data, privacy


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /language, /privacy and their buttons."""
    routes = Routes(bot, deps)
    routes.command("language", choose_language)
    routes.button(LANGUAGE, set_language)
    routes.command("privacy", show_privacy)
    routes.button(PRIVACY, privacy_step)
    routes.button(PRIVACY_COPY, send_copy)


@anyone
def choose_language(deps: Deps, ctx: UpdateContext, member: Member | None,
                    message: types.Message) -> None:
    ui.show(ctx, screens.language(ctx.texts))


@member_only
def set_language(deps: Deps, ctx: UpdateContext, member: Member,
                 call: types.CallbackQuery) -> None:
    """Before registration the choice follows Telegram's language: the refusal says how to
    start."""
    ui.change_language(ctx, member, LANGUAGE.parse(call.data)["lang"])
    ui.show(ctx, menu_screens.home(ctx.texts, ctx.member), call,
            toast=ctx.texts("language_set"))


@member_only
def show_privacy(deps: Deps, ctx: UpdateContext, member: Member,
                 message: types.Message) -> None:
    ui.show(ctx, screens.privacy(ctx.texts, member, deps.settings.retention_days))


@anyone
def privacy_step(deps: Deps, ctx: UpdateContext, member: Member | None,
                 call: types.CallbackQuery) -> None:
    """Ask, keep, or erase. A press after the data is gone (no member) is a stale button."""
    if member is None:
        ui.stale(ctx, call)
        return
    step = PRIVACY.parse(call.data)["step"]
    if step == "ask":
        ui.show(ctx, screens.privacy_confirm(ctx.texts), call)
    elif step == "no":
        ui.show(ctx, screens.privacy(ctx.texts, member, deps.settings.retention_days), call)
    else:
        tx = ctx.texts  # keep the language: the member row is about to lose it
        # Places the erasure frees are offered to the next in line (told by the service).
        privacy.erase_member(ctx.conn, member.id, member.telegram_id, ctx.now(),
                             deps.club.booking, update_id=ctx.update_id)
        ctx.forget_member()
        # The member's own "/" menu goes first: the newcomers' list shows with the answer.
        commands.set_for_member(ctx, None)
        ui.show(ctx, Screen(tx("privacy_deleted")), call)
        # The confirmation is the last thing sent to her chat: once it (and the list's
        # removal) is delivered, the chat's own traces go too.
        privacy.forget_chat_when_done(ctx.conn, member.telegram_id)


@anyone
def send_copy(deps: Deps, ctx: UpdateContext, member: Member | None,
              call: types.CallbackQuery) -> None:
    """Download my data: one JSON file of everything the club holds about the member, sent
    below the privacy screen, which says so (or, within the cooldown, when the next copy may
    go, and sends nothing). A press after the data is gone, or from the screen of an earlier
    registration, is a stale button."""
    if member is None or PRIVACY_COPY.parse(call.data)["member_id"] != member.id:
        ui.stale(ctx, call)
        return
    tx = ctx.texts
    wait = personal_data.cooldown(ctx.conn, member.id)
    if wait is not None:
        ui.show(ctx, screens.privacy(tx, member, deps.settings.retention_days,
                                     screens.copy_wait(tx, *wait)), call)
        return
    copy = personal_data.make_copy(ctx.conn, member.id, ctx.now(), deps.club.timezone,
                                   tx.lang)
    if copy is None:
        ui.stale(ctx, call)
        return
    ui.show(ctx, screens.privacy(tx, member, deps.settings.retention_days,
                                 screens.copy_sent(tx)), call)
    ctx.send_document(copy.data, filename=copy.filename,
                      caption=screens.copy_caption(tx, copy.generated_at))
