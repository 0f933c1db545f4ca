"""What every handler module is given when it registers: the settings, the club's rules, the
current update's context, the bot's username and the read replica (if any)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from fitclub.config import Settings
from fitclub.db.replica import Replica
from fitclub.runtime.context import UpdateContext, current
from fitclub.services import club
from fitclub.services.club import Club


@dataclass(frozen=True)
class Deps:
    """Handed to each module's `register(bot, deps)` by the app factory."""

    settings: Settings
    context: Callable[[], UpdateContext] = current
    bot_username: Callable[[], str] = field(default=lambda: "")
    #: Where reports, exports and the audit log read (`fitclub.db.replica`); None: the primary.
    replica: Replica | None = None

    @cached_property
    def club(self) -> Club:
        """The club's time zone and the rules of booking, attendance and check-in."""
        return club.of(self.settings)
