"""/members (admins): find a member, open their card, change their membership.

One feature in several modules that share `common`: `search` (the search, the card, notes),
`membership` (grant, extend, cancel, adjust visits), `freezes` (freeze, unfreeze) and
`payments` (a member's payments, Mark refunded). Typed
steps belong to the flow "mbr" (services.admin_input); each has its own route, so the order
of the three does not matter.
"""

from __future__ import annotations

import telebot

from fitclub.deps import Deps
from fitclub.handlers.members import freezes, membership, payments, search


def register(bot: telebot.TeleBot, deps: Deps) -> None:
    """Register the search and card, membership changes, freezes and payments."""
    search.register(bot, deps)
    membership.register(bot, deps)
    freezes.register(bot, deps)
    payments.register(bot, deps)
