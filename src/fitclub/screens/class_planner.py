"""The class planner (admins): each step of the guided flow that creates a class or a weekly
series, the confirmation, the result.

Every step shows what has been chosen so far above its question, so the admin always sees
the class taking shape.
"""

from __future__ import annotations

from datetime import date, datetime

from fitclub.callbacks import (
    ADMIN_CLASS,
    ADMIN_DAY,
    NEW_CLASS_CHANGE,
    NEW_CLASS_DAY,
    NEW_CLASS_FLOW,
    NEW_CLASS_REPEAT,
    NEW_CLASS_ROOM,
    NEW_CLASS_TRAINER,
    NEW_CLASS_TYPE,
    NEW_CLASS_VALUE,
    NEW_CLASS_WEEKDAY,
    NEW_CLASS_WEEKS,
    STAFF,
)
from fitclub.locales import Raw, Texts, esc
from fitclub.screens import Screen, inline
from fitclub.screens.classes import overlap_lines
from fitclub.screens.staff import back_row
from fitclub.services.class_planner import MAX_WEEKS, Draft, Preview, Trainer, occurrences
from fitclub.services.class_types import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    DURATION_MAX,
    DURATION_MIN,
    ClassType,
)

STARTS_LISTED = 10  # a series' confirmation lists this many starts, then "and N more"
FIELDS = ("type", "trainer", "date", "time", "dur", "cap", "room")


class Names:
    """What the header shows for the ids of a draft."""

    def __init__(self, type_name: str | None = None, trainer: str | None = None) -> None:
        self.type_name = type_name
        self.trainer = trainer


def weekday_names(tx: Texts) -> dict[int, str]:
    """Short weekday names by ISO number (1 = Monday), in the language."""
    names = tx.locale.days["format"]["abbreviated"]
    return {i + 1: names[i] for i in range(7)}


def weekday_order(tx: Texts) -> list[int]:
    """ISO weekdays in the order the locale starts its week."""
    first = tx.first_week_day  # 0 = Monday
    return [(first + i) % 7 + 1 for i in range(7)]


def _when(tx: Texts, draft: Draft) -> Raw | None:
    if draft.day is None:
        return None
    if not draft.weekly:
        return tx("cls_head_date", day=tx.date(draft.day, "short"))
    names = weekday_names(tx)
    chosen = ", ".join(names[d] for d in weekday_order(tx) if d in draft.weekdays)
    return tx("cls_head_series", days=chosen or "–",
              weeks=Raw(tx.plural("cls_weeks", draft.weeks)), first=tx.date(draft.day, "short"))


def header(tx: Texts, draft: Draft, names: Names) -> list[str]:
    """The title and every value chosen so far."""
    lines = [tx("cls_new_title")]
    if names.type_name:
        lines.append(tx("cls_head_type", name=names.type_name))
    if names.trainer:
        lines.append(tx("cls_head_trainer", name=names.trainer))
    when = _when(tx, draft)
    if when:
        lines.append(when)
    if draft.at:
        lines.append(tx("cls_head_time", time=draft.at.strftime("%H:%M")))
    if draft.duration:
        lines.append(tx.plural("cls_head_duration", draft.duration))
    if draft.capacity:
        lines.append(tx.plural("cls_head_capacity", draft.capacity))
    if draft.room is not None:
        lines.append(tx("cls_head_room", room=draft.room) if draft.room
                     else tx("cls_head_no_room"))
    return lines


def _screen(tx: Texts, draft: Draft, names: Names, question: str,
            rows: list[list[tuple[str, str]]], note: str | None) -> Screen:
    lines = [note, ""] if note else []
    lines += [*header(tx, draft, names), "", question]
    rows = [*rows, [(tx("cls_flow_cancel"), NEW_CLASS_FLOW(answer="cancel"))]]
    return Screen("\n".join(lines), inline(rows))


def _pairs(buttons: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


def ask_type(tx: Texts, draft: Draft, names: Names, kinds: list[ClassType],
             note: str | None = None) -> Screen:
    """Step: the class type (a button each). With none yet, the way to create one."""
    if not kinds:
        rows = [[(tx("staff_types"), STAFF(section="types"))], back_row(tx)]
        return Screen(tx("cls_no_types", types=tx("staff_types")), inline(rows))
    buttons = [(esc(tx.content(k.name)), NEW_CLASS_TYPE(type_id=k.id)) for k in kinds]
    return _screen(tx, draft, names, tx("cls_ask_type"), _pairs(buttons), note)


def ask_trainer(tx: Texts, draft: Draft, names: Names, trainers: list[Trainer],
                note: str | None = None) -> Screen:
    """Step: the trainer (trainers and admins, a button each)."""
    buttons = [(esc(t.name), NEW_CLASS_TRAINER(member_id=t.id)) for t in trainers]
    return _screen(tx, draft, names, tx("cls_ask_trainer"), _pairs(buttons), note)


def ask_day(tx: Texts, draft: Draft, names: Names, days: list[date],
            note: str | None = None) -> Screen:
    """Step: the date (the next 14 days as buttons, or typed)."""
    buttons = [(tx.date(d, "short"), NEW_CLASS_DAY(day=d)) for d in days]
    return _screen(tx, draft, names, tx("cls_ask_day"), _pairs(buttons), note)


def ask_repeat(tx: Texts, draft: Draft, names: Names, note: str | None = None) -> Screen:
    """Step: one class or a weekly series; for a series, weekdays and weeks."""
    if not draft.weekly:
        rows = [[(tx("cls_once_button"), NEW_CLASS_REPEAT(mode="once")),
                 (tx("cls_weekly_button"), NEW_CLASS_REPEAT(mode="weekly"))]]
        return _screen(tx, draft, names, tx("cls_ask_repeat"), rows, note)
    names_of = weekday_names(tx)
    days_row = [(("✓" if d in draft.weekdays else "") + names_of[d],
                 NEW_CLASS_WEEKDAY(weekday=d)) for d in weekday_order(tx)]
    weeks = [(("•" if n == draft.weeks else "") + str(n), NEW_CLASS_WEEKS(weeks=n))
             for n in range(1, MAX_WEEKS + 1)]
    rows = [days_row[:4], days_row[4:], weeks[:6], weeks[6:],
            [(tx("cls_series_done"), NEW_CLASS_REPEAT(mode="done")),
             (tx("cls_once_button"), NEW_CLASS_REPEAT(mode="once"))]]
    count = len(occurrences(draft.day, draft.weekdays, draft.weeks)) if draft.weekdays else 0
    question = tx("cls_ask_series", classes=Raw(tx.plural("cls_n_classes", count)))
    return _screen(tx, draft, names, question, rows, note)


def ask_time(tx: Texts, draft: Draft, names: Names, zone: str,
             note: str | None = None) -> Screen:
    """Step: the start time, typed as HH:MM in the club's time zone."""
    return _screen(tx, draft, names, tx("cls_ask_time", zone=zone), [], note)


def ask_duration(tx: Texts, draft: Draft, names: Names, default: int,
                 note: str | None = None) -> Screen:
    """Step: how long, the type's default as a button, or typed."""
    rows = [[(tx.plural("cls_default_duration", default),
              NEW_CLASS_VALUE(step="dur", value=default))]]
    return _screen(tx, draft, names, tx("cls_ask_duration", low=DURATION_MIN,
                                        high=DURATION_MAX), rows, note)


def ask_capacity(tx: Texts, draft: Draft, names: Names, default: int,
                 note: str | None = None) -> Screen:
    """Step: how many places, the type's default as a button, or typed."""
    rows = [[(tx.plural("cls_default_capacity", default),
              NEW_CLASS_VALUE(step="cap", value=default))]]
    return _screen(tx, draft, names, tx("cls_ask_capacity", low=CAPACITY_MIN,
                                        high=CAPACITY_MAX), rows, note)


def ask_room(tx: Texts, draft: Draft, names: Names, rooms: list[str],
             note: str | None = None) -> Screen:
    """Step: the room: recent ones as buttons, No room, or typed."""
    buttons = [(esc(room), NEW_CLASS_ROOM(pick=i)) for i, room in enumerate(rooms, 1)]
    rows = [*_pairs(buttons), [(tx("cls_no_room_button"), NEW_CLASS_ROOM(pick=0))]]
    return _screen(tx, draft, names, tx("cls_ask_room"), rows, note)


def confirm(tx: Texts, found: Preview, note: str | None = None) -> Screen:
    """Everything chosen, every start (a series: the first ten), the trainer's clashes;
    Confirm, Change or Cancel."""
    lines = [note, ""] if note else []
    lines += header(tx, found.draft, Names(found.type_name, found.trainer_name))
    starts = found.starts
    lines += ["", tx.plural("cls_confirm_count", len(starts))]
    lines += [f"• {tx.datetime(s)}" for s in starts[:STARTS_LISTED]]
    if len(starts) > STARTS_LISTED:
        lines.append(tx.plural("cls_confirm_more", len(starts) - STARTS_LISTED))
    lines += overlap_lines(tx, found.trainer_name or "", found.overlaps)
    rows = [[(tx("cls_confirm_ok"), NEW_CLASS_FLOW(answer="ok"))],
            [(tx("cls_confirm_change"), NEW_CLASS_FLOW(answer="change")),
             (tx("cls_flow_cancel"), NEW_CLASS_FLOW(answer="cancel"))]]
    return Screen("\n".join(lines), inline(rows))


def change(tx: Texts, found: Preview) -> Screen:
    """Which value to change before confirming."""
    lines = [*header(tx, found.draft, Names(found.type_name, found.trainer_name)), "",
             tx("cls_ask_change")]
    buttons = [(tx(f"cls_change_{field}"), NEW_CLASS_CHANGE(field=field)) for field in FIELDS]
    rows = [*_pairs(buttons), [(tx("button_back"), NEW_CLASS_FLOW(answer="back"))]]
    return Screen("\n".join(lines), inline(rows))


def done(tx: Texts, found: Preview, class_ids: tuple[int, ...]) -> Screen:
    """The classes are on the timetable: open the one, or the day of the first."""
    first: datetime = found.starts[0]
    if len(class_ids) == 1:
        text = tx("cls_done_one", name=found.type_name, when=tx.datetime(first))
        rows = [[(tx("cls_open_button"), ADMIN_CLASS(class_id=class_ids[0]))]]
    else:
        text = tx.plural("cls_done_many", len(class_ids), name=found.type_name,
                         first=tx.datetime(first), last=tx.datetime(found.starts[-1]))
        rows = [[(tx("cls_open_day_button"), ADMIN_DAY(day=tx.local(first).date()))]]
    rows.append(back_row(tx))
    return Screen(text, inline(rows))
