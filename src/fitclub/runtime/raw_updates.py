"""Reading a raw update, the dict Telegram sent: its kind and lane, user, date, command's bot."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# Where an update names the party it serialises on when it has no chat: the user (`from` in
# most kinds, `user` in poll_answer, business_connection and purchased media), else the chat a
# poll answer was given on behalf of.
_PARTY_KEYS = ("from", "user", "voter_chat", "sender_chat")


def _id_of(value: Any) -> int | None:
    if isinstance(value, dict) and isinstance(value.get("id"), int) \
            and not isinstance(value.get("id"), bool):
        return value["id"]
    return None


def classify(update: dict[str, Any]) -> tuple[str, int]:
    """(kind, lane) of a raw update: its chat's id, else its user's, else 0.

    Every update kind carries one object under its own key. Its chat (or the chat of the
    message it refers to) keeps one chat's updates in order; kinds without a chat (inline
    queries, chosen inline results, poll answers, shipping and pre-checkout queries, business
    connections) are keyed by their user, so they run in parallel with each other. Only truly
    anonymous updates (`poll`) share lane 0.
    """
    for kind, body in update.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        message = body.get("message")
        chat = _id_of(body.get("chat")) or (
            _id_of(message.get("chat")) if isinstance(message, dict) else None)
        if chat is not None:
            return kind, chat
        for key in _PARTY_KEYS:
            if (party := _id_of(body.get(key))) is not None:
                return kind, party
        return kind, 0
    return next((k for k in update if k != "update_id"), "unknown"), 0


def user_of(update: dict[str, Any], kind: str) -> dict[str, Any]:
    """The user behind an update (`from`, or `user` in poll answers), or an empty dict.

    A group message sent on behalf of the group or a channel has no `from`: then there is no
    user, and the update is handled as the chat's (see `sender_chat`).
    """
    body = update.get(kind)
    if not isinstance(body, dict):
        return {}
    for key in ("from", "user"):
        if isinstance(body.get(key), dict):
            return body[key]
    return {}


def sent_at(update: dict[str, Any], kind: str) -> datetime | None:
    """When the user sent a message update (Telegram's `date`), else None."""
    body = update.get(kind)
    date = body.get("date") if kind == "message" and isinstance(body, dict) else None
    if isinstance(date, int) and not isinstance(date, bool) and date > 0:
        return datetime.fromtimestamp(date, UTC)
    return None


_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}@([A-Za-z0-9_]{1,64})(?:\s|$)")


def addressed_elsewhere(update: dict[str, Any], our_username: str | None) -> str | None:
    """The bot a `/command@bot` message is addressed to, when that is not us; else None.

    Until our username is known (getMe at start), no command is taken for another bot's.
    """
    if not our_username:
        return None
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        body = update.get(kind)
        if isinstance(body, dict):
            text = body.get("text") or body.get("caption")
            if isinstance(text, str) and (m := _COMMAND_RE.match(text)):
                target = m.group(1)
                return None if target.lower() == our_username.lower() else target
            return None
    return None
