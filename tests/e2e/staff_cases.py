"""Every privileged action, for the one safety test (tests/e2e/test_staff_safety.py).

Each feature that adds a staff command or a staff button adds its cases here: the command a
member might type, and the callback data of each staff button, built with the real callback
codec from the ids of the seeded world (see `seed_world` in the test). `admin_only` says
whether trainers are refused too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fitclub import callbacks as cb


@dataclass(frozen=True)
class Case:
    """One privileged action: a command, or a button's data from the world's ids."""

    name: str
    command: str | None = None
    data: Callable[[dict[str, int]], str] | None = None
    admin_only: bool = False


CASES: list[Case] = [
    Case("staff home command", command="/staff"),
    Case("staff home button", data=lambda w: cb.STAFF(section="home")),
]

# -- trainers' classes and attendance (issue 11, item 3): trainers and admins --
CASES += [
    Case("my classes command", command="/myclasses"),
    Case("my classes section", data=lambda w: cb.STAFF(section="myclasses")),
    Case("my classes page", data=lambda w: cb.TRAINER_CLASSES(page=0)),
    Case("class roster", data=lambda w: cb.TRAINER_ROSTER(class_id=w["class_id"], page=0)),
    Case("mark attended", data=lambda w: cb.TRAINER_MARK(booking_id=w["booking_id"], mark="a",
                                                         page=0)),
    Case("mark no-show", data=lambda w: cb.TRAINER_MARK(booking_id=w["booking_id"], mark="n",
                                                        page=0)),
]
