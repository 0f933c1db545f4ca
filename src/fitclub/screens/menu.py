"""The main menu and help."""

from __future__ import annotations

from fitclub.callbacks import MENU, STAFF
from fitclub.db.members import Member
from fitclub.locales import Texts
from fitclub.screens import Screen, inline


def home(tx: Texts, member: Member) -> Screen:
    """The main menu; trainers and admins also get the way to the staff home."""
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
    return Screen(tx("menu_title", name=member.first_name), inline(rows))


def back_to_menu(tx: Texts) -> list[tuple[str, str]]:
    """The keyboard row that returns to the main menu."""
    return [(tx("button_menu"), MENU(screen="home"))]


def help_text(tx: Texts, member: Member | None) -> str:
    """What the bot does, for this member's role."""
    if member is None or member.registered_at is None:
        return tx("help_unregistered")
    text = tx("help_member")
    if member.role in ("trainer", "admin"):
        text += tx("help_trainer")
    if member.role == "admin":
        text += tx("help_admin")
    return text


def help_screen(tx: Texts, member: Member | None) -> Screen:
    """Help with the way back to the menu."""
    if member is None or member.registered_at is None:
        return Screen(help_text(tx, member))
    return Screen(help_text(tx, member), inline([back_to_menu(tx)]))
