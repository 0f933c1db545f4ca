"""The club's content in both languages, end to end (issue 16): an admin gives a plan and a
class type a Russian name (and the type a Russian description) in the guided flows; Russian
members see the Russian names on the plans list, their membership, the timetable and the
class details, English members the English ones; a plan without a translation shows its one
name to both. The bot runs as its own process against tgemu and a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitclub.locales import Texts
from tests import factories
from tests.e2e.admin_session import plain, step
from tests.e2e.harness import query
from tests.e2e.session import Person, buttons

EN, RU = Texts("en"), Texts("ru")


def _create_plan(admin: Person) -> None:
    """/plans -> New plan: Gold, in Russian Золотой, €30 for 30 days, unlimited, no freezing."""
    (shown,) = admin.send("/plans")
    admin.press(shown, plain(EN, "pl_button_new"))
    admin.wait_edit(shown["message_id"], plain(EN, "pl_ask_name", limit=40))
    at = step(admin, "Gold", plain(EN, "pl_ask_name_tr", limit=40))
    assert buttons(at) == [[plain(EN, "pl_button_skip")], [plain(EN, "pl_button_cancel")]]
    step(admin, "Trial", plain(EN, "pl_name_taken", name="Trial"))  # another plan's name
    step(admin, "Золотой", plain(EN, "pl_ask_price", currency="EUR"))
    step(admin, "30", plain(EN, "pl_ask_days"))
    at = step(admin, "30", plain(EN, "pl_ask_visits", unlimited=plain(EN, "pl_button_unlimited")))
    admin.press(at, plain(EN, "pl_button_unlimited"))
    admin.wait_edit(at["message_id"], plain(EN, "pl_ask_freeze"))
    confirm = step(admin, "0", plain(EN, "pl_confirm", name="Gold"))
    assert plain(EN, "pl_field_name_tr", value="Золотой") in confirm["text"]
    admin.press(confirm, plain(EN, "pl_button_create"))
    details = admin.wait_edit(confirm["message_id"], plain(EN, "pl_field_name_tr",
                                                           value="Золотой"))
    assert plain(EN, "pl_details_title", name="Gold", state=EN("pl_state_on_sale")) in (
        details["text"])


def _create_type(admin: Person) -> dict:
    """/staff -> Class types -> New type: Stretching / Растяжка, with a description in each."""
    (home,) = admin.send("/staff")
    admin.press(home, plain(EN, "staff_types"))
    listed = admin.wait_edit(home["message_id"], plain(EN, "ctype_list_title"))
    admin.press(listed, plain(EN, "ctype_new_button"))
    admin.wait_edit(home["message_id"], plain(EN, "ctype_ask_name", high=64))
    at = step(admin, "Stretching", plain(EN, "ctype_ask_name_tr", high=64))
    assert buttons(at) == [[plain(EN, "ctype_skip_button")], [plain(EN, "ctype_cancel")]]
    step(admin, "Растяжка", plain(EN, "ctype_ask_desc", high=500))
    step(admin, "Slow and deep", plain(EN, "ctype_ask_desc_tr", high=500))
    at = step(admin, "Медленно и глубоко", plain(EN, "ctype_ask_dur", low=5, high=480))
    admin.press(at, EN.plural("ctype_minutes", 60))
    admin.wait_edit(at["message_id"], plain(EN, "ctype_ask_cap", low=1, high=500))
    confirm = step(admin, "12", plain(EN, "ctype_confirm_title"))
    for line in (plain(EN, "ctype_card_name_tr", text="Растяжка"),
                 plain(EN, "ctype_card_desc_tr", text="Медленно и глубоко")):
        assert line in confirm["text"]
    admin.press(confirm, plain(EN, "ctype_save"))
    card = admin.wait_edit(confirm["message_id"], plain(EN, "ctype_created"))
    assert "Slow and deep" in card["text"]
    assert plain(EN, "ctype_card_desc_tr", text="Медленно и глубоко") in card["text"]
    return card


def _member(emu, db_url: str, name: str, lang: str, plan: str | None = None) -> Person:
    person = Person(emu, name, language_code=lang)
    member_id = factories.member(db_url, person.id, name, phone=f"+4915{person.id}",
                                 language=lang)
    if plan is not None:
        (plan_id,) = query(db_url, "SELECT id FROM membership_plans WHERE name = %s", (plan,))[0]
        factories.membership(db_url, member_id, plan_id, starts_on=0, ends_on=29,
                             visits_left=None)
    return person


def _timetable(person: Person, tx: Texts, name: str, description: str) -> list[str]:
    """/schedule, tomorrow, the class: its name on the day and its details (their texts and
    labels)."""
    (page,) = person.send("/schedule")
    next_day = next(label for row in buttons(page) for label in row if label.endswith("▶"))
    person.press(page, next_day)
    day = person.wait_edit(page["message_id"], name)
    assert any(name in label for row in buttons(day) for label in row), buttons(day)
    person.press(day, name)
    details = person.wait_edit(page["message_id"], description)
    assert plain(tx, "class_title", name=name) in details["text"]
    return [day["text"], str(buttons(day)), details["text"]]


def test_plans_and_class_types_show_in_each_members_language(emu, launcher, db_url):
    admin = Person(emu, "Ada", language_code="en")
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language="en")
    factories.plan(db_url, "Trial", price_minor=1000, duration_days=7, visit_count=1)
    trainer = factories.member(db_url, 900001, "Tina", role="trainer", registered=False)
    launcher.start(db_url)

    _create_plan(admin)
    card = _create_type(admin)
    assert query(db_url, "SELECT lang, name, name_tr FROM membership_plans ORDER BY id") == [
        ("en", "Trial", None), ("en", "Gold", "Золотой")]
    assert query(db_url, "SELECT lang, name, name_tr, description, description_tr"
                         " FROM class_types") == [
        ("en", "Stretching", "Растяжка", "Slow and deep", "Медленно и глубоко")]
    (type_id,) = query(db_url, "SELECT id FROM class_types")[0]
    factories.class_(db_url, trainer, timedelta(days=1), class_type_id=type_id)

    # Members without a membership: the plans they may request, in their language; Trial
    # has one name for both.
    for lang, gold in (("ru", "Золотой"), ("en", "Gold")):
        newcomer = _member(emu, db_url, f"New{lang}", lang)
        (plans,) = newcomer.send("/membership")
        assert gold in plans["text"] and "Trial" in plans["text"], plans["text"]
        labels = str(buttons(plans))
        assert gold in labels and "Trial" in labels
        other = "Gold" if lang == "ru" else "Золотой"
        assert other not in plans["text"] and other not in labels

    # Members of Gold: their membership and the timetable, in their language.
    members: dict[str, Person] = {}
    for lang, tx, gold, name, description in (
            ("ru", RU, "Золотой", "Растяжка", "Медленно и глубоко"),
            ("en", EN, "Gold", "Stretching", "Slow and deep")):
        member = _member(emu, db_url, f"Gold{lang}", lang, plan="Gold")
        (mine,) = member.send("/membership")
        assert plain(tx, "membership_plan", plan=gold) in mine["text"], mine["text"]
        assert ("Gold" if lang == "ru" else "Золотой") not in mine["text"]
        seen = _timetable(member, tx, name, description)
        for other in (("Stretching", "Slow and deep") if lang == "ru"
                      else ("Растяжка", "Медленно и глубоко")):
            assert not any(other in text for text in seen), (other, seen)
        members[lang] = member

    # The admin removes the Russian description from the type's card: Russian members then
    # read the English one, under the Russian name.
    admin.press(card, plain(EN, "ctype_edit_desc_tr"))
    prompt = admin.wait_edit(card["message_id"], plain(EN, "ctype_now",
                                                       text="Медленно и глубоко"))
    assert buttons(prompt) == [[plain(EN, "ctype_remove_desc_tr")], [plain(EN, "ctype_cancel")]]
    admin.press(prompt, plain(EN, "ctype_remove_desc_tr"))
    admin.wait_edit(card["message_id"], plain(EN, "ctype_card_no_desc_tr"))
    assert query(db_url, "SELECT description, description_tr FROM class_types") == [
        ("Slow and deep", None)]
    seen = _timetable(members["ru"], RU, "Растяжка", "Slow and deep")
    assert not any("Stretching" in text for text in seen)


@pytest.mark.parametrize(("lang", "name", "translation", "again"), [
    ("en", "Stretching", "Растяжка", "Растяжка плюс"),
    ("ru", "Растяжка", "Stretching", "Stretching plus")])
def test_a_translation_taken_while_a_type_is_created_asks_for_the_translation_again(
        emu, launcher, db_url, lang, name, translation, again):
    """Another admin gives a type the other-language name meanwhile: Save asks again for the
    translation, saying it is taken, not for the name in the admin's own language."""
    tx = Texts(lang)
    admin = Person(emu, "Ada", language_code=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    launcher.start(db_url)
    (home,) = admin.send("/staff")
    admin.press(home, plain(tx, "staff_types"))
    listed = admin.wait_edit(home["message_id"], plain(tx, "ctype_list_title"))
    admin.press(listed, plain(tx, "ctype_new_button"))
    admin.wait_edit(home["message_id"], plain(tx, "ctype_ask_name", high=64))
    step(admin, name, plain(tx, "ctype_ask_name_tr", high=64))
    at = step(admin, translation, plain(tx, "ctype_ask_desc", high=500))
    admin.press(at, plain(tx, "ctype_no_desc_button"))
    at = admin.wait_edit(at["message_id"], plain(tx, "ctype_ask_dur", low=5, high=480))
    admin.press(at, tx.plural("ctype_minutes", 60))
    admin.wait_edit(at["message_id"], plain(tx, "ctype_ask_cap", low=1, high=500))
    confirm = step(admin, "12", plain(tx, "ctype_confirm_title"))
    factories.class_type(db_url, translation, lang="ru" if lang == "en" else "en")

    admin.press(confirm, plain(tx, "ctype_save"))
    asked = admin.wait_edit(confirm["message_id"], plain(tx, "ctype_bad_taken"))
    assert plain(tx, "ctype_ask_name_tr", high=64) in asked["text"], asked["text"]
    assert plain(tx, "ctype_ask_name", high=64) not in asked["text"]
    assert buttons(asked) == [[plain(tx, "ctype_skip_button")], [plain(tx, "ctype_cancel")]]
    # A free translation goes on from there; the name in the admin's language stays.
    step(admin, again, plain(tx, "ctype_ask_desc", high=500))
    assert query(db_url, "SELECT count(*) FROM class_types") == [(1,)]
