"""Handlers used only by the end-to-end tests: each leaves a countable effect in the database.

- `n <k>`: one audit_log row (action 'e2e.effect', entity 'update', entity_id the update id),
  then the reply `ack <k>`. Counting rows per update id proves exactly-once processing.
- `slow <seconds>`: the same effect, then a sleep, then `slept <seconds>`; a handler cut short
  leaves no effect because its transaction never commits.
- `boom`: the same effect, then an exception: a poison update whose effect must roll back.
- `tell <chat id> <text>`: a message to another chat (a send that no update of that chat asked
  for, as announcements will be).
- `btn <k>`: the reply `pick <k>` with one inline button; pressing it (callback data
  `probe:<k>`) is answered with the notice `pressed <k>` (answerCallbackQuery returns `true`,
  not a message).

Registered before the catch-all `fallback`, which would otherwise answer these texts.
"""

from __future__ import annotations

import time

import telebot
from psycopg2.extras import Json
from telebot import types

EFFECT_ACTION = "e2e.effect"


def _words(message: types.Message) -> list[str]:
    return (message.text or "").split()


def _is(name: str, arity: int):
    def check(message: types.Message) -> bool:
        words = _words(message)
        return len(words) >= arity + 1 and words[0] == name

    return check


def _effect(ctx, details: dict) -> None:
    with ctx.cursor() as cur:
        cur.execute(
            "INSERT INTO audit_log (action, entity, entity_id, details)"
            " VALUES (%s, 'update', %s, %s)",
            (EFFECT_ACTION, ctx.update_id, Json({"chat": ctx.chat_id, **details})),
        )


def register(bot: telebot.TeleBot, deps) -> None:
    """Register the probe handlers (before the catch-all)."""

    @bot.message_handler(func=_is("n", 1))
    def effect(message: types.Message) -> None:
        ctx = deps.context()
        k = int(_words(message)[1])
        _effect(ctx, {"k": k})
        ctx.reply(f"ack {k}")

    @bot.message_handler(func=_is("slow", 1))
    def slow(message: types.Message) -> None:
        ctx = deps.context()
        seconds = float(_words(message)[1])
        _effect(ctx, {"slow": seconds})
        time.sleep(seconds)
        ctx.reply(f"slept {seconds:g}")

    @bot.message_handler(func=_is("boom", 0))
    def boom(message: types.Message) -> None:
        _effect(deps.context(), {"boom": True})
        raise RuntimeError("poison update (e2e probe)")

    @bot.message_handler(func=_is("tell", 2))
    def tell(message: types.Message) -> None:
        ctx = deps.context()
        _, target, text = (message.text or "").split(maxsplit=2)
        ctx.reply(text, chat_id=int(target))
        ctx.reply(f"told {target}")

    @bot.message_handler(func=_is("btn", 1))
    def button(message: types.Message) -> None:
        k = _words(message)[1]
        keyboard = types.InlineKeyboardMarkup()
        keyboard.add(types.InlineKeyboardButton("go", callback_data=f"probe:{k}"))
        deps.context().reply(f"pick {k}", reply_markup=keyboard)

    @bot.callback_query_handler(func=lambda c: (c.data or "").startswith("probe:"))
    def pressed(call: types.CallbackQuery) -> None:
        deps.context().answer_callback(call.id, f"pressed {call.data.split(':', 1)[1]}")
