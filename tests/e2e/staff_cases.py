"""Every privileged action, for the one safety test (tests/e2e/test_staff_safety.py).

Each feature that adds a staff command or a staff button adds its cases here: the command a
member might type, and the callback data of each staff button, built with the real callback
codec from the ids of the seeded world (see `seed_world` in the test). `admin_only` says
whether trainers are refused too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

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

# -- trainers' classes and attendance: trainers and admins --
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

# -- roles: admins only --
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

# -- check-in: trainers and admins --
CASES += [
    Case("check-in command", command="/checkin"),
    Case("check-in section", data=lambda w: cb.STAFF(section="checkin")),
    Case("check-in: a found member", data=lambda w: cb.CHECKIN_PERSON(member_id=w["other_id"])),
    Case("check-in: confirm", data=lambda w: cb.CHECKIN_CONFIRM(member_id=w["other_id"])),
]

# -- reports and the audit log: admins only --
CASES += [
    Case("report command", command="/report", admin_only=True),
    Case("report section", data=lambda w: cb.STAFF(section="report"), admin_only=True),
    Case("report chart", data=lambda w: cb.REPORT_CHART(), admin_only=True),
    Case("report memberships ending", data=lambda w: cb.REPORT_EXPIRING(), admin_only=True),
    Case("report payments", data=lambda w: cb.REPORT_PAYMENTS(), admin_only=True),
    *(Case(f"report {fmt.upper()} of {table}",
           data=lambda w, table=table, fmt=fmt: cb.REPORT_EXPORT(table=table, fmt=fmt),
           admin_only=True) for table in cb.EXPORTS for fmt in cb.EXPORT_FORMATS),
    Case("audit command", command="/audit", admin_only=True),
    Case("audit section", data=lambda w: cb.STAFF(section="audit"), admin_only=True),
    Case("audit page", data=lambda w: cb.AUDIT_PAGE(page=1), admin_only=True),
    Case("audit of a member", data=lambda w: cb.AUDIT_MEMBER(member_id=w["other_id"], page=0),
         admin_only=True),
    Case("audit filter", data=lambda w: cb.AUDIT_FILTER(), admin_only=True),
]

# -- announcements: admins only --
CASES += [
    Case("announce command", command="/announce", admin_only=True),
    Case("announce section", data=lambda w: cb.STAFF(section="announce"), admin_only=True),
    Case("announce: back to staff", data=lambda w: cb.ANN_HOME(), admin_only=True),
    *(Case(f"announce: audience {name}", data=lambda w, name=name: cb.ANN_AUDIENCE(
        ann_id=w["announcement_id"], audience=name), admin_only=True)
      for name in cb.ANN_AUDIENCES),
    Case("announce: classes of a day", data=lambda w: cb.ANN_CLASSES(
        ann_id=w["announcement_id"], day=date.today()), admin_only=True),
    Case("announce: one class", data=lambda w: cb.ANN_CLASS(
        ann_id=w["announcement_id"], class_id=w["class_id"]), admin_only=True),
    Case("announce: ending within days", data=lambda w: cb.ANN_DAYS(
        ann_id=w["announcement_id"], days="7"), admin_only=True),
    Case("announce: change audience", data=lambda w: cb.ANN_BACK(ann_id=w["announcement_id"]),
         admin_only=True),
    Case("announce: send", data=lambda w: cb.ANN_SEND(ann_id=w["announcement_id"]),
         admin_only=True),
    Case("announce: discard", data=lambda w: cb.ANN_DISCARD(ann_id=w["announcement_id"]),
         admin_only=True),
    Case("announce: stop", data=lambda w: cb.ANN_STOP(ann_id=w["announcement_id"]),
         admin_only=True),
    Case("announce: progress", data=lambda w: cb.ANN_VIEW(ann_id=w["announcement_id"]),
         admin_only=True),
]

# -- plans, memberships and plan requests: admins only --
CASES += [
    Case("plans command", command="/plans", admin_only=True),
    Case("members command", command="/members", admin_only=True),
    *(Case(f"{name} section", data=lambda w, name=name: cb.STAFF(section=name),
           admin_only=True) for name in ("plans", "members", "requests")),
    Case("plan details", data=lambda w: cb.PLAN_VIEW(plan_id=w["plan_id"]), admin_only=True),
    Case("member's payments", data=lambda w: cb.MEMBER_PAYMENTS(member_id=w["other_id"]),
         admin_only=True),
    *(Case(f"mark refunded: {step}", data=lambda w, step=step: cb.PAYMENT_REFUND(
        payment_id=w["payment_id"], step=step), admin_only=True) for step in ("ask", "yes")),
    Case("plan: new", data=lambda w: cb.PLAN_NEW(), admin_only=True),
    *(Case(f"plan: edit {field}", data=lambda w, field=field: cb.PLAN_EDIT(
        plan_id=w["plan_id"], field=field), admin_only=True) for field in cb.PLAN_FIELDS),
    Case("plan: unlimited visits", data=lambda w: cb.PLAN_UNLIMITED(), admin_only=True),
    Case("plan: create", data=lambda w: cb.PLAN_CONFIRM(answer="yes"), admin_only=True),
    Case("plan: archive", data=lambda w: cb.PLAN_SALE(plan_id=w["plan_id"], on="n"),
         admin_only=True),
    Case("plan: put on sale", data=lambda w: cb.PLAN_SALE(plan_id=w["plan_id"], on="y"),
         admin_only=True),
    Case("plan: delete", data=lambda w: cb.PLAN_DELETE(plan_id=w["plan_id"], step="yes"),
         admin_only=True),
    Case("plan: leave the step", data=lambda w: cb.PLAN_FLOW_CANCEL(), admin_only=True),
    Case("plan: name in the other language", data=lambda w: cb.PLAN_TRANSLATE(
        plan_id=w["plan_id"]), admin_only=True),
    Case("plan: skip or remove that name", data=lambda w: cb.PLAN_SKIP(), admin_only=True),
    Case("member card", data=lambda w: cb.MEMBER_CARD(member_id=w["other_id"]),
         admin_only=True),
    Case("member: find", data=lambda w: cb.MEMBER_FIND(), admin_only=True),
    Case("member: leave the step", data=lambda w: cb.MEMBER_FLOW_CANCEL(
        member_id=w["other_id"]), admin_only=True),
    Case("grant: plans", data=lambda w: cb.GRANT(member_id=w["member_id"]), admin_only=True),
    Case("grant: a plan", data=lambda w: cb.GRANT_PLAN(member_id=w["member_id"],
                                                       plan_id=w["plan_id"]), admin_only=True),
    Case("grant: another date", data=lambda w: cb.GRANT_DATE(
        member_id=w["member_id"], plan_id=w["plan_id"]), admin_only=True),
    Case("grant: from a day", data=lambda w: cb.GRANT_DAY(
        member_id=w["member_id"], plan_id=w["plan_id"], day=date.today()), admin_only=True),
    Case("grant: confirm", data=lambda w: cb.GRANT_OK(
        member_id=w["member_id"], plan_id=w["plan_id"], day=date.today()), admin_only=True),
    Case("extend: plans", data=lambda w: cb.EXTEND(membership_id=w["membership_id"]),
         admin_only=True),
    Case("extend: a plan", data=lambda w: cb.EXTEND_PLAN(
        membership_id=w["membership_id"], plan_id=w["plan_id"]), admin_only=True),
    Case("extend: confirm", data=lambda w: cb.EXTEND_OK(
        membership_id=w["membership_id"], plan_id=w["plan_id"],
        end=date.fromordinal(date.today().toordinal() + 29)), admin_only=True),
    Case("freeze: days", data=lambda w: cb.FREEZE(membership_id=w["membership_id"]),
         admin_only=True),
    Case("freeze: for days", data=lambda w: cb.FREEZE_DAYS(
        membership_id=w["membership_id"], days=3), admin_only=True),
    Case("freeze: another date", data=lambda w: cb.FREEZE_DATE(
        membership_id=w["membership_id"], days=3), admin_only=True),
    Case("freeze: from a day", data=lambda w: cb.FREEZE_DAY(
        membership_id=w["membership_id"], days=3, day=date.today()), admin_only=True),
    Case("freeze: confirm", data=lambda w: cb.FREEZE_OK(
        membership_id=w["membership_id"], days=3, day=date.today()), admin_only=True),
    *(Case(f"unfreeze: {step}", data=lambda w, step=step: cb.UNFREEZE(
        membership_id=w["membership_id"], step=step), admin_only=True)
      for step in ("ask", "yes")),
    *(Case(f"cancel membership: {step}", data=lambda w, step=step: cb.MEMBERSHIP_CANCEL(
        membership_id=w["membership_id"], step=step), admin_only=True)
      for step in ("ask", "yes")),
    Case("adjust visits", data=lambda w: cb.ADJUST(membership_id=w["membership_id"]),
         admin_only=True),
    Case("add a note", data=lambda w: cb.NOTE(member_id=w["other_id"]), admin_only=True),
    *(Case(f"request: {act}", data=lambda w, act=act: cb.REQUEST(
        request_id=w["request_id"], act=act), admin_only=True) for act in ("grant", "dismiss")),
]

# -- classes and class types: admins only --
CASES += [
    Case("classes command", command="/classes", admin_only=True),
    *(Case(f"{name} section", data=lambda w, name=name: cb.STAFF(section=name),
           admin_only=True) for name in ("classes", "types")),
    Case("class type card", data=lambda w: cb.TYPE_OPEN(type_id=w["type_id"]), admin_only=True),
    Case("class type: new", data=lambda w: cb.TYPE_NEW(), admin_only=True),
    Case("class type: edit", data=lambda w: cb.TYPE_EDIT(type_id=w["type_id"], field="cap"),
         admin_only=True),
    Case("class type: a value", data=lambda w: cb.TYPE_VALUE(step="dur", value=60),
         admin_only=True),
    Case("class type: save", data=lambda w: cb.TYPE_FLOW(answer="save"), admin_only=True),
    *(Case(f"class type: {field} in the other language", data=lambda w, field=field:
           cb.TYPE_TRANSLATE(type_id=w["type_id"], field=field), admin_only=True)
      for field in ("name", "desc")),
    Case("class type: skip or remove a translation", data=lambda w: cb.TYPE_SKIP(
        step="name_tr"), admin_only=True),
    Case("class type: delete", data=lambda w: cb.TYPE_DELETE(type_id=w["type_id"],
                                                             step="yes"), admin_only=True),
    Case("classes: a day", data=lambda w: cb.ADMIN_DAY(day=date.today()), admin_only=True),
    Case("classes: a class", data=lambda w: cb.ADMIN_CLASS(class_id=w["class_id"]),
         admin_only=True),
    Case("class: capacity", data=lambda w: cb.CLASS_CAPACITY(class_id=w["class_id"]),
         admin_only=True),
    Case("class: set capacity", data=lambda w: cb.CLASS_SET_CAPACITY(
        class_id=w["class_id"], capacity=12), admin_only=True),
    Case("class: move", data=lambda w: cb.CLASS_MOVE(class_id=w["class_id"]), admin_only=True),
    Case("class: move to a day", data=lambda w: cb.CLASS_MOVE_DAY(
        class_id=w["class_id"], day=date.fromordinal(date.today().toordinal() + 2)),
        admin_only=True),
    Case("class: move to a time", data=lambda w: cb.CLASS_MOVE_AT(
        class_id=w["class_id"], day=date.fromordinal(date.today().toordinal() + 2),
        minute=600), admin_only=True),
    Case("class: move, confirmed", data=lambda w: cb.CLASS_MOVE_OK(
        class_id=w["class_id"], day=date.fromordinal(date.today().toordinal() + 2),
        minute=600), admin_only=True),
    Case("class: cancel", data=lambda w: cb.CLASS_CANCEL(class_id=w["class_id"]),
         admin_only=True),
    Case("class: cancel, confirmed", data=lambda w: cb.CLASS_CANCEL_OK(class_id=w["class_id"]),
         admin_only=True),
    Case("schedule a class", data=lambda w: cb.NEW_CLASS(), admin_only=True),
    Case("schedule: type", data=lambda w: cb.NEW_CLASS_TYPE(type_id=w["type_id"]),
         admin_only=True),
    Case("schedule: trainer", data=lambda w: cb.NEW_CLASS_TRAINER(member_id=w["trainer_id"]),
         admin_only=True),
    Case("schedule: date", data=lambda w: cb.NEW_CLASS_DAY(day=date.today()), admin_only=True),
    Case("schedule: weekly", data=lambda w: cb.NEW_CLASS_REPEAT(mode="weekly"),
         admin_only=True),
    Case("schedule: weekday", data=lambda w: cb.NEW_CLASS_WEEKDAY(weekday=2), admin_only=True),
    Case("schedule: weeks", data=lambda w: cb.NEW_CLASS_WEEKS(weeks=8), admin_only=True),
    Case("schedule: a value", data=lambda w: cb.NEW_CLASS_VALUE(step="cap", value=10),
         admin_only=True),
    Case("schedule: room", data=lambda w: cb.NEW_CLASS_ROOM(pick=0), admin_only=True),
    Case("schedule: confirm", data=lambda w: cb.NEW_CLASS_FLOW(answer="ok"), admin_only=True),
    Case("schedule: change", data=lambda w: cb.NEW_CLASS_CHANGE(field="time"),
         admin_only=True),
]
