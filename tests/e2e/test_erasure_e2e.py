"""The acceptance test of "Delete my data" (issue 17), with the bot as its own process, tgemu
over HTTP and a real PostgreSQL.

A member with a unique name, phone and username registers, books a class, joins a waitlist,
gets her card and checks in with it; a trainer and an admin search for her by phone and by
name, the admin opens her card, adds a note, adjusts her visits with a reason, exports the
members' file and sends an announcement she receives; then she erases her data through
/privacy. Once the confirmation's own traces are gone, a scan of every column of every table
(text and JSON by content, bytes decoded as UTF-8, arrays as text, integers for her Telegram
id) finds none of her name, phone, username or Telegram id; the bot's log has none of the
first three; and the club's figures for the week are what they were before.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2

from fitclub import callbacks as cb
from fitclub.locales import Texts
from fitclub.services import reports
from tests import factories
from tests.e2e.admin_session import plain, step
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, button_data, buttons
from tests.e2e.test_personal_data_e2e import check_file
from tests.helpers import stored_text

TZ = "Europe/Berlin"
FIRST, LAST, USERNAME = "Zyxia", "Quorbel", "zyxia_qx"
PHONE = "+15557340921"
TELEGRAM_ID = 7351946028
#: What must be found nowhere afterwards (the phone also by its national digits).
TRACES = (FIRST, LAST, USERNAME, PHONE[1:], PHONE[2:], str(TELEGRAM_ID))
LOG_TRACES = (FIRST, LAST, USERNAME, PHONE[2:])


def _figures(db_url: str) -> dict:
    """The reports service's figures for today and the weeks shown, and the raw counts."""
    conn = psycopg2.connect(db_url)
    try:
        now = datetime.now(UTC)
        summary = reports.summary(conn, now, ZoneInfo(TZ))
        weekly = reports.weekly_attendance(conn, now, ZoneInfo(TZ), Texts("en").first_week_day)
        with conn.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM visits), (SELECT count(*) FROM bookings),"
                        " (SELECT count(*) FROM members), (SELECT count(*) FROM memberships)")
            counts = cur.fetchone()
        conn.rollback()
    finally:
        conn.close()
    return {"summary": summary, "weekly": weekly, "counts": counts}



def _scan(db_url: str) -> list[tuple[str, str, object]]:
    """Every column of every table holding a trace of her: (table, column, value)."""
    found = []
    columns = query(db_url, "SELECT table_name, column_name, data_type FROM"
                            " information_schema.columns c JOIN information_schema.tables t"
                            " USING (table_schema, table_name)"
                            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                            " ORDER BY 1, 2")
    for table, column, kind in columns:
        cast = "::text" if kind == "ARRAY" else ""
        for (value,) in query(db_url, f'SELECT "{column}"{cast} FROM "{table}"'
                                      f' WHERE "{column}" IS NOT NULL'):
            if kind in ("bigint", "integer", "numeric"):
                hit = value == TELEGRAM_ID
            else:
                text = stored_text(value)
                hit = bool(text) and any(t.lower() in text.lower() for t in TRACES)
            if hit:
                found.append((table, column, value))
    return found


def _code(message: dict) -> str:
    found = re.search(r"(\d{3}) (\d{3})", message["caption"])
    assert found, message["caption"]
    return found.group(1) + found.group(2)


def test_nothing_of_an_erased_member_is_left_anywhere(emu, launcher, db_url):
    tx = Texts("en")
    tom, ada, carl = Person(emu, "Tom"), Person(emu, "Ada"), Person(emu, "Carl")
    her = Person(emu, FIRST, last_name=LAST, username=USERNAME, user_id=TELEGRAM_ID,
                 phone_number=PHONE)
    tom_id = factories.member(db_url, tom.id, "Tom", role="trainer", phone="+4915100000001")
    factories.member(db_url, ada.id, "Ada", role="admin", phone="+4915100000002")
    carl_id = factories.member(db_url, carl.id, "Carl", phone="+4915100000003")
    plan_id = factories.plan(db_url, "Ten", visit_count=10, duration_days=30)
    factories.class_type(db_url, "Yoga")
    open_class = factories.class_(db_url, tom_id, timedelta(days=1), capacity=10)
    full_class = factories.class_(db_url, tom_id, timedelta(days=1, hours=2), capacity=1)
    factories.membership(db_url, carl_id, plan_id, starts_on=-1)
    factories.booking(db_url, full_class, carl_id)
    bot = launcher.start(db_url, LOG_LEVEL="DEBUG", CLUB_TIMEZONE=TZ, JOB_POLL_SECONDS="0.2",
                         ANNOUNCE_PROGRESS_SECONDS="1")

    # She registers, with the name she types and her own contact.
    her.send("/start")
    her.send(f"{FIRST} {LAST}")
    her.share_contact(expect=2)
    ((her_id,),) = query(db_url, "SELECT id FROM members WHERE telegram_id = %s", (her.id,))
    factories.membership(db_url, her_id, plan_id, starts_on=-1, visits_left=10)

    # She books one class and joins the waitlist of a full one.
    (details,) = her.send(f"/start c_{open_class}")
    assert her.press(details, "Book")["text"].startswith("Booked")
    (details,) = her.send(f"/start c_{full_class}")
    label = "Book" if "Book" in str(buttons(details)) else "Join the waitlist"
    assert "waitlist" in her.press(details, label)["text"]

    # Her card checks her in at the trainer's /checkin.
    (card,) = her.send("/card")
    tom.send("/checkin")
    (done,) = tom.send(_code(card))
    assert f"{FIRST} {LAST} checked in" in done["text"]

    # The trainer and the admin search for her by her full phone and by her name.
    for staff in (tom, ada):
        for typed in (PHONE, f"{FIRST} {LAST}"):
            staff.send("/checkin")
            staff.send(typed)
    ada.send("/members")
    ada.send(PHONE)
    ada.send("/members")
    found = step(ada, f"{FIRST} {LAST}", FIRST)
    ada.press(found, FIRST)
    card = ada.wait_edit(found["message_id"], f"🪪 {FIRST} {LAST}")
    assert PHONE in card["text"]

    # A note naming her, and visits adjusted with a reason naming her.
    ada.press(card, plain(tx, "mbr_button_note"))
    ada.wait_edit(card["message_id"], plain(tx, "mbr_ask_note", name=f"{FIRST} {LAST}")
                  .splitlines()[0])
    card = step(ada, f"{FIRST} {LAST} hurt her knee, call {PHONE}", plain(tx, "mbr_note_saved"))
    ada.press(card, plain(tx, "mbr_button_adjust"))
    wait_until(lambda: ada.now(card["message_id"]) and plain(tx, "mbr_button_adjust") not in
               str(buttons(ada.now(card["message_id"]))), 15, "the question of the visits")
    step(ada, "+2", plain(tx, "mbr_ask_reason", delta="+2"))
    ((left,),) = query(db_url, "SELECT visits_left FROM memberships WHERE member_id = %s",
                       (her_id,))
    step(ada, f"Goodwill for {FIRST}", plain(tx, "mbr_adjusted", before=left, after=left + 2))

    # The members' file, in each format.
    (report,) = ada.send("/report")
    for fmt in ("xlsx", "csv"):
        before = len(ada.messages())
        ada.press_data(report["message_id"], cb.REPORT_EXPORT(table="members", fmt=fmt))
        wait_until(lambda before=before: any(m.get("document")
                                             for m in ada.messages()[before:]),
                   20, f"the members' {fmt} file")

    # An announcement to the active members, which she receives.
    ada.send("/announce")
    _, audience = ada.send("Open day on Saturday", expect=2)
    ada.press(audience, "Active members")
    shown = ada.wait_edit(audience["message_id"], "will get it")
    ada.press(shown, "Send to")
    wait_until(lambda: any(m["text"] == "Open day on Saturday" for m in her.messages()), 20,
               "the announcement to reach her")
    wait_until(lambda: query(db_url, "SELECT count(*) FROM outbox"
                                     " WHERE status IN ('pending', 'sending')") == [(0,)],
               20, "every message to be delivered")
    before = _figures(db_url)
    # The scan finds her wherever the review found her before the erasure.
    held = {(table, column) for table, column, _ in _scan(db_url)}
    assert held >= {("members", "first_name"), ("members", "phone"), ("members", "username"),
                    ("members", "telegram_id"), ("inbox", "payload"), ("inbox", "chat_id"),
                    ("outbox", "params"), ("outbox", "chat_id"), ("member_notes", "body"),
                    ("membership_adjustments", "reason"), ("audit_log", "details"),
                    ("chat_flood", "chat_id"), ("command_lists", "chat_id")}, held
    assert before["counts"][0] >= 1 and before["summary"].checkins >= 1

    # She downloads her data first: one JSON file that matches the database.
    (privacy,) = her.send("/privacy")
    sent = len(her.messages())
    her.press(privacy, "Download my data")
    doc = wait_until(lambda: next((m for m in her.messages()[sent:] if m.get("document")), None),
                     20, "her copy")
    copy = json.loads(doc["document"]["bytes"].decode("utf-8"))
    check_file(db_url, copy, her_id, "en")
    assert (copy["profile"]["phone"], copy["profile"]["username"]) == (PHONE, USERNAME)
    assert len(copy["bookings"]) == 2 and len(copy["visits"]) == 1
    assert any(FIRST in note["body"] for note in copy["staff_notes"])
    wait_until(lambda: query(db_url, "SELECT count(*) FROM outbox WHERE file_bytes IS NOT NULL"
                                     " AND chat_id = %s", (her.id,)) == [(0,)],
               20, "her copy's bytes to leave the outbox")
    before = _figures(db_url)

    # She erases her data.
    (privacy,) = her.send("/privacy")
    her.press(privacy, "🗑")
    confirm = wait_until(lambda: (m := her.now(privacy["message_id"])) and tx(
        "privacy_confirm_button") in str(buttons(m)) and m, 15, "the question")
    her.press_data(privacy["message_id"], button_data(confirm, tx("privacy_confirm_button")))
    her.wait_edit(privacy["message_id"], tx("privacy_deleted")[:20])

    # The confirmation's own traces go once it is delivered: nothing is left of her chat.
    wait_until(lambda: query(
        db_url, "SELECT (SELECT count(*) FROM outbox WHERE chat_id = %(id)s"
                "        OR status IN ('pending', 'sending'))"
                " + (SELECT count(*) FROM inbox WHERE chat_id = %(id)s)",
        {"id": her.id}) == [(0,)], 20, "her chat's last rows to be scrubbed")

    assert _scan(db_url) == []
    log = bot.log_text()
    assert [t for t in LOG_TRACES if t.lower() in log.lower()] == []
    assert query(db_url, "SELECT first_name, telegram_id FROM members WHERE id = %s",
                 (her_id,)) == [(None, None)]

    # The figures for the period are the same (her visit, bookings and membership stay as
    # an anonymous member's); only her future places were given back.
    after = _figures(db_url)
    assert after == before
    assert query(db_url, "SELECT count(*) FROM visits WHERE member_id = %s", (her_id,)) == [(1,)]


def test_a_double_tap_on_delete_and_a_sticker_meanwhile_leave_nothing(emu, launcher, db_url):
    """She presses "Yes, delete" twice quickly and sends a sticker: the second press and the
    sticker are handled after (or while) her data goes, with flood control, a stale answer and
    a reply of their own. Once her chat's last rows are scrubbed, the whole-database scan of
    the acceptance test finds nothing (no chat_flood, command_lists, inbox or outbox row with
    her Telegram id)."""
    tx = Texts("en")
    her = Person(emu, FIRST, last_name=LAST, username=USERNAME, user_id=TELEGRAM_ID,
                 phone_number=PHONE)
    launcher.start(db_url, CLUB_TIMEZONE=TZ)
    her.send("/start")
    her.send(f"{FIRST} {LAST}")
    her.share_contact(expect=2)
    (privacy,) = her.send("/privacy")
    her.press(privacy, "🗑")
    confirm = wait_until(lambda: (m := her.now(privacy["message_id"])) and tx(
        "privacy_confirm_button") in str(buttons(m)) and m, 15, "the question")
    assert {t for t, _, _ in _scan(db_url)} >= {"members", "inbox", "outbox", "chat_flood",
                                                  "command_lists"}
    data = button_data(confirm, tx("privacy_confirm_button"))
    answers = len([e for e in her.events() if e["kind"] == "callback_answer"])
    her.user.press_button(TOKEN, privacy["message_id"], data)
    her.user.press_button(TOKEN, privacy["message_id"], data)
    emu.inject_update(TOKEN, {"message": {
        "message_id": 9999, "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": her.id, "type": "private"},
        "from": {"id": her.id, "is_bot": False, "first_name": FIRST, "last_name": LAST,
                 "username": USERNAME},
        "sticker": {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
                    "height": 512, "is_animated": False, "is_video": False}}})
    her.wait_edit(privacy["message_id"], tx("privacy_deleted")[:20])
    wait_until(lambda: len([e for e in her.events()
                            if e["kind"] == "callback_answer"]) >= answers + 2, 15,
               "both presses answered")
    wait_until(lambda: query(
        db_url, "SELECT (SELECT count(*) FROM outbox WHERE chat_id = %(id)s"
                "        OR status IN ('pending', 'sending'))"
                " + (SELECT count(*) FROM inbox WHERE chat_id = %(id)s"
                "        OR status = 'pending')",
        {"id": her.id}) == [(0,)], 20, "her chat's last rows to be scrubbed")
    # /start, her name, her contact, /privacy, the bin, two presses, the sticker
    assert query(db_url, "SELECT count(*) FROM inbox") == [(8,)], "every update stored"
    assert _scan(db_url) == []
