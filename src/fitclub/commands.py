"""Telegram's command lists (the "/" menu), per member role and language, via the outbox."""

from __future__ import annotations

from fitclub.db.members import Member
from fitclub.locales import DEFAULT, LANGUAGES, Texts
from fitclub.runtime.context import UpdateContext

UNREGISTERED = ("start_new", "help")
MEMBER = ("start", "schedule", "bookings", "membership", "card", "activity", "settings",
          "language", "privacy", "help", "cancel")
TRAINER = (*MEMBER, "staff", "checkin", "myclasses")
ADMIN = (*TRAINER, "people", "classes", "plans", "members", "announce", "report", "audit")
BY_ROLE = {"member": MEMBER, "trainer": TRAINER, "admin": ADMIN}


def command_list(tx: Texts, names: tuple[str, ...]) -> list[dict[str, str]]:
    """BotCommand objects for names ('start_new' is /start described as registration)."""
    return [{"command": name.removesuffix("_new"), "description": tx(f"cmd_{name}")}
            for name in names]


def set_for_member(ctx: UpdateContext, member: Member | None, *,
                   chat_id: int | None = None) -> None:
    """Queue the member's own list (their role, their language) for their private chat: the
    update's chat, or `chat_id` (another person's, e.g. after an admin changed their role).

    The scope is the chat with no language_code: the member chose the bot's language, which
    may differ from their Telegram app's, and a chat-scoped list without a language applies
    whatever the app's language is.
    """
    chat_id = ctx.chat_id if chat_id is None else chat_id
    if member is None:
        ctx.enqueue("deleteMyCommands", {"scope": {"type": "chat", "chat_id": chat_id}},
                    chat_id=chat_id)
        return
    names = BY_ROLE.get(member.role, MEMBER)
    ctx.enqueue("setMyCommands", {
        "commands": command_list(Texts(member.language), names),
        "scope": {"type": "chat", "chat_id": chat_id},
    }, chat_id=chat_id)


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
