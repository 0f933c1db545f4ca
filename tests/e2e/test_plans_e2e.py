"""Plans: a scripted admin session in English and in Russian with the bot
as its own process, tgemu over HTTP and a real PostgreSQL: the list, the guided create flow
with bad input at every step, edits, archive and back, delete of a plan never sold (refused
for a sold one), double taps, old buttons, commands mid-step and Cancel."""

from __future__ import annotations

import pytest

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain, step, tap
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, buttons

# A few words checked as written, so the catalogs themselves are under test too.
WORDS = {"en": {"title": "💳 Plans", "saved": "✅ Saved.", "cancelled": "Cancelled",
                "price": "€55.00", "unlimited": "365 days · unlimited · no freezing"},
         "ru": {"title": "💳 Тарифы", "saved": "✅ Сохранено.", "cancelled": "Отменено",
                "price": "55,00\xa0€", "unlimited": "365 дней · безлимит · без заморозки"}}


def _admin(db_url: str, person: Person, lang: str) -> int:
    return factories.member(db_url, person.id, "Ada", phone="+4915100001", role="admin",
                            language=lang)


def _plans(db_url: str) -> list[tuple]:
    return query(db_url, "SELECT name, price_minor, duration_days, visit_count, freeze_days,"
                         " is_active FROM membership_plans ORDER BY id")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_admin_creates_edits_archives_and_deletes_plans(emu, launcher, db_url, lang):
    tx, words = Texts(lang), WORDS[lang]
    admin = Person(emu, "Ada", language_code=lang)
    _admin(db_url, admin, lang)
    factories.plan(db_url, "Year", price_minor=30000, duration_days=365, visit_count=None)
    launcher.start(db_url)

    # The list: one plan on sale, a button each, New plan, back to the staff home.
    (shown,) = admin.send("/plans")
    assert shown["text"].startswith(words["title"])
    assert plain(tx, "pl_on_sale") in shown["text"] and "Year" in shown["text"]
    assert words["unlimited"] in shown["text"]
    assert buttons(shown) == [["💳 Year"], [plain(tx, "pl_button_new")],
                              [plain(tx, "staff_back")]]

    # Step 1: the name (too long, then a command mid-step, then right).
    admin.press(shown, plain(tx, "pl_button_new"))
    at = admin.wait_edit(shown["message_id"], plain(tx, "pl_new_step", n=1, total=6))
    assert plain(tx, "pl_ask_name", limit=40) in at["text"]
    assert buttons(at) == [[plain(tx, "pl_button_cancel")]]
    bad = step(admin, "x" * 41, plain(tx, "pl_bad_name", limit=40))
    # The step's answer repeated the step: the first message's Cancel went, its own stays.
    assert buttons(admin.now(at["message_id"])) == []
    assert buttons(bad) == [[plain(tx, "pl_button_cancel")]]
    (helped,) = admin.send("/help")
    assert plain(tx, "help_staff_button") in str(buttons(helped))  # commands stay commands
    # /help was an aside: the step's message keeps its Cancel (no edit was queued with the
    # help, which committed in the same transaction).
    assert buttons(admin.now(bad["message_id"])) == [[plain(tx, "pl_button_cancel")]]
    assert query(db_url, "SELECT count(*) FROM outbox WHERE method = 'editMessageReplyMarkup'"
                         " AND (params->>'message_id')::bigint = %s",
                 (bad["message_id"],)) == [(0,)]
    step(admin, "year", plain(tx, "pl_name_taken", name="year"))
    at = step(admin, "Month", plain(tx, "pl_new_step", n=2, total=6))
    # Step 2: the name in the other language, optional: skipped.
    assert plain(tx, "pl_ask_name_tr", limit=40) in at["text"]
    assert buttons(at) == [[plain(tx, "pl_button_skip")], [plain(tx, "pl_button_cancel")]]
    admin.press(at, plain(tx, "pl_button_skip"))
    at = admin.wait_edit(at["message_id"], plain(tx, "pl_new_step", n=3, total=6))
    assert plain(tx, "pl_ask_price", currency="EUR") in at["text"]
    # Steps 3-6: price, length, visits, freezing, each refused once with its reason.
    step(admin, "abc", plain(tx, "pl_bad_price", limit=1_000_000))
    at = step(admin, "49,90", plain(tx, "pl_ask_days"))
    step(admin, "0", plain(tx, "pl_bad_days", limit=3650))
    unlimited = plain(tx, "pl_button_unlimited")
    at = step(admin, "30", plain(tx, "pl_ask_visits", unlimited=unlimited))
    assert buttons(at) == [[plain(tx, "pl_button_unlimited")], [plain(tx, "pl_button_cancel")]]
    at = step(admin, "lots", plain(tx, "pl_bad_visits", limit=1000, unlimited=unlimited))
    admin.press(at, plain(tx, "pl_button_unlimited"))
    at = admin.wait_edit(at["message_id"], plain(tx, "pl_ask_freeze"))
    step(admin, "400", plain(tx, "pl_bad_freeze", limit=365))
    confirm = step(admin, "7", plain(tx, "pl_confirm", name="Month"))
    for line in (plain(tx, "pl_field_name_tr", value=tx("pl_no_tr")),
                 plain(tx, "pl_field_price", value=tx.money(4990)),
                 plain(tx, "pl_field_days", value=tx.plural("plan_days", 30)),
                 plain(tx, "membership_unlimited"),
                 plain(tx, "pl_field_freeze", value=tx.plural("pl_freeze", 7))):
        assert line in confirm["text"]
    assert buttons(confirm) == [[plain(tx, "pl_button_create"), plain(tx, "pl_button_cancel")]]
    assert len(_plans(db_url)) == 1

    # Create: the plan's details in place; a second tap on Create changes nothing.
    toast = admin.press(confirm, plain(tx, "pl_button_create"))["text"]
    assert toast == plain(tx, "pl_created", name="Month")
    details = admin.wait_edit(confirm["message_id"], plain(tx, "pl_details_title", name="Month",
                                                           state=tx("pl_state_on_sale")))
    assert plain(tx, "pl_sold", sold=0, current=0) in details["text"]
    edit_row = [plain(tx, f"pl_button_edit_{f}") for f in cb.PLAN_FIELDS]
    assert buttons(details) == [[edit_row[0], plain(tx, "pl_button_edit_name_tr")],
                                edit_row[1:3], edit_row[3:],
                                [plain(tx, "pl_button_archive")], [plain(tx, "pl_button_delete")],
                                [plain(tx, "pl_button_back")], [plain(tx, "staff_back")]]
    again = tap(emu, db_url, admin, confirm, cb.PLAN_CONFIRM(answer="yes"))
    assert again == plain(tx, "stale_button")
    assert _plans(db_url)[1] == ("Month", 4990, 30, None, 7, True)

    # Edit the price (a bad value first) and the name (a taken one first).
    admin.press(details, edit_row[1])
    prompt = admin.wait_edit(details["message_id"], plain(tx, "pl_edit_title", name="Month"))
    assert plain(tx, "pl_now", value=tx.money(4990)) in prompt["text"]
    step(admin, "-1", plain(tx, "pl_bad_price", limit=1_000_000))
    saved = step(admin, "55", words["saved"])
    assert plain(tx, "pl_field_price", value=words["price"]) in saved["text"]
    admin.press(saved, edit_row[0])
    admin.wait_edit(saved["message_id"], plain(tx, "pl_ask_name", limit=40))
    step(admin, "YEAR", plain(tx, "pl_name_taken", name="YEAR"))
    details = step(admin, "Month Plus", words["saved"])
    assert _plans(db_url)[1][:2] == ("Month Plus", 5500)

    # Archive, the list with both groups, back on sale.
    toast = admin.press(details, plain(tx, "pl_button_archive"))["text"]
    assert toast == plain(tx, "pl_archived_toast", name="Month Plus")
    details = admin.wait_edit(details["message_id"], tx("pl_state_archived"))
    assert [plain(tx, "pl_button_unarchive")] in buttons(details)
    assert _plans(db_url)[1][5] is False
    admin.press(details, plain(tx, "pl_button_back"))
    listed = admin.wait_edit(details["message_id"], plain(tx, "pl_archived"))
    assert buttons(listed)[:2] == [["💳 Year"], ["🗄 Month Plus"]]
    admin.press(listed, "🗄 Month Plus")
    details = wait_until(lambda: (m := admin.now(details["message_id"]))
                         and [plain(tx, "pl_button_unarchive")] in buttons(m) and m, 10,
                         "the archived plan's details")
    toast = admin.press(details, plain(tx, "pl_button_unarchive"))["text"]
    assert toast == plain(tx, "pl_put_on_sale", name="Month Plus")
    assert _plans(db_url)[1][5] is True

    # Delete: asked first; done; the old Yes is stale; a sold plan is never deleted.
    details = wait_until(lambda: (m := admin.now(details["message_id"]))
                         and [plain(tx, "pl_button_archive")] in buttons(m) and m, 10,
                         "the plan back on sale")
    admin.press(details, plain(tx, "pl_button_delete"))
    ask = admin.wait_edit(details["message_id"], plain(tx, "pl_delete_ask", name="Month Plus"))
    assert buttons(ask) == [[plain(tx, "pl_button_delete_yes")], [plain(tx, "pl_button_back")]]
    yes = cb.PLAN_DELETE(plan_id=query(db_url, "SELECT max(id) FROM membership_plans")[0][0],
                         step="yes")
    toast = admin.press(ask, plain(tx, "pl_button_delete_yes"))["text"]
    assert toast == plain(tx, "pl_deleted", name="Month Plus")
    admin.wait_edit(ask["message_id"], words["title"])
    assert tap(emu, db_url, admin, ask, yes) == plain(tx, "stale_button")
    assert [p[0] for p in _plans(db_url)] == ["Year"]
    year = query(db_url, "SELECT id FROM membership_plans")[0][0]
    for (member_id,) in query(db_url, "SELECT id FROM members ORDER BY id"):
        factories.membership(db_url, member_id, year, starts_on=0, ends_on=364, visits_left=None)
    toast = tap(emu, db_url, admin, ask, cb.PLAN_DELETE(plan_id=year, step="ask"))
    assert toast == plain(tx, "pl_delete_sold", name="Year")
    shown = admin.wait_edit(ask["message_id"], plain(tx, "pl_sold", sold=1, current=1))
    assert [plain(tx, "pl_button_delete")] not in buttons(shown)
    assert tap(emu, db_url, admin, ask, cb.PLAN_DELETE(plan_id=year, step="yes")) == plain(
        tx, "pl_delete_sold", name="Year")
    assert [p[0] for p in _plans(db_url)] == ["Year"]
    # An id of a plan that is gone: stale, and the list is shown again.
    assert tap(emu, db_url, admin, ask, cb.PLAN_VIEW(plan_id=999_999)) == plain(
        tx, "stale_button")

    # Cancel mid-flow: the step is left, a typed word is no plan name any more.
    (shown,) = admin.send("/plans")
    admin.press(shown, plain(tx, "pl_button_new"))
    at = admin.wait_edit(shown["message_id"], plain(tx, "pl_ask_name", limit=40))
    admin.press(at, plain(tx, "pl_button_cancel"))
    left = admin.wait_edit(shown["message_id"], words["cancelled"])
    assert buttons(left) == [[plain(tx, "pl_button_back")], [plain(tx, "staff_back")]]
    (reply,) = admin.send("Zumba")
    assert plain(tx, "unknown_text") == reply["text"]
    assert [p[0] for p in _plans(db_url)] == ["Year"]
    assert query(db_url, "SELECT action, count(*) FROM audit_log WHERE entity = 'plan'"
                         " GROUP BY action ORDER BY action") == [
        ("plan.archived", 1), ("plan.created", 1), ("plan.deleted", 1), ("plan.on_sale", 1),
        ("plan.updated", 2)]


def test_the_name_in_the_other_language_is_given_edited_and_removed(emu, launcher, db_url):
    """A Russian admin gives a plan typed in Russian its English name (the other language),
    meets another plan's English name, changes and removes it; an English admin sees what the
    plan lacks in English."""
    tx, en = Texts("ru"), Texts("en")
    admin = Person(emu, "Ada", language_code="ru")
    _admin(db_url, admin, "ru")
    factories.plan(db_url, "Утро", lang="ru", price_minor=1000)
    factories.plan(db_url, "Вечер", lang="ru", name_tr="Evening", price_minor=2000)
    launcher.start(db_url)

    (shown,) = admin.send("/plans")
    admin.press(shown, "💳 Утро")
    details = admin.wait_edit(shown["message_id"], plain(tx, "pl_field_name_tr",
                                                         value=tx("pl_no_tr")))
    assert [plain(tx, "pl_button_edit_name"), plain(tx, "pl_button_edit_name_tr")] in buttons(
        details)
    admin.press(details, plain(tx, "pl_button_edit_name_tr"))
    prompt = admin.wait_edit(shown["message_id"], plain(tx, "pl_ask_name_tr", limit=40))
    assert plain(tx, "pl_now", value=tx("pl_no_tr")) in prompt["text"]
    assert buttons(prompt) == [[plain(tx, "pl_button_cancel")]]  # nothing to remove yet
    step(admin, "evening", plain(tx, "pl_name_taken", name="evening"))
    saved = step(admin, "Morning", plain(tx, "pl_saved"))
    assert plain(tx, "pl_field_name_tr", value="Morning") in saved["text"]
    assert query(db_url, "SELECT lang, name, name_tr FROM membership_plans ORDER BY id")[0] == (
        "ru", "Утро", "Morning")

    # Removing it: offered now that there is one; an old Remove changes nothing.
    admin.press(saved, plain(tx, "pl_button_edit_name_tr"))
    prompt = admin.wait_edit(saved["message_id"], plain(tx, "pl_now", value="Morning"))
    assert buttons(prompt) == [[plain(tx, "pl_button_remove_tr")],
                               [plain(tx, "pl_button_cancel")]]
    admin.press(prompt, plain(tx, "pl_button_remove_tr"))
    removed = admin.wait_edit(saved["message_id"], plain(tx, "pl_field_name_tr",
                                                         value=tx("pl_no_tr")))
    assert plain(tx, "pl_saved") in removed["text"]
    assert tap(emu, db_url, admin, removed, cb.PLAN_SKIP()) == plain(tx, "stale_button")
    assert query(db_url, "SELECT name_tr FROM membership_plans ORDER BY id")[0] == (None,)
    assert query(db_url, "SELECT details FROM audit_log WHERE action = 'plan.updated'"
                         " ORDER BY id") == [
        ({"field": "name_en", "old": None, "new": "Morning"},),
        ({"field": "name_en", "old": "Morning", "new": None},)]

    # An English admin: the plan has no English name yet, so its Russian one is shown, and
    # the Russian name is the translation to edit.
    other = Person(emu, "Eve", language_code="en")
    factories.member(db_url, other.id, "Eve", phone="+4915100002", role="admin", language="en")
    (shown,) = other.send("/plans")
    other.press(shown, "💳 Утро")
    seen = other.wait_edit(shown["message_id"], plain(en, "pl_no_own_name"))
    assert plain(en, "pl_field_name_tr", value="Утро") in seen["text"]
    # Its Russian name cannot be removed while it is the only one.
    other.press(seen, plain(en, "pl_button_edit_name_tr"))
    prompt = other.wait_edit(shown["message_id"], plain(en, "pl_now", value="Утро"))
    assert buttons(prompt) == [[plain(en, "pl_button_cancel")]]
    other.press(prompt, plain(en, "pl_button_cancel"))
    left = other.wait_edit(shown["message_id"], plain(en, "pl_cancelled"))
    other.press(left, plain(en, "pl_button_back"))
    listed = other.wait_edit(shown["message_id"], plain(en, "pl_title"))
    # Its English name is the admin's own Name to give.
    other.press(listed, "💳 Утро")
    seen = other.wait_edit(shown["message_id"], plain(en, "pl_no_own_name"))
    other.press(seen, plain(en, "pl_button_edit_name"))
    other.wait_edit(shown["message_id"], plain(en, "pl_ask_name", limit=40))
    saved = step(other, "Morning", plain(en, "pl_saved"))
    assert plain(en, "pl_details_title", name="Morning", state=en("pl_state_on_sale")) in (
        saved["text"])
    assert plain(en, "pl_field_name_tr", value="Утро") in saved["text"]
    assert plain(en, "pl_no_own_name") not in saved["text"]
    assert query(db_url, "SELECT lang, name, name_tr FROM membership_plans ORDER BY id")[0] == (
        "ru", "Утро", "Morning")
