"""Roles: admins make a person a trainer, an admin, or a member again.

Every change is checked again under row locks when it is confirmed: the acting admin must
still be an admin, the person must still have the role the admin saw, and nobody removes
their own admin role. So the club cannot lose its last admin by accident: only an admin can
demote an admin, and never themself.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import NamedTuple

from fitclub.db import audit, rows
from fitclub.db.members import Member
from fitclub.runtime import notices
from fitclub.services.memberships import MembershipView, membership_of

ROLES = ("member", "trainer", "admin")


class PersonCard(NamedTuple):
    """A person as an admin sees them: who they are, their role, their membership."""

    person: Member
    membership: MembershipView | None


class Outcome(Enum):
    """What became of a proposed or confirmed role change."""

    READY = "ready"  # the change may be confirmed
    CHANGED = "changed"
    SELF = "self"  # an admin may not remove their own admin role
    STALE = "stale"  # the person is gone, or their role is no longer the one shown
    NOT_ADMIN = "not_admin"  # the actor lost the admin role meanwhile


class Change(NamedTuple):
    """A role change's outcome, the person (as they are now) and the roles."""

    outcome: Outcome
    person: Member | None = None
    old: str | None = None
    new: str | None = None


@notices.kind
class RoleChanged(NamedTuple):
    """A notice to the person: their role changed (their command list follows)."""

    person: Member


class _Locked(NamedTuple):
    id: int
    role: str
    registered: bool


def person(conn, person_id: int) -> Member | None:
    """A live, registered person, or None."""
    return rows.one(conn, "roles.person", {"person_id": person_id}, Member)


def card(conn, person_id: int, today: date) -> PersonCard | None:
    """The person's card, or None when there is no such live, registered person."""
    found = person(conn, person_id)
    if found is None:
        return None
    return PersonCard(found, membership_of(conn, found.id, today))


def options(role: str) -> tuple[str, ...]:
    """The roles a person with `role` can be given: every other one."""
    return tuple(r for r in ROLES if r != role)


def propose(conn, actor_id: int, person_id: int, role: str) -> Change:
    """Whether the actor may give the person `role` now (nothing changes)."""
    found = person(conn, person_id)
    if found is None or found.role == role or role not in ROLES:
        return Change(Outcome.STALE, found, found.role if found else None, role)
    if person_id == actor_id:
        return Change(Outcome.SELF, found, found.role, role)
    return Change(Outcome.READY, found, found.role, role)


def change_role(conn, actor_id: int, person_id: int, was: str, role: str) -> Change:
    """Give the person `role` if they still have `was`; audited in the same transaction."""
    if role not in ROLES or role == was:
        return Change(Outcome.STALE, person(conn, person_id), was, role)
    locked = {row.id: row for row in rows.many(
        conn, "roles.lock_pair", {"actor_id": actor_id, "person_id": person_id}, _Locked)}
    actor = locked.get(actor_id)
    if actor is None or actor.role != "admin":
        return Change(Outcome.NOT_ADMIN)
    if person_id == actor_id:
        return Change(Outcome.SELF, person(conn, person_id), was, role)
    target = locked.get(person_id)
    if target is None or not target.registered or target.role != was:
        return Change(Outcome.STALE, person(conn, person_id), was, role)
    rows.execute(conn, "roles.set_role", {"person_id": person_id, "was": was, "role": role})
    audit.record(conn, actor_id=actor_id, action="role.changed", entity="member",
                 entity_id=person_id, details={"from": was, "to": role})
    changed = person(conn, person_id)
    notices.record(conn, RoleChanged(changed))
    return Change(Outcome.CHANGED, changed, was, role)


class _Promoted(NamedTuple):
    id: int
    old_role: str


def promote_bootstrap_admins(conn, telegram_ids: tuple[int, ...]) -> list[Member]:
    """Make the ADMIN_TELEGRAM_IDS people admins again (at start; a demotion in the bot lasts
    until then), each audited as a role change by the system. Those promoted, as they are now.
    """
    promoted = rows.many(conn, "members.promote_admins", {"admin_ids": list(telegram_ids)},
                         _Promoted)
    for found in promoted:
        audit.record(conn, actor_id=None, action="role.changed", entity="member",
                     entity_id=found.id, details={"from": found.old_role, "to": "admin",
                                                  "reason": "ADMIN_TELEGRAM_IDS"})
    return [person(conn, found.id) for found in promoted]
