"""A new member registers, uses the menu, the membership screen, a plan
request, /language, /help and /privacy, in English and in Russian; refusals; a restart midway."""

from __future__ import annotations

import pytest

from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, button_data, buttons

ADMIN_ID = 424242

# What each reply must say, per language (literal phrases from the catalogs).
SAYS = {
    "en": {
        "ask_name": "What's your name?", "too_long": "at most 64 characters",
        "ask_phone": "share your phone number",
        "notice": "🔒 The club keeps your name and number to run your membership. Once you are"
                  " registered, /privacy shows what it keeps, sends you a copy, or deletes it.",
        "typed": "only take the number Telegram",
        "not_own": "someone else's contact", "done": "You're registered",
        "menu": "What would you like to do?", "buttons": ["🗓 Schedule", "📋 My bookings"],
        "no_membership": "You don't have a membership yet", "price": "€35.00",
        "visits": "10 visits", "requested": "Request sent", "repeat": "already requested",
        "admin": "Plan request", "help": "/membership", "privacy": "Delete my data",
        "confirm": "Delete your data?", "deleted": "Your data has been deleted",
        "share": "📱 Share my phone number", "cancelled": "Cancelled",
        "membership": "Visits left: 7", "valid": "Valid until",
    },
    "ru": {
        "ask_name": "Как вас зовут?", "too_long": "не длиннее 64 символов",
        "ask_phone": "поделитесь номером телефона",
        "notice": "🔒 Клуб хранит ваше имя и номер, чтобы вести ваш абонемент. После регистрации"
                  " /privacy покажет, что хранится, пришлёт копию или удалит данные.",
        "typed": "принимаю только номер",
        "not_own": "чужой контакт", "done": "Вы зарегистрированы",
        "menu": "Что хотите сделать?", "buttons": ["🗓 Расписание", "📋 Мои записи"],
        "no_membership": "У вас пока нет абонемента", "price": "35,00\xa0€",
        "visits": "10 посещений", "requested": "Заявка отправлена", "repeat": "уже оставили",
        "admin": "Заявка на абонемент", "help": "/membership", "privacy": "Удалить мои данные",
        "confirm": "Удалить ваши данные?", "deleted": "Ваши данные удалены",
        "share": "📱 Поделиться номером", "cancelled": "Отменено",
        "membership": "Осталось 7 посещений", "valid": "Действует до",
    },
}


def _plans(db_url: str) -> None:
    factories.plan(db_url, "10 visits", price_minor=3500, duration_days=60, visit_count=10)
    factories.plan(db_url, "Monthly <unlimited> & more", price_minor=4900, duration_days=30,
                   visit_count=None)


def _register(person: Person, lang: str, name: str = "Anna") -> dict:
    says = SAYS[lang]
    (ask,) = person.send("/start")
    assert says["ask_name"] in ask["text"]
    (ask_phone,) = person.send(name)
    assert says["ask_phone"] in ask_phone["text"]
    assert buttons(ask_phone) == [[says["share"]]]
    assert ask_phone["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    done, menu = person.share_contact(expect=2)
    assert says["done"] in done["text"]
    assert done["reply_markup"] == {"remove_keyboard": True}
    assert says["menu"] in menu["text"]
    return menu


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_new_member_registers_and_uses_the_member_screens(emu, launcher, db_url, lang):
    says = SAYS[lang]
    _plans(db_url)
    admin = Person(emu, "Boss", language_code="en", user_id=ADMIN_ID)
    factories.member(db_url, ADMIN_ID, "Boss", phone="+10000000001", role="admin")
    launcher.start(db_url, ADMIN_TELEGRAM_IDS=str(ADMIN_ID))
    (admin_menu,) = admin.send("/start")  # a registered member gets the menu straight away
    assert "What would you like to do?" in admin_menu["text"]
    anna = Person(emu, "Anna", language_code=lang, last_name="Петрова <&>")

    # Registration: Telegram's name is offered as a button; a 65-character name is refused.
    (ask,) = anna.send("/start")
    assert says["ask_name"] in ask["text"]
    assert buttons(ask) == [["Anna Петрова <&>"]]
    (refused,) = anna.send("x" * 65)
    assert says["too_long"] in refused["text"] and "65" in refused["text"]
    (ask_phone,) = anna.send("Anna Петрова <&>")
    assert says["ask_phone"] in ask_phone["text"] and "Anna Петрова <&>" in ask_phone["text"]
    assert says["notice"] in ask_phone["text"]  # the privacy notice the number is shared after
    (typed,) = anna.send("+49 151 1234567")
    assert says["typed"] in typed["text"]
    (not_own,) = anna.share_contact(phone="+4915100000000")
    assert says["not_own"] in not_own["text"]
    done, menu = anna.share_contact(expect=2)
    assert says["done"] in done["text"] and done["reply_markup"] == {"remove_keyboard": True}
    assert says["menu"] in menu["text"] and "Anna Петрова &lt;&amp;&gt;" not in menu["text"]
    assert buttons(menu)[0] == says["buttons"] and sum(len(row) for row in buttons(menu)) == 6
    member = query(db_url, "SELECT first_name, phone, language, role FROM members"
                           " WHERE telegram_id = %s", (anna.id,))
    assert member == [("Anna Петрова <&>", anna.user.data.phone_number, lang, "member")]
    # Sharing the number after the notice is recorded (her copy of her data lists it).
    assert query(db_url, "SELECT privacy_notice_at IS NOT NULL AND privacy_notice_at >="
                         " created_at, privacy_notice FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [(True, says["notice"])]

    # The menu is edited in place: Membership, with no membership, lists the plans.
    sent_before = len(anna.messages())
    anna.press(menu, "🎫")
    screen = anna.wait_edit(menu["message_id"], says["no_membership"])
    assert says["price"] in screen["text"] and says["visits"] in screen["text"]
    assert "Monthly &lt;unlimited&gt; &amp; more" not in screen["text"]
    assert "Monthly <unlimited> & more" in screen["text"]
    request = button_data(screen, "10")
    answer = anna.press(screen, "10")
    assert says["requested"] in answer["text"]
    # The screen shows the request as pending, without the request buttons.
    pending = anna.wait_edit(menu["message_id"], "⏳")
    assert not any("10" in label for row in buttons(pending) for label in row)
    got = wait_until(lambda: admin.messages()[1:], 10, "the admin's notice")
    assert SAYS["en"]["admin"] in got[0]["text"] and "10 visits" in got[0]["text"]
    assert anna.user.data.phone_number in got[0]["text"]
    # The old request button, pressed again (an old message, a double tap): refused, why.
    repeat = anna.inject_press(menu["message_id"], request)
    assert says["repeat"] in repeat["text"]
    anna.press(anna.now(menu["message_id"]), "🏠")
    anna.wait_edit(menu["message_id"], says["menu"])
    assert len(anna.messages()) == sent_before, \
        "navigation must edit the menu, not send new messages"
    assert len(admin.messages()) == 2, "a second request the same day is not sent again"

    # With a membership the screen shows it.
    (anna_id, plan_id), = query(db_url, "SELECT m.id, p.id FROM members m, membership_plans p"
                                        " WHERE m.telegram_id = %s AND p.name = '10 visits'",
                                (anna.id,))
    factories.membership(db_url, anna_id, plan_id, starts_on=0, ends_on=30, visits_left=7)
    (mine,) = anna.send("/membership")
    assert says["membership"] in mine["text"] and says["valid"] in mine["text"]

    # /language switches everything, including the command list of this chat.
    other = "ru" if lang == "en" else "en"
    (choose,) = anna.send("/language")
    anna.press(choose, "Русский" if other == "ru" else "English")
    anna.wait_edit(choose["message_id"], SAYS[other]["menu"])
    assert query(db_url, "SELECT language FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [(other,)]
    commands = wait_until(lambda: emu.commands_for(TOKEN, anna.id, other), 10,
                          "the member's command list")
    assert "membership" in [c["command"] for c in commands]
    (help_,) = anna.send("/help")
    assert SAYS[other]["help"] in help_["text"]

    # /privacy: delete my data, confirmed: nothing identifies her; /start registers afresh.
    (privacy,) = anna.send("/privacy")
    assert SAYS[other]["privacy"] in str(buttons(privacy))
    anna.press(privacy, "🗑")
    confirm = anna.wait_edit(privacy["message_id"], SAYS[other]["confirm"])
    anna.press_data(privacy["message_id"],
                    button_data(confirm, "Yes" if other == "en" else "Да"))
    anna.wait_edit(privacy["message_id"], SAYS[other]["deleted"])
    assert query(db_url, "SELECT count(*) FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [(0,)]
    erased = query(db_url, "SELECT first_name, phone, username, deleted_at IS NOT NULL"
                           " FROM members WHERE id = (SELECT entity_id FROM audit_log"
                           " WHERE action = 'member.erased')")
    assert erased == [(None, None, None, True)]
    _register(anna, lang, name="Anna again")


def test_cancel_midway_and_a_restart_midway(emu, launcher, db_url):
    bot = launcher.start(db_url)
    ivan = Person(emu, "Ivan", language_code="ru")
    ivan.send("/start")
    (cancelled,) = ivan.send("/cancel")
    assert "Отменено" in cancelled["text"] and cancelled["reply_markup"] == {
        "remove_keyboard": True}
    assert query(db_url, "SELECT count(*) FROM members") == [(0,)]

    (ask,) = ivan.send("/start")
    assert "Как вас зовут?" in ask["text"]
    ivan.send("Иван")
    # Delivery is at least once: a reply in flight at a kill may come again. Kill after the
    # outbox has recorded the delivery, so the conversation after the restart reads cleanly.
    wait_until(lambda: query(db_url, "SELECT count(*) FROM outbox WHERE status IN"
                                     " ('pending', 'sending')") == [(0,)], 10,
               "the reply to be recorded as sent")
    bot.kill()
    launcher.start(db_url)
    done, menu = ivan.share_contact(expect=2)
    assert "Вы зарегистрированы, Иван" in done["text"]
    assert "Что хотите сделать?" in menu["text"]
