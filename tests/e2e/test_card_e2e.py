"""/card sends a QR code that decodes to a verifiable deep link."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import zxingcpp
from PIL import Image

from fitclub.services import card
from tests import factories
from tests.e2e.harness import BASE_ENV, query, wait_until
from tests.e2e.session import Person, button_data


def _member(db_url: str, person: Person) -> int:
    return factories.member(db_url, person.id, "Anna", phone=f"+1555{person.id}")


def _decode(message: dict) -> str:
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(message["photo"]["bytes"])))
    return found.text


def test_card_qr_decodes_to_a_link_that_verifies_and_refresh_replaces_it(emu, launcher, db_url):
    anna = Person(emu, "Anna")
    member_id = _member(db_url, anna)
    launcher.start(db_url)
    (shown,) = anna.send("/card")
    link = _decode(shown)
    match = re.fullmatch(r"https://t\.me/(\w+)\?start=(ci_[A-Za-z0-9_-]+)", link)
    assert match, link
    parameter = match.group(2)
    assert len(parameter) <= 64
    secret = BASE_ENV["CARD_SECRET"]
    assert card.verify(parameter, datetime.now(UTC), secret, 5).member_id == member_id
    code = re.search(r"<b>(\d{3}) (\d{3})</b>", shown["caption"]) or re.search(
        r"(\d{3}) (\d{3})", shown["caption"])
    assert code, shown["caption"]
    assert query(db_url, "SELECT member_id FROM card_codes WHERE code = %s",
                 (code.group(1) + code.group(2),)) == [(member_id,)]

    # Refresh: the old card goes, a new one takes its place (one card on screen).
    anna.press_data(shown["message_id"], button_data(shown, "Refresh"))
    wait_until(lambda: len(anna.messages()) == 2, 15, "the new card")
    new = anna.messages()[-1]
    assert _decode(new).startswith("https://t.me/")
    wait_until(lambda: any(e["kind"] == "delete" and e["message_id"] == shown["message_id"]
                           for e in anna.events()), 15, "the old card deleted")

    # The card's link opened by a member (here its owner) says it is for staff.
    (answer,) = anna.send(f"/start {parameter}")
    assert "staff" in answer["text"]

    # From the main menu's "My card".
    (menu,) = anna.send("/start")
    anna.press(menu, "My card")
    wait_until(lambda: anna.messages()[-1].get("photo"), 15, "the card from the menu")
    assert _decode(anna.messages()[-1]).startswith("https://t.me/")
