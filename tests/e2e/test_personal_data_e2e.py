"""'Download my data' on /privacy, in English and Russian, with the bot as its own process,
tgemu over HTTP and a real PostgreSQL: the press sends one JSON document (the screen edits in
place to say so), which parses and matches the database; its bytes leave the outbox once
delivered; a second press within ten minutes sends nothing and says on the screen when the
next copy may go; after "delete my data" the old button is no longer available."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests import factories
from tests.e2e.harness import query, wait_until
from tests.e2e.session import Person, button_data, buttons
from tests.helpers import rows_as_in_file

TZ = ZoneInfo("Europe/Berlin")


def _rows(db_url: str, sql: str, params) -> list[list]:
    return rows_as_in_file(db_url, sql, params, TZ)




def _document(person: Person, before: int) -> dict:
    return wait_until(lambda: next((m for m in person.messages()[before:] if m.get("document")),
                                   None), 15, "a document from the bot")


def seed(db_url: str, anna: Person, ira: Person) -> dict[str, int]:
    ids = {"tom": factories.member(db_url, 900001, "Tom", role="trainer"),
           "ada": factories.member(db_url, 900002, "Ada", role="admin")}
    ids["anna"] = factories.member(db_url, anna.id, "Anna", last_name="Lindqvist",
                                   phone="+4915100000077", username="anna_l")
    ids["ira"] = factories.member(db_url, ira.id, "Ира", phone="+79160000088", language="ru")
    month = factories.plan(db_url, "Month", visit_count=12, freeze_days=10, name_tr="Месяц")
    yoga = factories.class_type(db_url, "Yoga", name_tr="Йога")
    past = factories.class_(db_url, ids["tom"], timedelta(days=-1), class_type_id=yoga)
    soon = factories.class_(db_url, ids["tom"], timedelta(days=1), class_type_id=yoga)
    for who in ("anna", "ira"):
        ms = factories.membership(db_url, ids[who], month, visits_left=9)
        query(db_url, "INSERT INTO membership_adjustments (membership_id, actor_id, delta,"
                      " visits_after, reason) VALUES (%s, %s, -1, 9, 'double scan')",
              (ms, ids["ada"]))
        factories.booking(db_url, past, ids[who], status="attended")
        factories.booking(db_url, soon, ids[who], membership_id=ms, visit_reserved=True)
        factories.visit(db_url, ids[who], method="class", class_id=past, membership_id=ms,
                        checked_in_by=ids["tom"], checked_in_at=timedelta(days=-1))
        query(db_url, "INSERT INTO member_notes (member_id, author_id, body) VALUES"
                      " (%s, %s, %s)", (ids[who], ids["ada"], f"note on {who}"))
    return ids


def check_file(db_url: str, found: dict, member_id: int, lang: str) -> None:
    """The file's sections against the database."""
    (profile,) = _rows(db_url, "SELECT id, telegram_id, first_name, last_name, phone, username,"
                               " language, role, registered_at, created_at, reminders_enabled,"
                               " blocked_at FROM members WHERE id = %s", (member_id,))
    assert list(found["profile"].values()) == profile
    assert [[m[k] for k in ("id", "plan_name", "starts_on", "ends_on", "visits_left", "status")]
            + [[list(a.values()) for a in m["visit_adjustments"]]]
            for m in found["memberships"]] == [
        [*row[:-1], _rows(db_url, "SELECT id, delta, visits_after, reason, created_at FROM"
                                  " membership_adjustments WHERE membership_id = %s",
                          (row[0],))]
        for row in _rows(db_url, "SELECT ms.id, CASE WHEN %s = 'ru' THEN p.name_tr ELSE p.name"
                                 " END, ms.starts_on, ms.ends_on, ms.visits_left, ms.status,"
                                 " ms.id FROM memberships ms JOIN membership_plans p"
                                 " ON p.id = ms.plan_id WHERE ms.member_id = %s",
                         (lang, member_id))]
    assert [[b["id"], b["class_id"], b["class_type"], b["class_starts_at"], b["status"]]
            for b in found["bookings"]] == _rows(
        db_url, "SELECT b.id, b.class_id, CASE WHEN %s = 'ru' THEN t.name_tr ELSE t.name END,"
                " c.starts_at, b.status FROM bookings b JOIN classes c ON c.id = b.class_id"
                " JOIN class_types t ON t.id = c.class_type_id WHERE b.member_id = %s"
                " ORDER BY b.id", (lang, member_id))
    assert [list(v.values()) for v in found["visits"]] == _rows(
        db_url, "SELECT id, checked_in_at, method, class_id, membership_id,"
                " checked_in_by IS NOT NULL FROM visits WHERE member_id = %s ORDER BY id",
        (member_id,))
    assert [[n["id"], n["body"], n["created_at"]] for n in found["staff_notes"]] == _rows(
        db_url, "SELECT id, body, created_at FROM member_notes WHERE member_id = %s",
        (member_id,))
    assert found["payments"] == []
    assert [[c["kind"], c["given_at"], c["notice"]] for c in found["consents"]] == _rows(
        db_url, "SELECT 'privacy_notice', privacy_notice_at, privacy_notice FROM members"
                " WHERE id = %s AND privacy_notice_at IS NOT NULL", (member_id,))
    assert found["time_zone"] == "Europe/Berlin"


def test_download_my_data_in_english_and_russian(emu, launcher, db_url):
    anna, ira = Person(emu, "Anna"), Person(emu, "Ира", "ru")
    ids = seed(db_url, anna, ira)
    launcher.start(db_url, CLUB_TIMEZONE="Europe/Berlin", RETENTION_DAYS="3")

    # English: the privacy screen offers the copy above "Delete my data".
    (screen,) = anna.send("/privacy")
    assert buttons(screen)[:2] == [["📄 Download my data"], ["🗑 Delete my data"]]
    assert ("“Download my data” sends you a copy of everything the club holds about you, "
            "as one JSON file.") in screen["text"]
    # What the screen says is kept, and for how long the chat is (RETENTION_DAYS).
    assert ("• your membership, bookings and visits, and notes the staff keep about you\n"
            "• your messages to the bot and its answers, kept for 3 days\n") in screen["text"]
    assert ("“Delete my data” erases your name, phone, username and Telegram account from"
            " everything the club keeps") in screen["text"]
    before = len(anna.messages())
    anna.press(screen, "Download my data")
    doc = _document(anna, before)
    assert len(anna.messages()) == before + 1  # the document alone: the screen is edited
    shown = anna.wait_edit(screen["message_id"], "📄 Your copy is in the file below.")
    assert buttons(shown)[:2] == buttons(screen)[:2]
    today = datetime.now(TZ).date().isoformat()
    assert doc["document"]["file_name"] == f"fitclub-my-data-{today}.json"
    assert doc["caption"].startswith("📄 Everything FitClub holds about you, as of ")
    assert doc["caption"].endswith(". Times are in Europe/Berlin.")
    found = json.loads(doc["document"]["bytes"].decode("utf-8"))
    check_file(db_url, found, ids["anna"], "en")
    assert found["profile"]["telegram_id"] == anna.id
    assert found["memberships"][0]["plan_name"] == "Month"
    assert "note on ira" not in doc["document"]["bytes"].decode("utf-8")
    # Delivered, the file's bytes leave the outbox.
    wait_until(lambda: query(db_url, "SELECT status, file_bytes IS NULL FROM outbox"
                                     " WHERE chat_id = %s AND method = 'sendDocument'",
                             (anna.id,)) == [("sent", True)], 15, "the file's bytes to go")

    # A second press of the same button: no second file; the screen says when the next may go.
    (sent_at,), = query(db_url, "SELECT at FROM audit_log WHERE action = 'member.data_copy'"
                                " AND actor_id = %s", (ids["anna"],))
    local = sent_at.astimezone(TZ)
    before = len(anna.messages())
    anna.press(anna.now(screen["message_id"]), "Download my data")
    line = (f"A copy was sent at {local:%H:%M}: the next one can be sent after "
            f"{local + timedelta(minutes=10):%H:%M}.")
    wait = anna.wait_edit(screen["message_id"], line)
    assert "Your copy is in the file below." not in wait["text"]
    time.sleep(0.5)
    assert len(anna.messages()) == before
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'member.data_copy'"
                 ) == [(1,)]

    # Russian: the same, in Russian, with the plan's and class type's Russian names.
    (ekran,) = ira.send("/privacy")
    assert buttons(ekran)[:2] == [["📄 Скачать мои данные"], ["🗑 Удалить мои данные"]]
    assert "• ваши сообщения боту и его ответы: хранятся 3 дня\n" in ekran["text"]
    before = len(ira.messages())
    ira.press(ekran, "Скачать мои данные")
    doc = _document(ira, before)
    ira.wait_edit(ekran["message_id"], "📄 Ваша копия — в файле ниже.")
    assert doc["caption"].startswith("📄 Всё, что FitClub хранит о вас, на ")
    assert doc["caption"].endswith(". Время указано по часовому поясу Europe/Berlin.")
    found = json.loads(doc["document"]["bytes"].decode("utf-8"))
    check_file(db_url, found, ids["ira"], "ru")
    assert found["memberships"][0]["plan_name"] == "Месяц"
    assert {b["class_type"] for b in found["bookings"]} == {"Йога"}
    assert "согласи" in found["about"]["consents"]
    before = len(ira.messages())
    ira.press(ira.now(ekran["message_id"]), "Скачать мои данные")
    ira.wait_edit(ekran["message_id"], "Копия отправлена в ")
    assert "следующую можно получить после" in ira.now(ekran["message_id"])["text"]
    time.sleep(0.5)
    assert len(ira.messages()) == before

    # After "delete my data" the old button sends nothing: it is no longer available.
    copy_data = button_data(anna.now(screen["message_id"]), "Download my data")
    (again,) = anna.send("/privacy")
    anna.press(again, "Delete my data")
    asked = anna.wait_edit(again["message_id"], "Delete your data?")
    anna.press(asked, "Yes, delete my data")
    anna.wait_edit(again["message_id"], "Your data has been deleted.")
    query(db_url, "UPDATE audit_log SET at = at - interval '11 minutes'"
                  " WHERE action = 'member.data_copy'")  # past the cooldown
    before = len(anna.messages())
    answer = anna.inject_press(screen["message_id"], copy_data)
    assert answer["text"] == "This is no longer available."
    time.sleep(0.5)
    assert len(anna.messages()) == before
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'member.data_copy'"
                 ) == [(2,)]
