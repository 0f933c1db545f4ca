"""Announcements: scripted admin sessions with the bot as its own process,
tgemu over HTTP and a real PostgreSQL: compose, preview, audience, count, confirm, progress,
done, in English and Russian; a photo to one class's members; bad input, double taps, old
buttons and ids of things gone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, button_data, buttons

FAST = {"ANNOUNCE_PROGRESS_SECONDS": "1", "JOB_POLL_SECONDS": "0.2"}

TEXTS = {
    "en": {
        "compose": "New announcement", "staff": "« Staff",
        "not_supported": "An announcement is a text or a photo",
        "audience": "Above is exactly what members will get. Who should get it?",
        "active": "👥 Active members", "all": "📋 All registered",
        "class": "🧘 Members of a class", "expiring": "⏳ Membership ending soon",
        "discard": "🗑 Discard", "back": "« Audience",
        "to_active": "To: members with an active membership",
        "three": "3 members will get it.", "send3": "✅ Send to 3 members",
        "days": ["3 days", "7 days", "14 days", "30 days"],
        "to_expiring": "To: members whose membership ends within 7 days",
        "one": "1 member will get it.", "send1": "✅ Send to 1 member",
        "sending": "· sending", "stop": "⏹ Stop sending", "done": "· delivered",
        "counts": "Sent: 3 · Failed: 0 · Blocked the bot: 0", "started": "Sending has started.",
        "stale": "This is no longer available.", "help": "🛠 Staff commands",
    },
    "ru": {
        "compose": "Новое объявление", "staff": "« Сотрудникам",
        "not_supported": "Объявление — это текст или фото",
        "audience": "Выше — ровно то, что получат участники. Кому его отправить?",
        "active": "👥 С активным абонементом", "all": "📋 Всем зарегистрированным",
        "class": "🧘 Участникам занятия", "expiring": "⏳ Абонемент скоро закончится",
        "discard": "🗑 Удалить черновик", "back": "« Получатели",
        "to_active": "Кому: участники с активным абонементом",
        "three": "Его получат 3 участника.", "send3": "✅ Отправить 3 участникам",
        "days": ["3 дня", "7 дней", "14 дней", "30 дней"],
        "to_expiring": "Кому: участники, у которых абонемент заканчивается в ближайшие 7 дней",
        "one": "Его получит 1 участник.", "send1": "✅ Отправить 1 участнику",
        "sending": "· идёт рассылка", "stop": "⏹ Остановить рассылку",
        "done": "· рассылка завершена",
        "counts": "Отправлено: 3 · Ошибки: 0 · Заблокировали бота: 0",
        "started": "Рассылка началась.", "stale": "Это больше недоступно.",
        "help": "🛠 Команды сотрудников",
    },
}


def _admin(emu, db_url: str, lang: str = "en") -> Person:
    admin = Person(emu, "Ada", language_code=lang)
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin", language=lang)
    return admin


def _members(db_url: str, people: list[Person], *, ends_in: int | None = 30,
             blocked: bool = False) -> list[int]:
    """Registered members (with a membership ending in `ends_in` days unless None)."""
    ids = factories.members(db_url, [{"telegram_id": p.id, "first_name": f"M{p.id}",
                                      "phone": f"+1000{p.id}"} for p in people], blocked=blocked)
    if ends_in is not None:
        factories.memberships(db_url, ids, starts_on=-1, ends_on=ends_in, visits_left=10)
    return ids


def _club(db_url: str) -> None:
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)


def _send_formatted(emu, person: Person, text: str, entities: list[dict],
                    expect: int) -> list[dict]:
    """A text with formatting (bold, links...), as a Telegram client sends it."""
    before = len(person.events())
    emu.inject_update(TOKEN, {"message": {
        "message_id": 10_000 + before, "date": int(time.time()), "text": text,
        "entities": entities, "chat": {"id": person.id, "type": "private"},
        "from": {"id": person.id, "is_bot": False, "first_name": person.user.data.first_name,
                 "language_code": person.user.data.language_code}}})
    return person._sent_after(before, expect, 15)



def _later_today() -> datetime:
    """Soon, on today's date in UTC (the club's time zone here): just started near midnight."""
    now = datetime.now(UTC)
    soon = now + timedelta(minutes=5)
    return soon if soon.date() == now.date() else now - timedelta(minutes=1)


def _got(person: Person, text: str) -> list[dict]:
    return [m for m in person.messages() if (m.get("text") or m.get("caption")) == text]


def _deliveries(db_url: str) -> list[tuple]:
    return query(db_url, "SELECT announcement_id, count(*), count(DISTINCT member_id)"
                         " FROM announcement_deliveries GROUP BY 1 ORDER BY 1")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_admin_composes_previews_chooses_the_audience_and_sends(emu, launcher, db_url, lang):
    t = TEXTS[lang]
    _club(db_url)
    admin = _admin(emu, db_url, lang)
    active = [Person(emu, f"A{i}") for i in range(2)]
    ending = Person(emu, "Ending")
    unmembered, blocked = Person(emu, "NoPlan"), Person(emu, "Blocked")
    _members(db_url, active)
    _members(db_url, [ending], ends_in=5)
    _members(db_url, [unmembered], ends_in=None)
    _members(db_url, [blocked], blocked=True)
    everyone = [*active, ending, unmembered, blocked]
    emu.open_chats(TOKEN, [p.user for p in everyone])
    launcher.start(db_url, **FAST)

    (compose,) = admin.send("/announce")
    assert t["compose"] in compose["text"] and "/cancel" in compose["text"]
    assert buttons(compose) == [[t["staff"]]]
    # Not text or a photo: said what it takes; a command still works and the step stays.
    before = len(admin.events())
    admin.user.send_location(TOKEN, 52.5, 13.4)
    (hint,) = admin._sent_after(before, 1, 15)
    assert t["not_supported"] in hint["text"]
    (helped,) = admin.send("/help")
    assert [t["help"]] in buttons(helped)  # /announce is behind it

    text = "Pool closed on Friday <b> & Saturday"
    bold = [{"type": "bold", "offset": 0, "length": 11}]
    preview, audience = _send_formatted(emu, admin, text, bold, expect=2)
    assert preview["text"] == text and preview["entities"] == bold
    assert not preview.get("reply_markup")
    assert t["audience"] in audience["text"]
    assert buttons(audience) == [[t["active"], t["all"]], [t["class"], t["expiring"]],
                                 [t["discard"]]]
    mid = audience["message_id"]

    admin.press(audience, t["active"])
    shown = admin.wait_edit(mid, t["three"])
    assert t["to_active"] in shown["text"]
    assert buttons(shown) == [[t["send3"]], [t["back"], t["discard"]]]
    admin.press(shown, t["back"])
    shown = admin.wait_edit(mid, t["audience"])
    admin.press(shown, t["expiring"])
    shown = wait_until(lambda: (m := admin.now(mid)) and t["days"][0] in str(buttons(m)) and m,
                       15, "the days to choose")
    assert buttons(shown) == [t["days"], [t["back"]]]
    admin.press(shown, t["days"][1])
    shown = admin.wait_edit(mid, t["one"])
    assert t["to_expiring"] in shown["text"] and buttons(shown)[0] == [t["send1"]]
    admin.press(shown, t["back"])
    admin.press(admin.wait_edit(mid, t["audience"]), t["active"])
    shown = admin.wait_edit(mid, t["three"])

    # A double tap on Send: one announcement goes out, the second press is told it is gone.
    data = button_data(shown, t["send3"])
    before = len(admin.events())
    admin.user.press_button(TOKEN, mid, data)
    admin.user.press_button(TOKEN, mid, data)
    answers = wait_until(lambda: (a := [e for e in admin.events()[before:]
                                        if e["kind"] == "callback_answer"])
                         and len(a) == 2 and a, 15, "both presses answered")
    assert sorted(a.get("text") for a in answers) == sorted([t["started"], t["stale"]])
    done = admin.wait_edit(mid, t["done"], timeout=20)
    assert t["counts"] in done["text"] and t["to_active"] in done["text"]
    assert buttons(done) == [[t["staff"]]]
    edits = [e for e in admin.events() if e["kind"] == "edit" and e["message_id"] == mid]
    assert any(t["sending"] in (e["text"] or "") and [t["stop"]] in buttons(e) for e in edits)

    for person in [*active, ending]:
        (got,) = _got(person, text)
        assert got["entities"] == bold and not got.get("reply_markup")
    assert not _got(unmembered, text) and not blocked.messages()
    assert _deliveries(db_url) == [(1, 3, 3)]
    assert query(db_url, "SELECT action FROM audit_log WHERE entity = 'announcement'"
                         " ORDER BY id") == [("announcement.create",), ("announcement.send",)]
    assert query(db_url, "SELECT status, sent_count, total FROM announcements") == [
        ("done", 3, 3)]


def test_photo_to_one_class_bad_input_old_buttons_and_gone_ids(emu, launcher, db_url):
    t = TEXTS["en"]
    _club(db_url)
    admin = _admin(emu, db_url)
    booked, came, waiting, other = (Person(emu, n) for n in ("Booked", "Came", "Waits", "Other"))
    ids = dict(zip(("booked", "came", "waiting", "other"),
                   _members(db_url, [booked, came, waiting, other]), strict=True))
    emu.open_chats(TOKEN, [p.user for p in (booked, came, waiting, other)])
    factories.class_type(db_url, "Yoga", default_duration_minutes=60, default_capacity=10)
    class_id = factories.class_(db_url, ids["other"], _later_today(), duration_minutes=60,
                                capacity=10)
    for who, status in (("booked", "booked"), ("came", "attended"), ("waiting", "waitlisted")):
        factories.booking(db_url, class_id, ids[who], status=status)
    launcher.start(db_url, **FAST)

    # A draft discarded: its old buttons are gone, nobody got anything.
    admin.send("/announce")
    _, audience = admin.send("Draft to drop", expect=2)
    old_active = button_data(audience, t["active"])
    admin.press(audience, t["discard"])
    admin.wait_edit(audience["message_id"], "The draft is discarded")
    assert admin.inject_press(audience["message_id"], old_active)["text"] == t["stale"]
    # /cancel leaves the compose step: a text after it is no announcement.
    admin.send("/announce")
    (cancelled,) = admin.send("/cancel")
    assert cancelled["text"] == "Cancelled."
    admin.send("Not an announcement")
    assert query(db_url, "SELECT count(*) FROM announcements") == [(1,)]

    (compose,) = admin.send("/announce")
    assert "#" not in compose["text"]  # nothing sent yet: no recent announcements
    before = len(admin.events())
    admin.user.send_photo(TOKEN, b"\x89PNG fake image bytes", caption="Bring a mat")
    preview, audience = admin._sent_after(before, 2, 15)
    assert preview["caption"] == "Bring a mat" and preview.get("photo")
    file_id = preview["photo"]["file_id"]
    mid = audience["message_id"]
    admin.press(audience, t["class"])
    day = wait_until(lambda: (m := admin.now(mid)) and "Yoga" in str(buttons(m)) and m, 15,
                     "today's classes")
    yoga = next(label for row in buttons(day) for label in row if "Yoga" in label)
    assert yoga.endswith("Yoga · 👥 2")  # booked and attended, not the waitlist
    admin.press(day, "▶")
    tomorrow = wait_until(lambda: (m := admin.now(mid)) and "No classes" in m["text"] and m, 15,
                          "the next day")
    admin.press(tomorrow, "◀")
    day = wait_until(lambda: (m := admin.now(mid)) and "Yoga" in str(buttons(m)) and m, 15,
                     "today again")
    # A forged class id (no such class): told so, today's classes shown again.
    forged = button_data(day, "Yoga").rsplit(":", 1)[0] + ":999999"
    assert admin.inject_press(mid, forged)["text"] == t["stale"]
    admin.press(admin.now(mid), "Yoga")
    shown = admin.wait_edit(mid, "2 members will get it.")
    assert "To: members of Yoga" in shown["text"]
    admin.press(shown, "Send to 2 members")
    done = admin.wait_edit(mid, t["done"], timeout=20)
    assert "Sent: 2 · Failed: 0" in done["text"]

    for person in (booked, came):
        (got,) = [m for m in person.messages() if m.get("caption") == "Bring a mat"]
        assert got["photo"]["file_id"] == file_id
    assert not waiting.messages() and not other.messages()
    # The draft's old buttons now show where it is; another admin's Stop of a finished one too.
    answer = admin.inject_press(mid, button_data(audience, t["active"]))
    assert answer["text"] == t["stale"]
    (ann_id,), = query(db_url, "SELECT id FROM announcements WHERE status = 'done'")
    assert admin.inject_press(mid, f"nst:{ann_id}")["text"] == t["stale"]
    assert admin.inject_press(mid, "nv:999999")["text"] == t["stale"]
    (listed,) = admin.send("/announce")
    assert f"#{ann_id}" in listed["text"] and "delivered to 2 of 2" in listed["text"]
    admin.press(listed, f"Announcement #{ann_id}")
    view = admin.wait_edit(listed["message_id"], "Sent: 2")
    assert t["done"] in view["text"] and buttons(view) == [[t["staff"]]]
    admin.send("After looking at it")  # the compose step was left: this is no draft
    assert query(db_url, "SELECT count(*) FROM announcements") == [(2,)]
    assert query(db_url, "SELECT status FROM announcements ORDER BY id") == [
        ("cancelled",), ("done",)]
