"""Small untruths (issue 16, item 9), with the bot as its own process, tgemu over HTTP and a
real PostgreSQL, in English and in Russian: a typed date that is not in the calendar is called
that (not "doesn't fit"); the booking refusal names the membership button by its own label;
a deep link to a class that does not exist, was cancelled or is over (or a link of no kind
the bot makes) says so in one line above the menu; the announcement's progress estimates
the time until it says "delivered" honestly."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from fitclub.screens import announce as announce_screens
from tests import factories
from tests.e2e.admin_session import plain, step
from tests.e2e.harness import TOKEN, query
from tests.e2e.session import Person, button_data, buttons


def _ddmmyyyy(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _card(admin: Person, tx: Texts, name: str) -> dict:
    """The admin opens the member's card from /members."""
    admin.send("/members")
    found = step(admin, name, plain(tx, "mbr_search_results", text=name))
    admin.press(found, name)
    return admin.wait_edit(found["message_id"], "🪪 " + name)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_typed_date_that_is_not_in_the_calendar_is_called_that(emu, launcher, db_url, lang):
    """31.02 reads as a date but there is none: said so in one line, in the grant's and the
    freeze's date steps; a real date out of range still gets the range."""
    tx = Texts(lang)
    admin = Person(emu, "Ada", language_code=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    factories.member(db_url, None, "Boris", phone="+4915100002", registered=True)
    anna_id = factories.member(db_url, None, "Anna", phone="+4915100003", registered=True)
    factories.plan(db_url, "Month", duration_days=30, visit_count=12, freeze_days=10)
    factories.membership(db_url, anna_id, starts_on=0, ends_on=29, visits_left=12)
    launcher.start(db_url)
    today = datetime.now(UTC).date()
    no_such = plain(tx, "mbr_no_such_date")

    # The grant's start date.
    card = _card(admin, tx, "Boris")
    admin.press(card, plain(tx, "mbr_button_grant"))
    choose = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_choose", name="Boris")
                             .splitlines()[-1])
    admin.press(choose, "Month")
    start = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_when"))
    admin.press(start, plain(tx, "mbr_button_other_date"))
    example = _ddmmyyyy(today + timedelta(days=7))
    admin.wait_edit(card["message_id"], plain(tx, "mbr_ask_start", example=example))
    for typed in ("31.02.2026", "30.02", "2026-04-31"):
        (refused,) = admin.send(typed)
        assert refused["text"].splitlines()[0] == no_such, refused["text"]
        assert plain(tx, "mbr_ask_start", example=example) in refused["text"]
        assert plain(tx, "mbr_bad_date", example=example, first=tx.date(today, "long"),
                     last=tx.date(today + timedelta(days=365), "long")) not in refused["text"]
    # A real date out of range keeps the range message.
    (refused,) = admin.send(_ddmmyyyy(today - timedelta(days=1)))
    assert refused["text"].splitlines()[0] == plain(
        tx, "mbr_bad_date", example=example, first=tx.date(today, "long"),
        last=tx.date(today + timedelta(days=365), "long"))
    admin.send("/cancel")

    # The freeze's first day.
    card = _card(admin, tx, "Anna")
    admin.press(card, plain(tx, "mbr_button_freeze"))
    choose = admin.wait_edit(card["message_id"], plain(tx, "mbr_freeze_choose", name="Anna",
                                                       left="#", end="#").splitlines()[-1])
    admin.press(choose, tx.plural("plan_days", 7))
    start = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_freeze_start", name="Anna", days=tx.plural("plan_days", 7)).splitlines()[-1])
    admin.press(start, plain(tx, "mbr_button_other_date"))
    (refused,) = admin.send("31.04")
    assert refused["text"].splitlines()[0] == no_such, refused["text"]
    assert query(db_url, "SELECT count(*) FROM memberships")[0][0] == 1
    assert query(db_url, "SELECT count(*) FROM membership_freezes")[0][0] == 0


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_refusal_without_a_membership_names_the_membership_button(emu, launcher, db_url,
                                                                      lang):
    """'see 💳 Membership' named a button that does not exist: the menu's is 🎫."""
    tx = Texts(lang)
    anna = Person(emu, "Anna", language_code=lang)
    factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    factories.class_type(db_url, "Yoga")
    trainer = factories.member(db_url, 990_001, "Tina", role="trainer", registered=False)
    class_id = factories.class_(db_url, trainer, timedelta(days=1))
    launcher.start(db_url)

    # Without a membership the class offers no Book: it says why, naming the menu's button,
    # and offers that very button.
    (details,) = anna.send(f"/start c_{class_id}")
    (menu,) = anna.send("/start")
    label = next(b for row in buttons(menu) for b in row if b.startswith("🎫"))
    assert label == tx("menu_membership")
    refusal = plain(tx, "refusal_no_membership", membership=label)
    assert refusal in details["text"]
    assert label in refusal and "💳" not in refusal
    assert [label] in buttons(details) and [plain(tx, "button_book")] not in buttons(details)
    # An older Book button (pressed anyway) gets the same line.
    answer = anna.inject_press(details["message_id"], cb.BOOK(class_id=class_id, back="s"))
    assert answer["text"] == refusal


def _gone_line(person: Person, payload: str) -> tuple[str, dict]:
    """/start with a payload: the one message, its first line and the rest."""
    (reply,) = person.send(f"/start {payload}")
    first, _, rest = reply["text"].partition("\n\n")
    return first, {**reply, "rest": rest}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_deep_link_to_something_gone_says_so_above_the_menu(emu, launcher, db_url, lang):
    tx = Texts(lang)
    anna = Person(emu, "Anna", language_code=lang)
    factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    factories.class_type(db_url, "Yoga")
    trainer = factories.member(db_url, 990_001, "Tina", role="trainer", registered=False)
    live = factories.class_(db_url, trainer, timedelta(days=1))
    cancelled = factories.class_(db_url, trainer, timedelta(days=2), status="cancelled")
    over = factories.class_(db_url, trainer, timedelta(hours=-3))
    (cancelled_at,), = query(db_url, "SELECT starts_at FROM classes WHERE id = %s",
                             (cancelled,))
    (over_at,), = query(db_url, "SELECT starts_at FROM classes WHERE id = %s", (over,))
    launcher.start(db_url)
    (menu,) = anna.send("/start")
    home = menu["text"]

    for payload, line in [
            ("c_999999", plain(tx, "link_class_missing")),
            (f"c_{cancelled}", plain(tx, "link_class_cancelled", name="Yoga",
                                     when=tx.datetime(cancelled_at))),
            (f"c_{over}", plain(tx, "link_class_over", name="Yoga", when=tx.datetime(over_at))),
            ("c_x1", plain(tx, "link_class_missing")),
            ("zz_12", plain(tx, "link_unknown"))]:
        first, reply = _gone_line(anna, payload)
        assert first == line and "\n" not in line, payload
        assert reply["rest"] == home, payload  # then the menu, buttons and all
        assert buttons(reply) == buttons(menu), payload

    # A class still to come opens as before.
    (details,) = anna.send(f"/start c_{live}")
    assert "Yoga" in details["text"] and [plain(tx, "menu_membership")] in buttons(details)

    # Someone new who follows a link to a class that is gone registers, then is told.
    bob = Person(emu, "Bob", language_code=lang)
    bob.send("/start c_999999")
    bob.send("Bob")
    _done, menu = bob.share_contact(expect=2)
    assert menu["text"].partition("\n\n")[0] == plain(tx, "link_class_missing")


def _estimate(tx: Texts, text: str) -> int:
    """The seconds of the progress screen's 'Left: 3 · about 5 s' line."""
    prefix = plain(tx, "ann_left_eta", left="#", eta="#").split("#")[0]
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    for seconds in range(1, 3600):
        if line.endswith(plain(tx, "ann_left_eta", left="#", eta=announce_screens.eta(
                tx, seconds)).split("#", 1)[1]):
            return seconds
    raise AssertionError(f"no estimate in {line!r}")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_announcements_estimate_is_the_time_until_it_says_delivered(emu, launcher, db_url,
                                                                         lang):
    """Three members at ANNOUNCE_RATE 30/s take a fraction of a second to send, but the
    progress message is edited every ANNOUNCE_PROGRESS_SECONDS (5 s): it said "about 1 s"
    and showed "delivered" 5 s later. The estimate is the time until it will say so."""
    tx = Texts(lang)
    admin = Person(emu, "Ada", language_code=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    people = [Person(emu, f"M{i}") for i in range(3)]
    ids = factories.members(db_url, [{"telegram_id": p.id, "first_name": f"M{p.id}",
                                      "phone": f"+1000{p.id}"} for p in people])
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    factories.memberships(db_url, ids, starts_on=-1, ends_on=30, visits_left=10)
    emu.open_chats(TOKEN, [p.user for p in people])
    launcher.start(db_url, JOB_POLL_SECONDS="0.2")

    admin.send("/announce")
    _preview, audience = admin.send("Pool closed on Friday", expect=2)
    mid = audience["message_id"]
    admin.press(audience, plain(tx, "ann_audience_active_button"))
    shown = admin.wait_edit(mid, tx.plural("ann_recipients", 3))
    data = button_data(shown, tx.plural("ann_send_button", 3))
    pressed = time.monotonic()
    admin.press_data(mid, data)
    sending = admin.wait_edit(mid, plain(tx, "ann_state_sending"))
    estimate = _estimate(tx, sending["text"])
    admin.wait_edit(mid, plain(tx, "ann_state_done"), timeout=30)
    took = time.monotonic() - pressed
    # Honest: not shorter than it took (a second's slack for the poll), nor longer than
    # one progress interval beyond it.
    assert took - 1.5 <= estimate <= took + 5 + 1.5, (estimate, took)
