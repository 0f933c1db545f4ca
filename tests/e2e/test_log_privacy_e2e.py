"""The bot's log names people by internal id only (issue 17, finding 9).

The bot runs as its own process at LOG_LEVEL=DEBUG against tgemu. A member with a unique name
(Latin and Cyrillic), phone, username and Telegram id registers, triggers every kind of refusal
(flood, a stale button, a forged callback, an unknown command, a sticker, a staff command, her
own card's link, a start link with her name in it), gets a card and is checked in by QR, her
used code is refused, staff search for her by name, phone and username, a delivery to her is
refused (400) and another fails because she blocked the bot (403). Then the whole log of the
run is scanned: none of the four is in it, and the filter that would hide a phone or a long id
never had to act. (Her Telegram id has 9 digits, which that filter cannot recognise.)
"""

from __future__ import annotations

import io
import re
import signal
import time

import zxingcpp
from PIL import Image

from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, button_data

FIRST, LAST = "Zebulonia", "Квартцфельд"
PHONE, USERNAME, TELEGRAM_ID = "+15557308142", "zq_privacy_probe", 731954268
SECRETS = (FIRST, LAST, PHONE[1:], "555 730", USERNAME, str(TELEGRAM_ID))
STALE = "This is no longer available."
SLOW_DOWN = "You're sending messages too fast"


def _code(card: dict) -> str:
    found = re.search(r"(\d{3}) (\d{3})", card["caption"])
    assert found, card["caption"]
    return found.group(1) + found.group(2)


def _card_link(card: dict) -> str:
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(card["photo"]["bytes"])))
    parameter = re.fullmatch(r"https://t\.me/\w+\?start=(ci_[A-Za-z0-9_-]+)", found.text)
    assert parameter, found.text
    return f"/start {parameter.group(1)}"


def _sticker(emu, zeb: Person) -> dict:
    user = {"id": zeb.id, "is_bot": False, "first_name": FIRST, "last_name": LAST,
            "username": USERNAME, "language_code": "en"}
    before = len(zeb.events())
    emu.inject_update(TOKEN, {"message": {
        "message_id": 990001, "date": int(time.time()), "from": user,
        "chat": {"id": zeb.id, "type": "private", "first_name": FIRST, "last_name": LAST,
                 "username": USERNAME},
        "sticker": {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
                    "height": 512, "is_animated": False, "is_video": False,
                    "emoji": "💪"}}})
    return zeb._sent_after(before, 1, 15)[0]


def _outbox_status(db_url: str, chat_id: int, needle: str) -> str | None:
    found = query(db_url, "SELECT status FROM outbox WHERE chat_id = %s"
                          " AND params->>'text' LIKE %s", (chat_id, f"%{needle}%"))
    return found[0][0] if found and found[0][0] not in ("pending", "sending") else None


def test_a_whole_run_at_debug_names_her_by_member_id_only(emu, launcher, db_url):
    tom, ada, relay = Person(emu, "Tom"), Person(emu, "Ada"), emu.create_user("relay")
    zeb = Person(emu, FIRST, last_name=LAST, username=USERNAME, user_id=TELEGRAM_ID,
                 phone_number=PHONE)
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=30, visit_count=10)
    factories.member(db_url, tom.id, "Tom", phone="+4915100001", role="trainer")
    factories.member(db_url, ada.id, "Ada", phone="+4915100002", role="admin")
    run = launcher.start(db_url, LOG_LEVEL="DEBUG", FLOOD_RATE="1", FLOOD_BURST="15")

    # She registers: her name typed, her phone shared as a contact.
    zeb.send("/start")
    zeb.send(f"{FIRST} {LAST}")
    zeb.share_contact(expect=2)
    (member_id,), = query(db_url, "SELECT id FROM members WHERE telegram_id = %s",
                          (TELEGRAM_ID,))

    # Refusals: a stale button (a plan taken off sale since her screen showed it), a forged
    # one, an unknown command, a sticker, a staff command, a start link carrying her name.
    (menu,) = zeb.send("/start")
    zeb.press(menu, "🎫")
    plans = zeb.wait_edit(menu["message_id"], "Ten")
    request = button_data(plans, "Ten")
    query(db_url, "UPDATE membership_plans SET is_active = false")
    assert zeb.inject_press(menu["message_id"], request)["text"] == STALE
    assert zeb.inject_press(menu["message_id"], "zz:1:2")["text"] == STALE
    (unknown,) = zeb.send("/frobnicate")
    assert "/frobnicate" in unknown["text"]
    _sticker(emu, zeb)
    factories.membership(db_url, member_id, starts_on=-1, ends_on=29, visits_left=10,
                         status="active")
    (staff_only,) = zeb.send("/checkin")
    assert staff_only["text"] == "This is for club staff only."
    zeb.send(f"/start {FIRST}")

    # Her card: scanned by the trainer (checked in by QR), its code then refused as used, its
    # link opened by herself refused as staff-only.
    (card,) = zeb.send("/card")
    link, code = _card_link(card), _code(card)
    (done,) = tom.send(link)
    assert done["text"].startswith(f"✅ {FIRST} {LAST} checked in")
    tom.send("/checkin")
    (used,) = tom.send(code)
    assert "already used" in used["text"]
    wait_until(lambda: any("checked in" in (m.get("text") or "") for m in zeb.messages()), 15,
               "her check-in note")
    (for_staff,) = zeb.send(link)
    assert "staff" in for_staff["text"]
    assert query(db_url, "SELECT method FROM visits WHERE member_id = %s",
                 (member_id,)) == [("qr",)]

    # Staff search for her by name, by username and by her whole phone number.
    tom.send("/checkin")
    tom.send("Zebul")
    tom.send(f"@{USERNAME}")
    ada.send("/members")
    ada.send(PHONE)

    # A flood of her name and phone: one "slow down", the rest skipped.
    before = len(zeb.messages())
    for _ in range(25):
        zeb.user.send_text(TOKEN, f"{FIRST} {LAST} {PHONE}")
    wait_until(lambda: any(SLOW_DOWN in (m.get("text") or "")
                           for m in zeb.messages()[before:]), 30, "the flood warning")
    wait_until(lambda: query(db_url, "SELECT count(*) FROM inbox WHERE status = 'pending'")
               == [(0,)], 30, "the flood processed")
    time.sleep(3)  # a few tokens back

    # A delivery to her refused by Telegram (400: her name in an unclosed tag) ...
    relay.send_text(TOKEN, f"tell {TELEGRAM_ID} <b>{FIRST} {LAST}")
    wait_until(lambda: _outbox_status(db_url, TELEGRAM_ID, f"<b>{FIRST}") == "failed", 15,
               "the refused delivery")
    # ... and one to her chat after she blocked the bot (403), while her chat is busy.
    zeb.send("slow 3", expect=0)
    time.sleep(0.5)
    zeb.user.block(TOKEN)
    relay.send_text(TOKEN, f"tell {TELEGRAM_ID} we miss you {FIRST}")
    wait_until(lambda: _outbox_status(db_url, TELEGRAM_ID, "we miss you") == "dropped", 15,
               "the delivery to a blocked chat")
    wait_until(lambda: query(db_url, "SELECT count(*) FROM inbox WHERE status = 'pending'")
               == [(0,)], 15, "every update processed")

    run.signal(signal.SIGTERM)
    assert run.wait(30) == 0
    log = "\n".join(r.log_text() for r in launcher.runs)

    # Nothing that identifies her, nor anything the filter had to hide ...
    lowered = log.lower()
    leaks = {s: [line for line in log.splitlines() if s.lower() in line.lower()][:3]
             for s in SECRETS if s.lower() in lowered}
    assert not leaks, leaks
    assert "<phone>" not in log and "<id>" not in log, \
        [line for line in log.splitlines() if "<phone>" in line or "<id>" in line][:5]
    # ... while it logged what happened, naming her by member id and rows by their ids.
    assert " DEBUG " in log
    assert f"refused checkin.open to member {member_id} (role member)" in log
    assert f"refused a card scan to member {member_id} (role member)" in log
    assert "card code typed by member " in log and " refused: used" in log
    assert re.search(r"Telegram refused outbox row \d+ \(sendMessage\): 400 Bad Request: "
                     r"can't parse entities", log), log
    assert re.search(r"outbox row \d+: its chat blocked the bot", log), log
