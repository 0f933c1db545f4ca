"""/audit: pages of staff actions (when, who, what, on whom, details), and the member filter."""

from __future__ import annotations

import re

from fitclub.callbacks import AUDIT_FILTER, AUDIT_MEMBER, AUDIT_PAGE
from fitclub.db.members import Member
from fitclub.locales import Raw, Texts, esc
from fitclub.screens import Screen, inline
from fitclub.screens.staff import back_row
from fitclub.services.audit_log import Entry, Page, summarise

# Identifiers that may name a catalog message (anything else is shown as it is).
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_.]{0,60}")


def _named(tx: Texts, prefix: str, identifier: str) -> str:
    """The catalog's name for an action or entity identifier, else the identifier itself."""
    if _IDENTIFIER.fullmatch(identifier):
        key = prefix + identifier.replace(".", "_")
        named = tx(key)
        if named != key:
            return named
    return Raw(esc(identifier))


def action_name(tx: Texts, action: str) -> str:
    """'classes.cancel' -> 'Cancelled a class' (from the catalog); unknown: the identifier."""
    return _named(tx, "aud_action_", action)


def whom(tx: Texts, entry: Entry) -> str:
    """The member the entry is about, else what it names ('class #12'), else nothing."""
    if entry.subject_id is not None:
        return Raw(esc(entry.subject_name)) if entry.subject_name else tx("aud_erased")
    if entry.entity_id is not None:
        return tx("aud_entity", entity=Raw(_named(tx, "aud_entity_", entry.entity)),
                  id=entry.entity_id)
    return Raw(_named(tx, "aud_entity_", entry.entity))


def entry_lines(tx: Texts, entry: Entry) -> list[str]:
    """An entry as two lines (when and who; what on whom), plus its details in one line."""
    who = entry.actor_name if entry.actor_name else tx("aud_erased")
    lines = [tx("aud_entry_head", when=tx.datetime(entry.at), who=who),
             tx("aud_entry_what", what=Raw(action_name(tx, entry.action)),
                whom=Raw(whom(tx, entry)))]
    details = summarise(entry.details)
    if details:
        lines.append(tx("aud_entry_details", details=details))
    return lines


def _page_button(member: Member | None, number: int) -> str:
    if member is None:
        return AUDIT_PAGE(page=number)
    return AUDIT_MEMBER(member_id=member.id, page=number)


def page(tx: Texts, found: Page) -> Screen:
    """A page of the log, newest first, with newer/older, the filter and the way back."""
    lines = [tx("aud_title", page=found.number + 1)]
    if found.member is not None:
        lines.append(tx("aud_filtered", name=found.member.name))
    for entry in found.entries:
        lines += ["", *entry_lines(tx, entry)]
    if not found.entries:
        lines += ["", tx("aud_empty_member", name=found.member.name) if found.member
                  else tx("aud_empty")]
    nav = []
    if found.number > 0:
        nav.append((tx("aud_newer"), _page_button(found.member, found.number - 1)))
    if found.has_older:
        nav.append((tx("aud_older"), _page_button(found.member, found.number + 1)))
    rows = [nav] if nav else []
    if found.member is None:
        rows.append([(tx("aud_filter"), AUDIT_FILTER())])
    else:
        rows.append([(tx("aud_clear"), AUDIT_PAGE(page=0))])
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def ask(tx: Texts) -> Screen:
    """The filter's question: whose actions to show."""
    return Screen(tx("aud_ask"), inline([[(tx("aud_cancel"), AUDIT_PAGE(page=0))]]))


def found_people(tx: Texts, text: str, people: list[Member]) -> Screen:
    """The people a search found, a button each; nobody: say so. Cancel either way."""
    rows = [[(f"{p.name} · {p.phone}" if p.phone else p.name,
              AUDIT_MEMBER(member_id=p.id, page=0))] for p in people]
    rows.append([(tx("aud_cancel"), AUDIT_PAGE(page=0))])
    key = "aud_found" if people else "aud_none_found"
    return Screen(tx(key, text=text), inline(rows))


def bad_query(tx: Texts, shortest: int, longest: int) -> Screen:
    """A search text too short or too long."""
    return Screen(tx("aud_bad_query", min=shortest, max=longest),
                  inline([[(tx("aud_cancel"), AUDIT_PAGE(page=0))]]))
