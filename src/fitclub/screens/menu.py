"""The main menu and help (the member's commands; the staff's behind one button)."""

from __future__ import annotations

from fitclub.callbacks import HELP_STAFF, MENU, STAFF
from fitclub.db.members import Member
from fitclub.locales import Texts
from fitclub.screens import Screen, inline


def home(tx: Texts, member: Member, note: str | None = None) -> Screen:
    """The main menu; trainers and admins also get the way to the staff home. `note` is one
    line above it (where a link that led nowhere says so)."""
    rows = [
        [(tx("menu_schedule"), MENU(screen="schedule")),
         (tx("menu_bookings"), MENU(screen="bookings"))],
        [(tx("menu_membership"), MENU(screen="membership")),
         (tx("menu_card"), MENU(screen="card"))],
        [(tx("menu_activity"), MENU(screen="activity")),
         (tx("menu_help"), MENU(screen="help"))],
    ]
    if member.is_staff:
        rows.append([(tx("menu_staff"), STAFF(section="home"))])
    title = tx("menu_title", name=member.first_name)
    return Screen(f"{note}\n\n{title}" if note else title, inline(rows))


def back_to_menu(tx: Texts) -> list[tuple[str, str]]:
    """The keyboard row that returns to the main menu."""
    return [(tx("button_menu"), MENU(screen="home"))]


def help_screen(tx: Texts, member: Member | None) -> Screen:
    """Help: the member's commands grouped (booking, my membership, account); trainers and
    admins also get the button to the staff part. Before registration: how to start."""
    if member is None or member.registered_at is None:
        return Screen(tx("help_unregistered"))
    rows = [[(tx("help_staff_button"), HELP_STAFF())]] if member.is_staff else []
    return Screen(tx("help_member"), inline([*rows, back_to_menu(tx)]))


def staff_help_screen(tx: Texts, member: Member) -> Screen:
    """The staff part of help: the trainers' commands, and the admins' for an admin."""
    parts = [tx("help_staff_title"), tx("help_trainer")]
    if member.role == "admin":
        parts.append(tx("help_admin"))
    return Screen("\n\n".join(parts), inline([
        [(tx("button_back"), MENU(screen="help")), *back_to_menu(tx)]]))
