"""/audit for admins, in English and Russian: the latest staff actions ten to a page, each
as when and a sentence in the admin's language (who did what to whom, with the class, plan and
details in words, never field names or raw values), newer and older edited in place; members'
own actions left out; the filter by member (search by name in the "aud" flow, pick from
buttons, clear it) with wrong text, commands and /cancel during the step; old pages and gone
members answered as stale. Check-ins by QR scan, 6-digit code and name search are told apart.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from psycopg2.extras import Json

from fitclub import callbacks as cb
from fitclub.services import card
from tests import factories
from tests.e2e.harness import BASE_ENV, TOKEN, query, wait_until
from tests.e2e.session import Person, buttons

TZ = "Europe/Berlin"
BOOKED = {"en": "20 booked", "ru": "было записано: 20"}


def seed(db_url: str, ada: Person, ira: Person) -> dict:
    """Admins, a trainer, members and their things, and an audit log: 23 staff actions (one
    an action the catalogs do not name) among members' own and the system's."""
    ids = {
        "Ada": factories.member(db_url, ada.id, "Ada", last_name="Admin",
                                phone="+4915100000001", language="en", role="admin"),
        "Ира": factories.member(db_url, ira.id, "Ира", phone="+79160000002", language="ru",
                                role="admin"),
        "Tom": factories.member(db_url, 900010, "Tom", phone="+4915100000010", language="en",
                                role="trainer"),
        "Анна": factories.member(db_url, 900001, "Анна", last_name="Петрова",
                                 phone="+79161234567", language="ru"),
        "Boris": factories.member(db_url, 900002, "Boris", phone="+4915100000002",
                                  language="en"),
    }
    ids["plan"] = factories.plan(db_url, "Month", price_minor=5000, duration_days=30,
                                 visit_count=None)
    ids["membership"] = factories.membership(db_url, ids["Анна"], ids["plan"], starts_on=0,
                                             ends_on=30, visits_left=None)
    type_id = factories.class_type(db_url, "Yoga", default_duration_minutes=60,
                                   default_capacity=10)
    ids["class"] = factories.class_(db_url, ids["Tom"], timedelta(days=1),
                                    class_type_id=type_id, duration_minutes=60, capacity=10)
    ids["booking"] = factories.booking(db_url, ids["class"], ids["Анна"])
    ids["visit"] = factories.visit(db_url, ids["Анна"], method="qr")
    starts = query(db_url, "SELECT starts_at FROM classes WHERE id = %s", (ids["class"],))[0][0]
    kinds = [  # (action, entity, entity id, subject, details as the code writes them)
        ("role.changed", "member", ids["Анна"], "Анна", {"from": "member", "to": "trainer"}),
        ("checkin", "visit", ids["visit"], "Анна",
         {"member_id": ids["Анна"], "method": "qr", "class_id": None, "booking_id": None,
          "visits_left": None}),
        ("class.cancelled", "class", ids["class"], None,
         {"starts_at": starts.isoformat(), "booked": 20, "waitlisted": 0, "checked_in": 0,
          "visits_returned": 0, "offers_withdrawn": 0}),
        ("attendance.attended", "booking", ids["booking"], "Анна",
         {"class_id": ids["class"], "member_id": ids["Анна"], "from": "booked"}),
        ("plan.created", "plan", ids["plan"], None,
         {"name": "Month", "price_minor": 5000, "duration_days": 30, "visit_count": None,
          "freeze_days": 0}),
        ("membership.transferred", "membership", ids["membership"], "Анна", {"days": 30}),
        ("role.changed", "member", ids["Boris"], "Boris", {"from": "trainer", "to": "member"}),
    ]
    staff, minute = [], 0

    def log(actor, action, entity, entity_id, details):
        nonlocal minute
        minute += 1
        return query(db_url, """
            INSERT INTO audit_log (at, actor_id, action, entity, entity_id, details)
            VALUES (date_trunc('minute', now()) - interval '2 days' + %s * interval '1 minute',
                    %s, %s, %s, %s, %s) RETURNING id, at""",
                     (minute, actor, action, entity, entity_id, Json(details)))[0]

    for n in range(23):
        actor = ("Ada", "Tom")[n % 2]
        action, entity, entity_id, subject, details = kinds[n % len(kinds)]
        if n == 11:  # a member's denied attempt at a staff action
            actor, action, entity, entity_id, subject, details = (
                "Boris", "denied", "staff_action", None, None,
                {"what": "report.export", "role": "member", "telegram_id": 900002,
                 "data": "rx:members"})
        row_id, at = log(ids[actor], action, entity, entity_id, details)
        staff.append({"id": row_id, "at": at, "who": actor, "action": action,
                      "entity": entity, "entity_id": entity_id, "subject": subject})
        if n % 5 == 0:  # members' own actions and the system's are not staff actions
            log(ids["Анна"], "booking.booked", "booking", ids["booking"], {})
            log(None, "waitlist.offered", "waitlist_offer", 1, {})
    ids["staff"] = staff[::-1]  # newest first
    return ids


FULL = {"Ada": "Ada Admin", "Tom": "Tom", "Анна": "Анна Петрова", "Boris": "Boris",
        "Ира": "Ира"}


def blocks(text: str) -> list[list[str]]:
    """A page's entries, each as its lines (the title block left out)."""
    return [b.split("\n") for b in text.split("\n\n")[1:]]


def sentence(e: dict, lang: str, who: str) -> str:
    """The sentence an entry of seed() is shown as; {cls} stands for the class's name and
    start."""
    en = lang == "en"
    return {
        "role.changed": {
            ("Анна", True): f"{who} changed the role of Анна Петрова · member → trainer",
            ("Анна", False): f"{who}: изменена роль — Анна Петрова · участник → тренер",
            ("Boris", True): f"{who} changed the role of Boris · trainer → member",
            ("Boris", False): f"{who}: изменена роль — Boris · тренер → участник",
        }.get((e["subject"], en)),
        "checkin": (f"{who} checked in Анна Петрова by QR scan" if en else
                    f"{who}: отмечен приход по QR-коду — Анна Петрова"),
        "class.cancelled": (f"{who} cancelled {{cls}} · {BOOKED['en']}" if en else
                            f"{who}: отменено {{cls}} · {BOOKED['ru']}"),
        "attendance.attended": (f"{who} marked Анна Петрова attended at {{cls}}" if en else
                                f"{who}: отмечена явка ({{cls}}) — Анна Петрова"),
        "plan.created": (f"{who} created the plan Month · €50.00 · for 30 days · unlimited "
                         "visits" if en else
                         f"{who}: создан тариф «Month» · 50,00\xa0€ · на 30 дней · "
                         "безлимитные посещения"),
        "membership.transferred": f"{who}: membership.transferred",
        "denied": (f"⛔ Refused: {who} (member) tried to use reports" if en else
                   f"⛔ Отказано: {who} (участник) — отчёты"),
        "people.search": _searched(e, en, who),
    }[e["action"]]


def _searched(e: dict, en: bool, who: str) -> str | None:
    """A search by name made in the test (the text typed is never shown: only the count)."""
    if e["action"] != "people.search":
        return None
    found = e["found"]
    if en:
        return f"{who} searched by name · " + (f"{found} found" if found else "nobody found")
    return f"{who}: поиск по имени · " + ("найден 1 человек" if found == 1 else
                                          "никто не найден" if not found else f"{found}")


def searches(db_url: str, ids: dict) -> list[dict]:
    """The staff searches made so far (each one audited), newest first, as seed() lists
    entries."""
    names = {ids[name]: name for name in FULL if name in ids}
    return [{"id": row_id, "at": at, "who": names[actor], "action": "people.search",
             "entity": "member", "entity_id": None, "subject": None, "kind": details["kind"],
             "found": details["found"]}
            for row_id, at, actor, details in query(
                db_url, "SELECT id, at, actor_id, details FROM audit_log"
                        " WHERE action = 'people.search' ORDER BY at DESC, id DESC")]


def class_pattern(lang: str) -> str:
    """Yoga and its start as the sentences write it ('Yoga on Mon 7 Dec, 18:00')."""
    when = r"\w+\.? \d{1,2} \w+\.?, \d\d:\d\d"
    return rf"Yoga on {when}" if lang == "en" else rf"занятие «Yoga», {when}"


def check_page(text: str, expected: list[dict], lang: str,
               names: dict[str, str] = FULL) -> None:
    """Each entry shown: when (club time), then what happened as a sentence, in order."""
    shown = blocks(text)
    assert len(shown) == len(expected)
    for lines, e in zip(shown, expected, strict=True):
        local = e["at"].astimezone(ZoneInfo(TZ))
        assert len(lines) == 2, lines
        assert lines[0].endswith(f"{local:%H:%M}") and f" {local.day} " in lines[0], lines
        pattern = re.escape(sentence(e, lang, names[e["who"]])).replace(
            re.escape("{cls}"), class_pattern(lang))
        assert re.fullmatch(pattern, lines[1]), (lines, e)
    for raw in ("None", "True", "_id", "what:", "role:", "rx:members", "900002", "#"):
        assert raw not in text, raw


def replay(emu, db_url: str, person: Person, message: dict, data: str) -> list[tuple]:
    """Deliver a press of `data` on a message whatever it shows now; what the bot queued."""
    update_id = emu.inject_update(TOKEN, {"callback_query": {
        "id": f"replay-{time.monotonic_ns()}", "chat_instance": "1",
        "from": {"id": person.id, "is_bot": False, "first_name": person.user.data.first_name},
        "message": {"message_id": message["message_id"], "date": int(time.time()),
                    "chat": {"id": person.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"},
                    "text": message.get("text") or ""},
        "data": data}})
    wait_until(lambda: query(db_url, "SELECT status FROM inbox WHERE update_id = %s",
                             (update_id,)) == [("done",)], 15, f"update {update_id} done")
    return query(db_url, "SELECT method, coalesce(params->>'text', params->>'caption')"
                         " FROM outbox WHERE update_id = %s ORDER BY id", (update_id,))


def test_admin_audit_log_pages_and_filter_in_english_and_russian(emu, launcher, db_url):
    ada, ira = Person(emu, "Ada"), Person(emu, "Ира", language_code="ru")
    ids = seed(db_url, ada, ira)
    staff = ids["staff"]
    launcher.start(db_url, CLUB_TIMEZONE=TZ)

    # Page 1: the ten newest staff actions, then older pages in place.
    (shown,) = ada.send("/audit")
    mid = shown["message_id"]
    assert shown["text"].startswith("🧾 Audit log · page 1\n\n")
    check_page(shown["text"], staff[:10], "en")
    assert buttons(shown) == [["Older »"], ["🔎 Filter by member"], ["« Staff"]]
    ada.press(shown, "Older »")
    two = ada.wait_edit(mid, "page 2")
    check_page(two["text"], staff[10:20], "en")
    assert "\n⛔ Refused: Boris (member) tried to use reports\n" in two["text"]
    assert buttons(two) == [["« Newer", "Older »"], ["🔎 Filter by member"], ["« Staff"]]
    ada.press(two, "Older »")
    three = ada.wait_edit(mid, "page 3")
    check_page(three["text"], staff[20:], "en")
    assert buttons(three) == [["« Newer"], ["🔎 Filter by member"], ["« Staff"]]
    ada.press(three, "« Newer")
    ada.wait_edit(mid, "page 2")
    assert len(ada.messages()) == 1  # every page in place

    # A page past the end (an old button of a log that shrank, or forged): stale, page 1.
    assert replay(emu, db_url, ada, shown, cb.AUDIT_PAGE(page=9))[0] == (
        "answerCallbackQuery", "This is no longer available.")
    ada.wait_edit(mid, "page 1")

    # The filter: wrong text is asked again, commands keep working, a name finds buttons.
    ada.press(ada.now(mid), "Filter by member")
    ask = ada.wait_edit(mid, "Filter the audit log")
    assert buttons(ask) == [["Cancel"]]
    (short,) = ada.send("a")
    assert short["text"] == ("Type 2 to 64 characters of a name, phone or @username, or press"
                             " Cancel.")
    (none,) = ada.send("zzz")
    assert none["text"] == "Nobody found for “zzz”. Type another name, or press Cancel."
    assert buttons(none) == [["Cancel"]]
    (helped,) = ada.send("/help")
    assert "/start" in helped["text"]  # /help answered: commands work during the step
    (found,) = ada.send("Анна")
    assert found["text"] == "Found for “Анна”: choose a member, or type another name."
    assert buttons(found) == [["Анна Петрова"], ["Cancel"]]  # by name: no phone digit
    ada.press(found, "Анна Петрова")
    hers = ada.wait_edit(found["message_id"], "Actions by or on Анна Петрова")
    on_anna = [e for e in staff if "Анна" in (e["subject"], e["who"])]
    assert 10 < len(on_anna) < len(staff)
    check_page(hers["text"].replace("\nActions by or on Анна Петрова", ""), on_anna[:10], "en")
    assert buttons(hers) == [["Older »"], ["✖️ Everyone's actions"], ["« Staff"]]
    ada.press(hers, "Older »")
    older = ada.wait_edit(found["message_id"], "page 2")
    check_page(older["text"].replace("\nActions by or on Анна Петрова", ""), on_anna[10:], "en")
    # The step is over: a name is just text now.
    (text,) = ada.send("Анна")
    assert text["text"] == "I didn't understand that. Use the menu below or send /help."
    ada.press(older, "Everyone's actions")
    # The two searches ("zzz", "Анна") are staff actions too: by name, how many found.
    made = searches(db_url, ids)
    assert [(e["who"], e["kind"], e["found"]) for e in made] == [("Ada", "name", 1),
                                                                ("Ada", "name", 0)]
    check_page(ada.wait_edit(found["message_id"], "page 1")["text"], (made + staff)[:10], "en")

    # A member gone since the button was made: stale, and everyone's page instead.
    query(db_url, "UPDATE members SET telegram_id = NULL, first_name = NULL, phone = NULL,"
                  " deleted_at = now() WHERE id = %s", (ids["Boris"],))
    assert replay(emu, db_url, ada, found, cb.AUDIT_MEMBER(member_id=ids["Boris"], page=0)
                  )[0] == ("answerCallbackQuery", "This is no longer available.")
    wait_until(lambda: "(deleted member)" in ada.now(found["message_id"])["text"], 15,
               "everyone's page, Boris shown as erased")

    # /cancel leaves the step.
    ada.press(ada.now(found["message_id"]), "Filter by member")
    ada.wait_edit(found["message_id"], "Filter the audit log")
    (cancelled,) = ada.send("/cancel")
    assert cancelled["text"] == "Cancelled."
    (text,) = ada.send("Анна")
    assert text["text"].startswith("I didn't understand that.")
    assert query(db_url, "SELECT count(*) FROM conversation_state WHERE state LIKE 'aud%%'"
                 ) == [(0,)]

    # In Russian.
    (zhurnal,) = ira.send("/audit")
    assert zhurnal["text"].startswith("🧾 Журнал действий · страница 1\n\n")
    # (Boris, erased above, is shown as such.)
    assert "изменена роль — (удалённый участник) · тренер → участник" in zhurnal["text"]
    check_page(zhurnal["text"].replace("(удалённый участник)", "Boris"),
               (searches(db_url, ids) + staff)[:10], "ru")
    assert buttons(zhurnal) == [["Более ранние »"], ["🔎 По участнику"], ["« Сотрудникам"]]
    ira.press(zhurnal, "По участнику")
    vopros = ira.wait_edit(zhurnal["message_id"], "Фильтр журнала")
    assert buttons(vopros) == [["Отмена"]]
    (nikto,) = ira.send("Петров")
    assert nikto["text"] == ("Найдено по запросу «Петров»: выберите участника или введите"
                             " другое имя.")
    ira.press(nikto, "Анна Петрова")
    eyo = ira.wait_edit(nikto["message_id"], "Только действия с участием: Анна Петрова")
    assert "изменена роль — Анна Петрова · участник → тренер" in eyo["text"]
    assert buttons(eyo) == [["Более ранние »"], ["✖️ Все действия"], ["« Сотрудникам"]]
    assert len(blocks(eyo["text"])) == 10

    # Everyone's actions, then Cancel from the question: the newest page, the step over.
    mid = nikto["message_id"]
    ira.press(eyo, "Все действия")
    ira.press(ira.wait_edit(mid, "изменена роль — (удалённый участник)"), "По участнику")
    ira.press(ira.wait_edit(mid, "Фильтр журнала"), "Отмена")
    ira.wait_edit(mid, "изменена роль — (удалённый участник)")
    assert query(db_url, "SELECT count(*) FROM conversation_state WHERE state LIKE 'aud%'"
                 ) == [(0,)]

    # Demoted while the step waits for a name: the name is refused and the step ends.
    ira.press(ira.now(mid), "По участнику")
    ira.wait_edit(mid, "Фильтр журнала")
    query(db_url, "UPDATE members SET role = 'member' WHERE id = %s", (ids["Ира"],))
    (refused,) = ira.send("Анна")
    assert refused["text"] == "Это могут делать только администраторы клуба."
    assert query(db_url, "SELECT count(*) FROM conversation_state WHERE state LIKE 'aud%'"
                 ) == [(0,)]
    assert query(db_url, "SELECT details->>'what' FROM audit_log WHERE action = 'denied'"
                         " AND actor_id = %s", (ids["Ира"],)) == [("audit.search",)]


def test_check_ins_by_qr_scan_code_and_name_are_told_apart(emu, launcher, db_url):
    """A trainer checks one member in by scanning her card, one by typing his card's code and
    one found by name: each visit records its method, and the admins' log says it in words."""
    tom, ada, ira = Person(emu, "Tom"), Person(emu, "Ada"), Person(emu, "Ира", language_code="ru")
    anna, boris, clara = Person(emu, "Anna"), Person(emu, "Boris"), Person(emu, "Clara")
    ids = {"Tom": factories.member(db_url, tom.id, "Tom", phone="+4915100000010",
                                   role="trainer"),
           "Ada": factories.member(db_url, ada.id, "Ada", role="admin"),
           "Ира": factories.member(db_url, ira.id, "Ира", language="ru", role="admin")}
    plan = factories.plan(db_url, "Ten", price_minor=3500, duration_days=30, visit_count=10)
    for person, last in ((anna, "Petrova"), (boris, None), (clara, None)):
        ids[person.user.data.first_name] = member = factories.member(
            db_url, person.id, person.user.data.first_name, last_name=last,
            phone=f"+4915100{person.id}")
        factories.membership(db_url, member, plan, starts_on=-1, ends_on=29, visits_left=10)
    launcher.start(db_url, CLUB_TIMEZONE=TZ)
    for person in (anna, boris, clara):
        person.send("/start")

    # By QR scan: the trainer opens the link of Anna's card.
    token = card.make_token(ids["Anna"], datetime.now(UTC), BASE_ENV["CARD_SECRET"])
    (scanned,) = tom.send(f"/start {card.PREFIX}{token}")
    assert scanned["text"].startswith("✅ Anna Petrova checked in")
    # By the 6-digit code on Boris's card, typed at /checkin.
    (shown,) = boris.send("/card")
    code = re.search(r"(\d{3}) (\d{3})", shown["caption"])
    tom.send("/checkin")
    (typed,) = tom.send(code.group(1) + code.group(2))
    assert typed["text"].startswith("✅ Boris checked in")
    # By name: Clara found by /checkin's search and confirmed.
    tom.send("/checkin")
    (found,) = tom.send("Clara")
    tom.press(found, "Clara")
    tom.press(tom.wait_edit(found["message_id"], "Membership"), "Check in Clara")
    tom.wait_edit(found["message_id"], "checked in")

    assert query(db_url, "SELECT m.first_name, v.method FROM visits v JOIN members m"
                         " ON m.id = v.member_id ORDER BY v.id") == [
        ("Anna", "qr"), ("Boris", "code"), ("Clara", "manual")]

    (log,) = ada.send("/audit")
    # Each code or name typed is a search, audited with how many it found (never the text).
    assert [b[1] for b in blocks(log["text"])] == [
        "Tom checked in Clara by name search · 9 visits left",
        "Tom searched by name · 1 found",
        "Tom checked in Boris by 6-digit code · 9 visits left",
        "Tom searched by card code · 1 found",
        "Tom checked in Anna Petrova by QR scan · 9 visits left"]
    assert "manual" not in log["text"] and "method" not in log["text"]
    (zhurnal,) = ira.send("/audit")
    assert [b[1] for b in blocks(zhurnal["text"])] == [
        "Tom: отмечен приход через поиск по имени — Clara · осталось посещений: 9",
        "Tom: поиск по имени · найден 1 человек",
        "Tom: отмечен приход по 6-значному коду — Boris · осталось посещений: 9",
        "Tom: поиск по коду карты · найден 1 человек",
        "Tom: отмечен приход по QR-коду — Anna Petrova · осталось посещений: 9"]
