"""A date the catalog puts at the end of a sentence brings its own full stop in Russian
('6 дек. 2026 г.'), so a sentence never adds another: no '..' on any screen."""

from __future__ import annotations

import re
import string
from datetime import date

import pytest
from babel.messages.pofile import read_po

from fitclub.locales import Texts, catalog_path

#: Placeholders that hold a date ({when} is a date with its time).
DATES = {"date", "start", "end", "until"}
#: Messages whose date-named placeholder holds a time or a date with its time (ends in a digit).
TIMES = {"offer_text", "card_caption", "reminder_cancel_too_late", "mc_window_attended",
         "mc_window_open", "mc_window_late", "mc_window_closed", "mc_window_no_show_later",
         "mc_noshow_summary"}


def _messages(lang: str) -> list[tuple[str, bool, set[str]]]:
    """Every message: its key, whether it is plural, and its placeholders."""
    with catalog_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    found = []
    for m in catalog:
        if not m.id:
            continue
        plural = not isinstance(m.id, str)
        forms = list(m.string) if plural else [m.string]
        names = {name for form in forms for _, name, _, _ in string.Formatter().parse(form)
                 if name}
        found.append((m.id[0] if plural else m.id, plural, names))
    return found


@pytest.mark.parametrize("length", ["long", "short"])
def test_no_russian_message_puts_a_full_stop_after_a_date(length):
    tx = Texts("ru")
    day = tx.date(date(2026, 12, 6), length)
    assert day.endswith(".")  # '6 дек. 2026 г.', 'вс 6 дек.'
    doubled = []
    for key, plural, names in _messages("ru"):
        if key in TIMES or not names & DATES:
            continue
        values = {name: day if name in DATES else "x" for name in names if name != "n"}
        for n in (1, 2, 5) if plural else (None,):
            text = tx.plural(key, n, **values) if plural else tx(key, **values)
            if re.search(r"\.\.(?!\.)", str(text)):
                doubled.append(f"{key}: {text}")
    assert doubled == []


def test_the_membership_request_line_ends_its_date_once():
    """The case the tour found: 'Заявка: Month, 6 дек. 2026 г.. Клуб свяжется…'."""
    tx = Texts("ru")
    text = tx("plan_request_pending", plan="Month", date=tx.date(date(2026, 12, 6), "long"))
    assert "г.." not in text and "г. Клуб свяжется" in text
