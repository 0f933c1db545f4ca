"""The modules that define production job kinds; the app imports them so their @register runs.

Add a feature's module here when it gains a `@register(...)` job (as `offers` does for
"offer_expiry"). Tests register their own kinds and never appear here.
"""

from __future__ import annotations

from types import ModuleType

from fitclub.jobs import announcements, freezes, noshow, offers, orders, reminders, retention

MODULES: tuple[ModuleType, ...] = (offers, reminders, noshow, announcements, freezes, retention,
                                   orders)
