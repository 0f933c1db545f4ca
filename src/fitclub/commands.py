"""Telegram's command lists (the "/" menu), per member role and language, via the outbox.

Every list has a fingerprint (a hash of its commands and descriptions), and `command_lists`
keeps, per chat, the fingerprint of the list last queued for it. A member's list is queued when
they register and when their role or language changes; at start-up `sync` queues it for every
member whose stored fingerprint is missing (people imported into the database, the demo's
preloaded staff) or differs (their role or language changed behind the bot's back, or this
version's commands or descriptions did), or whose last list Telegram refused or was dropped
unsent, in batches at low priority, so replies go first.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from fitclub.db import rows
from fitclub.db.members import Member
from fitclub.db.pool import Pool
from fitclub.locales import DEFAULT, LANGUAGES, Texts
from fitclub.runtime.context import PRIORITY_ANNOUNCEMENT, UpdateContext

log = logging.getLogger(__name__)

UNREGISTERED = ("start_new", "help")
MEMBER = ("start", "schedule", "bookings", "membership", "card", "activity", "settings",
          "language", "privacy", "help", "cancel")
TRAINER = (*MEMBER, "staff", "checkin", "myclasses")
ADMIN = (*TRAINER, "people", "classes", "plans", "members", "announce", "report", "audit")
BY_ROLE = {"member": MEMBER, "trainer": TRAINER, "admin": ADMIN}

#: The start-up sync's outbox priority: after replies, reminders and announcements.
PRIORITY_SYNC = PRIORITY_ANNOUNCEMENT + 1
#: Lists the start-up sync queues a second at most, when the app does not say (it passes half
#: of OUTBOUND_RATE); the next batch also waits while this many are still pending.
SYNC_BATCH = 15
#: The chat id that stands for the lists everyone sees before registering.
EVERYONE = 0
# Any fixed number: two instances starting at once queue one batch at a time.
_SYNC_LOCK_KEY = 0x46_43_43_4D_44_53  # "FCCMDS"


def command_list(tx: Texts, names: tuple[str, ...]) -> list[dict[str, str]]:
    """BotCommand objects for names ('start_new' is /start described as registration)."""
    return [{"command": name.removesuffix("_new"), "description": tx(f"cmd_{name}")}
            for name in names]


def member_list(role: str, language: str) -> list[dict[str, str]]:
    """The list of a member with this role who chose this language."""
    return command_list(Texts(language), BY_ROLE.get(role, MEMBER))


def fingerprint(value: object) -> str:
    """16 hex digits that change whenever a list (commands, descriptions, order) changes."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def wanted() -> dict[tuple[str, str], str]:
    """(role, language) -> the fingerprint of that list in this version."""
    return {(role, lang): fingerprint(member_list(role, lang))
            for role in BY_ROLE for lang in LANGUAGES}


def version() -> str:
    """The fingerprint of this version's whole command set (every list; for the log)."""
    return fingerprint([default_calls(), sorted(wanted().items())])


def set_for_member(ctx: UpdateContext, member: Member | None, *,
                   chat_id: int | None = None, priority: int | None = None) -> None:
    """Queue the member's own list (their role, their language) for their private chat: the
    update's chat, or `chat_id` (another person's, e.g. after an admin changed their role);
    None removes the chat's own list (after "delete my data"). Command calls of that chat
    still waiting are dropped first, so an older list cannot land after this one.

    The scope is the chat with no language_code: the member chose the bot's language, which
    may differ from their Telegram app's, and a chat-scoped list without a language applies
    whatever the app's language is.
    """
    chat_id = ctx.chat_id if chat_id is None else chat_id
    if chat_id == ctx.chat_id:
        ctx.cache.pop("command_list", None)  # what was read with the update no longer holds
    if member is None:
        rows.execute(ctx.conn, "command_lists.supersede", {"chat_id": chat_id})
        ctx.enqueue("deleteMyCommands", {"scope": {"type": "chat", "chat_id": chat_id}},
                    chat_id=chat_id, priority=priority)
        rows.execute(ctx.conn, "command_lists.forget", {"chat_id": chat_id})
        return
    _queue(ctx, chat_id, member_list(member.role, member.language), priority)


def refresh(ctx: UpdateContext, member: Member) -> bool:
    """Queue the member's list for this chat if it is not the one they should have (their
    /start: a member imported before they ever opened the chat, whose list Telegram refused
    with "chat not found", gets it now); whether it was queued."""
    commands = member_list(member.role, member.language)
    wanted_print = fingerprint(commands)
    if "command_list" in ctx.cache:  # read with the update (inbox.begin), unchanged since
        stored = ctx.cache["command_list"]
        needed = not (stored is not None and stored[0] == wanted_print and stored[1])
    else:
        needed = rows.scalar(ctx.conn, "command_lists.needs_set",
                             {"chat_id": ctx.chat_id, "fingerprint": wanted_print})
    if not needed:
        return False
    _queue(ctx, ctx.chat_id, commands, None)
    return True


def _queue(ctx: UpdateContext, chat_id: int, commands: list[dict[str, str]],
           priority: int | None) -> None:
    """Queue a chat's own list in place of any still waiting, and remember it."""
    if chat_id == ctx.chat_id:
        ctx.cache.pop("command_list", None)
    rows.execute(ctx.conn, "command_lists.supersede", {"chat_id": chat_id})
    queued = ctx.enqueue("setMyCommands", {
        "commands": commands, "scope": {"type": "chat", "chat_id": chat_id},
    }, chat_id=chat_id, priority=priority)
    rows.execute(ctx.conn, "command_lists.remember", {
        "chat_id": chat_id, "fingerprint": fingerprint(commands), "outbox_id": queued})


def default_calls() -> list[tuple[str, dict]]:
    """The lists everyone sees before registering: one per language, plus the fallback."""
    calls = []
    for lang in LANGUAGES:
        params: dict = {"commands": command_list(Texts(lang), UNREGISTERED),
                        "scope": {"type": "default"}}
        if lang != DEFAULT:
            params["language_code"] = lang
        calls.append(("setMyCommands", params))
    return calls


def queue_defaults(ctx: UpdateContext) -> bool:
    """Queue the lists for everyone unless this version's are the ones last queued and
    Telegram took them; whether they were queued."""
    calls = default_calls()
    if not rows.scalar(ctx.conn, "command_lists.needs_set",
                       {"chat_id": EVERYONE, "fingerprint": fingerprint(calls)}):
        return False
    queued = [ctx.enqueue(method, params, chat_id=EVERYONE) for method, params in calls]
    rows.execute(ctx.conn, "command_lists.remember",
                 {"chat_id": EVERYONE, "fingerprint": fingerprint(calls), "outbox_id": queued[-1]})
    return True


def forget_all(conn) -> None:
    """Telegram holds none of the lists stored as queued (a new bot token, or the demo's new
    emulator): the next start queues every list again."""
    rows.execute(conn, "command_lists.forget_all", {})


class _Stale(NamedTuple):
    """A member whose chat's list is not this version's for their role and language."""

    id: int
    telegram_id: int
    role: str
    language: str


class _Outbox(NamedTuple):
    """What the sync waits for: an announcement being sent, its own lists not yet sent."""

    announcing: bool
    waiting: int


#: Where a sync starts: staff first (members' flag False), then members, each by id.
START: tuple[bool, int] = (False, 0)


def _wanted_params() -> dict[str, list[str]]:
    pairs = wanted()
    return {"roles": [role for role, _ in pairs], "languages": [lang for _, lang in pairs],
            "fingerprints": list(pairs.values())}


def sync_batch(conn, after: tuple[bool, int] = START,
               limit: int = SYNC_BATCH) -> tuple[int, tuple[bool, int] | None]:
    """Queue the lists of up to `limit` out-of-date members after `after` (staff first, then
    by member id), in the caller's transaction; (how many, where to go on, or None when
    done)."""
    rows.scalar(conn, "command_lists.sync_lock", {"key": _SYNC_LOCK_KEY})
    found = rows.many(conn, "command_lists.out_of_date",
                      {**_wanted_params(), "after_member": after[0], "after_id": after[1],
                       "limit": limit}, _Stale)
    ctx = UpdateContext(conn, chat_id=EVERYONE, user_id=None, update_id=None)
    for stale in found:
        _queue(ctx, stale.telegram_id, member_list(stale.role, stale.language), PRIORITY_SYNC)
    if len(found) < limit:
        return len(found), None
    last = found[-1]
    return len(found), (last.role == "member", last.id)


def sync(pool: Pool, stop: threading.Event, *, batch: int = SYNC_BATCH, tick: float = 1.0,
         on_queued: Callable[[], None] | None = None) -> int:
    """Queue the list of every member whose chat's list is out of date: staff first, at most
    `batch` a `tick` (one transaction each), none while an announcement is being sent or while
    a batch's worth of lists still waits in the outbox, so the sender keeps room for replies.
    Returns how many were queued. Stops between batches when `stop` is set: the next start
    goes on with what is still out of date."""
    params = _wanted_params()
    total = pool.run(lambda conn: rows.scalar(conn, "command_lists.count_out_of_date", params))
    if not total:
        log.info("command lists (version %s): every chat is up to date", version())
        return 0
    log.info("command lists (version %s): %s out of date; queueing them at low priority, "
             "staff first, at most %s every %g s, paused while an announcement is sent",
             version(), total, batch, tick)
    started, queued, after = time.monotonic(), 0, START
    while not stop.is_set():
        outbox = pool.run(lambda conn: rows.one(conn, "command_lists.outbox_busy",
                                                {"priority": PRIORITY_SYNC}, _Outbox))
        if outbox is not None and not outbox.announcing and outbox.waiting < batch:
            done, next_after = pool.run(functools.partial(sync_batch, after=after,
                                                          limit=batch))
            queued += done
            if done and on_queued is not None:
                on_queued()
            if next_after is None:
                log.info("command lists: %s queued in %.1f s", queued,
                         time.monotonic() - started)
                return queued
            after = next_after
        stop.wait(tick)
    log.info("command lists: stopping after %s queued; the next start queues the rest", queued)
    return queued
