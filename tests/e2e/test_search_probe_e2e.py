"""The phone-by-digits probe, end to end (issue 17, finding 3), in English and Russian: a member
registers with her phone shared from Telegram; a trainer at /checkin and an admin at /members
type 4, 5, … 10 digits of her number (its start and its end), with and without '+', and never
see a match or a digit of her number they did not type; her whole number, in any format,
finds her. Every search is audited without the text typed, and past SEARCH_LIMIT the staff
member is told in one line when to search again. The bot is its own process, tgemu over HTTP,
a real PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain
from tests.e2e.harness import query
from tests.e2e.session import Person, buttons

SHARED = "79161234567"  # as Telegram shares it; registration stores +79161234567
DIGITS = SHARED
LIMIT = 40  # more than the probe's searches, so the limit itself can be reached after it


def _probes() -> list[str]:
    """Every part of her number from 4 to 10 digits, from its start and from its end, with
    and without '+' (a leading '+' used to escape /checkin's 6-digit code path)."""
    parts = []
    for n in range(4, len(DIGITS)):
        for part in (DIGITS[:n], DIGITS[-n:]):
            parts += [part, "+" + part]
    return parts


def _leaks(text: str, typed: str) -> list[str]:
    """Runs of two or more digits in a reply once what was typed (as typed, and as /checkin
    echoes a 6-digit code, '916 123') is taken out: any is a digit the searcher did not
    type. (The catalog's own texts hold no such run: '6-digit' is one digit.)"""
    bare = typed.removeprefix("+")
    rest = text.replace(typed, "").replace(f"{bare[:3]} {bare[3:]}", "")
    return re.findall(r"\d{2,}", rest)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_part_of_a_phone_finds_nobody_and_shows_no_digit(emu, launcher, db_url, lang):
    tx = Texts(lang)
    tom = Person(emu, "Tom", language_code=lang)
    ada = Person(emu, "Ada", language_code=lang)
    anna = Person(emu, "Anna", language_code=lang, phone_number=SHARED)
    tom_id = factories.member(db_url, tom.id, "Tom", phone="+4915100000010", role="trainer",
                              language=lang)
    ada_id = factories.member(db_url, ada.id, "Ada", phone="+4915100000001", role="admin",
                              language=lang)
    launcher.start(db_url, SEARCH_LIMIT=str(LIMIT))

    # She registers; her phone is stored as registration normalises it.
    anna.send("/start")
    anna.send("Anna Petrova")
    anna.share_contact(expect=2)
    assert query(db_url, "SELECT phone FROM members WHERE telegram_id = %s", (anna.id,)) == [
        ("+" + SHARED,)]

    staff_back = plain(tx, "staff_back")
    tom.send("/checkin")
    ada.send("/members")
    for typed in _probes():
        for person in (tom, ada):
            (reply,) = person.send(typed)
            assert buttons(reply) == [[staff_back]], (person.user.data.first_name, typed)
            assert "Anna" not in reply["text"] and DIGITS not in reply["text"], typed
            assert _leaks(reply["text"], typed) == [], (typed, reply["text"])

    # Her whole number finds her, in any format; the button shows only the number typed.
    for typed in ("+" + SHARED, "+7 (916) 123-45-67"):
        (found,) = tom.send(typed)
        assert buttons(found) == [["Anna Petrova · +79161234567"], [staff_back]]
        (listed,) = ada.send(typed)
        assert buttons(listed) == [["Anna Petrova · +79161234567"], [staff_back]]
    # By name: her name only, no digit of her phone.
    (by_name,) = tom.send("Petrova")
    assert buttons(by_name) == [["Anna Petrova"], [staff_back]]
    (by_name,) = ada.send("anna")
    assert buttons(by_name) == [["Anna Petrova"], [staff_back]]

    # Every search is audited: its kind and how many were found, never the text typed (the
    # 6-digit parts at /checkin were card codes; a '+' or another length is a phone).
    anna_id = query(db_url, "SELECT id FROM members WHERE telegram_id = %s", (anna.id,))[0][0]
    rows = query(db_url, "SELECT actor_id, details FROM audit_log"
                         " WHERE action = 'people.search' ORDER BY id")
    per_staff = len(_probes()) + 3
    assert [a for a, _ in rows].count(tom_id) == per_staff
    assert [a for a, _ in rows].count(ada_id) == per_staff
    for _, details in rows:
        assert set(details) == {"kind", "found", "member_ids"}
        assert details["found"] == len(details["member_ids"])
        assert details["member_ids"] in ([], [anna_id])
    tom_kinds = [d["kind"] for a, d in rows if a == tom_id]
    assert tom_kinds.count("code") == 2 and tom_kinds.count("name") == 1
    assert [d["member_ids"] for a, d in rows if a == ada_id][-3:] == [[anna_id]] * 3
    logged = " ".join(str(d) for _, d in rows)
    assert "916" not in logged and "4567" not in logged and "Petrova" not in logged

    # Past SEARCH_LIMIT searches in ten minutes: refused in one line, saying when.
    for _ in range(LIMIT - per_staff):
        tom.send("Petrova")
    (refused,) = tom.send("Petrova")
    (first,), = query(db_url, "SELECT min(at) FROM audit_log WHERE actor_id = %s"
                              " AND action = 'people.search'", (tom_id,))
    when = (first + timedelta(minutes=10)).replace(second=0, microsecond=0)
    allowed = {tx.time(when), tx.time(when + timedelta(minutes=1))}
    assert refused["text"] in {plain(tx, "search_limited", time=t) for t in allowed}
    assert buttons(refused) == [[staff_back]]
    assert first > datetime.now(UTC) - timedelta(minutes=10)
    (code_refused,) = tom.send("123456")  # a code typed is a search too
    assert code_refused["text"] == refused["text"]
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE actor_id = %s"
                         " AND action = 'people.search'", (tom_id,)) == [(LIMIT,)]
    # The admin's own count is apart: she still searches.
    (still,) = ada.send("anna")
    assert buttons(still) == [["Anna Petrova"], [staff_back]]
