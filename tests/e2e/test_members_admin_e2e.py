"""Memberships: scripted admin sessions in English and in Russian with the
bot as its own process (jobs on), tgemu over HTTP and a real PostgreSQL: find a member, their
card, grant from a typed date, extend, freeze (beyond the allowance refused with the numbers;
the freeze_end job unfreezes and moves the end date by the frozen days), a planned freeze
called off, visits adjusted with a reason, a note, cancel; plan requests granted and
dismissed. Bad input at every typed step, double taps, old buttons, ids of things gone; the
member hears of every change in their own language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import edited, plain, plural, step, tap
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, buttons

ENV = {"JOB_POLL_SECONDS": "0.2"}


def _person(db_url: str, person: Person, name: str, lang: str, role: str = "member",
            phone: str = "+4915112345", username: str | None = None) -> int:
    return factories.member(db_url, person.id, name, phone=phone, username=username, role=role,
                            language=lang)


def _plans(db_url: str) -> None:
    factories.plan(db_url, "Month", price_minor=5000, duration_days=30, visit_count=12,
                   freeze_days=10)
    factories.plan(db_url, "Year", price_minor=30000, duration_days=365, visit_count=None,
                   freeze_days=0)


def _membership(db_url: str) -> tuple:
    return query(db_url, "SELECT id, status, starts_on, ends_on, visits_left FROM memberships"
                         " ORDER BY id DESC LIMIT 1")[0]


def _heard(person: Person, text: str) -> dict:
    """Until the person got a message with exactly this text; that message."""
    return wait_until(lambda: next((m for m in person.messages() if m["text"] == text), None),
                      15, f"{person.user.data.first_name} to hear {text!r}")


def _ddmmyyyy(day: date) -> str:
    return day.strftime("%d.%m.%Y")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_admin_manages_a_members_membership(emu, launcher, db_url, lang):
    tx = Texts(lang)
    member_lang = "ru" if lang == "en" else "en"
    mtx = Texts(member_lang)
    admin = Person(emu, "Ada", language_code=lang)
    anna = Person(emu, "Anna", language_code=member_lang)
    _person(db_url, admin, "Ada", lang, role="admin", phone="+4915100001")
    anna_id = _person(db_url, anna, "Anna", member_lang, username="anna_p")
    _plans(db_url)
    launcher.start(db_url, **ENV)
    anna.send("/start")  # the bot may write to her from now on
    today = datetime.now(UTC).date()

    # Find her: too short, nobody, then found.
    (prompt,) = admin.send("/members")
    assert prompt["text"] == plain(tx, "mbr_search_prompt")
    assert buttons(prompt) == [[plain(tx, "staff_back")]]
    step(admin, "A", plain(tx, "mbr_search_short"))
    step(admin, "Zed", plain(tx, "mbr_search_none", text="Zed"))
    found = step(admin, "anna", plain(tx, "mbr_search_results", text="anna"))
    assert buttons(found) == [["Anna"], [plain(tx, "staff_back")]]  # by name: no phone
    admin.press(found, "Anna")
    card = admin.wait_edit(found["message_id"], "🪪 Anna")
    for line in ("📞 +4915112345 · @anna_p", plain(tx, "mbr_card_no_membership"),
                 plain(tx, "mbr_card_visits"), plain(tx, "mbr_card_bookings"),
                 plain(tx, "mbr_card_notes"), plain(tx, "mbr_card_none")):
        assert line in card["text"]
    assert buttons(card) == [[plain(tx, "mbr_button_grant")],
                             [plain(tx, "mbr_button_note"), plain(tx, "mbr_button_find")],
                             [plain(tx, "staff_back")]]

    # Grant Month from a typed date (a bad one first); confirm; a double tap changes nothing.
    admin.press(card, plain(tx, "mbr_button_grant"))
    choose = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_choose", name="Anna")
                             .splitlines()[-1])
    assert buttons(choose) == [[f"Month · {tx.money(5000)}"], [f"Year · {tx.money(30000)}"],
                               [plain(tx, "mbr_button_card")]]
    admin.press(choose, "Month")
    start = admin.wait_edit(card["message_id"], plain(tx, "mbr_grant_when"))
    assert plain(tx, "pl_field_price", value=tx.money(5000)) in start["text"]
    assert buttons(start) == [[plain(tx, "mbr_button_today", date=tx.date(today))],
                              [plain(tx, "mbr_button_other_date")],
                              [plain(tx, "mbr_button_card")]]
    admin.press(start, plain(tx, "mbr_button_other_date"))
    example = _ddmmyyyy(today + timedelta(days=7))
    ask = admin.wait_edit(card["message_id"], plain(tx, "mbr_ask_start", example=example))
    assert buttons(ask) == [[plain(tx, "mbr_button_cancel_step")]]
    step(admin, "31.02.2020", plain(tx, "mbr_no_such_date"))
    step(admin, _ddmmyyyy(today - timedelta(days=1)), plain(
        tx, "mbr_bad_date", example=example, first=tx.date(today),
        last=tx.date(today + timedelta(days=365))))
    ends = today + timedelta(days=29)
    confirm = step(admin, _ddmmyyyy(today), plain(
        tx, "mbr_grant_confirm", plan="Month", name="Anna", start=tx.date(today),
        end=tx.date(ends), visits=plural(tx, "plan_visits", 12)))
    assert buttons(confirm) == [[plain(tx, "mbr_button_confirm")], [plain(tx, "mbr_button_card")]]
    toast = admin.press(confirm, plain(tx, "mbr_button_confirm"))["text"]
    assert toast == plain(tx, "mbr_granted", plan="Month", end=tx.date(ends))
    card = admin.wait_edit(confirm["message_id"], plain(tx, "mbr_card_plan", plan="Month",
                                                        status=tx("status_active")))
    assert plural(tx, "membership_visits_left", 12) in card["text"]
    assert buttons(card) == [
        [plain(tx, "mbr_button_extend"), plain(tx, "mbr_button_freeze")],
        [plain(tx, "mbr_button_adjust"), plain(tx, "mbr_button_cancel")],
        [plain(tx, "mbr_button_note"), plain(tx, "mbr_button_find")], [plain(tx, "staff_back")]]
    grant_ok = cb.GRANT_OK(member_id=anna_id, plan_id=query(
        db_url, "SELECT id FROM membership_plans WHERE name = 'Month'")[0][0], day=today)
    assert tap(emu, db_url, admin, confirm, grant_ok) == plain(
        tx, "mbr_refused_has_current", name="Anna", plan="Month", end=tx.date(ends))
    membership_id, status, starts, ends_on, visits = _membership(db_url)
    assert (status, starts, ends_on, visits) == ("active", today, ends, 12)
    assert query(db_url, "SELECT count(*) FROM memberships")[0][0] == 1
    _heard(anna, plain(mtx, "mbr_notice_granted", plan="Month", start=mtx.date(today),
                       end=mtx.date(ends), visits=plural(mtx, "membership_visits_left", 12)))

    # Extend by Month: days and visits added; the same confirmation pressed again is stale.
    admin.press(card, plain(tx, "mbr_button_extend"))
    choose = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_extend_choose", name="Anna", plan="Month", end=tx.date(ends)).splitlines()[-1])
    admin.press(choose, "Month")
    longer = ends + timedelta(days=30)
    confirm = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_extend_confirm", name="Anna", plan="Month", old=tx.date(ends),
        new=tx.date(longer), visits=plural(tx, "plan_visits", 24)))
    toast = admin.press(confirm, plain(tx, "mbr_button_confirm"))["text"]
    assert toast == plain(tx, "mbr_extended", end=tx.date(longer))
    card = admin.wait_edit(card["message_id"], plural(tx, "membership_visits_left", 24))
    extend_ok = cb.EXTEND_OK(membership_id=membership_id, plan_id=query(
        db_url, "SELECT id FROM membership_plans WHERE name = 'Month'")[0][0], end=ends)
    assert tap(emu, db_url, admin, card, extend_ok) == plain(tx, "stale_button")
    assert _membership(db_url)[3:] == (longer, 24)
    _heard(anna, plain(mtx, "mbr_notice_extended", plan="Month", end=mtx.date(longer),
                       visits=plural(mtx, "membership_visits_left", 24)))

    # Freeze: 11 days is beyond the 10 allowed (refused with the numbers), a word is no number,
    # then 7 days from today.
    card = edited(admin, card, lambda m: [plain(tx, "mbr_button_extend"),
                                          plain(tx, "mbr_button_freeze")] in buttons(m))
    admin.press(card, plain(tx, "mbr_button_freeze"))
    choose = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_freeze_choose", name="Anna", left=plural(tx, "plan_days", 10),
        end=tx.date(longer)))
    assert buttons(choose) == [[plural(tx, "plan_days", 7), plural(tx, "plan_days", 10)],
                               [plain(tx, "mbr_button_cancel_step")]]
    step(admin, "11", plain(tx, "mbr_refused_over_allowance", left=plural(tx, "plan_days", 10),
                            asked=plural(tx, "plan_days", 11)))
    # Each answer was a new message with the step's buttons; the earlier ones lost theirs.
    choose = step(admin, "a week", plain(tx, "mbr_bad_days", left=plural(tx, "plan_days", 10)))
    assert buttons(admin.now(card["message_id"])) == []
    card = choose
    admin.press(choose, plural(tx, "plan_days", 7))
    start = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_freeze_start", name="Anna", days=plural(tx, "plan_days", 7)))
    admin.press(start, plain(tx, "mbr_button_today", date=tx.date(today)))
    until = today + timedelta(days=6)
    confirm = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_freeze_confirm", name="Anna", start=tx.date(today), end=tx.date(until),
        days=plural(tx, "plan_days", 7)))
    toast = admin.press(confirm, plain(tx, "mbr_button_confirm"))["text"]
    assert toast == plain(tx, "mbr_frozen", start=tx.date(today), end=tx.date(until))
    card = admin.wait_edit(card["message_id"], plain(tx, "mbr_card_frozen", start=tx.date(today),
                                                     end=tx.date(until)))
    assert [plain(tx, "mbr_button_extend"), plain(tx, "mbr_button_unfreeze")] in buttons(card)
    assert _membership(db_url)[1] == "frozen"
    _heard(anna, plain(mtx, "mbr_notice_frozen", start=mtx.date(today), until=mtx.date(until)))

    # A week later (the freeze moved into the past), the freeze_end job unfreezes her: the
    # end date moves by the 7 days frozen and she is told.
    query(db_url, "UPDATE membership_freezes SET frozen_from = frozen_from - 7,"
                  " frozen_until = frozen_until - 7")
    query(db_url, "UPDATE jobs SET run_at = now() WHERE kind = 'freeze_end'")
    later = longer + timedelta(days=7)
    _heard(anna, plain(mtx, "mbr_notice_unfrozen", end=mtx.date(later),
                       days=plural(mtx, "plan_days", 7)))
    assert _membership(db_url)[1:4:2] == ("active", later)

    # 3 freeze days are left: 5 is refused; 3 from a typed date is planned, then called off.
    tap(emu, db_url, admin, card, cb.MEMBER_CARD(member_id=anna_id))
    card = admin.wait_edit(card["message_id"], plural(tx, "membership_freeze_left", 3))
    freeze_five = cb.FREEZE_OK(membership_id=membership_id, days=5, day=today)
    assert tap(emu, db_url, admin, card, freeze_five) == plain(
        tx, "mbr_refused_over_allowance", left=plural(tx, "plan_days", 3),
        asked=plural(tx, "plan_days", 5))
    admin.press(card, plain(tx, "mbr_button_freeze"))
    choose = admin.wait_edit(card["message_id"], plural(tx, "plan_days", 3))
    assert buttons(choose)[0] == [plural(tx, "plan_days", 3)]
    admin.press(choose, plural(tx, "plan_days", 3))
    start = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_freeze_start", name="Anna", days=plural(tx, "plan_days", 3)))
    admin.press(start, plain(tx, "mbr_button_other_date"))
    admin.wait_edit(card["message_id"], plain(tx, "mbr_ask_freeze_start", example=example))
    step(admin, _ddmmyyyy(later + timedelta(days=1)), plain(
        tx, "mbr_bad_date", example=example, first=tx.date(today), last=tx.date(later)))
    planned, planned_until = today + timedelta(days=2), today + timedelta(days=4)
    confirm = step(admin, _ddmmyyyy(planned), plain(
        tx, "mbr_freeze_confirm", name="Anna", start=tx.date(planned),
        end=tx.date(planned_until), days=plural(tx, "plan_days", 3)))
    toast = admin.press(confirm, plain(tx, "mbr_button_confirm"))["text"]
    card = admin.wait_edit(confirm["message_id"], plain(
        tx, "mbr_card_freeze_planned", start=tx.date(planned), end=tx.date(planned_until)))
    # Planned, not frozen: the result says so, like the card below it.
    result = plain(tx, "mbr_freeze_planned", start=tx.date(planned), end=tx.date(planned_until))
    assert toast == result and card["text"].startswith(result)
    assert plain(tx, "mbr_frozen", start=tx.date(planned),
                 end=tx.date(planned_until)) not in card["text"]
    _heard(anna, plain(mtx, "mbr_notice_freeze_planned", start=mtx.date(planned),
                       until=mtx.date(planned_until)))
    admin.press(card, plain(tx, "mbr_button_unfreeze"))
    ask = admin.wait_edit(card["message_id"], plain(tx, "mbr_unfreeze_planned", name="Anna",
                                                    start=tx.date(planned)).splitlines()[0])
    assert buttons(ask) == [[plain(tx, "mbr_button_unfreeze_yes")], [plain(tx, "mbr_button_card")]]
    toast = admin.press(ask, plain(tx, "mbr_button_unfreeze_yes"))["text"]
    assert toast == plain(tx, "mbr_unfrozen", end=tx.date(later))
    _heard(anna, plain(mtx, "mbr_notice_freeze_cancelled", end=mtx.date(later)))
    assert query(db_url, "SELECT count(*) FROM membership_freezes")[0][0] == 1
    assert tap(emu, db_url, admin, ask, cb.UNFREEZE(membership_id=membership_id, step="yes")) == (
        plain(tx, "mbr_refused_no_freeze"))

    # Visits: a word, too many taken, then +2 with a reason (too short first).
    card = edited(admin, card, lambda m: [plain(tx, "mbr_button_extend"),
                                          plain(tx, "mbr_button_freeze")] in buttons(m))
    admin.press(card, plain(tx, "mbr_button_adjust"))
    admin.wait_edit(card["message_id"], plain(tx, "mbr_ask_delta", name="Anna",
                                              visits=plural(tx, "plan_visits", 24)))
    step(admin, "plenty", plain(tx, "mbr_bad_delta"))
    step(admin, "-30", plain(tx, "mbr_refused_below_zero", left=plural(tx, "plan_visits", 24),
                             asked=plural(tx, "plan_visits", 30)))
    step(admin, "+2", plain(tx, "mbr_ask_reason", delta="+2"))
    step(admin, "ok", plain(tx, "mbr_bad_reason"))
    card = step(admin, "Bonus for a referral", plain(tx, "mbr_adjusted", before=24, after=26))
    assert plural(tx, "membership_visits_left", 26) in card["text"]
    assert query(db_url, "SELECT delta, visits_after, reason FROM membership_adjustments") == [
        (2, 26, "Bonus for a referral")]
    _heard(anna, plain(mtx, "mbr_notice_added", delta=plural(mtx, "plan_visits", 2),
                       reason="Bonus for a referral",
                       visits=plural(mtx, "membership_visits_left", 26)))

    # A note (too long first): on the card, never sent to her.
    admin.press(card, plain(tx, "mbr_button_note"))
    admin.wait_edit(card["message_id"], plain(tx, "mbr_ask_note", name="Anna").splitlines()[0])
    step(admin, "x" * 501, plain(tx, "mbr_bad_note"))
    card = step(admin, "Paid <cash> & prefers mornings", plain(tx, "mbr_note_saved"))
    assert f"{tx.date(today)}, Ada: Paid <cash> & prefers mornings" in card["text"]

    # Cancel (asked first); the old Yes afterwards is refused; the card offers Grant again.
    admin.press(card, plain(tx, "mbr_button_cancel"))
    ask = admin.wait_edit(card["message_id"], plain(
        tx, "mbr_cancel_ask", name="Anna", plan="Month", end=tx.date(later)).splitlines()[0])
    toast = admin.press(ask, plain(tx, "mbr_button_cancel_yes"))["text"]
    assert toast == plain(tx, "mbr_cancelled")
    card = admin.wait_edit(card["message_id"], plain(tx, "mbr_card_plan", plan="Month",
                                                     status=tx("status_cancelled")))
    assert buttons(card)[0] == [plain(tx, "mbr_button_grant")]
    assert tap(emu, db_url, admin, ask, cb.MEMBERSHIP_CANCEL(
        membership_id=membership_id, step="yes")) == plain(tx, "mbr_refused_not_current")
    _heard(anna, plain(mtx, "mbr_notice_cancelled", plan="Month"))
    assert tap(emu, db_url, admin, card, cb.MEMBER_CARD(member_id=999_999)) == plain(
        tx, "stale_button")

    # Every change audited once, by the admin (the unfreeze by the job: no actor).
    assert query(db_url, "SELECT action, count(*), count(actor_id) FROM audit_log"
                         " WHERE entity = 'membership' GROUP BY action ORDER BY action") == [
        ("membership.cancelled", 1, 1), ("membership.extended", 1, 1),
        ("membership.frozen", 2, 2), ("membership.granted", 1, 1),
        ("membership.unfrozen", 2, 1), ("membership.visits_adjusted", 1, 1)]
    notices = [m["text"] for m in anna.messages()][1:]
    assert len(notices) == 8, notices  # granted, extended, frozen, unfrozen, planned,
    # called off, visits added, cancelled: once each


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_plan_requests_are_granted_or_dismissed_from_the_list(emu, launcher, db_url, lang):
    tx = Texts(lang)
    admin, bob, cara = (Person(emu, "Ada", language_code=lang), Person(emu, "Bob"),
                        Person(emu, "Cara", language_code="ru"))
    _person(db_url, admin, "Ada", lang, role="admin", phone="+4915100001")
    _person(db_url, bob, "Bob", "en", phone="+4915100002")
    _person(db_url, cara, "Cara", "ru", phone="+4915100003")
    _plans(db_url)
    query(db_url, "INSERT INTO plan_requests (member_id, plan_id, created_at) SELECT m.id, p.id,"
                  " now() - interval '2 hours' FROM members m, membership_plans p"
                  " WHERE m.first_name = 'Cara' AND p.name = 'Year'")
    launcher.start(db_url, **ENV)
    # Bob asks for Month from his membership screen, as members do.
    (screen,) = bob.send("/membership")
    bob.press(screen, "Month")
    wait_until(lambda: query(db_url, "SELECT count(*) FROM plan_requests")[0][0] == 2, 10,
               "Bob's request")

    (home,) = admin.send("/staff")
    admin.press(home, plain(tx, "staff_requests"))
    listed = admin.wait_edit(home["message_id"], plain(tx, "mbr_requests_title", n=2))
    assert listed["text"].index("Bob") < listed["text"].index("Cara")  # newest first
    assert "Bob · +4915100002" in listed["text"] and "💳 Year" in listed["text"]
    grant, dismiss = plain(tx, "mbr_button_request_grant"), plain(tx, "mbr_button_request_dismiss")
    # Who and which plan on a row of its own (the card), Grant and Dismiss under it.
    assert buttons(listed) == [
        [plain(tx, "mbr_button_request_card", name="Bob", plan="Month")], [grant, dismiss],
        [plain(tx, "mbr_button_request_card", name="Cara", plan="Year")], [grant, dismiss],
        [plain(tx, "staff_back")]]

    old_grant = cb.REQUEST(request_id=query(db_url, "SELECT max(id) FROM plan_requests")[0][0],
                           act="grant")
    toast = admin.press(listed, grant)["text"]  # the first Grant: Bob's
    assert toast == plain(tx, "mbr_request_granted", plan="Month", name="Bob")
    listed = admin.wait_edit(home["message_id"], plain(tx, "mbr_requests_title", n=1))
    assert "Bob" not in listed["text"]
    today = datetime.now(UTC).date()
    en = Texts("en")
    _heard(bob, plain(en, "mbr_notice_granted", plan="Month", start=en.date(today),
                      end=en.date(today + timedelta(days=29)),
                      visits=plural(en, "membership_visits_left", 12)))
    assert tap(emu, db_url, admin, listed, old_grant) == plain(tx, "stale_button")
    assert query(db_url, "SELECT count(*) FROM memberships")[0][0] == 1

    toast = admin.press(listed, dismiss)["text"]
    assert toast == plain(tx, "mbr_request_dismissed")
    listed = admin.wait_edit(home["message_id"], plain(tx, "mbr_requests_none"))
    assert buttons(listed) == [[plain(tx, "staff_back")]]
    assert query(db_url, "SELECT p.name, r.status FROM plan_requests r JOIN membership_plans p"
                         " ON p.id = r.plan_id ORDER BY r.id") == [("Year", "dismissed"),
                                                                   ("Month", "granted")]
    # A dismissal is not announced to the member.
    # (Her "/" command list, queued at start-up, is the only call to her chat.)
    assert query(db_url, "SELECT method FROM outbox WHERE chat_id = %s", (cara.id,)) == [
        ("setMyCommands",)]
