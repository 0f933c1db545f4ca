"""People and roles (/people): the search, a person's card, the role change and its notice."""

from __future__ import annotations

from fitclub.callbacks import PEOPLE_PERSON, PEOPLE_ROLE, PEOPLE_SET_ROLE, STAFF
from fitclub.db.members import Member
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.screens.staff import back_row
from fitclub.services.memberships import MembershipView
from fitclub.services.people import Found, Kind
from fitclub.services.roles import PersonCard, options


def role_name(tx: Texts, role: str) -> str:
    """A role as people read it ('trainer', 'тренер')."""
    return tx(f"ppl_role_{role}")


def membership_line(tx: Texts, view: MembershipView | None) -> str:
    """One line: plan, status, end date and visits left, or 'no membership'."""
    if view is None:
        return tx("ppl_no_membership")
    visits = (tx("plan_unlimited") if view.visits_left is None
              else tx.plural("chk_visits_left", view.visits_left))
    return tx("ppl_membership", plan=view.plan_name, status=tx(f"status_{view.status}"),
              date=tx.date(view.ends_on, "long"), visits=visits)


def ask(tx: Texts) -> Screen:
    """What to send to find a person."""
    return Screen(tx("ppl_ask"), inline([back_row(tx)]))


def too_short(tx: Texts) -> Screen:
    """The text cannot be searched by: how long it must be."""
    return Screen(tx("ppl_query_short"), inline([back_row(tx)]))


def results(tx: Texts, query: str, found: Found) -> Screen:
    """The people found, one button each (a name and a role, never a phone); or that nobody
    was, and to try again (a phone is found only whole); or that the admin searched too
    often, and when to again."""
    if found.retry_at is not None:
        return Screen(tx("search_limited", time=tx.time(found.retry_at)),
                      inline([back_row(tx)]))
    if not found.members:
        lines = [tx("ppl_none", query=query)]
        if found.kind is Kind.PHONE:
            lines.append(tx("search_phone_whole"))
        return Screen("\n".join(lines), inline([back_row(tx)]))
    rows = [[(tx("ppl_person_button", name=person.name, role=role_name(tx, person.role)),
              PEOPLE_PERSON(person_id=person.id))] for person in found.members]
    rows.append(back_row(tx))
    return Screen(tx("ppl_found", query=query), inline(rows))


def card(tx: Texts, found: PersonCard, *, viewer_id: int, bootstrap: bool) -> Screen:
    """A person's card with a button per role they could be given (none on one's own)."""
    person = found.person
    lines = [tx("ppl_card", name=person.name, phone=person.phone or tx("no_phone"),
                username=f"@{person.username}" if person.username else tx("ppl_no_username"),
                role=role_name(tx, person.role)),
             membership_line(tx, found.membership)]
    rows = []
    if person.id == viewer_id:
        lines.append(tx("ppl_self_note"))
    else:
        rows.append([(tx(f"ppl_make_{role}"), PEOPLE_ROLE(person_id=person.id, role=role))
                     for role in options(person.role)])
    if bootstrap:
        lines.append(tx("ppl_bootstrap_note"))
    rows += [[(tx("ppl_new_search"), STAFF(section="people"))], back_row(tx)]
    return Screen("\n".join(lines), inline(rows))


def confirm(tx: Texts, person: Member, role: str) -> Screen:
    """The confirmation step of a role change."""
    return Screen(tx(f"ppl_confirm_{role}", name=person.name), inline([
        [(tx(f"ppl_confirm_yes_{role}"),
          PEOPLE_SET_ROLE(person_id=person.id, was=person.role, role=role))],
        [(tx("ppl_back"), PEOPLE_PERSON(person_id=person.id))],
    ]))


def changed_toast(tx: Texts, person: Member) -> str:
    """The admin's toast once the role has changed."""
    return tx(f"ppl_changed_{person.role}", name=person.name)


def notice(tx: Texts, role: str) -> str:
    """What the person is told about their new role, in their language."""
    return tx(f"ppl_notice_{role}")
