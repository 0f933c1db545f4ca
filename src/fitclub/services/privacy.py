"""A member's right to be forgotten: "Delete my data" leaves nothing that identifies them.

The erasure runs in the transaction of the member's confirmation, after locking their row
(a writer reading their Telegram id with FOR SHARE waits for it, or it for the writer). It
collects what identifies the member (names, phone, username, Telegram id, and the names
Telegram sent with their updates), each matched only as a whole word or number, and looks for
them in every table that may hold them: rows of their own chat lose their content and chat id;
other people's stored updates and sent messages that name them (their member card shown to an
admin, a search by their phone, a note's text, an export file) lose their content; other
people's notes, reasons, announcements, audit entries and conversations keep their text with
only the matched span replaced by '…', and only by what identifies the member (not a first
name alone). Visits, bookings, memberships, orders and payments stay under the internal member
id (orders and payments hold no personal data: they are left as they are), so reports and the
books still add up. Functions and triggers: sql/0025_erasure.sql, sql/0028_erasure_fixes.sql,
sql/0032_erasure_outbound_pace.sql.

The confirmation is the last message of their chat: a second press or anything else they sent
meanwhile is handled, and its traces (and its replies' chat id, the chat's flood, "/" list and
outbound pacing rows) go with the confirmation's; a picture drawn for them meanwhile is not sent.

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
# The erasure's statements may run longer than DB_STATEMENT_TIMEOUT_MS allows an update's
# statements (each scan reads every stored update, message or audit entry): this long at most.
STATEMENT_TIMEOUT_MS = 120_000

# A name or username matches only as a whole word: not next to a letter, digit or underscore
# (Latin, Greek and Cyrillic letters, whatever the database's locale). In a JSON value's text
# an escape such as \n before the name counts as a boundary too. Numbers (a phone, the Telegram
# id) match only where no digit is next to them.
_WORD = "[[:alnum:]_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u052f]"
_WORD_START = f"(?:(?<!{_WORD})|(?<=\\\\[nrtbf]))"
_WORD_END = f"(?!{_WORD})"
_NUMBER_START, _NUMBER_END = "(?<![0-9])", "(?![0-9])"


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
    telegram_said: list[str]  # "kind:value": first, last, full, username, phone


class Terms(NamedTuple):
    """What the member is looked for by, as the erasure queries take it."""

    # One regular expression of every form of every identifier, or '': what scrubs whole
    # rows of stored copies that are history (processed updates, finished messages and jobs).
    pattern: str
    # Only what identifies her (registered name, Telegram's first and last name together,
    # phone, username, Telegram id), or '': matched spans of other people's durable records
    # (notes, reasons, announcements, audit details, conversations) become '…'.
    span: str
    tg_id: int | None  # the Telegram id to null in JSON numbers, or None
    byte_terms: list[bytes]  # identifiers as UTF-8, looked for in files' bytes
    # pattern and span without the word and number boundaries: a text is first matched
    # against these (about ten times quicker), and only one that matches against the bounded
    # one (erasure_finds).
    quick: str = ""
    span_quick: str = ""

    def params(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "span": self.span, "tg_id": self.tg_id,
                "quick": self.quick, "span_quick": self.span_quick,
                "byte_terms": [psycopg2.Binary(b) for b in self.byte_terms]}


def _literal(text: str) -> str:
    """Text as a literal in a PostgreSQL regular expression (ASCII punctuation escaped; a run
    of spaces matches any run of white space)."""
    return "".join("\\" + c if ord(c) < 128 and not c.isalnum() and c != " " else c
                   for c in text).replace(" ", "\\s+")


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


def _pattern(telegram_id: int | None, words: set[str], phones: set[str], *,
             bounded: bool = True) -> str:
    """One regular expression: the words whole, the phones' digits (separators allowed between
    them, a '+' before) and the Telegram id each not inside a longer number. Not `bounded`:
    the same without the boundaries, a quicker first test (what it misses, the bounded one
    misses too)."""
    word = (_WORD_START, _WORD_END) if bounded else ("", "")
    number = (_NUMBER_START, _NUMBER_END) if bounded else ("", "")
    parts = []
    if words:
        alternatives = sorted({_literal(form) for word in words for form in _forms(word)},
                              key=lambda a: (-len(a), a))
        parts.append(f"{word[0]}(?:{'|'.join(alternatives)}){word[1]}")
    if phones:
        spread = sorted("[ ().-]{0,3}".join(digits) for digits in phones)
        parts.append(f"{number[0]}\\+?(?:{'|'.join(spread)}){number[1]}")
    if telegram_id is not None:
        parts.append(f"{number[0]}{telegram_id}{number[1]}")
    return "|".join(f"(?:{part})" for part in parts)


def terms_for(telegram_id: int | None, names: Iterable[str | None],
              phones: Iterable[str | None], usernames: Iterable[str | None], *,
              others: Iterable[str | None] = ()) -> Terms:
    """The search terms for one person's identifiers: `names` identify them (a full name),
    `others` only in their own chat and stored copies (a first name alone)."""
    def words(given: Iterable[str | None]) -> set[str]:
        return {spaced for name in filter(None, given)
                if len(spaced := " ".join(name.split())) >= MIN_TERM}

    identifying = words(names)
    for username in filter(None, usernames):
        if len(bare := username.lstrip("@")) >= MIN_TERM:
            identifying |= {bare, "@" + bare}
    numbers = {only for phone in filter(None, phones)
               if len(only := "".join(c for c in phone if c.isdigit())) >= MIN_DIGITS}
    tg_id = (telegram_id if telegram_id is not None
             and len(str(abs(telegram_id))) >= MIN_ID_DIGITS else None)
    byte_terms = sorted({case.encode() for term in identifying | numbers
                         for case in {term, term.lower(), term.upper(), term.title()}})
    broad = identifying | words(others)
    return Terms(_pattern(tg_id, broad, numbers), _pattern(tg_id, identifying, numbers), tg_id,
                 byte_terms, _pattern(tg_id, broad, numbers, bounded=False),
                 _pattern(tg_id, identifying, numbers, bounded=False))


def _terms(found: _Identifiers) -> Terms:
    said: dict[str, list[str]] = {}
    for entry in found.telegram_said:
        kind, _, value = entry.partition(":")
        said.setdefault(kind, []).append(value)
    registered = " ".join(filter(None, [found.first_name, found.last_name]))
    return terms_for(found.telegram_id, [registered, *said.get("full", [])],
                     [found.phone, *said.get("phone", [])],
                     [found.username, *said.get("username", [])],
                     others=[found.first_name, found.last_name, *said.get("first", []),
                             *said.get("last", [])])


def erase_member(conn, member_id: int, telegram_id: int, now: datetime, rules: Rules,
                 update_id: int | None = None) -> tuple[bool, list[OfferNotice]]:
    """Erase what identifies the member; visits, bookings and memberships stay as figures.

    Their places on classes not yet started are cancelled through the booking rules (visits
    given back, held offers withdrawn, freed places offered to the next in line, each offer
    recorded as a notice by the booking service and returned too). Jobs still to run for
    them are cancelled, messages still queued for them dropped. (False, []) when the member
    is already gone. The caller queues the confirmation, then calls forget_chat_when_done.
    """
    if rows.scalar(conn, "erasure.lock_member", {"member_id": member_id}) is None:
        return False, []
    found = rows.one(conn, "erasure.identifiers", {"member_id": member_id}, _Identifiers)
    if found is None:
        return False, []
    timeout = rows.scalar(conn, "erasure.statement_timeout", {})
    if timeout and timeout < STATEMENT_TIMEOUT_MS:
        rows.scalar(conn, "erasure.set_statement_timeout", {"ms": STATEMENT_TIMEOUT_MS})
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
    erased = rows.execute(conn, "members.erase", {"id": member_id})
    if timeout and timeout < STATEMENT_TIMEOUT_MS:  # the handler's own statements: as before
        rows.scalar(conn, "erasure.set_statement_timeout", {"ms": timeout})
    if not erased:
        return False, []
    audit.record(conn, actor_id=None, action="member.erased", entity="member",
                 entity_id=member_id)
    return True, offers


def forget_chat_when_done(conn, telegram_id: int) -> int:
    """What is queued for the erased member's chat now (the confirmation, the removal of
    their "/" list) is the last: once each is delivered or given up, the chat's finished
    updates and messages lose their content and chat id. How many messages were marked."""
    return rows.execute(conn, "erasure.forget_chat_when_done", {"tg": telegram_id})
