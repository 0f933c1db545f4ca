"""Plan requests as the member and the admin see them, with the bot as its own process, tgemu
over HTTP and a real PostgreSQL, in English and in Russian: requesting a plan changes the
membership screen (pending, with Withdraw; no request buttons), a second request while one is
pending is refused with the reason (an old press too, changing nothing), the admin's member card
shows the pending request, a withdrawn request brings the plans back, and what the admins
decide (declined, granted) is on the member's screen next time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain, plural, step, tap
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, buttons


def _requests(db_url: str) -> list[tuple]:
    return query(db_url, "SELECT p.name, r.status FROM plan_requests r"
                         " JOIN membership_plans p ON p.id = r.plan_id ORDER BY r.id")


def _labels(message: dict) -> list[str]:
    """Every button label of a message."""
    return [label for row in buttons(message) for label in row]


def _told(admin: Person, plan: str) -> int:
    """How many plan-request notices about `plan` the admin got."""
    return sum(1 for m in admin.messages() if "📝" in (m["text"] or "") and plan in m["text"])


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_request_is_pending_withdrawn_declined_and_granted_on_the_screen(emu, launcher,
                                                                          db_url, lang):
    tx = Texts(lang)
    anna, admin = Person(emu, "Anna", language_code=lang), Person(emu, "Ada", language_code=lang)
    anna_id = factories.member(db_url, anna.id, "Anna", phone="+4915100002", language=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    factories.plan(db_url, "Month", price_minor=5000, duration_days=30, visit_count=12)
    year = factories.plan(db_url, "Year", price_minor=30000, duration_days=365, visit_count=None)
    launcher.start(db_url)
    admin.send("/start")  # the bot may write to her from now on
    today = datetime.now(UTC).date()
    on_today = tx.date(today, "long")
    request_month = plain(tx, "plan_request_button", name="Month")
    request_year = plain(tx, "plan_request_button", name="Year")

    # No membership: the plans, a request button each.
    (screen,) = anna.send("/membership")
    assert buttons(screen)[:2] == [[request_month], [request_year]]
    old_year = cb.PLAN_REQUEST(plan_id=year)

    # Requesting Month changes the screen: pending since today, Withdraw, no request buttons.
    anna.press(screen, request_month)
    pending = plain(tx, "plan_request_pending", plan="Month", date=on_today)
    shown = anna.wait_edit(screen["message_id"], pending)
    assert plain(tx, "plan_request_hint") not in shown["text"]
    assert buttons(shown)[0] == [plain(tx, "plan_withdraw_button")]
    assert request_month not in _labels(shown)
    assert request_year not in _labels(shown)
    wait_until(lambda: _told(admin, "Month") == 1, 15, "the admins to be told")

    # The old Year button, pressed again: refused with the reason, in the screen too; nothing
    # recorded and nobody told.
    refused = plain(tx, "plan_request_pending_refused", plan="Month", date=on_today)
    assert tap(emu, db_url, anna, screen, old_year) == refused
    shown = anna.wait_edit(screen["message_id"], refused)
    assert pending in shown["text"]
    assert _requests(db_url) == [("Month", "open")]
    (again,) = anna.send("/membership")
    assert pending in again["text"] and refused not in again["text"]

    # The admin's member card shows the pending request.
    admin.send("/members")
    found = step(admin, "Anna", plain(tx, "mbr_search_results", text="Anna"))
    admin.press(found, "Anna")
    card = admin.wait_edit(found["message_id"], "🪪 Anna")
    assert plain(tx, "mbr_card_request", plan="Month", date=on_today) in card["text"]

    # Withdrawn: the request buttons are back; the old Withdraw changes nothing.
    withdraw = cb.PLAN_WITHDRAW(request_id=query(db_url, "SELECT max(id) FROM plan_requests")
                                [0][0])
    anna.press(again, plain(tx, "plan_withdraw_button"))
    shown = anna.wait_edit(again["message_id"], plain(tx, "plan_withdrawn", plan="Month"))
    assert pending not in shown["text"]
    assert buttons(shown)[:2] == [[request_month], [request_year]]
    assert tap(emu, db_url, anna, shown, withdraw) == plain(tx, "stale_button")
    assert _requests(db_url) == [("Month", "withdrawn")]

    # Year requested; the admin declines it: next time her screen says so, and she may ask
    # again.
    anna.press(shown, request_year)
    anna.wait_edit(shown["message_id"], plain(tx, "plan_request_pending", plan="Year",
                                              date=on_today))
    wait_until(lambda: _told(admin, "Year") == 1, 15, "the admins to be told")
    (home,) = admin.send("/staff")
    admin.press(home, plain(tx, "staff_requests"))
    listed = admin.wait_edit(home["message_id"], plain(tx, "mbr_requests_title", n=1))
    admin.press(listed, plain(tx, "mbr_button_request_dismiss"))
    admin.wait_edit(home["message_id"], plain(tx, "mbr_requests_none"))
    (screen,) = anna.send("/membership")
    assert plain(tx, "plan_request_declined", plan="Year", date=on_today) in screen["text"]
    assert buttons(screen)[:2] == [[request_month], [request_year]]

    # Month again (the admins were told of Month today already, so not again); granted from
    # the list: her screen shows the membership, and no request.
    anna.press(screen, request_month)
    anna.wait_edit(screen["message_id"], pending)
    (home,) = admin.send("/staff")
    admin.press(home, plain(tx, "staff_requests"))
    listed = admin.wait_edit(home["message_id"], plain(tx, "mbr_requests_title", n=1))
    admin.press(listed, plain(tx, "mbr_button_request_grant"))
    admin.wait_edit(home["message_id"], plain(tx, "mbr_requests_none"))
    assert _told(admin, "Month") == 1
    (screen,) = anna.send("/membership")
    assert plain(tx, "membership_status", status=tx("status_active")) in screen["text"]
    assert plain(tx, "membership_valid_until",
                 date=tx.date(today + timedelta(days=29), "long")) in screen["text"]
    assert plural(tx, "membership_visits_left", 12) in screen["text"]
    assert "⏳" not in screen["text"] and request_month not in _labels(screen)
    assert _requests(db_url) == [("Month", "withdrawn"), ("Year", "dismissed"),
                                 ("Month", "granted")]
    # With a membership, an old request button is refused with why, and nothing is recorded.
    assert tap(emu, db_url, anna, screen, old_year) == plain(
        tx, "plan_request_has_membership", plan="Month",
        date=tx.date(today + timedelta(days=29), "long"))
    assert len(_requests(db_url)) == 3
    assert query(db_url, "SELECT count(*) FROM memberships WHERE member_id = %s",
                 (anna_id,)) == [(1,)]
