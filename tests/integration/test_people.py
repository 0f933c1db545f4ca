"""Finding people by name, phone or username (staff search)."""

from __future__ import annotations

import pytest

from fitclub.services import people
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
    }


def _found(db, text):
    return [m.telegram_id for m in people.search(db, text)]


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


def test_phone_digits_in_any_format(db, folks):
    assert _found(db, "+7 916 123-45-67") == [1]
    assert _found(db, "1111") == [2]
    assert _found(db, "123") == []  # fewer than 4 digits match no phone


def test_unregistered_and_wildcards(db, folks):
    # (An erased member keeps no name or phone, so no search can find one.)
    assert 5 not in _found(db, "Unregistered")
    assert _found(db, "100%") == [6]
    assert _found(db, "%") == [] and _found(db, "__") == []


def test_too_short_or_too_long_finds_nothing(db, folks):
    assert _found(db, "a") == []
    assert _found(db, "   ") == []
    assert _found(db, "a" * 65) == []
