"""My classes (trainers and admins): the classes they teach, a class's roster with its marks,
and the no-show summary the sweep sends a trainer."""

from __future__ import annotations

from datetime import datetime

from fitclub.callbacks import TRAINER_CLASSES, TRAINER_MARK, TRAINER_ROSTER
from fitclub.locales import Raw, Texts, esc
from fitclub.screens import Screen, inline, person
from fitclub.screens.staff import back_row
from fitclub.services.attendance import (
    Mark,
    NoShowsRecorded,
    Place,
    Roster,
    TaughtClass,
    Window,
    offered,
)

LIST_PAGE = 10  # classes per page of the list, one button each
ROSTER_PAGE = 20  # people per page of a roster: with their buttons, well inside Telegram's limits
NAME_CHARS = 48  # a name is cut to this in a roster line
CLASS_NAME_CHARS = 28  # a class's name is cut to this on its button (day, time and counts fit)

_MARKS = {"booked": "mc_mark_booked", "attended": "mc_mark_attended",
          "no_show": "mc_mark_no_show"}
_HOW = {"qr": "mc_how_qr", "code": "mc_how_code", "manual": "mc_how_manual",
        "class": "mc_how_class"}
_CODES = {Mark.ATTENDED: "a", Mark.NO_SHOW: "n"}


def _cut(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _who(tx: Texts, name: str | None) -> str:
    """A person's name for a line or a button (erased members have none)."""
    if not name:
        return tx("member_erased")
    return _cut(name, NAME_CHARS)


def _pages(count: int, size: int) -> int:
    return max(1, -(-count // size))


def _nav(tx: Texts, page: int, pages: int, data) -> list[tuple[str, str]]:
    """Previous/next buttons of a paged screen (none on a single page)."""
    row = []
    if page > 0:
        row.append((tx("mc_prev"), data(page - 1)))
    if page + 1 < pages:
        row.append((tx("mc_next"), data(page + 1)))
    return row


def _class_button(tx: Texts, cls: TaughtClass) -> tuple[str, str]:
    """A class of the list as one button: day, time, name, booked/capacity (or cancelled)."""
    values = {"day": tx.date(cls.starts_at, "short"), "time": tx.time(cls.starts_at),
              "name": _cut(tx.content(cls.name), CLASS_NAME_CHARS)}
    if cls.status == "cancelled":
        label = tx("mc_button_cancelled", **values)
    else:
        label = tx("mc_button", booked=cls.booked, capacity=cls.capacity, **values)
    return label, TRAINER_ROSTER(class_id=cls.id, page=0)


def classes(tx: Texts, taught: list[TaughtClass], page: int = 0) -> Screen:
    """The classes a staff member teaches, soonest first, one button each (a page at a time);
    the text is the heading, and the page or the empty state."""
    lines = [tx("mc_title")]
    rows: list[list[tuple[str, str]]] = []
    if not taught:
        lines += ["", tx("mc_none")]
        rows.append(back_row(tx))
        return Screen("\n".join(lines), inline(rows))
    pages = _pages(len(taught), LIST_PAGE)
    page = min(page, pages - 1)
    rows += [[_class_button(tx, cls)] for cls in taught[page * LIST_PAGE:(page + 1) * LIST_PAGE]]
    if pages > 1:
        lines.append(tx("mc_page", page=page + 1, pages=pages))
        rows.append(_nav(tx, page, pages, lambda p: TRAINER_CLASSES(page=p)))
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def _place_line(tx: Texts, n: int, place: Place) -> str:
    if place.door_at is not None:  # came in at the door for the class: that is the mark
        return tx("mc_place", n=n, name=_who(tx, place.name),
                  mark=tx("mc_mark_door", time=tx.time(place.door_at)))
    line = tx("mc_place", n=n, name=_who(tx, place.name), mark=tx(_MARKS[place.status]))
    if place.checked_in_at is not None:
        line = tx("mc_place_checked_in", place=line, time=tx.time(place.checked_in_at))
    return line


def _when(tx: Texts, moment: datetime, now: datetime) -> str:
    """A time today ('17:30'), else with its day."""
    if tx.local(moment).date() == tx.local(now).date():
        return tx.time(moment)
    return tx.datetime(moment)


def _nothing_to_mark(tx: Texts, found: Roster, now: datetime) -> str | None:
    """Why no place has a button while marks are open (None: nobody booked, which the roster
    says already)."""
    if not found.places:
        return None
    if any(place.door_at is None for place in found.places) and now < found.window.no_show_from:
        # Everyone is marked attended already; only a no-show is left, from the start.
        return tx("mc_window_no_show_later", start=tx.time(found.window.no_show_from))
    return tx("mc_window_all_door")  # the door is their mark


def _window_line(tx: Texts, found: Roster, now: datetime) -> str | None:
    """When marks can be made, true for the buttons shown: a line that says marks can be
    made now only when some place has a button; else why none has (None: nobody booked)."""
    times = found.window
    if found.cls.status == "cancelled":
        return tx("mc_roster_cancelled")
    if now > times.until:
        return tx("mc_window_closed", until=tx.datetime(times.until))
    if now < times.attended_from:
        return tx("mc_window_before", opens=_when(tx, times.attended_from, now),
                  start=tx.time(times.no_show_from))
    if not any(offered(found, place, now) for place in found.places):
        return _nothing_to_mark(tx, found, now)
    return _marks_open(tx, times, now)


def _marks_open(tx: Texts, times: Window, now: datetime) -> str:
    """Marks open and some place has a button: which marks, and until when."""
    if now < times.no_show_from:
        return tx("mc_window_attended", start=tx.time(times.no_show_from))
    if now < times.no_shows_at:
        return tx("mc_window_open", noshow=tx.time(times.no_shows_at),
                  until=tx.datetime(times.until))
    return tx("mc_window_late", until=tx.datetime(times.until))


def roster(tx: Texts, found: Roster, now: datetime, page: int = 0,
           note: str | None = None) -> Screen:
    """A class's roster: booked places with their marks (and a button for each mark that can
    be made now), the waitlist in order, and who checked in; paged by people. `note`: one
    line on top saying why the last press changed nothing."""
    cls = found.cls
    lines = [note, ""] if note else []
    lines += [tx("mc_roster_title", name=cls.name, when=tx.datetime(cls.starts_at)),
              tx("mc_roster_meta", minutes=cls.duration_minutes, trainer=person(tx, cls.trainer))]
    if cls.room:
        lines.append(tx("mc_roster_room", room=cls.room))
    lines += [tx("mc_roster_counts", booked=len(found.places), capacity=cls.capacity,
                 waiting=len(found.waiting), checked=len(found.checked_in))]
    window_line = _window_line(tx, found, now)
    if window_line:
        lines.append(window_line)
    # Every person is one item; a page shows ROSTER_PAGE of them with their section headers.
    items: list[tuple[str, int, object]] = (
        [("booked", i, p) for i, p in enumerate(found.places, 1)]
        + [("waiting", i, w) for i, w in enumerate(found.waiting, 1)]
        + [("in", i, c) for i, c in enumerate(found.checked_in, 1)])
    pages = _pages(len(items), ROSTER_PAGE)
    page = min(page, pages - 1)
    rows: list[list[tuple[str, str]]] = []
    section = None
    if not found.places and page == 0:
        lines += ["", tx("mc_booked_header"), tx("mc_nobody_booked")]
        section = "booked"
    for kind, n, item in items[page * ROSTER_PAGE:(page + 1) * ROSTER_PAGE]:
        if kind != section:
            lines += ["", tx(f"mc_{kind}_header")]
            section = kind
        if kind == "booked":
            lines.append(_place_line(tx, n, item))
            who = _who(tx, item.name)
            ids = {"class_id": cls.id, "booking_id": item.booking_id, "page": page}
            marks = [(tx(f"mc_button_{what.value}", name=who),
                      TRAINER_MARK(mark=_CODES[what], **ids))
                     for what in offered(found, item, now)]
            if marks:
                rows.append(marks)
        elif kind == "waiting":
            key = "mc_waiting_offered" if item.offered else "mc_waiting"
            lines.append(tx(key, n=n, name=_who(tx, item.name)))
        else:
            lines.append(tx("mc_checked", name=_who(tx, item.name),
                            time=tx.time(item.checked_in_at), how=tx(_HOW[item.method])))
    if pages > 1:
        lines += ["", tx("mc_page", page=page + 1, pages=pages)]
        rows.append(_nav(tx, page, pages, lambda p: TRAINER_ROSTER(class_id=cls.id, page=p)))
    rows.append([(tx("mc_refresh"), TRAINER_ROSTER(class_id=cls.id, page=page)),
                 (tx("mc_back_list"), TRAINER_CLASSES(page=0))])
    return Screen("\n".join(lines), inline(rows))


def no_show_summary(tx: Texts, notice: NoShowsRecorded) -> Screen:
    """Told to the trainer once the sweep recorded a class's unmarked places as no-shows."""
    names = Raw(", ".join(esc(_who(tx, m.name)) for m in notice.marked))
    text = tx.plural("mc_noshow_summary", len(notice.marked), name=notice.class_name,
                     when=tx.datetime(notice.starts_at), names=names,
                     until=tx.datetime(notice.until))
    return Screen(text, inline([[(tx("mc_open_roster"),
                                  TRAINER_ROSTER(class_id=notice.class_id, page=0))]]))
