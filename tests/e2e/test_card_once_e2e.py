"""A card checks in once, and Refresh replaces the earlier card (issue 17): staff who type a
used or replaced code are told why in one line, in English and Russian; with the bot as its own
process, tgemu over HTTP and a real PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC

from tests import factories
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, button_data


def _code(message: dict) -> str:
    found = re.search(r"(\d{3}) (\d{3})", message["caption"])
    assert found, message["caption"]
    return found.group(1) + found.group(2)


def test_a_used_or_replaced_code_is_refused_with_its_reason(emu, launcher, db_url):
    tom, ada = Person(emu, "Tom"), Person(emu, "Ada", "ru")
    anna, boris = Person(emu, "Anna", "ru"), Person(emu, "Boris")
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=30, visit_count=10,
                   freeze_days=14)
    factories.member(db_url, tom.id, "Tom", role="trainer")
    factories.member(db_url, ada.id, "Ada", role="admin", language="ru")
    anna_id = factories.member(db_url, anna.id, "Anna", last_name="Petrova", language="ru")
    boris_id = factories.member(db_url, boris.id, "Boris")
    for member_id in (anna_id, boris_id):
        factories.membership(db_url, member_id, starts_on=-1, ends_on=29, visits_left=10,
                             status="active")
    launcher.start(db_url)

    # Anna's code checks her in once; typed again it is refused with the time it was used.
    (shown,) = anna.send("/card")
    code = _code(shown)
    tom.send("/checkin")
    (done,) = tom.send(code)
    assert done["text"] == "✅ Anna Petrova checked in · 9 visits left"
    (at,), = query(db_url, "SELECT checked_in_at FROM visits WHERE member_id = %s", (anna_id,))
    hhmm = at.astimezone(UTC).strftime("%H:%M")  # CLUB_TIMEZONE is UTC here
    tom.send("/checkin")
    (used,) = tom.send(code)
    assert used["text"] == (f"⛔ This code was already used at {hhmm}: a card checks in once. "
                            "Nothing recorded.")
    ada.send("/checkin")
    (used_ru,) = ada.send(f"{code[:3]} {code[3:]}")
    assert used_ru["text"] == (f"⛔ Этот код уже использован в {hhmm}: карта отмечает вход "
                               "один раз. Ничего не записано.")
    assert query(db_url, "SELECT count(*) FROM visits WHERE member_id = %s",
                 (anna_id,)) == [(1,)]

    # Boris refreshes his card: the old code is refused as replaced, the new one works.
    (old,) = boris.send("/card")
    boris.press_data(old["message_id"], button_data(old, "Refresh"))
    wait_until(lambda: len(boris.messages()) == 2, 15, "the new card")
    new = boris.messages()[-1]
    assert _code(new) != _code(old)  # a valid (if revoked) code is never handed out again
    ada.send("/checkin")
    (replaced_ru,) = ada.send(_code(old))
    assert replaced_ru["text"] == ("⛔ Этот код заменён новым. Попросите клиента показать "
                                   "последнюю карту. Ничего не записано.")
    tom.send("/checkin")
    (replaced,) = tom.send(_code(old))
    assert replaced["text"] == ("⛔ This code was replaced by a newer one. Ask the member for "
                                "their latest card. Nothing recorded.")
    assert query(db_url, "SELECT count(*) FROM visits WHERE member_id = %s",
                 (boris_id,)) == [(0,)]
    tom.send("/checkin")
    (fresh,) = tom.send(_code(new))
    assert fresh["text"] == "✅ Boris checked in · 9 visits left"
