"""The main menu (edited in place as the member moves between screens) and /help (its staff
part behind a button, edited in place).

Each feature answers its own menu button (`MENU.matches(screen=...)` in its module); this
module has the menu itself and help.
"""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import anyone, member_only
from fitclub.callbacks import HELP_STAFF, MENU
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import menu as screens


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /help and the menu's Home and Help buttons, and help's staff part."""
    routes = Routes(bot, deps)
    routes.command("help", help_command)
    routes.button(MENU.matches(screen="home"), home)
    routes.button(MENU.matches(screen="help"), help_button)
    routes.button(HELP_STAFF, staff_help)


@anyone
def help_command(deps: Deps, ctx: UpdateContext, member: Member | None,
                 message: types.Message) -> None:
    ui.show(ctx, screens.help_screen(ctx.texts, member))


@member_only
def home(deps: Deps, ctx: UpdateContext, member: Member, call: types.CallbackQuery) -> None:
    ui.show(ctx, screens.home(ctx.texts, member), call)


@member_only
def help_button(deps: Deps, ctx: UpdateContext, member: Member,
                call: types.CallbackQuery) -> None:
    ui.show(ctx, screens.help_screen(ctx.texts, member), call)


@member_only
def staff_help(deps: Deps, ctx: UpdateContext, member: Member,
               call: types.CallbackQuery) -> None:
    """Help's staff part in place; from someone no longer staff (an old button), help as it
    is for them now, saying the button is no longer available."""
    if not member.is_staff:
        ui.stale(ctx, call, refresh=screens.help_screen(ctx.texts, member))
        return
    ui.show(ctx, screens.staff_help_screen(ctx.texts, member), call)
