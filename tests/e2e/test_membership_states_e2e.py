"""Membership states as they are, with the bot as its own process, tgemu over HTTP and a real
PostgreSQL, in English and in Russian: a membership that starts later, one that ended, one that
is frozen and one that ends before a class, on the member's screen and on the admin's member
card; booking a class outside its dates refused in one line naming the state and the dates;
freezing shown only as far as the plan allows; unlimited visits said once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain, plural, step, tap
from tests.e2e.harness import query
from tests.e2e.session import Person, buttons


def _long(tx: Texts, day: date) -> str:
    return tx.date(day, "long")


def _card(admin: Person, tx: Texts, name: str) -> dict:
    """The admin opens the member's card from /members."""
    admin.send("/members")
    found = step(admin, name, plain(tx, "mbr_search_results", text=name))
    admin.press(found, name)
    return admin.wait_edit(found["message_id"], "🪪 " + name)


def _book(person: Person, tx: Texts, class_id: int) -> str:
    """Open the class by its link: it offers no Book (nor Join waitlist) and says why in one
    line; a Book pressed anyway (an older button) is refused with that line. The line."""
    (details,) = person.send(f"/start c_{class_id}")
    labels = [label for row in buttons(details) for label in row]
    assert plain(tx, "button_book") not in labels
    assert plain(tx, "button_join_waitlist") not in labels
    line = person.inject_press(details["message_id"], cb.BOOK(class_id=class_id, back="s"))
    assert line["text"] in details["text"]
    return line["text"]


def _set(db_url: str, today: date, starts: int, ends: int, status: str = "active") -> None:
    query(db_url, "UPDATE memberships SET starts_on = %s, ends_on = %s, status = %s",
          (today + timedelta(days=starts), today + timedelta(days=ends), status))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_each_state_is_shown_as_it_is_and_booking_names_the_dates(emu, launcher, db_url, lang):
    tx = Texts(lang)
    anna, admin = Person(emu, "Anna", language_code=lang), Person(emu, "Ada", language_code=lang)
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    factories.plan(db_url, "Month", duration_days=30, visit_count=12, freeze_days=10)
    today = datetime.now(UTC).date()
    start, end = today + timedelta(days=7), today + timedelta(days=36)
    factories.membership(db_url, anna_id, starts_on=start, ends_on=end, visits_left=12)
    factories.class_type(db_url, "Yoga")
    trainer = factories.member(db_url, None, "Tina", role="trainer", registered=False)
    class_id = factories.class_(db_url, trainer, timedelta(days=1))
    class_day = query(db_url, "SELECT (starts_at AT TIME ZONE 'UTC')::date FROM classes")[0][0]
    launcher.start(db_url)

    # Not started yet: "starts on", with its end; never "active ✅".
    (screen,) = anna.send("/membership")
    starts = tx("status_starts_on", date=_long(tx, start))
    assert plain(tx, "membership_status", status=starts) in screen["text"]
    assert plain(tx, "membership_valid_until", date=_long(tx, end)) in screen["text"]
    assert plural(tx, "membership_visits_left", 12) in screen["text"]
    assert tx("status_active") not in screen["text"]
    card = _card(admin, tx, "Anna")
    assert plain(tx, "mbr_card_plan", plan="Month", status=starts) in card["text"]
    assert tx("status_active") not in card["text"]
    # Booking a class before its first day: the state, its date and the class day.
    assert _book(anna, tx, class_id) == plain(tx, "refusal_not_started_on",
                                              date=_long(tx, start),
                                              day=tx.date(class_day, "short"))

    # Active, but its last day is before the class.
    _set(db_url, today, -29, 0)
    assert _book(anna, tx, class_id) == plain(tx, "refusal_ends_before_on",
                                              date=_long(tx, today),
                                              day=tx.date(class_day, "short"))
    (screen,) = anna.send("/membership")
    assert plain(tx, "membership_status", status=tx("status_active")) in screen["text"]

    # Ended yesterday: when, and no "valid until"; booking says it ended.
    yesterday = today - timedelta(days=1)
    _set(db_url, today, -30, -1)
    (screen,) = anna.send("/membership")
    ended = tx("status_ended_on", date=_long(tx, yesterday))
    assert plain(tx, "membership_status", status=ended) in screen["text"]
    assert plain(tx, "membership_valid_until", date=_long(tx, yesterday)) not in screen["text"]
    assert plain(tx, "membership_ended") in screen["text"]
    card = _card(admin, tx, "Anna")
    assert plain(tx, "mbr_card_plan", plan="Month", status=ended) in card["text"]
    assert _book(anna, tx, class_id) == plain(tx, "refusal_ended_on",
                                              date=_long(tx, yesterday),
                                              day=tx.date(class_day, "short"))

    # Frozen until the day after the class: until when, on the screen and in the refusal.
    _set(db_url, today, -5, 25, "frozen")
    until = today + timedelta(days=3)
    query(db_url, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until)"
                  " SELECT id, %s, %s FROM memberships", (yesterday, until))
    (screen,) = anna.send("/membership")
    frozen = tx("status_frozen_until", date=_long(tx, until))
    assert plain(tx, "membership_status", status=frozen) in screen["text"]
    assert _book(anna, tx, class_id) == plain(tx, "refusal_frozen_on", date=_long(tx, until),
                                              day=tx.date(class_day, "short"))

    # No membership at all: why, and the way to the Membership screen instead of Book.
    query(db_url, "UPDATE memberships SET status = 'cancelled'")
    assert _book(anna, tx, class_id) == plain(tx, "refusal_no_membership",
                                              membership=tx("menu_membership"))
    (details,) = anna.send(f"/start c_{class_id}")
    anna.press(details, tx("menu_membership"))
    anna.wait_edit(details["message_id"], plain(tx, "membership_title"))
    assert query(db_url, "SELECT count(*) FROM bookings") == [(0,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_freezing_shows_only_what_the_plan_allows_and_unlimited_is_said_once(emu, launcher,
                                                                             db_url, lang):
    tx = Texts(lang)
    anna, boris, admin = (Person(emu, "Anna", language_code=lang),
                          Person(emu, "Boris", language_code=lang),
                          Person(emu, "Ada", language_code=lang))
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    boris_id = factories.member(db_url, boris.id, "Boris", phone="+4915100003", language=lang)
    factories.member(db_url, 555, "Cara", phone="+4915100004", language=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    open_plan = factories.plan(db_url, "Open", duration_days=30, visit_count=None, freeze_days=0)
    month = factories.plan(db_url, "Month", duration_days=30, visit_count=12, freeze_days=5)
    anna_ms = factories.membership(db_url, anna_id, open_plan, starts_on=-1, ends_on=28,
                                   visits_left=None)
    boris_ms = factories.membership(db_url, boris_id, month, starts_on=-20, ends_on=9,
                                    visits_left=8)
    query(db_url, "INSERT INTO membership_freezes (membership_id, frozen_from, frozen_until,"
                  " ended_at) VALUES (%s, current_date - 15, current_date - 11, now())",
          (boris_ms,))
    launcher.start(db_url)
    unlimited = {"en": "unlimited", "ru": "без ограничени"}[lang]

    # A plan without freezing: nothing about freezing; unlimited visits said once.
    (screen,) = anna.send("/membership")
    assert plain(tx, "membership_unlimited") in screen["text"]
    assert screen["text"].count(unlimited) == 1
    assert "❄" not in screen["text"]
    assert plural(tx, "membership_freeze_left", 0) not in screen["text"]
    card = _card(admin, tx, "Anna")
    assert "❄" not in card["text"] and card["text"].count(unlimited) == 1
    assert buttons(card)[:2] == [[plain(tx, "mbr_button_extend")],
                                 [plain(tx, "mbr_button_cancel")]]
    # An old or forged Freeze press says why, and nothing is frozen.
    assert tap(emu, db_url, admin, card, cb.FREEZE(membership_id=anna_ms)) == plain(
        tx, "mbr_refused_freeze_not_allowed")
    assert query(db_url, "SELECT count(*) FROM membership_freezes") == [(1,)]

    # Every freeze day used: said so, without a Freeze button that could not work.
    (screen,) = boris.send("/membership")
    assert plural(tx, "membership_freeze_used", 5) in screen["text"]
    card = _card(admin, tx, "Boris")
    assert plural(tx, "membership_freeze_used", 5) in card["text"]
    assert buttons(card)[0] == [plain(tx, "mbr_button_extend")]
    assert tap(emu, db_url, admin, card, cb.FREEZE(membership_id=boris_ms)) == plain(
        tx, "mbr_refused_no_allowance")

    # Granting the unlimited plan: its summary says "unlimited" once.
    card = _card(admin, tx, "Cara")
    admin.press(card, plain(tx, "mbr_button_grant"))
    choose = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_choose", name="Cara")
                             .splitlines()[-1])
    admin.press(choose, "Open")
    summary = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_when"))
    assert plain(tx, "membership_unlimited") in summary["text"]
    assert summary["text"].count(unlimited) == 1
    admin.press(summary, plain(tx, "mbr_button_card"))
    card = admin.wait_edit(card["message_id"], "🪪 Cara")
    admin.press(card, plain(tx, "mbr_button_grant"))
    choose = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_choose", name="Cara")
                             .splitlines()[-1])
    admin.press(choose, "Month")
    summary = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_when"))
    assert plural(tx, "pl_field_visits", 12) in summary["text"]
    assert plural(tx, "plan_visits", 12) not in summary["text"]
