"""A member's right to be forgotten: "Delete my data" leaves nothing that identifies them.

The erasure runs in the transaction of the member's confirmation. It collects what
identifies the member (names, phone, username, Telegram id, and the names Telegram sent
with their updates) and looks for them in every table that may hold them: rows of their own
chat lose their content and chat id; other people's stored updates and sent messages that
name them (their member card shown to an admin, a search by their phone, a note's text, an
export file) lose their content; audit entries and conversations keep their shape with the
identifiers replaced by '…' (sql/0025_erasure.sql: erasure_holds, erasure_scrub). Visits,
bookings and memberships stay under the internal member id, so reports still add up.

The content scans read every stored update and message: their cost follows what retention
keeps (measured in docs/operations.md).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import psycopg2

from fitclub.db import audit, rows
from fitclub.services import booking
from fitclub.services.booking import OfferNotice, Rules

PLACEHOLDER = "…"  # what an identifier in a kept text becomes (the same in the migration)
MIN_TERM = 3  # a shorter name alone (a first name "Li") is not looked for in other texts
MIN_DIGITS = 7  # a phone is looked for by its digits alone from this many digits on
MIN_ID_DIGITS = 5  # a Telegram id is looked for as a number from this many digits on


class _Place(NamedTuple):
    """A class the member holds a place on, not yet started."""

    class_id: int
    status: str  # booked or waitlisted


class _Identifiers(NamedTuple):
    telegram_id: int | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    username: str | None
    telegram_said: list[str]


class Terms(NamedTuple):
    """What the member is looked for by, as the erasure queries take it."""

    pattern: str  # one regular expression of every form of every identifier, or ''
    tg_id: int | None  # the Telegram id to null in JSON numbers, or None
    byte_terms: list[bytes]  # identifiers as UTF-8, looked for in files' bytes

    def params(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "tg_id": self.tg_id,
                "byte_terms": [psycopg2.Binary(b) for b in self.byte_terms]}


def _literal(text: str) -> str:
    """Text as a literal in a PostgreSQL regular expression (ASCII punctuation escaped)."""
    return "".join("\\" + c if ord(c) < 128 and not c.isalnum() and c != " " else c
                   for c in text)


def _ascii_lower(text: str) -> str:
    """What `~*` folds (ASCII only, whatever the database's locale): non-ASCII letters keep
    their case, so their case forms are alternatives of their own."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def _forms(term: str) -> set[str]:
    """A term as it may be stored: its cases, HTML-escaped (screens escape names), and
    JSON-escaped (jsonb's text form of a string)."""
    forms: set[str] = set()
    for case in {term, term.lower(), term.upper(), term.title(), term.capitalize()}:
        for shown in {case, html.escape(case), html.escape(case, quote=False)}:
            forms |= {shown, json.dumps(shown, ensure_ascii=False)[1:-1]}
    return {_ascii_lower(form) for form in forms}


def terms_for(telegram_id: int | None, names: Iterable[str | None],
              phones: Iterable[str | None], usernames: Iterable[str | None]) -> Terms:
    """The search terms for one person's identifiers."""
    raw: set[str] = set()
    for name in filter(None, names):
        if len(spaced := " ".join(name.split())) >= MIN_TERM:
            raw.add(spaced)
    spread: set[str] = set()  # a phone's digits with separators allowed between them
    for phone in filter(None, phones):
        if len(only := "".join(c for c in phone if c.isdigit())) >= MIN_DIGITS:
            raw |= {phone.strip(), only}
            spread.add("[ ().-]{0,3}".join(only))
    for username in filter(None, usernames):
        bare = username.lstrip("@")
        if len(bare) >= MIN_TERM:
            raw |= {bare, "@" + bare}
    long_id = telegram_id is not None and len(str(abs(telegram_id))) >= MIN_ID_DIGITS
    alternatives = sorted({_literal(form) for term in raw for form in _forms(term)}) + sorted(
        spread)
    if long_id:
        alternatives.append(f"(^|[^0-9]){telegram_id}([^0-9]|$)")
    byte_terms = sorted({case.encode() for term in raw
                         for case in {term, term.lower(), term.upper(), term.title()}})
    return Terms("|".join(f"({a})" for a in alternatives), telegram_id if long_id else None,
                 byte_terms)


def _terms(found: _Identifiers) -> Terms:
    said = [s for s in found.telegram_said if s]
    full = " ".join(filter(None, [found.first_name, found.last_name]))
    return terms_for(found.telegram_id, [found.first_name, found.last_name, full, *said],
                     [found.phone, *said], [found.username, *said])


def erase_member(conn, member_id: int, telegram_id: int, now: datetime, rules: Rules,
                 update_id: int | None = None) -> tuple[bool, list[OfferNotice]]:
    """Erase what identifies the member; visits, bookings and memberships stay as figures.

    Their places on classes not yet started are cancelled through the booking rules (visits
    given back, held offers withdrawn, freed places offered to the next in line, each offer
    recorded as a notice by the booking service and returned too). Jobs still to run for
    them are cancelled, messages still queued for them dropped. (False, []) when the member
    is already gone. The caller queues the confirmation, then calls forget_chat_when_done.
    """
    found = rows.one(conn, "erasure.identifiers", {"member_id": member_id}, _Identifiers)
    if found is None:
        return False, []
    tg = found.telegram_id if found.telegram_id is not None else telegram_id
    offers: list[OfferNotice] = []
    for class_id, status in rows.many(conn, "members.future_places", {"id": member_id},
                                      _Place):
        if status == "booked":
            result = booking.cancel_booking(conn, member_id, class_id, now, rules)
        else:
            result = booking.leave_waitlist(conn, member_id, class_id, now, rules)
        offers += result.offers
    params = {"member_id": member_id, "tg": tg, "update_id": update_id or 0,
              **_terms(found).params()}
    for name in ("cancel_jobs", "scrub_jobs", "delete_cards", "delete_chat_rows",
                 "scrub_states", "delete_notes", "scrub_notes", "scrub_adjustments",
                 "scrub_audit", "scrub_announcements",
                 # Messages before updates: a message answering one of her updates is found
                 # by that update's chat.
                 "drop_own_outbox", "scrub_own_outbox", "scrub_others_outbox",
                 "scrub_own_inbox", "scrub_others_inbox"):
        rows.execute(conn, f"erasure.{name}", params)
    if not rows.execute(conn, "members.erase", {"id": member_id}):
        return False, []
    audit.record(conn, actor_id=None, action="member.erased", entity="member",
                 entity_id=member_id)
    return True, offers


def forget_chat_when_done(conn, telegram_id: int) -> int:
    """What is queued for the erased member's chat now (the confirmation, the removal of
    their "/" list) is the last: once each is delivered or given up, the chat's finished
    updates and messages lose their content and chat id. How many messages were marked."""
    return rows.execute(conn, "erasure.forget_chat_when_done", {"tg": telegram_id})
