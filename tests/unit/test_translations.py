"""Club content in two languages: the one function that decides which text a reader sees,
messages and buttons that use it, and rows that carry both languages."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from fitclub.db import rows
from fitclub.locales import Localized, Texts, other_language, shown

GOLD = Localized("Gold", "en", "Золотой")
UTRO = Localized("Утро", "ru", "Morning")
ONLY = Localized("Pilates", "en")  # no translation


@pytest.mark.parametrize(("value", "lang", "seen"), [
    (GOLD, "en", "Gold"), (GOLD, "ru", "Золотой"),  # typed in English, translated
    (UTRO, "ru", "Утро"), (UTRO, "en", "Morning"),  # typed in Russian, translated
    (ONLY, "en", "Pilates"), (ONLY, "ru", "Pilates"),  # no translation: one name for both
    # A description typed empty with a translation: the translation, in either language.
    (Localized("", "en", "Растяжка"), "en", "Растяжка"),
    (Localized("", "en", "Растяжка"), "ru", "Растяжка"),
    (Localized("", "en"), "ru", ""),  # nothing in either language
    ("plain text", "ru", "plain text"), (None, "en", ""),  # not club content: as it is
])
def test_the_readers_language_is_shown_else_the_other(value, lang, seen):
    assert shown(value, lang) == seen
    assert Texts(lang).content(value) == seen


def test_as_a_string_it_is_the_text_as_typed_and_admins_read_each_language_exactly():
    assert str(UTRO) == "Утро" and UTRO == "Утро"
    assert (UTRO.given_in("ru"), UTRO.given_in("en")) == ("Утро", "Morning")
    assert (ONLY.given_in("en"), ONLY.given_in("ru")) == ("Pilates", None)
    assert Localized("", "en", "Растяжка").given_in("en") is None
    assert [other_language("en"), other_language("ru")] == ["ru", "en"]


@pytest.mark.parametrize(("lang", "seen"), [("en", "Gold"), ("ru", "Золотой")])
def test_a_message_shows_club_content_in_its_own_language_escaped(lang, seen):
    tx = Texts(lang)
    assert tx("plan_request_button", name=GOLD) == tx("plan_request_button", name=seen)
    assert "&lt;b&gt;" in tx("plan_request_button", name=Localized("<b>", "en", "<b>"))
    assert tx.plural("plan_visits", 3) == Texts(lang).plural("plan_visits", 3)


class _Row(NamedTuple):
    id: int
    name: Localized
    note: str | None
    description: Localized | None


def test_a_row_field_declared_localized_is_built_from_its_i18n_column():
    row = rows.build(_Row, (7, ["ru", "Утро", "Morning"], "as is", None))
    assert isinstance(row.name, Localized)
    assert (row.name, row.name.lang, row.name.translation) == ("Утро", "ru", "Morning")
    assert row.note == "as is" and not isinstance(row.note, Localized)
    assert row.description is None
    plain = rows.build(_Row, (8, "Pilates", None, ["en", "", None]))
    assert (shown(plain.name, "ru"), shown(plain.description, "ru")) == ("Pilates", "")
