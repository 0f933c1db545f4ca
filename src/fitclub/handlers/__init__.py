"""Handler modules, registered in order on the bot by the app factory."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import telebot

from fitclub.deps import Deps
from fitclub.handlers import (
    account,
    activity,
    announce,
    audit_log,
    bookings,
    card,
    chat_member,
    checkin,
    class_planner,
    class_types,
    classes,
    fallback,
    members,
    membership,
    menu,
    myclasses,
    payments,
    people,
    plan_requests,
    plans,
    registration,
    reports,
    settings,
    staff,
    timetable,
)

# pyTelegramBotAPI runs the first handler whose filters match, so order matters:
# - payments first: a successful_payment is recorded whatever flow the payer is in;
# - registration next: while a user is in the registration flow, its steps (and /cancel)
#   take every private message before any other command;
# - feature modules next, in any order among themselves;
# - the catch-all `fallback` always last.
MODULES: tuple[ModuleType, ...] = (
    payments,
    registration,
    chat_member,
    menu,
    membership,
    account,
    timetable,
    bookings,
    settings,
    card,
    activity,
    myclasses,
    people,
    checkin,
    reports,
    audit_log,
    announce,
    class_planner,
    classes,
    class_types,
    plans,
    members,
    plan_requests,
    staff,
    fallback,
)


def register_all(bot: telebot.TeleBot, deps: Deps,
                 modules: Sequence[ModuleType] = MODULES) -> None:
    """Register every module's handlers on bot, in order."""
    for module in modules:
        module.register(bot, deps)
