"""The name check: NFKC, and invisible, control and direction-changing characters refused."""

from __future__ import annotations

import pytest

from fitclub.services import registration

REFUSED = [
    "\u3164",  # Hangul filler (a "letter" that shows nothing)
    "\uffa0",  # halfwidth Hangul filler (NFKC makes it U+3164)
    "\u115f", "\u1160",  # Hangul choseong/jungseong fillers
    "\u2800",  # braille blank
    "\u2061", "\u2062", "\u2063", "\u2064",  # invisible operators
    "\u061c",  # Arabic letter mark
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",  # zero-width and direction marks
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # isolates
    "\u2060", "\ufeff", "\u00ad", "\u180e",  # other format characters (Cf)
    "\U000e0001", "\U000e0041", "\U000e007f",  # tag characters
    "\x00", "\x07", "\x1b", "\x7f", "\x85",  # control characters (Cc)
    "\u2028", "\u2029",  # line and paragraph separators
    "\ue000",  # private use
]


@pytest.mark.parametrize("ch", REFUSED, ids=lambda ch: f"U+{ord(ch):04X}")
@pytest.mark.parametrize("where", ["end", "start", "middle", "alone"])
def test_invisible_control_and_direction_characters_are_refused(ch, where):
    text = {"end": f"Anna{ch}", "start": f"{ch}Anna", "middle": f"An{ch}na",
            "alone": ch}[where]
    assert registration.check_name(text) == (None, "reg_name_invisible", 0)


@pytest.mark.parametrize("text", ["\ufe0f", "Anna \ufe0f", "Anna\ufe0f\ufe0f", "\U000e0100Anna"])
def test_a_variation_selector_that_modifies_nothing_is_refused(text):
    assert registration.check_name(text).problem == "reg_name_invisible"


@pytest.mark.parametrize("text", ["Анна", "José", "李雷", "O'Brien", "Anne-Marie", "Anna ❤️",
                                  "Anna 👍🏽", "  Anna\tPetrova\n"])
def test_real_names_pass(text):
    checked = registration.check_name(text)
    assert checked.problem is None and checked.name == " ".join(text.split())


@pytest.mark.parametrize(("text", "name"), [
    ("Ａｎｎａ", "Anna"),  # fullwidth letters
    ("ｱﾝﾅ", "アンナ"),  # halfwidth katakana
    ("Jose\u0301", "José"),  # a combining accent composed
    ("ﬁona", "fiona"),  # a ligature
    ("Anna\u00a0Petrova", "Anna Petrova"),  # a no-break space is a space
])
def test_names_are_nfkc_normalised(text, name):
    assert registration.check_name(text).name == name


def test_typed_entities_are_text_not_characters():
    # "&#8238;" typed is seven ordinary characters; it stays as typed (and is never unescaped).
    assert registration.check_name("&#8238;Eve").name == "&#8238;Eve"


def _labels(screen) -> list[str]:
    return [button.text for row in screen.markup.keyboard for button in row]


def test_labels_from_stored_names_show_as_typed():
    from fitclub.db.members import Member
    from fitclub.locales import Texts
    from fitclub.screens import audit_log, class_planner
    from fitclub.services import people
    from fitclub.services.class_planner import Draft, Trainer

    tx = Texts("en")
    eve = Member(1, 11, "&#8238;Eve", None, "+15551000002", None, "en", "member", None, True,
                 None)
    found = people.Found(people.Kind.NAME, [eve])
    assert _labels(audit_log.found_people(tx, "Eve", found))[0] == "&#8238;Eve"
    by_phone = people.Found(people.Kind.PHONE, [eve], phone="+15551000002")
    assert _labels(audit_log.found_people(tx, "+15551000002", by_phone))[0] == \
        "&#8238;Eve · +15551000002"
    trainers = [Trainer(2, "&#8238;Eve"), Trainer(3, "Body &amp; <b>Mind</b>")]
    shown = class_planner.ask_trainer(tx, Draft(), class_planner.Names(), trainers)
    assert _labels(shown)[:2] == ["&#8238;Eve", "Body &amp; <b>Mind</b>"]
    rooms = class_planner.ask_room(tx, Draft(), class_planner.Names(), ["Hall &#x202E; 2"])
    assert _labels(rooms)[0] == "Hall &#x202E; 2"


def test_class_names_in_day_buttons_show_as_typed():
    """A class type named '&#8238;Yoga' (seven ordinary characters, then Yoga) is a label as
    typed on the member's day and the admins' day, never a right-to-left override."""
    from datetime import UTC, date, datetime

    from fitclub.locales import Localized, Texts
    from fitclub.screens import classes, timetable
    from fitclub.services.classes import AdminClass, Day
    from fitclub.services.timetable import ClassView

    tx = Texts("en")
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    name = Localized("&#8238;Yoga & <b>Flow</b>", "en")
    view = ClassView(1, at, 60, "scheduled", name, Localized("", "en"), "", "Eve", 10, 2, 0,
                     None)
    member_day = _labels(timetable.day(tx, at.date(), [view], [at.date()]))
    assert any("&#8238;Yoga & <b>Flow</b>" in label for label in member_day), member_day
    assert not any("\u202e" in label for label in member_day)
    admin = AdminClass(1, at, 60, "scheduled", name, "Eve", "", 10, 2, 0, 0, None, 5)
    admin_day = _labels(classes.day(tx, Day(date(2026, 12, 7), [admin], date(2026, 12, 7),
                                            date(2026, 12, 7))))
    assert any("&#8238;Yoga & <b>Flow</b>" in label for label in admin_day), admin_day
    assert not any("\u202e" in label for label in admin_day)
