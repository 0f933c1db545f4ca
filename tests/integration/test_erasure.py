""""Delete my data" on PostgreSQL: each table and column that held something identifying the
member holds nothing of it afterwards; the figures stay (services/privacy.py,
sql/0025_erasure.sql)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from psycopg2.extras import Json

from fitclub.db.queries import Q
from fitclub.services import club, privacy
from tests import factories

NOW = datetime.now(UTC)
RULES = club.of(None).booking
ANNA_TG, BORIS_TG, CARL_TG = 5550001, 5550002, 5550003
PHONE = "+15551000001"
TRACES = ("Anna", "Petrova", "15551000001", "anna_fit", str(ANNA_TG))


class World:
    """Anna (to be erased), Boris (an admin who dealt with her), Carl (another member)."""

    def __init__(self, db) -> None:
        self.db = db
        self.anna = factories.member(db, ANNA_TG, "Anna", last_name="Petrova", phone=PHONE,
                                     username="anna_fit")
        self.boris = factories.member(db, BORIS_TG, "Boris", role="admin", phone="+4915100000")
        self.carl = factories.member(db, CARL_TG, "Carl", phone="+4915100001")
        plan = factories.plan(db)
        self.anna_ms = factories.membership(db, self.anna, plan)
        self.carl_ms = factories.membership(db, self.carl, plan)
        factories.class_type(db)
        self.class_id = factories.class_(db, self.boris)
        self.booking = factories.booking(db, self.class_id, self.anna)
        self.carl_booking = factories.booking(db, self.class_id, self.carl)
        self.visit = factories.visit(db, self.anna, membership_id=self.anna_ms)

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.db.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def erase(self, update_id: int | None = None) -> None:
        done, _ = privacy.erase_member(self.db, self.anna, ANNA_TG, NOW, RULES,
                                       update_id=update_id)
        assert done

    def inbox(self, update_id: int, chat_id: int, payload: dict, status: str = "done") -> None:
        self.run("INSERT INTO inbox (update_id, chat_id, kind, payload, status, processed_at)"
                 " VALUES (%s, %s, 'message', %s, %s, CASE WHEN %s = 'pending' THEN NULL"
                 " ELSE now() END)", (update_id, chat_id, Json(payload), status, status))

    def outbox(self, chat_id: int, params: dict, status: str = "sent", *,
               file: bytes | None = None, update_id: int | None = None) -> int:
        return self.run(
            "INSERT INTO outbox (chat_id, method, params, status, file_field, file_name,"
            " file_bytes, update_id, lease_until, claim_token)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
            " CASE WHEN %s = 'sending' THEN now() + interval '1 minute' END,"
            " CASE WHEN %s = 'sending' THEN 77 END) RETURNING id",
            (chat_id, "sendDocument" if file else "sendMessage", Json(params), status,
             "document" if file else None, "members.csv" if file else None, file, update_id,
             status, status))[0][0]

    def mark_sent(self, outbox_id: int) -> None:
        """The sender's own statement recording a delivery."""
        with self.db.cursor() as cur:
            cur.execute("UPDATE outbox SET status = 'sending', claim_token = 77,"
                        " lease_until = now() + interval '1 minute' WHERE id = %s"
                        " AND status = 'pending'", (outbox_id,))
            cur.execute(Q["outbox.mark_sent"], {"done_ids": [outbox_id], "done_tokens": [77],
                                                "done_message_ids": [9]})
            assert cur.rowcount == 1


def _as_text(value: object) -> str | None:
    """A stored value as the text a person's identifiers could be read from."""
    if isinstance(value, memoryview | bytes):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return None


@pytest.fixture
def world(db) -> World:
    return World(db)


def test_her_member_row_keeps_no_identifier_and_the_figures_stay(world):
    world.erase()
    assert world.run("SELECT telegram_id, first_name, last_name, phone, username"
                     " FROM members WHERE id = %s", (world.anna,)) == [(None,) * 5]
    assert world.run("SELECT count(*) FROM visits WHERE member_id = %s", (world.anna,)) == [(1,)]
    assert world.run("SELECT count(*) FROM bookings WHERE member_id = %s",
                     (world.anna,)) == [(1,)]


def test_notes_about_her_go_and_notes_naming_her_lose_the_text(world):
    world.run("INSERT INTO member_notes (member_id, author_id, body) VALUES"
              " (%s, %s, 'knee injury, call first'), (%s, %s, 'came with Anna Petrova'),"
              " (%s, %s, 'prefers mornings')",
              (world.anna, world.boris, world.carl, world.boris, world.carl, world.boris))
    world.erase()
    assert world.run("SELECT member_id, body FROM member_notes ORDER BY id") == [
        (world.carl, "…"), (world.carl, "prefers mornings")]


def test_reasons_for_her_visits_and_reasons_naming_her_are_replaced(world):
    world.run("INSERT INTO membership_adjustments (membership_id, actor_id, delta,"
              " visits_after, reason) VALUES (%s, %s, 1, 11, 'knee injury'),"
              " (%s, %s, -1, 9, 'swapped with anna petrova'), (%s, %s, 1, 10, 'promo')",
              (world.anna_ms, world.boris, world.carl_ms, world.boris, world.carl_ms,
               world.boris))
    world.erase()
    assert world.run("SELECT membership_id, delta, reason FROM membership_adjustments"
                     " ORDER BY id") == [(world.anna_ms, 1, "…"), (world.carl_ms, -1, "…"),
                                         (world.carl_ms, 1, "promo")]


def test_audit_details_lose_her_reasons_phone_and_telegram_id_and_keep_their_shape(world):
    rows = [("membership.visits_adjusted", "membership", world.anna_ms,
             {"member_id": world.anna, "delta": 1, "reason": "knee injury"}),
            ("denied", "staff_action", None,
             {"what": "members", "role": "member", "telegram_id": ANNA_TG}),
            ("member.search", "member", None, {"query": "+1 555 100 0001", "found": 1}),
            ("membership.visits_adjusted", "membership", world.carl_ms,
             {"member_id": world.carl, "delta": 2, "reason": "promo"})]
    for action, entity, entity_id, details in rows:
        world.run("INSERT INTO audit_log (actor_id, action, entity, entity_id, details)"
                  " VALUES (%s, %s, %s, %s, %s)", (world.boris, action, entity, entity_id,
                                                   Json(details)))
    world.erase()
    got = [d for (d,) in world.run("SELECT details FROM audit_log"
                                   " WHERE actor_id = %s ORDER BY id", (world.boris,))]
    assert got == [{"member_id": world.anna, "delta": 1, "reason": "…"},
                   {"what": "members", "role": "member", "telegram_id": None},
                   {"query": "…", "found": 1},
                   {"member_id": world.carl, "delta": 2, "reason": "promo"}]


def test_her_card_codes_and_spent_tokens_go(world):
    world.run("INSERT INTO card_codes (code, member_id, token, issued_at, expires_at) VALUES"
              " ('123456', %s, 'tok-a', now(), now() + interval '5 minutes'),"
              " ('654321', %s, 'tok-c', now(), now() + interval '5 minutes')",
              (world.anna, world.carl))
    world.run("INSERT INTO card_spent (token, member_id, reason, at, expires_at) VALUES"
              " ('tok-old', %s, 'used', now(), now() + interval '5 minutes')", (world.anna,))
    world.erase()
    assert world.run("SELECT member_id FROM card_codes") == [(world.carl,)]
    assert world.run("SELECT count(*) FROM card_spent") == [(0,)]


def test_her_flood_and_command_list_rows_go(world):
    world.run("INSERT INTO chat_flood (chat_id, tokens, updated_at)"
              " VALUES (%s, 1, now()), (%s, 1, now())", (ANNA_TG, CARL_TG))
    world.run("INSERT INTO command_lists (chat_id, fingerprint) VALUES"
              " (%s, '0123456789abcdef'), (%s, '0123456789abcdef')", (ANNA_TG, CARL_TG))
    world.erase()
    assert world.run("SELECT chat_id FROM chat_flood") == [(CARL_TG,)]
    assert world.run("SELECT chat_id FROM command_lists") == [(CARL_TG,)]


def test_her_conversations_go_and_an_admins_mid_flow_data_loses_her_phone(world):
    for chat, data in ((ANNA_TG, {"step": "name", "name": "Anna"}),
                       (BORIS_TG, {"phone": PHONE, "visits": 2, "for": ANNA_TG}),
                       (CARL_TG, {"text": "hello"})):
        world.run("INSERT INTO conversation_state (bot_id, chat_id, user_id, thread_key, state,"
                  " data) VALUES (1, %s, %s, '', 'x', %s)", (chat, chat, Json(data)))
    world.erase()
    assert world.run("SELECT chat_id, data FROM conversation_state ORDER BY chat_id") == [
        (BORIS_TG, {"phone": "…", "visits": 2, "for": None}), (CARL_TG, {"text": "hello"})]


def test_jobs_for_her_are_cancelled_and_finished_ones_lose_her_name(world):
    world.run("INSERT INTO jobs (kind, payload, dedup_key) VALUES"
              " ('class_reminder', %s, 'a'), ('class_reminder', %s, 'c'),"
              " ('membership_expiry_notice', %s, 'm')",
              (Json({"booking_id": world.booking}), Json({"booking_id": world.carl_booking}),
               Json({"membership_id": world.anna_ms})))
    world.run("INSERT INTO jobs (kind, payload, status, finished_at, last_error) VALUES"
              " ('x', '{}', 'failed', now(), 'KeyError: Anna Petrova')")
    world.erase()
    assert world.run("SELECT dedup_key, status, last_error FROM jobs ORDER BY id") == [
        ("a", "cancelled", None), ("c", "pending", None), ("m", "cancelled", None),
        (None, "failed", None)]


def test_her_chat_keeps_no_content_and_no_chat_id(world):
    world.inbox(1, ANNA_TG, {"message": {"from": {"id": ANNA_TG, "first_name": "Anna"},
                                         "contact": {"phone_number": "15551000001"}}})
    world.outbox(ANNA_TG, {"chat_id": ANNA_TG, "text": "Welcome, Anna"})
    queued = world.outbox(ANNA_TG, {"chat_id": ANNA_TG, "text": "Reminder: Yoga, Anna"},
                          "pending")
    world.erase()
    assert world.run("SELECT update_id, chat_id, payload FROM inbox") == [
        (1, None, {"update_id": 1})]
    assert world.run("SELECT chat_id, params, status FROM outbox ORDER BY id") == [
        (None, {}, "sent"), (None, {}, "dropped")]
    assert world.run("SELECT status FROM outbox WHERE id = %s", (queued,)) == [("dropped",)]


def test_her_telegram_profile_name_is_looked_for_too(world):
    """She registered as Anna, but Telegram called her 'Annushka Z.' in her updates."""
    world.inbox(1, ANNA_TG, {"message": {"from": {"id": ANNA_TG, "first_name": "Annushka",
                                                  "username": "annushka_z"}}})
    world.outbox(BORIS_TG, {"chat_id": BORIS_TG, "text": "Forwarded from Annushka"})
    world.erase()
    assert world.run("SELECT params FROM outbox") == [({"chat_id": BORIS_TG},)]


def test_stored_updates_of_other_chats_naming_her_lose_their_content(world):
    world.inbox(10, BORIS_TG, {"message": {"text": "+1 555 100 0001"}})  # a search by phone
    world.inbox(11, BORIS_TG, {"message": {"text": "came with Anna Petrova"}})  # a note
    world.inbox(12, BORIS_TG, {"callback_query": {"data": "m:1"}})
    world.inbox(13, CARL_TG, {"message": {"text": "@anna_fit is late"}}, "pending")
    world.erase()
    assert world.run("SELECT update_id, chat_id, payload FROM inbox ORDER BY 1") == [
        (10, BORIS_TG, {"update_id": 10}), (11, BORIS_TG, {"update_id": 11}),
        (12, BORIS_TG, {"callback_query": {"data": "m:1"}}),
        (13, CARL_TG, {"message": {"text": "@anna_fit is late"}})], \
        "someone else's pending update is left to be processed"
    world.run(Q["inbox.finish"], {"update_id": 13, "status": "done", "error": None,
                                  "attempted": 0})
    assert world.run("SELECT payload FROM inbox WHERE update_id = 13") == [
        ({"update_id": 13},)], "once processed it keeps nothing"


def test_messages_to_other_chats_naming_her_lose_their_content(world):
    card = world.outbox(BORIS_TG, {"chat_id": BORIS_TG,
                                   "text": "🪪 <b>Anna Petrova</b>\n📞 +15551000001"})
    other = world.outbox(BORIS_TG, {"chat_id": BORIS_TG, "text": "🪪 Carl"})
    export = world.outbox(BORIS_TG, {"chat_id": BORIS_TG}, "failed",
                          file=b"id;name;phone\n1;Anna;+15551000001\n")
    waiting = world.outbox(BORIS_TG, {"chat_id": BORIS_TG, "text": "Anna Petrova requests"},
                           "pending")
    world.erase()
    got = dict(world.run("SELECT id, params FROM outbox"))
    assert got[card] == {"chat_id": BORIS_TG}
    assert got[other] == {"chat_id": BORIS_TG, "text": "🪪 Carl"}
    assert world.run("SELECT file_bytes, file_name FROM outbox WHERE id = %s",
                     (export,)) == [(None, None)]
    assert got[waiting]["text"] == "Anna Petrova requests", "still sent as queued"
    world.mark_sent(waiting)
    assert world.run("SELECT params FROM outbox WHERE id = %s", (waiting,)) == [
        ({"chat_id": BORIS_TG},)], "once delivered it keeps nothing"


def test_html_escaped_names_are_found(world):
    erin = factories.member(world.db, 5550009, "Erin", last_name="O'Neil & Co")
    world.outbox(BORIS_TG, {"text": "🪪 Erin O&#x27;Neil &amp; Co"})
    done, _ = privacy.erase_member(world.db, erin, 5550009, NOW, RULES)
    assert done
    assert world.run("SELECT params FROM outbox") == [({"chat_id": BORIS_TG},)]


def test_the_confirmation_takes_the_chats_traces_with_it_once_delivered(world):
    world.inbox(20, ANNA_TG, {"callback_query": {"from": {"id": ANNA_TG,
                                                          "first_name": "Anna"}}}, "pending")
    flying = world.outbox(ANNA_TG, {"chat_id": ANNA_TG, "text": "Anna, your class"},
                          "sending")
    world.erase(update_id=20)
    # The handler queues the confirmation and the list's removal, then marks them.
    confirm = world.outbox(ANNA_TG, {"chat_id": ANNA_TG, "text": "Your data were erased"},
                           "pending")
    remove = world.outbox(ANNA_TG, {"scope": {"type": "chat", "chat_id": ANNA_TG}},
                          "pending")
    assert privacy.forget_chat_when_done(world.db, ANNA_TG) == 3
    world.run(Q["inbox.finish"], {"update_id": 20, "status": "done", "error": None,
                                  "attempted": 0})
    assert world.run("SELECT chat_id FROM inbox WHERE update_id = 20") == [(ANNA_TG,)]
    with world.db.cursor() as cur:  # the message in flight is given up
        cur.execute(Q["outbox.mark_failed"], {"id": flying, "token": 77, "status": "failed",
                                              "error": "Bad Request: chat not found"})
    world.mark_sent(confirm)
    assert world.run("SELECT chat_id FROM outbox WHERE id = %s", (remove,)) == [(ANNA_TG,)]
    world.mark_sent(remove)
    assert world.run("SELECT chat_id, payload FROM inbox") == [(None, {"update_id": 20})]
    assert world.run("SELECT chat_id, params, error, status FROM outbox ORDER BY id") == [
        (None, {}, None, "failed"), (None, {}, None, "sent"), (None, {}, None, "sent")]


def test_an_announcement_shown_in_her_chat_forgets_it(world):
    world.run("INSERT INTO announcements (author_id, text, entities, status,"
              " progress_chat_id, progress_message_id) VALUES"
              " (%s, 'Open day', '[]', 'draft', %s, 5),"
              " (%s, 'Welcome Anna Petrova!', '[]', 'draft', %s, 6)",
              (world.anna, ANNA_TG, world.boris, BORIS_TG))
    world.erase()
    assert world.run("SELECT author_id, text, progress_chat_id, progress_message_id"
                     " FROM announcements ORDER BY id") == [
        (world.anna, "Open day", None, None), (world.boris, "…", BORIS_TG, 6)]


def test_short_telegram_ids_and_names_do_not_scrub_unrelated_rows(db):
    """A Telegram id of a few digits or a two-letter name is not looked for in texts."""
    li = factories.member(db, 77, "Li")
    with db.cursor() as cur:
        cur.execute("INSERT INTO audit_log (action, entity, details) VALUES"
                    " ('class.moved', 'class', '{\"to\": \"Limit 77\", \"n\": 77}')")
    assert privacy.erase_member(db, li, 77, NOW, RULES)[0]
    with db.cursor() as cur:
        cur.execute("SELECT details FROM audit_log WHERE action = 'class.moved'")
        assert cur.fetchall() == [({"to": "Limit 77", "n": 77},)]


def test_nothing_of_her_is_left_in_any_column(world):
    """Every trace above at once, then a scan of every column of every table."""
    world.inbox(1, ANNA_TG, {"message": {"from": {"id": ANNA_TG, "first_name": "Anna",
                                                  "username": "anna_fit"}}})
    world.inbox(2, BORIS_TG, {"message": {"text": "15551000001"}})
    world.outbox(BORIS_TG, {"text": "🪪 Anna Petrova 📞 +15551000001"})
    world.run("INSERT INTO member_notes (member_id, author_id, body) VALUES (%s, %s,"
              " 'Anna Petrova, knee')", (world.anna, world.boris))
    world.run("INSERT INTO chat_flood (chat_id, tokens, updated_at) VALUES (%s, 1, now())",
              (ANNA_TG,))
    world.erase(update_id=1)
    found = []
    for table, column in world.run("SELECT table_name, column_name FROM"
                                   " information_schema.columns WHERE table_schema = 'public'"):
        for (value,) in world.run(f'SELECT "{column}" FROM "{table}"'):
            text = _as_text(value)
            if value == ANNA_TG or (text and any(t in text for t in TRACES)):
                found.append((table, column, value))
    assert found == []


@pytest.mark.parametrize(("lang", "shown"), [("en", "(deleted member)"),
                                             ("ru", "(удалённый участник)")])
def test_others_see_deleted_member_where_an_erased_trainer_or_note_author_was(db, lang, shown):
    """Boris, a trainer and admin who wrote a note on Carl, erases his data: Carl's class
    details name its trainer, and Carl's card the note's author, as a deleted member."""
    from fitclub.locales import Texts
    from fitclub.screens import members_admin
    from fitclub.screens import timetable as timetable_screens
    from fitclub.services import member_card, timetable

    world = World(db)
    world.run("INSERT INTO member_notes (member_id, author_id, body) VALUES (%s, %s, 'ok')",
              (world.carl, world.boris))
    assert privacy.erase_member(db, world.boris, BORIS_TG, NOW, RULES)[0]
    tx = Texts(lang)
    found = timetable.details(db, world.carl, world.class_id, NOW, RULES)
    text = timetable_screens.details(tx, found, None, "back").text
    assert tx("class_trainer", trainer=shown) in text
    card = members_admin.card(tx, member_card.card(db, world.carl, NOW, RULES)).text
    assert f", {shown}: ok" in card
