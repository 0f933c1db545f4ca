"""The schedule (one day per page) and a class's details."""

from __future__ import annotations

from datetime import date

from fitclub.callbacks import (
    BOOK,
    CALENDAR,
    CANCEL_ASK,
    CLASS,
    LEAVE,
    MENU,
    OFFER_AT,
    TIMETABLE,
)
from fitclub.locales import Raw, Texts, esc
from fitclub.screens import Screen, inline, person
from fitclub.screens.bookings import refusal
from fitclub.screens.menu import back_to_menu
from fitclub.services.booking import Refusal
from fitclub.services.timetable import LINK_PREFIX, ClassDetails, ClassView, Linked

MARKS = {"booked": "✅", "attended": "✅", "no_show": "✅", "waitlisted": "⏳"}
# Refusals a new membership answers: the details offer the Membership screen (plans, requests).
TO_MEMBERSHIP = (Refusal.NO_MEMBERSHIP, Refusal.ENDED, Refusal.NO_VISITS)


def places(tx: Texts, cls: ClassView) -> str:
    """'5 of 20 left', 'full · waitlist 3' or 'cancelled'."""
    if cls.status == "cancelled":
        return tx("class_cancelled_mark")
    if cls.left > 0:
        return tx.plural("class_places_left", cls.left, capacity=cls.capacity)
    return tx.plural("class_full_waitlist", cls.waiting)


def day(tx: Texts, on: date, classes: list[ClassView], shown: list[date]) -> Screen:
    """One day's classes, a button per class, and the way to the days around it."""
    lines = [tx("timetable_title", day=tx.date(on, "short")), ""]
    rows = []
    for cls in classes:
        mark = MARKS.get(cls.my_status or "", "")
        line = tx("timetable_line", time=tx.time(cls.starts_at), name=cls.name,
                  trainer=person(tx, cls.trainer))
        lines.append(f"{line}\n    {places(tx, cls)} {mark}".rstrip())
        rows.append([(f"{tx.time(cls.starts_at)} {esc(tx.content(cls.name))} {mark}".strip()[:60],
                      CLASS(class_id=cls.id, back="s"))])
    if not classes:
        lines.append(tx("timetable_empty"))
    nav = []
    index = shown.index(on) if on in shown else 0
    if index > 0:
        before = shown[index - 1]
        nav.append((tx("timetable_prev", day=tx.date(before, "short")), TIMETABLE(day=before)))
    if index + 1 < len(shown):
        after = shown[index + 1]
        nav.append((tx("timetable_next", day=tx.date(after, "short")), TIMETABLE(day=after)))
    if nav:
        rows.append(nav)
    rows.append(back_to_menu(tx))
    return Screen("\n".join(lines), inline(rows))


def details(tx: Texts, found: ClassDetails, link: str | None, back: str,
            note: str | None = None) -> Screen:
    """A class: when, trainer, room, places, the member's booking, and what they can do;
    `note` is the one-line result of what the member just did, above it."""
    cls = found.cls
    lines = [note, ""] if note else []
    lines += [tx("class_title", name=cls.name),
              tx.plural("class_when", cls.duration_minutes, when=tx.datetime(cls.starts_at)),
              tx("class_trainer", trainer=person(tx, cls.trainer))]
    if cls.room:
        lines.append(tx("class_room", room=cls.room))
    lines.append(tx("class_places", places=Raw(places(tx, cls))))
    if tx.content(cls.description):  # in the reader's language, else in the other
        lines += ["", tx("class_description", text=cls.description)]
    lines.append("")
    status = cls.my_status
    if cls.status == "cancelled":
        lines.append(tx("class_is_cancelled"))
    elif status == "booked":
        lines.append(tx("class_you_booked"))
    elif status == "waitlisted" and found.position:
        lines.append(tx("class_your_position", n=found.position))
        if found.offer_id:
            lines.append(tx("class_offer_held"))
    elif not found.open:
        lines.append(tx("class_booking_closed"))
    elif found.refused is not None and not found.started:
        # The membership cannot pay for this class: say why (as booking would) instead of Book.
        why = found.refused
        line = refusal(tx, why.reason, why.position, why.on, why.day)
        if line != note:  # a refused Book says it above already
            lines.append(line)
    if link:
        if lines[-1]:  # one blank line above, whether or not a status line came before
            lines.append("")
        lines.append(tx("class_share", link=link))
    rows = _actions(tx, found, back)
    back_data = MENU(screen="bookings") if back == "b" else TIMETABLE(day=tx.local(
        cls.starts_at).date())
    rows.append([(tx("button_back"), back_data)])
    return Screen("\n".join(lines).strip(), inline(rows))


def _actions(tx: Texts, found: ClassDetails, back: str) -> list[list[tuple[str, str]]]:
    """The buttons that apply to the member and this class (Back aside)."""
    cls, status = found.cls, found.cls.my_status
    rows: list[list[tuple[str, str]]] = []
    live = cls.status == "scheduled" and not found.started
    at = "s" if back == "s" else "d"  # Cancel, Leave and an offer's answer show them again
    if live and status == "booked":
        rows.append([(tx("button_cancel_booking"), CANCEL_ASK(class_id=cls.id, at=at))])
    elif live and status == "waitlisted":
        if found.offer_id:
            # A place is held for the member: answer it here too, not only on the offer message.
            offer = {"offer_id": found.offer_id, "class_id": cls.id, "at": at}
            rows.append([(tx("offer_accept"), OFFER_AT(answer="yes", **offer)),
                         (tx("offer_decline"), OFFER_AT(answer="no", **offer))])
        rows.append([(tx("button_leave_waitlist"), LEAVE(class_id=cls.id, at=at))])
    elif live and found.open and found.refused is not None:
        if found.refused.reason in TO_MEMBERSHIP:
            rows.append([(tx("menu_membership"), MENU(screen="membership"))])
    elif live and found.open:
        label = "button_book" if cls.left > 0 else "button_join_waitlist"
        rows.append([(tx(label), BOOK(class_id=cls.id, back=back))])
    if status == "booked" and not found.started:
        rows.append([(tx("button_calendar"), CALENDAR(class_id=cls.id))])
    return rows


def link_gone(tx: Texts, found: Linked) -> str:
    """One line: the class a link points at does not exist, was cancelled or is over."""
    if found.cls is None:
        return tx("link_class_missing")
    return tx(f"link_class_{found.gone}", name=found.cls.name,
              when=tx.datetime(found.cls.starts_at))


def share_link(bot_username: str, class_id: int) -> str | None:
    """The deep link that opens a class (None when the bot's username is unknown)."""
    return (f"https://t.me/{bot_username}?start={LINK_PREFIX}{class_id}" if bot_username
            else None)
