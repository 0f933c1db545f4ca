"""/staff: the staff home. Each section is handled by its feature's module."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.access import staff_only
from fitclub.callbacks import STAFF
from fitclub.db.members import Member
from fitclub.deps import Deps
from fitclub.routes import Routes
from fitclub.runtime.context import UpdateContext
from fitclub.screens import staff as screens


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register /staff and the sections' Back button."""
    routes = Routes(bot, deps)
    routes.command("staff", staff_home)
    routes.button(STAFF.matches(section="home"), staff_home)


@staff_only("staff.home")
def staff_home(deps: Deps, ctx: UpdateContext, member: Member,
               update: types.Message | types.CallbackQuery) -> None:
    ui.show(ctx, screens.home(ctx.texts, member), update)
