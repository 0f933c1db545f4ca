"""The staff home (/staff): one button per section the member's role may open."""

from __future__ import annotations

from fitclub.callbacks import MENU, STAFF
from fitclub.db.members import Member
from fitclub.locales import Texts
from fitclub.screens import Screen, inline

#: Sections a trainer opens; admins open these and the rest.
TRAINER_SECTIONS = ("checkin", "myclasses")
ADMIN_SECTIONS = ("people", "classes", "types", "plans", "members", "requests", "announce",
                  "report", "audit")


def sections_for(role: str) -> tuple[str, ...]:
    """The sections of the staff home for a role (none for a member)."""
    if role == "admin":
        return TRAINER_SECTIONS + ADMIN_SECTIONS
    if role == "trainer":
        return TRAINER_SECTIONS
    return ()


def home(tx: Texts, member: Member) -> Screen:
    """The staff home: two sections per row, then the way back to the member menu."""
    buttons = [(tx(f"staff_{name}"), STAFF(section=name)) for name in sections_for(member.role)]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(tx("button_menu"), MENU(screen="home"))])
    title = "staff_home_admin" if member.role == "admin" else "staff_home_trainer"
    return Screen(tx(title, name=member.first_name), inline(rows))


def back_row(tx: Texts) -> list[tuple[str, str]]:
    """The keyboard row that returns to the staff home."""
    return [(tx("staff_back"), STAFF(section="home"))]
