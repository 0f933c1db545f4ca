"""The membership card: signed tokens, short codes, the QR image, CARD_SECRET at start."""

from __future__ import annotations

import io
import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fitclub import cli
from fitclub.config import describe
from fitclub.services import card, privacy
from fitclub.services.booking import Rules
from fitclub.services.card import Invalid
from tests import factories

SECRET = "k" * 40
OTHER = "o" * 40
NOW = datetime(2030, 1, 6, 12, 0, 30, tzinfo=UTC)
ALPHABET = set(string.ascii_letters + string.digits + "_-")


def _member(db, telegram_id: int = 42) -> int:
    return factories.member(db, telegram_id, "Anna")


def test_a_token_verifies_until_it_expires():
    token = card.make_token(7, NOW, SECRET)
    assert card.verify(token, NOW, SECRET, 5) == (7, None)
    assert card.verify(card.PREFIX + token, NOW + timedelta(minutes=4), SECRET, 5).member_id == 7
    assert card.verify(token, NOW + timedelta(minutes=6), SECRET, 5).problem is Invalid.EXPIRED
    assert card.verify(token, NOW - timedelta(minutes=5), SECRET, 5).problem is Invalid.NOT_YET


def test_tampered_and_foreign_tokens_are_refused():
    token = card.make_token(7, NOW, SECRET)
    assert card.verify(token, NOW, OTHER, 5).problem is Invalid.FORGED
    other_member = card.make_token(8, NOW, OTHER)
    assert card.verify(other_member, NOW, SECRET, 5).problem is Invalid.FORGED
    for i in range(len(token)):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert card.verify(flipped, NOW, SECRET, 5).member_id is None, i
    for bad in ("", "x", token[:-1], token + "A", token + "==", "!" * 38):
        assert card.verify(bad, NOW, SECRET, 5).member_id is None, bad


def test_a_deleted_or_erased_member_is_refused(db):
    kept, erased = _member(db, 1), _member(db, 2)
    gone = _member(db, 3)
    with db.cursor() as cur:
        cur.execute("DELETE FROM members WHERE id = %s", (gone,))
    privacy.erase_member(db, erased, 2, NOW, Rules(ZoneInfo("UTC")))
    for member_id, problem in ((kept, None), (erased, Invalid.NO_MEMBER),
                               (gone, Invalid.NO_MEMBER)):
        token = card.make_token(member_id, NOW, SECRET)
        assert card.check(db, token, NOW, SECRET, 5).problem is problem


@settings(max_examples=500, deadline=None)
@given(member_id=st.integers(1, 2**63 - 1),
       moment=st.datetimes(datetime(2020, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_every_token_fits_the_start_parameter_and_verifies(member_id, moment):
    token = card.make_token(member_id, moment, SECRET)
    parameter = card.PREFIX + token
    assert len(parameter) <= card.START_PARAMETER_MAX
    assert set(parameter) <= ALPHABET
    assert card.verify(parameter, moment, SECRET, 5).member_id == member_id
    assert card.verify(parameter, moment + timedelta(minutes=5), SECRET, 5).member_id == member_id
    assert card.verify(parameter, moment + timedelta(minutes=6, seconds=1), SECRET,
                       5).problem is Invalid.EXPIRED


def test_short_codes_are_unique_among_valid_ones(db, monkeypatch):
    first, second = _member(db, 1), _member(db, 2)
    draws = iter([123456, 123456, 123456, 654321, 123456])
    monkeypatch.setattr(card.secrets, "randbelow", lambda _n: next(draws))
    one = card.issue(db, first, NOW, SECRET, 5)
    two = card.issue(db, second, NOW, SECRET, 5)
    assert (one.code, two.code) == ("123456", "654321")  # the taken code was drawn again
    assert card.by_code(db, "123456", NOW).member_id == first
    assert card.by_code(db, "123456", one.expires_at) is None
    # Once the first card expired, its code may be given out again.
    three = card.issue(db, second, one.expires_at, SECRET, 5)
    assert three.code == "123456"
    assert card.by_code(db, "123456", one.expires_at).member_id == second
    assert card.by_code(db, "12345x", NOW) is None


def test_the_qr_code_decodes_to_the_deep_link():
    link = card.deep_link("fitclub_bot", card.make_token(2**40, NOW, SECRET))
    png = card.qr_png(link)
    assert png.startswith(b"\x89PNG")
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found.text == link


def test_run_refuses_to_start_without_card_secret(tmp_path, monkeypatch, capsys):
    for name, _, _ in describe():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:" + "a" * 35)
    monkeypatch.setenv("DATABASE_URL", "postgresql://nowhere/x")
    assert cli.main(["run"]) == cli.EXIT_CONFIG
    assert "CARD_SECRET is not set" in capsys.readouterr().err
    monkeypatch.setenv("CARD_SECRET", "short")
    assert cli.main(["run"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "CARD_SECRET is too short" in err and "short;" not in err
