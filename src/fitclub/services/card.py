"""The membership card: a signed token for the QR code and a 6-digit code to type by hand.

The token is base64url of (member id: 8 bytes, issue minute since the epoch: 4 bytes) and the
first 16 bytes of their HMAC-SHA256 under CARD_SECRET: 38 characters, so `ci_<token>` fits
Telegram's start-parameter limit (64 characters of A-Z a-z 0-9 _ -). It is valid from the
minute it was issued until CARD_TOKEN_MINUTES after the end of that minute.

A card checks a member in at most once: its token is then listed in `card_spent` as used, and
issuing a new card lists the member's earlier valid ones as replaced (and revokes their codes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import secrets
import struct
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import NamedTuple

from fitclub.db import members, rows

PREFIX = "ci_"
_PACK = struct.Struct(">QI")
_MAC_BYTES = 16
_DOMAIN = b"fitclub-card-v1:"
_CODE_TRIES = 20
START_PARAMETER_MAX = 64


class Card(NamedTuple):
    """A freshly issued card."""

    member_id: int
    token: str
    code: str
    issued_at: datetime
    expires_at: datetime


class Invalid(Enum):
    """Why a token was refused."""

    MALFORMED = "malformed"
    FORGED = "forged"  # tampered, or signed with another secret
    EXPIRED = "expired"
    NOT_YET = "not_yet"  # issued in the future (a clock far off, or forged)
    NO_MEMBER = "no_member"  # deleted or erased
    USED = "used"  # it already checked the member in (Verified.at: when)
    REPLACED = "replaced"  # a newer card was issued


class Verified(NamedTuple):
    """What a token says, once checked: the member, or why not."""

    member_id: int | None
    problem: Invalid | None = None


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _minute(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def expiry(issued_minute: int, minutes: int) -> datetime:
    """When a token issued in that minute stops being valid."""
    return datetime.fromtimestamp((issued_minute + 1 + minutes) * 60, UTC)


def make_token(member_id: int, now: datetime, secret: str) -> str:
    """The signed token of a member's card issued at `now`."""
    payload = _PACK.pack(member_id, _minute(now))
    return base64.urlsafe_b64encode(payload + _mac(secret, payload)).rstrip(b"=").decode()


def verify(token: str, now: datetime, secret: str, minutes: int) -> Verified:
    """The member a token names, if it is well formed, genuine and current (no database)."""
    if token.startswith(PREFIX):
        token = token[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return Verified(None, Invalid.MALFORMED)
    if len(raw) != _PACK.size + _MAC_BYTES or make_token_text(raw) != token:
        return Verified(None, Invalid.MALFORMED)
    payload, mac = raw[:_PACK.size], raw[_PACK.size:]
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return Verified(None, Invalid.FORGED)
    member_id, minute = _PACK.unpack(payload)
    if minute > _minute(now) + 1:
        return Verified(None, Invalid.NOT_YET)
    if now >= expiry(minute, minutes):
        return Verified(None, Invalid.EXPIRED)
    return Verified(member_id)


def make_token_text(raw: bytes) -> str:
    """The canonical text of raw token bytes (one text per token: no padding variants)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class _Spent(NamedTuple):
    reason: str
    at: datetime


class Spent(NamedTuple):
    """Why a card may no longer check anyone in, and (USED) when it was used."""

    problem: Invalid
    at: datetime | None = None


def spent(conn, token: str) -> Spent | None:
    """Why a genuine token may no longer check anyone in (used or replaced), or None."""
    if token.startswith(PREFIX):
        token = token[len(PREFIX):]
    row = rows.one(conn, "cards.spent", {"token": token}, _Spent)
    if row is None:
        return None
    if row.reason == "used":
        return Spent(Invalid.USED, row.at)
    return Spent(Invalid.REPLACED)


def mark_used(conn, member_id: int, token: str, now: datetime, minutes: int) -> None:
    """A check-in was recorded with this token (its QR code or its code): never again."""
    if token.startswith(PREFIX):
        token = token[len(PREFIX):]
    rows.execute(conn, "cards.mark_used", {
        "token": token, "member_id": member_id, "now": now,
        "expires_at": now + timedelta(minutes=minutes + 2)})  # after the token's own expiry


def check(conn, token: str, now: datetime, secret: str, minutes: int) -> Verified:
    """verify(), the member must still exist (not deleted or erased), and the card must not
    have been used or replaced."""
    found = verify(token, now, secret, minutes)
    if found.member_id is not None and members.by_id(conn, found.member_id) is None:
        return Verified(None, Invalid.NO_MEMBER)
    if found.member_id is not None:
        gone = spent(conn, token)
        if gone is not None:
            return Verified(None, gone.problem)
    return found


def deep_link(bot_username: str, token: str) -> str:
    """The link the QR code encodes: opening it starts the bot with `ci_<token>`."""
    return f"https://t.me/{bot_username}?start={PREFIX}{token}"


def issue(conn, member_id: int, now: datetime, secret: str, minutes: int) -> Card:
    """A new card: a token and a 6-digit code unique among valid codes. The member's earlier
    valid cards are replaced: their codes and tokens check nobody in any more."""
    token = make_token(member_id, now, secret)
    expires = expiry(_minute(now), minutes)
    rows.execute(conn, "cards.replace_earlier",
                 {"member_id": member_id, "now": now, "token": token})
    for _ in range(_CODE_TRIES):
        code = f"{secrets.randbelow(1_000_000):06d}"
        got = rows.scalar(conn, "cards.claim_code", {
            "code": code, "member_id": member_id, "token": token,
            "issued_at": now, "expires_at": expires})
        if got is not None:
            return Card(member_id, token, code, now, expires)
    raise RuntimeError("no free card code after many tries: too many valid cards")


class CodeHolder(NamedTuple):
    """The member behind a typed code."""

    member_id: int
    token: str
    expires_at: datetime
    revoked_at: datetime | None = None  # a newer card replaced this one


def by_code(conn, code: str, now: datetime) -> CodeHolder | None:
    """The live member whose valid card shows this code (the staff side uses it; a replaced
    card's code is found too, with revoked_at)."""
    if len(code) != 6 or not code.isdigit():
        return None
    return rows.one(conn, "cards.by_code", {"code": code, "now": now}, CodeHolder)


def qr_png(link: str) -> bytes:
    """The QR code of a link as a PNG (segno writes PNG with no other dependency)."""
    import segno

    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()
