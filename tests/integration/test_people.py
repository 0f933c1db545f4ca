"""Finding people by name, username or whole phone number (staff search): the phone only
whole, normalised as registration stores it; every staff search rate limited and audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from fitclub.locales import Texts
from fitclub.screens import audit_log, members_admin
from fitclub.screens import checkin as checkin_screens
from fitclub.screens import people as people_screens
from fitclub.services import card, people
from fitclub.services.people import Kind
from fitclub.services.registration import normalize_phone
from tests import factories


@pytest.fixture
def folks(db):
    return {
        1: factories.member(db, 1, "Anna", last_name="Petrova", phone="+79161234567",
                            username="anna_p"),
        2: factories.member(db, 2, "Annabel", phone="+4915100001111"),
        3: factories.member(db, 3, "Boris", last_name="Annenkov", phone="+4915100002222",
                            username="bigboris"),
        5: factories.member(db, 5, "Anna", last_name="Unregistered", registered=False),
        6: factories.member(db, 6, "100%_sure"),
        7: factories.member(db, 7, "Trainer", role="trainer", phone="+4915100009999"),
    }


def _found(db, text):
    return [m.telegram_id for m in people.search(db, text)]


def _searches(db, actor_id):
    with db.cursor() as cur:
        cur.execute("SELECT entity, entity_id, details FROM audit_log"
                    " WHERE actor_id = %s AND action = 'people.search' ORDER BY id", (actor_id,))
        return cur.fetchall()


def test_name_part_any_case_starts_with_first(db, folks):
    # Names that start with the text come before names that merely contain it.
    assert _found(db, "ann") == [1, 2, 3]
    assert _found(db, "anna") == [1, 2]
    # A member with no phone or username is not ranked as an exact match.
    assert _found(db, "sure") == [6] and _found(db, "ann")[0] == 1
    assert _found(db, "PETROVA") == [1]
    assert _found(db, "anna petrova") == [1]


def test_username_with_or_without_at(db, folks):
    assert _found(db, "@BigBoris") == [3]
    assert _found(db, "anna_p")[0] == 1


@pytest.mark.parametrize("typed", [
    "+79161234567", "+7 916 123-45-67", "+7 (916) 123 45 67", "79161234567",
    "7-916-123-45-67", "007 916 123 45 67", "+7.916.123.45.67", " +7 916 1234567 "])
def test_a_whole_phone_in_any_format_finds_her(db, folks, typed):
    assert _found(db, typed) == [1]


def test_typed_phones_normalise_as_registration_stores_them():
    # One normaliser: what registration stores is what a search looks for.
    assert normalize_phone("+7 (916) 123-45-67") == "+79161234567"
    assert normalize_phone("0049 151 0000 1111") == "+4915100001111"  # 00: international
    assert normalize_phone("49-151-0000-1111") == "+4915100001111"
    # A leading trunk 8 is not read as +7 (registration stores Telegram's international
    # number, and 8 also starts other countries' codes): "8 916…" is another number.
    assert normalize_phone("8 916 123-45-67") == "+89161234567"
    assert normalize_phone("1234") is None  # too short to be a phone


def test_00_prefix_and_leading_8(db, folks):
    assert _found(db, "0049 151 0000 1111") == [2]
    assert _found(db, "8 916 123-45-67") == []


def test_part_of_a_phone_finds_nobody(db, folks):
    """The probe: every run of digits shorter than the whole number finds nobody, with or
    without '+', from the start or from the end."""
    digits = "79161234567"
    for n in range(1, len(digits)):
        for typed in (digits[:n], "+" + digits[:n], digits[-n:], "+" + digits[-n:]):
            assert _found(db, typed) == [], typed
    assert _found(db, "1111") == [] and _found(db, "+4915100001") == []


def test_unregistered_and_wildcards(db, folks):
    # (An erased member keeps no name or phone, so no search can find one.)
    assert 5 not in _found(db, "Unregistered")
    assert _found(db, "100%") == [6]
    assert _found(db, "%") == [] and _found(db, "__") == []


def test_too_short_or_too_long_finds_nothing(db, folks):
    assert _found(db, "a") == []
    assert _found(db, "   ") == []
    assert _found(db, "a" * 65) == []


def test_kinds():
    assert people.kind_of("Anna") is Kind.NAME and people.kind_of("anna_p") is Kind.NAME
    assert people.kind_of("@anna_p") is Kind.USERNAME
    for typed in ("+7 916", "12", "(916) 123-45", "0049 151"):
        assert people.kind_of(typed) is Kind.PHONE, typed
    assert people.kind_of("Anna 2") is Kind.NAME


def test_each_search_is_audited_without_the_text_typed(db, folks):
    staff, now = folks[7], datetime.now(UTC)
    people.find(db, staff, "anna", now, 60)
    people.find(db, staff, "@bigboris", now, 60)
    people.find(db, staff, "+7 916 123-45-67", now, 60)
    people.find(db, staff, "9161234567", now, 60)
    shown = people.find(db, staff, "+7 916 123-45-67", now, 60)
    assert shown.kind is Kind.PHONE and shown.phone == "+79161234567"
    assert [m.telegram_id for m in shown.members] == [1]
    rows = _searches(db, staff)
    assert [(entity, entity_id) for entity, entity_id, _ in rows] == [("member", None)] * 5
    assert [d for _, _, d in rows] == [
        {"kind": "name", "found": 2, "member_ids": [folks[1], folks[2]]},
        {"kind": "username", "found": 1, "member_ids": [folks[3]]},
        {"kind": "phone", "found": 1, "member_ids": [folks[1]]},
        {"kind": "phone", "found": 0, "member_ids": []},
        {"kind": "phone", "found": 1, "member_ids": [folks[1]]}]
    written = json.dumps([d for _, _, d in rows])
    for typed in ("anna", "Anna", "bigboris", "916", "4567", "Petrova"):
        assert typed not in written


def test_a_card_code_typed_is_a_search_audited_with_its_holder(db, folks):
    staff, now = folks[7], datetime.now(UTC)
    shown = card.issue(db, folks[1], now, "s" * 32, 5)
    db.commit()
    assert people.code_search(db, staff, shown.code[:3] + " " + shown.code[3:], now, 60) is None
    unknown = next(c for c in ("000000", "111111", "222222") if c != shown.code)
    assert people.code_search(db, staff, unknown, now, 60) is None
    assert [d for _, _, d in _searches(db, staff)] == [
        {"kind": "code", "found": 1, "member_ids": [folks[1]]},
        {"kind": "code", "found": 0, "member_ids": []}]


def test_the_limit_refuses_with_when_to_try_again(db, folks):
    staff, other = folks[7], folks[3]
    start = datetime.now(UTC)
    for _ in range(3):
        assert people.find(db, staff, "anna", start, 3).retry_at is None
    db.commit()
    (first,), = _at(db, staff)[:1]
    refused = people.find(db, staff, "anna", start, 3)
    assert refused.members == [] and refused.retry_at is not None
    # The oldest of the three leaves the window at first + 10 minutes: the next whole minute.
    assert first + people.WINDOW <= refused.retry_at < first + people.WINDOW + timedelta(
        minutes=1)
    assert refused.retry_at.second == 0
    # A code typed is refused too, and neither refusal is recorded as a search.
    assert people.code_search(db, staff, "123456", start, 3) == refused.retry_at
    assert len(_searches(db, staff)) == 3
    # Another staff member's searches are their own.
    assert people.find(db, other, "anna", start, 3).retry_at is None
    # Ten minutes on, the staff member may search again.
    later = refused.retry_at + timedelta(seconds=1)
    assert [m.telegram_id for m in people.find(db, staff, "anna", later, 3).members] == [1, 2]


def _at(db, actor_id):
    with db.cursor() as cur:
        cur.execute("SELECT at FROM audit_log WHERE actor_id = %s AND action = 'people.search'"
                    " ORDER BY at", (actor_id,))
        return cur.fetchall()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_list_shows_a_phone_digit_not_typed(db, folks, lang):
    """Every list of people found (/checkin, /members, /people, the audit filter) shows names
    only, unless the whole number was typed: then that number."""
    tx, staff, now = Texts(lang), folks[7], datetime.now(UTC)

    def labels(screen):
        return [b.text for row in screen.markup.keyboard for b in row]

    by_name = people.find(db, staff, "anna", now, 60)
    by_phone = people.find(db, staff, "+7 916 123 45 67", now, 60)
    for screen in (checkin_screens.results(tx, "anna", by_name),
                   members_admin.search_results(tx, "anna", by_name),
                   people_screens.results(tx, "anna", by_name),
                   audit_log.found_people(tx, "anna", by_name)):
        shown = " ".join(labels(screen)) + screen.text
        assert "Anna Petrova" in shown and "Annabel" in shown
        assert not any(ch.isdigit() for ch in " ".join(labels(screen))), labels(screen)
    for screen in (checkin_screens.results(tx, "+7 916 123 45 67", by_phone),
                   members_admin.search_results(tx, "+7 916 123 45 67", by_phone),
                   audit_log.found_people(tx, "+7 916 123 45 67", by_phone)):
        assert labels(screen)[0] == "Anna Petrova · +79161234567"
    assert labels(people_screens.results(tx, "+7 916 123 45 67", by_phone))[0].startswith(
        "Anna Petrova · ")


@pytest.mark.parametrize(("lang", "limited", "hint"), [
    ("en", "Too many searches: you can search again at ",
     "A phone number is found only whole, starting with its country code."),
    ("ru", "Слишком много поисков: искать снова можно в ",
     "Номер телефона находится только целиком, начиная с кода страны.")])
def test_refusal_and_hint_lines(db, folks, lang, limited, hint):
    tx, staff, now = Texts(lang), folks[7], datetime.now(UTC)
    part = people.find(db, staff, "916123", now, 2)  # '+' would skip the code path at the door
    assert part.members == [] and part.kind is Kind.PHONE
    for screen in (checkin_screens.results(tx, "916123", part),
                   members_admin.search_results(tx, "916123", part),
                   people_screens.results(tx, "916123", part),
                   audit_log.found_people(tx, "916123", part)):
        assert hint in screen.text
    people.find(db, staff, "anna", now, 2)
    refused = people.find(db, staff, "anna", now, 2)
    time = tx.time(refused.retry_at)
    for screen in (checkin_screens.results(tx, "anna", refused),
                   checkin_screens.limited(tx, refused.retry_at),
                   members_admin.search_results(tx, "anna", refused),
                   people_screens.results(tx, "anna", refused),
                   audit_log.found_people(tx, "anna", refused)):
        assert screen.text == f"{limited}{time}.", screen.text
