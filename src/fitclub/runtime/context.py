"""The context a handler runs in: its update's transaction and the outbox it replies through.

Handlers never call Telegram. Every reply becomes an outbox row in the update's own
transaction, so a rolled-back update sends nothing and a committed one is never lost. Delivery
is at least once: a call in flight when the process is killed (sent, not yet recorded) is sent
again after the restart; nothing else is. Within one chat, rows go by priority (replies 0,
reminders 1, announcements 2), then in the order they were queued.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions
from psycopg2.extras import Json

from fitclub.db import members
from fitclub.db.members import Member
from fitclub.db.queries import Q
from fitclub.locales import Texts, language_of
from fitclub.runtime.deliveries import Delivery

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_TEXT = 200

PRIORITY_REPLY = 0
PRIORITY_REMINDER = 1
PRIORITY_ANNOUNCEMENT = 2

_local = threading.local()
_UNSET = object()


def _markup(markup: Any) -> Any:
    """Telebot keyboard objects (or plain dicts) as JSON-ready dicts."""
    if markup is None or isinstance(markup, dict):
        return markup
    if hasattr(markup, "to_dict"):
        return markup.to_dict()
    return json.loads(markup.to_json())


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")


def _utf16_prefix(text: str, budget: int) -> int:
    """The most characters of text whose UTF-16 length (Telegram's measure) fits budget."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            return i
    return len(text)


def _safe_cut(text: str, budget: int) -> int:
    """Where to end a part of at most budget: a line break, else a space, never inside a tag
    or an entity (`&amp;`)."""
    hard = _utf16_prefix(text, budget)
    cut = text.rfind("\n", 0, hard + 1)
    if cut <= 0:
        cut = text.rfind(" ", 0, hard + 1)
    if cut <= 0:
        cut = hard
    opening = text.rfind("<", 0, cut)
    if opening > text.rfind(">", 0, cut):
        cut = opening  # inside <a href="...">: end before the tag
    amp = text.rfind("&", 0, cut)
    if amp > text.rfind(";", 0, cut) and cut - amp <= 10:
        cut = amp  # inside &amp;: end before it
    return max(cut, 1)


def _open_tags(html: str) -> list[tuple[str, str]]:
    """Tags opened and not closed in html: (name, the opening tag as written), outermost first."""
    stack: list[tuple[str, str]] = []
    for match in _TAG.finditer(html):
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            stack.append((name, match.group(0)))
        elif stack and stack[-1][0] == name:
            stack.pop()
    return stack


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split HTML text into Telegram-sized parts (UTF-16 length), at line breaks where possible.

    A part never ends inside a tag or an entity, and tags open at a cut are closed at the end
    of the part and opened again at the start of the next, so every part parses on its own.
    """
    parts: list[str] = []
    while len(text.encode("utf-16-le")) // 2 > limit:
        reserve = 0
        for _ in range(5):  # closing tags take room too: settle the cut with them counted
            cut = _safe_cut(text, limit - reserve)
            opened = _open_tags(text[:cut])
            closing = "".join(f"</{name}>" for name, _ in reversed(opened))
            if len(closing) <= reserve:
                break
            reserve = len(closing)
        parts.append(text[:cut] + closing)
        text = "".join(tag for _, tag in opened) + text[cut:].lstrip("\n ")
    if text or not parts:
        parts.append(text)
    return parts


class UpdateContext:
    """One update's transaction and its replies."""

    def __init__(self, conn: psycopg2.extensions.connection, *, chat_id: int,
                 user_id: int | None, update_id: int | None,
                 priority: int = PRIORITY_REPLY, language_code: str | None = None,
                 sent_at: datetime | None = None, received_at: datetime | None = None,
                 claim_for: tuple[str, float] | None = None) -> None:
        self.conn = conn
        self.chat_id = chat_id
        self.user_id = user_id
        self.update_id = update_id
        self.priority = priority
        self.queued = 0
        self.last_queued_id: int | None = None  # the outbox id of the latest row queued
        # Telegram's language for the user (only a fallback: see `lang`).
        self.language_code = language_code
        # When the user sent the message (Telegram's `date`, whole seconds), if it is one.
        self.sent_at = sent_at
        # When the update was stored (for the reply's latency), if it is one.
        self.received_at = received_at
        # (process id, lease seconds): rows queued to a chat with nothing else unsent are
        # claimed for that process in the same statement, and listed in `claimed` to be
        # handed to its sender once the transaction commits (see outbox.enqueue).
        self.claim_for = claim_for
        self.claimed: list[Delivery] = []
        self._member: Any = _UNSET
        self._found: Any = _UNSET  # the member row read ahead (inbox.begin), if any
        self._texts: Texts | None = None
        # What handlers of this update looked up once (conversation state and the like).
        self.cache: dict[str, Any] = {}
        # What services recorded for other people (fitclub.runtime.notices), delivered
        # after the handler or job.
        self.notices: list[Any] = []

    # -- who is asking, in which language (decided once per update) ------------------------

    @property
    def member(self) -> Member | None:
        """The registered member behind this update (looked up once), or None."""
        if self._member is _UNSET:
            if self._found is not _UNSET:
                found, self._found = self._found, _UNSET
            else:
                found = (members.by_telegram_id(self.conn, self.user_id) if self.user_id
                         else None)
            if (found is not None and found.blocked_at is not None
                    and self.chat_id == self.user_id and self.sent_at is not None
                    and self.sent_at > found.blocked_at):
                # They wrote to the bot in private after the 403 that marked them blocked (one
                # from before they started the bot, say), so they can be messaged again. The
                # message's date is in whole seconds: one from the second of the 403 counts
                # as before it.
                members.clear_blocked(self.conn, found.telegram_id)
                found = found._replace(blocked_at=None)
            self._member = found
        return self._member

    def prefetch(self, member_row: Any, flow_row: Any) -> None:
        """What the update's first statement read ahead for this user: their member row (None:
        no live member) and conversation state (None: none), so neither is asked again."""
        self._found = Member(*member_row) if member_row is not None else None
        self.cache["flow_row"] = flow_row

    def rolled_back(self) -> None:
        """The update's transaction was rolled back: nothing queued or read so far holds."""
        self.queued = 0
        self.last_queued_id = None
        self.claimed.clear()
        self.cache.clear()
        self.forget_member()

    def forget_member(self) -> None:
        """Look the member up again on next use (after registration, a language change...)."""
        self._member = _UNSET
        self._found = _UNSET
        self._texts = None

    @property
    def lang(self) -> str:
        """The member's chosen language, else Telegram's language_code, else English."""
        member = self.member
        return member.language if member else language_of(self.language_code)

    def now(self) -> datetime:
        """The current moment (UTC); one place for handlers to ask."""
        return datetime.now(UTC)

    @property
    def texts(self) -> Texts:
        """Messages and formats in this update's language."""
        if self._texts is None or self._texts.lang != self.lang:
            self._texts = Texts(self.lang)
        return self._texts

    def cursor(self) -> psycopg2.extensions.cursor:
        """A cursor on the update's transaction."""
        return self.conn.cursor()

    def enqueue(self, method: str, params: dict[str, Any], *, chat_id: int | None = None,
                file: tuple[str, str, bytes] | None = None, priority: int | None = None) -> int:
        """Queue any Bot API call; returns the outbox id."""
        target = self.chat_id if chat_id is None else chat_id
        field, name, data = file if file else (None, None, None)
        priority = self.priority if priority is None else priority
        process, lease = self.claim_for or (None, 0.0)
        with self.conn.cursor() as cur:
            cur.execute(Q["outbox.enqueue"], {
                "chat_id": target, "method": method, "params": Json(params),
                "file_field": field, "file_name": name,
                "file_bytes": psycopg2.Binary(data) if data is not None else None,
                "priority": priority, "update_id": self.update_id,
                "process": process, "lease": lease,
            })
            self.queued += 1
            self.last_queued_id, token, blocked = cur.fetchone()
        if token is not None:
            now = time.monotonic()
            self.claimed.append(Delivery(now, priority, self.last_queued_id, target, method,
                                         params, file, 0, self.update_id, self.received_at,
                                         now, token, blocked))
        return self.last_queued_id

    def reply(self, text: str, *, reply_markup: Any = None, parse_mode: str | None = "HTML",
              chat_id: int | None = None, disable_preview: bool = True,
              priority: int | None = None) -> list[int]:
        """Send text (split if longer than Telegram allows; the keyboard goes on the last part)."""
        target = self.chat_id if chat_id is None else chat_id
        parts = split_text(text)
        ids = []
        for i, part in enumerate(parts):
            params: dict[str, Any] = {"chat_id": target, "text": part}
            if parse_mode:
                params["parse_mode"] = parse_mode
            if disable_preview:
                params["link_preview_options"] = {"is_disabled": True}
            if i == len(parts) - 1 and reply_markup is not None:
                params["reply_markup"] = _markup(reply_markup)
            ids.append(self.enqueue("sendMessage", params, chat_id=target, priority=priority))
        return ids

    def edit(self, message_id: int, text: str, *, reply_markup: Any = None,
             parse_mode: str | None = "HTML") -> int:
        """Replace the text (and keyboard) of a message the bot sent."""
        params: dict[str, Any] = {"chat_id": self.chat_id, "message_id": message_id,
                                  "text": split_text(text)[0]}
        if parse_mode:
            params["parse_mode"] = parse_mode
        if reply_markup is not None:
            params["reply_markup"] = _markup(reply_markup)
        return self.enqueue("editMessageText", params)

    def edit_markup(self, message_id: int, reply_markup: Any = None) -> int:
        """Replace (or remove, with None) the inline keyboard of a message."""
        params: dict[str, Any] = {"chat_id": self.chat_id, "message_id": message_id}
        if reply_markup is not None:
            params["reply_markup"] = _markup(reply_markup)
        return self.enqueue("editMessageReplyMarkup", params)

    def answer_callback(self, callback_query_id: str, text: str | None = None, *,
                        show_alert: bool = False) -> int:
        """Stop the button's spinner, optionally with a short notice (200 characters)."""
        params: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            # A toast is plain text: catalog messages come HTML-escaped ("Body &amp; Mind").
            params["text"] = html.unescape(text)[:MAX_CALLBACK_TEXT]
        if show_alert:
            params["show_alert"] = True
        return self.enqueue("answerCallbackQuery", params)

    def send_invoice(self, *, title: str, description: str, payload: str,
                     provider_token: str, currency: str, prices: list[dict[str, Any]],
                     reply_markup: Any = None, **optional: Any) -> int:
        """Send an invoice (Telegram Payments): plain-text title (1-32 characters) and
        description (1-255), the order's payload, the provider's token, the currency and the
        LabeledPrice parts ({"label", "amount"} in minor units); `optional` takes sendInvoice's
        other fields (photo_url, need_name, ...)."""
        params: dict[str, Any] = {"chat_id": self.chat_id, "title": title,
                                  "description": description, "payload": payload,
                                  "provider_token": provider_token, "currency": currency,
                                  "prices": prices, **optional}
        if reply_markup is not None:
            params["reply_markup"] = _markup(reply_markup)
        return self.enqueue("sendInvoice", params)

    def delete(self, message_id: int) -> int:
        """Delete a message the bot sent."""
        return self.enqueue("deleteMessage", {"chat_id": self.chat_id, "message_id": message_id})

    def send_photo(self, data: bytes, *, caption: str | None = None,
                   filename: str = "photo.png", reply_markup: Any = None,
                   parse_mode: str | None = "HTML") -> int:
        """Upload and send a picture."""
        return self._send_file("sendPhoto", "photo", data, filename, caption, reply_markup,
                               parse_mode)

    def send_document(self, data: bytes, *, filename: str, caption: str | None = None,
                      reply_markup: Any = None, parse_mode: str | None = "HTML") -> int:
        """Upload and send a file."""
        return self._send_file("sendDocument", "document", data, filename, caption,
                               reply_markup, parse_mode)

    def _send_file(self, method: str, field: str, data: bytes, filename: str,
                   caption: str | None, reply_markup: Any, parse_mode: str | None) -> int:
        params: dict[str, Any] = {"chat_id": self.chat_id}
        if caption:
            params["caption"] = caption[:MAX_CAPTION]
            if parse_mode:
                params["parse_mode"] = parse_mode
        if reply_markup is not None:
            params["reply_markup"] = _markup(reply_markup)
        return self.enqueue(method, params, file=(field, filename, data))


def current() -> UpdateContext:
    """The context of the update this thread is handling."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        raise RuntimeError("no update is being handled on this thread")
    return ctx


def current_or_none() -> UpdateContext | None:
    """The current context, or None outside a handler."""
    return getattr(_local, "ctx", None)


@contextmanager
def bound(ctx: UpdateContext) -> Iterator[UpdateContext]:
    """Make ctx the current context for the duration of a handler."""
    previous = getattr(_local, "ctx", None)
    _local.ctx = ctx
    try:
        yield ctx
    finally:
        _local.ctx = previous
