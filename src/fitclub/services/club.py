"""The club's rules in one place: its time zone and what its settings say about booking,
attendance and check-in.

Built once per Settings: handlers read it as `deps.club`, jobs as `club.of(ctx.settings)`,
tests as `club.of(None)` (the defaults, in UTC) or with the rules they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from fitclub.config import Settings
from fitclub.services import attendance, booking, checkin


@dataclass(frozen=True)
class Club:
    """The club's time zone and the rules its services apply."""

    timezone: ZoneInfo
    booking: booking.Rules
    attendance: attendance.Rules
    checkin: checkin.Rules

    def today(self, now: datetime) -> date:
        """The club's calendar day at the moment `now`."""
        return now.astimezone(self.timezone).date()


@lru_cache(maxsize=16)
def of(settings: Settings | None) -> Club:
    """The club as `settings` describe it (the defaults, in UTC, for None)."""
    if settings is None:
        utc = ZoneInfo("UTC")
        return Club(utc, booking.Rules(utc), attendance.Rules(utc), checkin.Rules(utc))
    tz = ZoneInfo(settings.club_timezone)
    return Club(
        timezone=tz,
        booking=booking.Rules(tz, settings.booking_closes_minutes, settings.cancel_window_hours,
                              settings.waitlist_offer_minutes),
        # The door check-in's window (CHECKIN_WINDOW_MINUTES) opens the attended mark too.
        attendance=attendance.Rules(tz, settings.checkin_window_minutes, attendance.MARK_HOURS,
                                    settings.no_show_grace_minutes),
        checkin=checkin.Rules(tz, settings.checkin_window_minutes,
                              settings.checkin_dedup_minutes, settings.card_secret or "",
                              settings.card_token_minutes),
    )
