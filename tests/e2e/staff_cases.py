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
    Case("mark attended", data=lambda w: cb.TRAINER_MARK(
        class_id=w["class_id"], booking_id=w["booking_id"], mark="a", page=0)),
    Case("mark no-show", data=lambda w: cb.TRAINER_MARK(
        class_id=w["class_id"], booking_id=w["booking_id"], mark="n", page=0)),
]

# -- roles (issue 11, item 1): admins only --
CASES += [
    Case("people command", command="/people", admin_only=True),
    Case("people section", data=lambda w: cb.STAFF(section="people"), admin_only=True),
    Case("person card", data=lambda w: cb.PEOPLE_PERSON(person_id=w["other_id"]),
         admin_only=True),
    Case("ask to change a role", data=lambda w: cb.PEOPLE_ROLE(person_id=w["other_id"],
                                                               role="admin"), admin_only=True),
    Case("change a role", data=lambda w: cb.PEOPLE_SET_ROLE(
        person_id=w["other_id"], was="member", role="admin"), admin_only=True),
    Case("demote an admin", data=lambda w: cb.PEOPLE_SET_ROLE(
        person_id=w["admin_id"], was="admin", role="member"), admin_only=True),
]

# -- check-in (issue 11, item 2): trainers and admins --
CASES += [
    Case("check-in command", command="/checkin"),
    Case("check-in section", data=lambda w: cb.STAFF(section="checkin")),
    Case("check-in: a found member", data=lambda w: cb.CHECKIN_PERSON(member_id=w["other_id"])),
    Case("check-in: confirm", data=lambda w: cb.CHECKIN_CONFIRM(member_id=w["other_id"])),
]

# -- reports and the audit log (issue 12, items 4 and 5): admins only --
CASES += [
    Case("report command", command="/report", admin_only=True),
    Case("report section", data=lambda w: cb.STAFF(section="report"), admin_only=True),
    Case("report chart", data=lambda w: cb.REPORT_CHART(), admin_only=True),
    Case("report memberships ending", data=lambda w: cb.REPORT_EXPIRING(), admin_only=True),
    *(Case(f"report CSV of {table}", data=lambda w, table=table: cb.REPORT_EXPORT(table=table),
           admin_only=True) for table in cb.EXPORTS),
    Case("audit command", command="/audit", admin_only=True),
    Case("audit section", data=lambda w: cb.STAFF(section="audit"), admin_only=True),
    Case("audit page", data=lambda w: cb.AUDIT_PAGE(page=1), admin_only=True),
    Case("audit of a member", data=lambda w: cb.AUDIT_MEMBER(member_id=w["other_id"], page=0),
         admin_only=True),
    Case("audit filter", data=lambda w: cb.AUDIT_FILTER(), admin_only=True),
]
