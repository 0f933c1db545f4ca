"""Every staff action refuses those who may not take it.

One parametrized test runs every case of `staff_cases.CASES` in each way a non-staff user
could reach it:
- `command`: a member types the staff command;
- `forged`: a member sends the staff button's callback data (injected, as Telegram would
  deliver data no button of theirs carried);
- `replayed`: an admin opens the staff home, is demoted to member, and the button data is
  pressed on that real staff message;
- `trainer`: a trainer sends an admin-only button's data or command.

For each: the one-line refusal, nothing changed in any table of the club's data (a digest
of every row, runtime tables aside), no message sent or edited, and a `denied` row in the
audit log naming the attempt.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person
from tests.e2e.staff_cases import CASES, Case

STAFF_ONLY = "This is for club staff only."
ADMINS_ONLY = "Only club admins can do this."
# Tables of the runtime and of logs: a refused update writes its inbox row, its answer in the
# outbox, its audit row, and may touch a user's conversation state or a job's heartbeat.
# Sending its answer takes a slot of the shared send window (outbound_limit) and a token of
# the chat's pacing bucket (outbound_chat_pace).
NOT_CLUB_DATA = {"inbox", "outbox", "audit_log", "conversation_state", "bot_processes",
                 "schema_migrations", "jobs", "chat_flood", "outbound_limit",
                 "outbound_chat_pace"}


def seed_world(db_url: str, member: Person, trainer: Person, admin: Person) -> dict[str, int]:
    """A small club with one of everything a staff action could name; returns the ids."""
    world: dict[str, int] = {}
    for key, person, role in (("member_id", member, "member"), ("trainer_id", trainer,
                                                                   "trainer"),
                              ("admin_id", admin, "admin")):
        world[key] = factories.member(db_url, person.id, person.user.data.first_name,
                                      phone=f"+4915100000{len(world)}", role=role)
    world["other_id"] = factories.member(db_url, 777001, "Olga", phone="+4915177700")
    world["plan_id"] = factories.plan(db_url, "Month", price_minor=5000, duration_days=30,
                                      visit_count=12)
    world["membership_id"] = factories.membership(db_url, world["other_id"], world["plan_id"],
                                                  starts_on=-1, ends_on=29, visits_left=10)
    world["type_id"] = factories.class_type(db_url, "Yoga", default_duration_minutes=60,
                                            default_capacity=10)
    world["class_id"] = factories.class_(db_url, world["trainer_id"], timedelta(days=1),
                                         class_type_id=world["type_id"], duration_minutes=60,
                                         capacity=10)
    world["booking_id"] = factories.booking(db_url, world["class_id"], world["other_id"],
                                            status="booked")
    world["payment_id"] = factories.payment(db_url, world["other_id"], world["plan_id"],
                                            membership_id=world["membership_id"],
                                            effect="granted")
    (world["request_id"],), = query(db_url, """
        INSERT INTO plan_requests (member_id, plan_id) VALUES (%s, %s) RETURNING id""",
        (world["other_id"], world["plan_id"]))
    (world["announcement_id"],), = query(db_url, """
        INSERT INTO announcements (author_id, text, audience) VALUES (%s, 'Hello', 'all')
        RETURNING id""", (world["admin_id"],))
    return world


def digest(db_url: str) -> dict[str, str]:
    """A digest of every row of every table of the club's data."""
    tables = [t for (t,) in query(db_url, """
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1""")
        if t not in NOT_CLUB_DATA]
    return {t: query(db_url, f"SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text),"
                             f" '')) FROM {t} r")[0][0] for t in tables}


def _inject_press(emu, person: Person, message: dict, data: str) -> int:
    return emu.inject_update(TOKEN, {"callback_query": {
        "id": f"safety-{time.monotonic_ns()}", "chat_instance": "1",
        "from": {"id": person.id, "is_bot": False, "first_name": person.user.data.first_name,
                 "language_code": "en"},
        "message": {"message_id": message["message_id"], "date": int(time.time()),
                    "chat": {"id": person.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"},
                    "text": message.get("text") or ""},
        "data": data}})


def _answers(db_url: str, update_ids: list[int]) -> dict[int, list[tuple[str, str | None]]]:
    """(method, text) of everything each update queued, once all of them are done."""
    wait_until(lambda: query(db_url, "SELECT count(*) FROM inbox WHERE update_id = ANY(%s)"
                                     " AND status IN ('done', 'failed', 'skipped')",
                             (update_ids,))[0][0] == len(update_ids),
               60, f"{len(update_ids)} updates to be processed")
    found: dict[int, list[tuple[str, str | None]]] = {u: [] for u in update_ids}
    for update_id, method, text in query(db_url, """
            SELECT update_id, method, coalesce(params->>'text', params->>'caption') FROM outbox
            WHERE update_id = ANY(%s) AND method NOT IN ('setMyCommands', 'deleteMyCommands')
            ORDER BY id""", (update_ids,)):
        found[update_id].append((method, text))
    for update_id, status in query(db_url, "SELECT update_id, status FROM inbox"
                                           " WHERE update_id = ANY(%s)", (update_ids,)):
        if status != "done":
            found[update_id].append(("inbox", status))
    return found


def _denied(db_url: str) -> int:
    return query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'denied'")[0][0]


MODES = ("command", "forged", "replayed", "trainer")


@pytest.mark.parametrize("mode", MODES)
def test_every_staff_action_refuses_those_who_may_not(emu, launcher, db_url, mode):
    """All of a mode's attempts go in one after another (the user's flood limit raised so
    that none is skipped); each must get exactly its refusal, the club's data must be the
    same afterwards, and each attempt must add one `denied` audit row."""
    member, trainer, admin = (Person(emu, "Mia"), Person(emu, "Tom"), Person(emu, "Ada"))
    world = seed_world(db_url, member, trainer, admin)
    launcher.start(db_url, FLOOD_RATE=1000, FLOOD_BURST=1000)
    actor = {"trainer": trainer, "replayed": admin}.get(mode, member)
    if mode == "replayed":
        (screen,) = admin.send("/staff")
        assert "Staff" in screen["text"]
        query(db_url, "UPDATE members SET role = 'member' WHERE id = %s", (world["admin_id"],))
    else:
        (screen,) = actor.send("/start")
    tries = [(case, way) for case in CASES for way in _ways(case, mode)]
    assert tries, "no case for this mode"
    before, denied_before = digest(db_url), _denied(db_url)

    expected: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for case, way in tries:
        refusal = ADMINS_ONLY if case.admin_only else STAFF_ONLY
        if way == "command":
            update_id = actor.user.send_text(TOKEN, case.command)
            answer = [("sendMessage", refusal)]
        else:
            update_id = _inject_press(emu, actor, screen, case.data(world))
            answer = [("answerCallbackQuery", refusal)]
        expected[update_id] = (f"{case.name} ({mode}, {way})", answer)

    got = _answers(db_url, list(expected))
    failures = [f"{label}: answered {got[u]}, expected {answer}"
                for u, (label, answer) in expected.items() if got[u] != answer]
    after = digest(db_url)
    if after != before:
        failures.append(f"club data changed in {[t for t in after if after[t] != before.get(t)]}"
                        " (run the cases one by one to find which)")
    if _denied(db_url) != denied_before + len(tries):
        failures.append(f"{_denied(db_url) - denied_before} denied audit rows for "
                        f"{len(tries)} attempts")
    assert not failures, "\n".join(failures)


def _ways(case: Case, mode: str) -> list[str]:
    """How this mode reaches the case: by its command, its button data, or both."""
    ways = []
    if case.command and mode in ("command", "trainer"):
        ways.append("command")
    if case.data and mode in ("forged", "replayed", "trainer"):
        ways.append("data")
    return ways if mode != "trainer" or case.admin_only else []
