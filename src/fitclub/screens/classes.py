"""Classes for admins: the timetable by day, a class's card, capacity, move, cancel, and what
members are told when their class moves or is cancelled."""

from __future__ import annotations

from datetime import date, datetime

from fitclub.callbacks import (
    ADMIN_CLASS,
    ADMIN_DAY,
    CLASS,
    CLASS_CANCEL,
    CLASS_CANCEL_OK,
    CLASS_CAPACITY,
    CLASS_MOVE,
    CLASS_MOVE_AT,
    CLASS_MOVE_DAY,
    CLASS_MOVE_OK,
    CLASS_SET_CAPACITY,
    NEW_CLASS,
)
from fitclub.locales import Raw, Texts, esc, zone_name
from fitclub.screens import Screen, inline, person
from fitclub.screens.staff import back_row
from fitclub.services.class_planner import Overlap
from fitclub.services.class_types import CAPACITY_MAX, Problem
from fitclub.services.classes import AdminClass, Attendee, Day, Outcome

PROBLEMS = {"time": "cls_bad_time", "date": "cls_bad_date", "nodate": "cls_bad_no_such_date",
            "past": "cls_bad_past",
            "far": "cls_bad_far", "gap": "cls_bad_gap", "number": "cls_bad_number",
            "range": "cls_bad_range", "weekdays": "cls_bad_weekdays", "weeks": "cls_bad_weeks",
            "gone": "cls_bad_gone", "room": "cls_bad_room"}
REFUSALS = {Outcome.CANCELLED: "cls_refused_cancelled", Outcome.STARTED: "cls_refused_started",
            Outcome.PAST: "cls_bad_past"}
CAPACITY_STEPS = (-5, -1, 1, 2, 5, 10)


def problem(tx: Texts, found: Problem) -> Raw:
    """One line saying why a typed value or a draft was refused."""
    day = date.fromordinal(found.low) if found.code == "gap" and found.low else None
    return tx(PROBLEMS[found.code], low=found.low or 0, high=found.high or 0,
              day=tx.date(day, "short") if day else "")


def refusal(tx: Texts, outcome: Outcome) -> Raw:
    """Why a class cannot be changed (cancelled, started, a time that has passed)."""
    return tx(REFUSALS[outcome], high=0, low=0, day="")


def minute_of(tx: Texts, moment: datetime) -> int:
    """Minutes after midnight of a moment, club time."""
    local = tx.local(moment)
    return local.hour * 60 + local.minute


def _status_line(tx: Texts, cls: AdminClass, now: datetime) -> str | None:
    if cls.status == "cancelled":
        return tx("cls_status_cancelled")
    if cls.status == "completed" or now >= cls.starts_at:
        return tx("cls_status_started")
    return None


def _places(tx: Texts, cls: AdminClass) -> Raw:
    text = tx("cls_places", booked=cls.booked, capacity=cls.capacity)
    if cls.waiting:
        text = tx("cls_places_waiting", places=text, n=cls.waiting)
    return text


def day(tx: Texts, found: Day, note: str | None = None) -> Screen:
    """One day of the timetable: every class with its places, a button each, the days around
    it, New class (the class planner), back to staff."""
    on, classes, first, last = found
    lines = [note, ""] if note else []
    lines += [tx("cls_day_title", day=tx.date(on, "short")), ""]
    rows = []
    for cls in classes:
        mark = "✖ " if cls.status == "cancelled" else ""
        lines.append(mark + tx("cls_day_line", time=tx.time(cls.starts_at), name=cls.name,
                               trainer=person(tx, cls.trainer)))
        lines.append("    " + _places(tx, cls))
        rows.append([(f"{mark}{tx.time(cls.starts_at)} {esc(tx.content(cls.name))} · "
                      f"{cls.booked}/{cls.capacity}"[:60], ADMIN_CLASS(class_id=cls.id))])
    if not classes:
        lines.append(tx("cls_day_empty"))
    nav = []
    if on > first:
        before = date.fromordinal(on.toordinal() - 1)
        nav.append((tx("timetable_prev", day=tx.date(before, "short")), ADMIN_DAY(day=before)))
    if on < last:
        after = date.fromordinal(on.toordinal() + 1)
        nav.append((tx("timetable_next", day=tx.date(after, "short")), ADMIN_DAY(day=after)))
    if nav:
        rows.append(nav)
    rows.append([(tx("cls_new_button"), NEW_CLASS())])
    rows.append(back_row(tx))
    return Screen("\n".join(lines).strip(), inline(rows))


def card(tx: Texts, cls: AdminClass, now: datetime, note: str | None = None) -> Screen:
    """A class as admins see it, with Change capacity, Move and Cancel while it is to come."""
    lines = [note, ""] if note else []
    lines += [tx("cls_card_title", name=cls.name),
              tx.plural("cls_card_when", cls.duration_minutes,
                        when=tx.datetime(cls.starts_at)),
              tx("cls_card_trainer", trainer=person(tx, cls.trainer)),
              tx("cls_card_room", room=cls.room) if cls.room else tx("cls_card_no_room"),
              tx("cls_card_booked", booked=cls.booked, capacity=cls.capacity)]
    if cls.held:
        lines.append(tx.plural("cls_card_held", cls.held))
    lines.append(tx("cls_card_waiting", n=cls.waiting))
    if cls.series_id:
        lines.append(tx("cls_card_series"))
    status = _status_line(tx, cls, now)
    rows = []
    if status:
        lines += ["", status]
    else:
        rows.append([(tx("cls_capacity_button"), CLASS_CAPACITY(class_id=cls.id)),
                     (tx("cls_move_button"), CLASS_MOVE(class_id=cls.id))])
        rows.append([(tx("cls_cancel_button"), CLASS_CANCEL(class_id=cls.id))])
    rows.append([(tx("button_back"), ADMIN_DAY(day=tx.local(cls.starts_at).date()))])
    return Screen("\n".join(lines), inline(rows))


def capacity_choices(cls: AdminClass) -> list[int]:
    """Capacities offered as buttons around the current one (never under the places taken)."""
    low = max(cls.taken, 1)
    return sorted({c for c in (cls.capacity + step for step in CAPACITY_STEPS)
                   if low <= c <= CAPACITY_MAX and c != cls.capacity})


def capacity(tx: Texts, cls: AdminClass, note: str | None = None) -> Screen:
    """Change capacity: the numbers now, buttons for new ones, or type one."""
    lines = [note, ""] if note else []
    lines += [tx("cls_capacity_title", name=cls.name, when=tx.datetime(cls.starts_at)),
              tx("cls_capacity_now", capacity=cls.capacity, booked=cls.booked, held=cls.held,
                 waiting=cls.waiting),
              "", tx("cls_capacity_ask", low=max(cls.taken, 1), high=CAPACITY_MAX)]
    buttons = [(str(n), CLASS_SET_CAPACITY(class_id=cls.id, capacity=n))
               for n in capacity_choices(cls)]
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    rows.append([(tx("button_back"), ADMIN_CLASS(class_id=cls.id))])
    return Screen("\n".join(lines), inline(rows))


def capacity_result(tx: Texts, outcome: Outcome, capacity: int, taken: int,
                    offered: int) -> Raw:
    """What became of a capacity change, in one line."""
    if outcome is Outcome.BELOW:
        return tx.plural("cls_capacity_below", taken)
    if outcome is Outcome.SAME:
        return tx("cls_capacity_same", capacity=capacity)
    if outcome is Outcome.DONE:
        done = tx("cls_capacity_done", capacity=capacity)
        if offered:
            done = Raw(f"{done} {tx.plural('cls_capacity_offered', offered)}")
        return done
    return refusal(tx, outcome)


def move_day(tx: Texts, cls: AdminClass, days: list[date], note: str | None = None) -> Screen:
    """Move a class: the dates to choose from (or type one)."""
    lines = [note, ""] if note else []
    lines += [tx("cls_move_title", name=cls.name, when=tx.datetime(cls.starts_at)), "",
              tx("cls_move_ask_day")]
    buttons = [(tx.date(d, "short"), CLASS_MOVE_DAY(class_id=cls.id, day=d)) for d in days]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(tx("button_back"), ADMIN_CLASS(class_id=cls.id))])
    return Screen("\n".join(lines), inline(rows))


def move_time(tx: Texts, cls: AdminClass, on: date, note: str | None = None) -> Screen:
    """Move a class: the time on the chosen date (the same time as now by a button)."""
    lines = [note, ""] if note else []
    lines += [tx("cls_move_title", name=cls.name, when=tx.datetime(cls.starts_at)),
              tx("cls_move_to_day", day=tx.date(on, "short")), "",
              tx("cls_move_ask_time", zone=zone_name())]
    rows = [[(tx("cls_move_same_time", time=tx.time(cls.starts_at)),
              CLASS_MOVE_AT(class_id=cls.id, day=on, minute=minute_of(tx, cls.starts_at)))],
            [(tx("button_back"), CLASS_MOVE(class_id=cls.id))]]
    return Screen("\n".join(lines), inline(rows))


def overlap_lines(tx: Texts, trainer: str, found: tuple[Overlap, ...]) -> list[str]:
    """A warning naming the trainer's classes at the same time (the first few)."""
    if not found:
        return []
    lines = ["", tx.plural("cls_overlap_warning", found[0].total, trainer=trainer)]
    lines += [tx("cls_overlap_line", when=tx.datetime(o.starts_at), name=o.name)
              for o in found]
    return lines


def _told(tx: Texts, attendees: list[Attendee]) -> Raw:
    booked = sum(a.status == "booked" for a in attendees)
    return tx("cls_will_be_told", booked=Raw(tx.plural("cls_n_booked", booked)),
              waiting=Raw(tx.plural("cls_n_waiting", len(attendees) - booked)))


def move_confirm(tx: Texts, cls: AdminClass, new_start: datetime, attendees: list[Attendee],
                 found: tuple[Overlap, ...]) -> Screen:
    """Move a class: from, to, who will be told, any clash for the trainer; Confirm or Back."""
    lines = [tx("cls_move_confirm", name=cls.name, old=tx.datetime(cls.starts_at),
                new=tx.datetime(new_start)), _told(tx, attendees)]
    lines += overlap_lines(tx, cls.trainer, found)
    local = tx.local(new_start)
    rows = [[(tx("cls_move_ok"), CLASS_MOVE_OK(class_id=cls.id, day=local.date(),
                                               minute=minute_of(tx, new_start)))],
            [(tx("button_back"), ADMIN_CLASS(class_id=cls.id))]]
    return Screen("\n".join(lines), inline(rows))


def cancel_confirm(tx: Texts, cls: AdminClass, attendees: list[Attendee]) -> Screen:
    """Cancel a class: who will be told and how many visits go back; Yes or No."""
    visits = sum(a.visit_back for a in attendees)
    lines = [tx("cls_cancel_confirm", name=cls.name, when=tx.datetime(cls.starts_at)),
             _told(tx, attendees)]
    if visits:
        lines.append(tx.plural("cls_cancel_visits", visits))
    rows = [[(tx("cls_cancel_ok"), CLASS_CANCEL_OK(class_id=cls.id))],
            [(tx("cls_cancel_keep"), ADMIN_CLASS(class_id=cls.id))]]
    return Screen("\n".join(lines), inline(rows))


# -- what members are told -----------------------------------------------------------------

def moved_notice(tx: Texts, who: Attendee, class_id: int, name: str, old: datetime,
                 new: datetime) -> Screen:
    """To a booked or waitlisted member: the class moved, their place stands."""
    key = "cls_moved_notice_booked" if who.status == "booked" else "cls_moved_notice_waiting"
    return Screen(tx(key, name=name, old=tx.datetime(old), new=tx.datetime(new)),
                  inline([[(tx("cls_notice_open"), CLASS(class_id=class_id, back="s"))]]))


def cancelled_notice(tx: Texts, who: Attendee, name: str, when: datetime) -> Screen:
    """To a booked or waitlisted member: the class is cancelled (and their visit is back, or
    stays used when they checked in already)."""
    lines = [tx("cls_cancelled_notice", name=name, when=tx.datetime(when))]
    if who.visit_back:
        lines.append(tx("cls_cancelled_visit_back"))
    elif who.checked_in:
        lines.append(tx("cls_cancelled_visit_kept"))
    lines.append(tx("cls_cancelled_other"))
    return Screen("\n".join(lines))
