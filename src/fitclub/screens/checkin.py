"""Check-in (/checkin and a scanned card): the staff's screens and the member's note."""

from __future__ import annotations

from datetime import datetime

from fitclub.callbacks import CHECKIN_CONFIRM, CHECKIN_PERSON, STAFF
from fitclub.db.members import Member
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.screens import card as card_screens
from fitclub.screens.people import membership_line
from fitclub.screens.staff import back_row
from fitclub.services.checkin import CheckedIn, Outcome, Person, Refusal, Result
from fitclub.services.memberships import MembershipView
from fitclub.services.people import Found, Kind


def ask(tx: Texts) -> Screen:
    """Scan the card, or send its code or the member's name."""
    return Screen(tx("chk_ask"), inline([back_row(tx)]))


def too_short(tx: Texts) -> Screen:
    """The text is neither a code nor long enough to search by."""
    return Screen(tx("chk_query_short"), inline([back_row(tx)]))


def unknown_code(tx: Texts, code: str) -> Screen:
    """No valid card shows this code."""
    digits = "".join(code.split())
    return Screen(tx("chk_unknown_code", code=f"{digits[:3]} {digits[3:]}"),
                  inline([back_row(tx)]))


def _label(tx: Texts, member: Member, phone: str | None) -> str:
    """A name, with the phone number only when it is the whole number the staff typed."""
    if phone:
        return tx("search_person_phone", name=member.name, phone=phone)
    return tx("search_person", name=member.name)


def results(tx: Texts, query: str, found: Found) -> Screen:
    """The members found, one button each; or that nobody was, and to try again (a phone
    is found only whole); or that the staff member searched too often, and when to again."""
    if found.retry_at is not None:
        return limited(tx, found.retry_at)
    if not found.members:
        lines = [tx("chk_none", query=query)]
        if found.kind is Kind.PHONE:
            lines.append(tx("search_phone_whole"))
        return Screen("\n".join(lines), inline([back_row(tx)]))
    rows = [[(_label(tx, member, found.phone), CHECKIN_PERSON(member_id=member.id))]
            for member in found.members]
    rows.append(back_row(tx))
    return Screen(tx("chk_found", query=query), inline(rows))


def limited(tx: Texts, retry_at: datetime) -> Screen:
    """Too many searches (names or codes typed): when the next one may go."""
    return Screen(tx("search_limited", time=tx.time(retry_at)), inline([back_row(tx)]))


def confirm(tx: Texts, person: Person, membership: MembershipView | None) -> Screen:
    """The member and their membership, and the button that checks them in."""
    return Screen(tx("chk_confirm", name=person.name,
                     membership=membership_line(tx, membership)), inline([
        [(tx("chk_confirm_button", name=person.name), CHECKIN_CONFIRM(member_id=person.id))],
        [(tx("chk_back"), STAFF(section="checkin"))],
    ]))


def _balance(tx: Texts, visits_left: int | None) -> str:
    if visits_left is None:
        return tx("plan_unlimited")
    return tx.plural("chk_visits_left", visits_left)


def _checked_in(tx: Texts, result: Result, name: str) -> str:
    if result.class_name is not None:
        return tx("chk_done_class", name=name, class_name=result.class_name,
                  time=tx.time(result.class_starts_at),
                  balance=_balance(tx, result.visits_left))
    return tx("chk_done", name=name, balance=_balance(tx, result.visits_left))


def _refused(tx: Texts, result: Result, name: str) -> str:
    if result.refusal is Refusal.FROZEN and result.on is None:
        return tx("chk_refused_frozen_open", name=name)  # frozen with no end recorded
    return tx(f"chk_refused_{result.refusal.value}", name=name,
              date=tx.date(result.on, "long") if result.on else "")


def outcome_text(tx: Texts, result: Result) -> str:
    """The staff's one line about a check-in."""
    name = result.person.name if result.person else ""
    if result.outcome is Outcome.CHECKED_IN:
        return _checked_in(tx, result, name)
    if result.outcome is Outcome.ALREADY:
        return tx("chk_already", name=name, time=tx.time(result.at))
    if result.outcome is Outcome.REFUSED:
        return _refused(tx, result, name)
    if result.outcome is Outcome.INVALID:
        return tx(f"chk_invalid_{result.invalid.value}", refresh=tx("card_refresh"),
                  time=tx.time(result.at) if result.at else "")
    return tx("stale_button")  # the member is gone


def outcome(tx: Texts, result: Result) -> Screen:
    """The staff's answer, with the way to the next check-in."""
    return Screen(outcome_text(tx, result),
                  inline([[(tx("chk_next"), STAFF(section="checkin"))], back_row(tx)]))


def answer(tx: Texts, result: Result) -> Screen:
    """What the one who asked is told: staff the outcome, anyone else that a card link is for
    staff."""
    if result.outcome is Outcome.NOT_STAFF:
        return card_screens.for_staff(tx)
    return outcome(tx, result)


def member_note(tx: Texts, notice: CheckedIn) -> Screen:
    """The member's short note in their own language (tx)."""
    balance = _balance(tx, notice.visits_left)
    if notice.class_name is not None:
        return Screen(tx("chk_member_note_class", class_name=notice.class_name,
                         time=tx.time(notice.class_starts_at), balance=balance))
    return Screen(tx("chk_member_note", balance=balance))
