""""Delete my data" on PostgreSQL: each table and column that held something identifying the
member holds nothing of it afterwards; the figures stay (services/privacy.py,
sql/0025_erasure.sql)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg2
import pytest
from psycopg2.extras import Json

from fitclub.db.queries import Q
from fitclub.runtime import pictures
from fitclub.services import club, privacy
from tests import factories
from tests.helpers import stored_text

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


def test_notes_about_her_go_and_notes_naming_her_lose_her_name(world):
    world.run("INSERT INTO member_notes (member_id, author_id, body) VALUES"
              " (%s, %s, 'knee injury, call first'), (%s, %s, 'came with Anna Petrova'),"
              " (%s, %s, 'prefers mornings')",
              (world.anna, world.boris, world.carl, world.boris, world.carl, world.boris))
    world.erase()
    assert world.run("SELECT member_id, body FROM member_notes ORDER BY id") == [
        (world.carl, "came with …"), (world.carl, "prefers mornings")]


def test_reasons_for_her_visits_are_replaced_and_reasons_naming_her_lose_her_name(world):
    world.run("INSERT INTO membership_adjustments (membership_id, actor_id, delta,"
              " visits_after, reason) VALUES (%s, %s, 1, 11, 'knee injury'),"
              " (%s, %s, -1, 9, 'swapped with anna petrova'), (%s, %s, 1, 10, 'promo')",
              (world.anna_ms, world.boris, world.carl_ms, world.boris, world.carl_ms,
               world.boris))
    world.erase()
    assert world.run("SELECT membership_id, delta, reason FROM membership_adjustments"
                     " ORDER BY id") == [(world.anna_ms, 1, "…"),
                                         (world.carl_ms, -1, "swapped with …"),
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
        (world.anna, "Open day", None, None), (world.boris, "Welcome …!", BORIS_TG, 6)]


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
            text = stored_text(value)
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


# -- review of issue 17: whole words, spans, traces of updates sent meanwhile, races --------

def _note(db, about: int, author: int, body: str) -> None:
    with db.cursor() as cur:
        cur.execute("INSERT INTO member_notes (member_id, author_id, body) VALUES (%s, %s, %s)",
                    (about, author, body))


@pytest.mark.parametrize("name", ["Tom Ng", "Dan", "Ann"])
def test_identifiers_match_whole_words_and_other_peoples_records_lose_only_the_match(db, name):
    """Registration stores the typed full name in first_name. Other people's records that hold
    her name inside a longer word, or her phone or id inside a longer number, stay as they
    are; a note about another member naming her in full loses just her name."""
    her = factories.member(db, 5550101, name, phone="+15551000009")
    boris = factories.member(db, BORIS_TG, "Boris", role="admin", phone="+4915100000")
    carl = factories.member(db, CARL_TG, "Carl", phone="+4915100001")
    plan = factories.plan(db)
    carl_ms = factories.membership(db, carl, plan)
    kept = ["Carl comes tomorrow, custom plan", "Loves dance; annual pass; Danish",
            "Tom Ngata comes Tuesday", "Ref 215551000009, card 55501012"]
    for body in kept:
        _note(db, carl, boris, body)
    _note(db, carl, boris, f"Came with {name} today; {name}'s phone +1 555 100 0009")
    with db.cursor() as cur:
        cur.execute("INSERT INTO announcements (author_id, text, entities, status) VALUES"
                    " (%s, 'Open day tomorrow! Dance, annual passes', '[]', 'draft')", (boris,))
        cur.execute("INSERT INTO membership_adjustments (membership_id, actor_id, delta,"
                    " visits_after, reason) VALUES (%s, %s, 1, 11, 'annual promo, dance')",
                    (carl_ms, boris))
        cur.execute("INSERT INTO audit_log (actor_id, action, entity, details) VALUES"
                    " (%s, 'class.moved', 'class', %s)",
                    (boris, Json({"note": "tomorrow's dance", "n": 55501012})))
        cur.execute("INSERT INTO conversation_state (bot_id, chat_id, user_id, thread_key,"
                    " state, data) VALUES (1, %s, %s, '', 'x', %s)",
                    (BORIS_TG, BORIS_TG, Json({"text": "annual dance tomorrow"})))
    assert privacy.erase_member(db, her, 5550101, NOW, RULES)[0]
    with db.cursor() as cur:
        cur.execute("SELECT body FROM member_notes ORDER BY id")
        assert [b for (b,) in cur.fetchall()] == [*kept, "Came with … today; …'s phone …"]
        cur.execute("SELECT text FROM announcements")
        assert cur.fetchall() == [("Open day tomorrow! Dance, annual passes",)]
        cur.execute("SELECT reason FROM membership_adjustments")
        assert cur.fetchall() == [("annual promo, dance",)]
        cur.execute("SELECT details FROM audit_log WHERE action = 'class.moved'")
        assert cur.fetchall() == [({"note": "tomorrow's dance", "n": 55501012},)]
        cur.execute("SELECT data FROM conversation_state")
        assert cur.fetchall() == [({"text": "annual dance tomorrow"},)]


def test_a_telegram_first_name_alone_scrubs_stored_copies_not_other_peoples_records(world):
    """Telegram called her 'Annushka' (no last name) in one update and 'Anya Z' in another:
    the first name alone is looked for only in stored copies (a message sent to Boris); in a
    note about Carl only her Telegram first and last name together are."""
    world.inbox(1, ANNA_TG, {"message": {"from": {"id": ANNA_TG, "first_name": "Annushka"}}})
    world.inbox(2, ANNA_TG, {"message": {"from": {"id": ANNA_TG, "first_name": "Anya",
                                                  "last_name": "Zed"}}})
    world.outbox(BORIS_TG, {"chat_id": BORIS_TG, "text": "Forwarded from Annushka"})
    _note(world.db, world.carl, world.boris, "Annushka is Carl's sister, Anya Zed's friend")
    world.erase()
    assert world.run("SELECT params FROM outbox") == [({"chat_id": BORIS_TG},)]
    assert world.run("SELECT body FROM member_notes") == [
        ("Annushka is Carl's sister, …'s friend",)]


def _her_telegram_id_anywhere(w: World) -> list[tuple]:
    """Every value of every column holding her Telegram id (as a number or in text)."""
    found = []
    for table, column in w.run("SELECT table_name, column_name FROM information_schema.columns"
                               " WHERE table_schema = 'public'"):
        for (value,) in w.run(f'SELECT "{column}" FROM "{table}"'):
            text = stored_text(value)
            if value == ANNA_TG or (text and str(ANNA_TG) in text):
                found.append((table, column, value))
    return found


def _tap(w: World, update_id: int) -> None:
    w.inbox(update_id, ANNA_TG, {"callback_query": {"id": f"q{update_id}", "from": {
        "id": ANNA_TG, "first_name": "Anna"}}}, "pending")


def _work(w: World, update_id: int, *, reply: bool = True) -> int | None:
    """What a worker does with a later update of her chat once she is gone: flood control
    (chat_flood), a stale answer queued for her chat, the update marked done."""
    w.run(Q["flood.take"], {"chat_id": ANNA_TG, "rate": 1.0, "burst": 5})
    answer = None
    if reply:
        answer = w.run(Q["outbox.enqueue"], {
            "chat_id": ANNA_TG, "method": "answerCallbackQuery",
            "params": Json({"callback_query_id": f"q{update_id}", "text": "stale"}),
            "file_field": None, "file_name": None, "file_bytes": None, "priority": 0,
            "update_id": update_id, "process": None, "lease": 0})[0][0]
    w.run(Q["inbox.finish"], {"update_id": update_id, "status": "done", "error": None,
                              "attempted": 0})
    return answer


def _confirm(w: World, erasing: int) -> int:
    """The erasing handler: the erasure, the confirmation, its flag, the update marked."""
    w.erase(update_id=erasing)
    confirm = w.outbox(ANNA_TG, {"chat_id": ANNA_TG, "text": "erased"}, "pending",
                       update_id=erasing)
    privacy.forget_chat_when_done(w.db, ANNA_TG)
    w.run(Q["inbox.finish"], {"update_id": erasing, "status": "done", "error": None,
                              "attempted": 0})
    return confirm


def test_a_second_press_handled_before_the_confirmation_leaves_nothing(world):
    """Double tap on "Yes, delete": update 21 waits while 20 erases, and is handled before the
    confirmation is delivered (flood row re-created, a stale answer queued)."""
    _tap(world, 20)
    _tap(world, 21)
    confirm = _confirm(world, 20)
    answer = _work(world, 21)
    world.mark_sent(confirm)
    assert world.run("SELECT chat_id FROM outbox WHERE id = %s", (answer,)) == [(ANNA_TG,)], \
        "the answer still goes to her chat"
    world.mark_sent(answer)
    assert _her_telegram_id_anywhere(world) == []


def test_a_second_press_handled_after_the_confirmation_leaves_nothing(world):
    _tap(world, 20)
    _tap(world, 21)
    confirm = _confirm(world, 20)
    world.mark_sent(confirm)
    answer = _work(world, 21)
    world.mark_sent(answer)
    assert _her_telegram_id_anywhere(world) == []


@pytest.mark.parametrize("handled", ["before", "after"])
def test_an_update_arriving_after_the_erasure_before_the_confirmation_leaves_nothing(world,
                                                                                     handled):
    """A sticker stored once the erasure committed (not flagged by it), handled before or
    after the confirmation is delivered, with or without a reply."""
    _tap(world, 20)
    confirm = _confirm(world, 20)
    world.inbox(22, ANNA_TG, {"message": {"from": {"id": ANNA_TG}, "sticker": {}}}, "pending")
    world.inbox(23, ANNA_TG, {"message": {"from": {"id": ANNA_TG}, "sticker": {}}}, "pending")
    if handled == "before":
        answer = _work(world, 22)
        _work(world, 23, reply=False)
        world.mark_sent(confirm)
    else:
        world.mark_sent(confirm)
        answer = _work(world, 22)
        _work(world, 23, reply=False)
    world.mark_sent(answer)
    assert _her_telegram_id_anywhere(world) == []


def _send_slot(conn, chat_id: int) -> None:
    """What a sender does just before each Bot API call to the chat: take its pacing token
    (sql/0031_shared_limits.sql; a slow refill, so no row is pruned during the test)."""
    with conn.cursor() as cur:
        cur.execute(Q["outbound.take"], {"chat_id": chat_id, "capacity": 20, "window": 1.0,
                                         "margin": 0.0, "chat_rate": 0.01, "chat_burst": 3.0,
                                         "max_ahead": 2.0})
        assert cur.fetchone()[0], "the token is granted"


def _paced_chats(w: World) -> list[tuple]:
    return w.run("SELECT chat_id FROM outbound_chat_pace ORDER BY chat_id")


@pytest.mark.parametrize("outcome", ["sent", "given up"])
def test_her_pacing_row_goes_with_the_erasure_and_again_with_the_confirmation(world, outcome):
    """Her chat's pacing row (a Telegram id) goes in the erasure; the confirmation's own send
    takes a token (and a 429 pauses her chat) just before it goes, and that row goes once the
    confirmation is delivered or given up. Another chat's row stays."""
    _send_slot(world.db, ANNA_TG)
    _send_slot(world.db, CARL_TG)
    _tap(world, 20)
    confirm = _confirm(world, 20)
    assert _paced_chats(world) == [(CARL_TG,)]
    _send_slot(world.db, ANNA_TG)
    world.run(Q["outbound.pause"], {"chat_id": ANNA_TG, "seconds": 1.0, "everyone": False})
    assert _paced_chats(world) == [(ANNA_TG,), (CARL_TG,)]
    if outcome == "sent":
        world.mark_sent(confirm)
    else:
        world.run("UPDATE outbox SET status = 'sending', claim_token = 77,"
                  " lease_until = now() + interval '1 minute' WHERE id = %s", (confirm,))
        with world.db.cursor() as cur:
            cur.execute(Q["outbox.mark_failed"], {"id": confirm, "token": 77,
                                                  "status": "failed",
                                                  "error": "retries exhausted"})
            assert cur.rowcount == 1
    assert _paced_chats(world) == [(CARL_TG,)]
    assert _her_telegram_id_anywhere(world) == []


def test_an_update_of_hers_handled_after_the_erasure_takes_her_pacing_row(world):
    """A second press handled after the erasure, before the confirmation is delivered: its
    handling deletes the pacing row a send to her chat made meanwhile (inbox_erasure_done)."""
    _send_slot(world.db, CARL_TG)
    _tap(world, 20)
    _tap(world, 21)
    confirm = _confirm(world, 20)
    _send_slot(world.db, ANNA_TG)
    _work(world, 21, reply=False)
    assert _paced_chats(world) == [(CARL_TG,)]
    world.mark_sent(confirm)
    assert _her_telegram_id_anywhere(world) == []


def test_the_erasure_does_not_hold_up_sends_to_her_chat_while_it_scans(db_url, world):
    """While the erasure's transaction is open (its scans may take seconds), a send to her
    chat on another connection takes its token at once: every send of the bot passes the
    same row lock in outbound_take, so a wait for her chat row would stall them all. The
    row goes once the erasure has queued the confirmation and is committed."""
    _send_slot(world.db, ANNA_TG)
    _tap(world, 20)
    world.db.commit()
    world.erase(update_id=20)  # open until the commit below
    other = psycopg2.connect(db_url)
    try:
        other.autocommit = True
        with other.cursor() as cur:
            cur.execute("SET lock_timeout = '2s'")
        _send_slot(other, ANNA_TG)  # LockNotAvailable if the erasure held her row
        privacy.forget_chat_when_done(world.db, ANNA_TG)
        world.db.commit()
        with other.cursor() as cur:
            cur.execute("SELECT count(*) FROM outbound_chat_pace WHERE chat_id = %s",
                        (ANNA_TG,))
            assert cur.fetchone() == (0,)
    finally:
        other.close()


def _picture(w: World, update_id: int, screen_id: int | None, member_id: int,
             chat_id: int) -> pictures.Picture:
    return pictures.Picture(member_id=member_id, chat_id=chat_id, update_id=update_id, key="k",
                            draw=lambda: b"", caption="Your activity", markup=None,
                            filename="activity.png", screen_id=screen_id,
                            pressed_message_id=None)


@pytest.mark.parametrize("kind", ["activity", "weekly"])
def test_a_picture_drawn_for_a_member_erased_meanwhile_is_not_sent(world, kind):
    """Her activity chart (replacing its text screen) or the admins' weekly chart she asked
    for as an admin (sent below, screen_id None), drawn while she erased her data."""
    world.run("UPDATE members SET role = 'admin' WHERE id = %s", (world.anna,))
    world.inbox(10, ANNA_TG, {"message": {"from": {"id": ANNA_TG}}}, "done")
    screen = world.outbox(ANNA_TG, {"chat_id": ANNA_TG, "text": "Your activity"}, "sent",
                          update_id=10)
    world.run("UPDATE outbox SET result_message_id = 55 WHERE id = %s", (screen,))
    _tap(world, 11)
    confirm = _confirm(world, 11)
    world.mark_sent(confirm)
    world.db.commit()
    pic = _picture(world, 10, screen if kind == "activity" else None, world.anna, ANNA_TG)
    assert pictures.deliver(world.db, pic, b"\x89PNG") == pictures.STALE
    assert world.run("SELECT count(*) FROM outbox WHERE method = 'sendPhoto'") == [(0,)]
    assert _her_telegram_id_anywhere(world) == []


def test_a_picture_of_a_member_still_there_is_sent(world):
    world.inbox(10, ANNA_TG, {"message": {"from": {"id": ANNA_TG}}}, "done")
    world.db.commit()
    assert pictures.deliver(world.db, _picture(world, 10, None, world.anna, ANNA_TG),
                            b"\x89PNG") == pictures.SENT


def _members_batch(db, ann_id: int) -> object:
    from fitclub.services import announcements
    return announcements.queue_batch(db, ann_id, NOW.date(), 10)


def _sending_announcement(w: World) -> int:
    (ann_id,), = w.run("INSERT INTO announcements (author_id, text, entities, status, audience,"
                       " sent_at, total) VALUES (%s, 'Open day', '[]', 'sending', 'all', now(),"
                       " 3) RETURNING id", (w.boris,))
    return ann_id


def test_an_announcement_batch_that_waited_for_an_erasure_skips_her(db_url, world):
    """The erasure holds her row (its transaction still open) while a batch runs on another
    connection: the batch waits, then queues Boris and Carl only; the batch's end is not
    taken for the announcement's end."""
    ann_id = _sending_announcement(world)
    world.db.commit()
    world.erase()  # her row locked until the commit below
    other = psycopg2.connect(db_url)
    result: list = []
    batch = threading.Thread(target=lambda: result.append(_members_batch(other, ann_id)))
    try:
        batch.start()
        batch.join(1.0)
        assert batch.is_alive(), "the batch waits for the erasure"
        world.db.commit()
        batch.join(10)
        assert not batch.is_alive()
        other.commit()
    finally:
        other.close()
    assert [r.queued for r in result] == [2]
    assert world.run("SELECT member_id FROM announcement_deliveries ORDER BY 1") == [
        (world.boris,), (world.carl,)]
    assert world.run("SELECT count(*) FROM outbox WHERE chat_id = %s", (ANNA_TG,)) == [(0,)]


def test_an_erasure_that_waited_for_an_announcement_batch_drops_her_message(db_url, world):
    """The batch holds her row (FOR SHARE, its transaction open) when she erases: the erasure
    waits, then drops the message queued for her."""
    ann_id = _sending_announcement(world)
    world.db.commit()
    other = psycopg2.connect(db_url)
    try:
        assert _members_batch(other, ann_id).queued == 3
        erasure = threading.Thread(target=world.erase)
        erasure.start()
        erasure.join(1.0)
        assert erasure.is_alive(), "the erasure waits for the batch"
        other.commit()
        erasure.join(10)
        assert not erasure.is_alive()
    finally:
        other.close()
    world.db.commit()
    assert world.run("SELECT o.status, o.chat_id FROM outbox o JOIN announcement_deliveries d"
                     " ON d.outbox_id = o.id WHERE d.member_id = %s", (world.anna,)) == [
        ("dropped", None)]


@pytest.mark.parametrize(("query", "params", "index"), [
    ("pictures.state", {"chat_id": ANNA_TG, "update_id": 10, "screen_id": None,
                        "member_id": 1}, "outbox_photo_by_update"),
    ("erasure.scrub_own_outbox", {"tg": ANNA_TG}, "outbox_finished_by_chat"),
    ("erasure.scrub_own_inbox", {"tg": ANNA_TG, "update_id": 0}, "inbox_processed_by_chat"),
])
def test_the_chat_and_picture_lookups_have_an_index(db, query, params, index):
    """With sequential scans made a last resort, the plan finds the rows by an index of its
    own (the same shapes as the triggers' scrubs of a chat), not by reading a table whole."""
    with db.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN " + Q[query], params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert index in plan and "Seq Scan" not in plan, plan


def test_her_payments_and_orders_stay_under_her_id_with_their_figures(world):
    from fitclub.services import payments

    secret = "s" * 40
    plan = world.run("SELECT plan_id FROM memberships WHERE id = %s", (world.anna_ms,))[0][0]
    order = payments.open_order(world.db, world.anna, plan, NOW, RULES, secret, "EUR")
    paid = payments.record_payment(
        world.db, payload=order.payload, telegram_user_id=ANNA_TG,
        total_amount=order.amount_minor, currency="EUR", telegram_charge_id="tg-charge-1",
        provider_charge_id="provider-charge-1", now=NOW, rules=RULES, secret=secret)
    assert paid.status == "granted"
    waiting = payments.open_order(world.db, world.anna, plan, NOW, RULES, secret, "EUR")
    kept = ("SELECT row_to_json(p)::text FROM payments p ORDER BY id",
            "SELECT row_to_json(o)::text FROM orders o ORDER BY id")
    before = [world.run(statement) for statement in kept]
    world.erase()
    assert [world.run(statement) for statement in kept] == before
    assert world.run("SELECT member_id, amount_minor, currency, telegram_payment_charge_id,"
                     " provider_payment_charge_id, status FROM payments") == \
        [(world.anna, order.amount_minor, "EUR", "tg-charge-1", "provider-charge-1", "granted")]
    assert world.run("SELECT count(*) FROM orders WHERE member_id = %s", (world.anna,)) == [(2,)]
    totals = payments.report(world.db, NOW.date(), NOW.date(), UTC).totals
    assert totals["EUR"].received_minor == order.amount_minor
    # nothing in them identifies her, and her invoice still waiting can no longer be paid
    assert not any(trace in str(before) for trace in TRACES)
    assert payments.check_checkout(world.db, waiting.payload, ANNA_TG, waiting.amount_minor,
                                   "EUR", NOW, secret) == "pay_err_not_yours"
