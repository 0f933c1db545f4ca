"""What the emulator lets tests see: transcripts, counters, latencies, the web chat's view."""

import time

from tgemu.payments import format_price


class ObservationsMixin:
    """Emulator's read side; every method names the bot by its token."""

    def transcript(self, token: str, user_id: int, include_user: bool = False) -> list[dict]:
        """Every event of a chat in order: bot messages, edits, deletes, callback answers.

        With include_user, the user's messages, button presses and blocks are included too.
        """
        bot = self.bot(token)
        with bot.lock:
            chat = bot.chats.get(int(user_id))
            events = [] if chat is None else list(chat.events)
        return [dict(e) for e in events if include_user or e["from"] == "bot"]

    def stats(self, token: str) -> dict:
        """Counters of one bot: updates, calls by method, errors, 429s, faults, messages."""
        bot = self.bot(token)
        with bot.lock:
            counts = dict(bot.counts)
            faults = dict(bot.faults)
            out = {
                "updates": counts.get("updates", 0),
                "updates_filtered": counts.get("updates_filtered", 0),
                "updates_delivered": counts.get("updates_delivered", 0),
                "updates_answered": counts.get("updates_answered", 0),
                "pending_updates": len(bot.pending),
                "calls": dict(bot.calls),
                "calls_total": sum(bot.calls.values()),
                "errors": dict(bot.errors),
                "rate_limited": counts.get("rate_limited", 0),
                "faults": faults,
                "faults_total": sum(faults.values()),
                "http_429": counts.get("rate_limited", 0) + faults.get("429", 0),
                "sent_messages": counts.get("sent_messages", 0),
                "edits": counts.get("edits", 0),
                "deleted_messages": counts.get("deleted_messages", 0),
                "callback_answers": counts.get("callback_answers", 0),
                "chat_actions": counts.get("chat_actions", 0),
                "webhook_deliveries": counts.get("webhook_deliveries", 0),
                "webhook_failures": counts.get("webhook_failures", 0),
                "invoices": counts.get("invoices", 0),
                "pre_checkout_answers": counts.get("pre_checkout_answers", 0),
                "checkouts_timed_out": counts.get("checkouts_timed_out", 0),
                "checkouts_refused": counts.get("checkouts_refused", 0),
                "payments_declined": counts.get("payments_declined", 0),
                "payments": counts.get("payments", 0),
                "updates_redelivered": counts.get("updates_redelivered", 0),
            }
        return out

    def latencies(self, token: str) -> dict[int, float]:
        """update_id -> seconds from delivery to the bot's first answering call (answered only)."""
        bot = self.bot(token)
        with bot.lock:
            return {
                uid: rec.answered - rec.available
                for uid, rec in bot.records.items()
                if rec.answered is not None and rec.available is not None
            }

    def unanswered(self, token: str) -> list[int]:
        """update_ids delivered to the bot that expect an answer and have none yet."""
        bot = self.bot(token)
        with bot.lock:
            return [
                uid
                for uid, rec in bot.records.items()
                if rec.expects_answer and rec.available is not None and rec.answered is None
            ]

    def latency_percentiles(self, token: str) -> dict:
        """count, mean, p50, p90, p95, p99 and max of latencies(token), in seconds."""
        return percentiles(list(self.latencies(token).values()))

    def wait_answered(self, token: str, update_id: int, timeout: float = 10.0) -> float:
        """Block until the bot answers an update; returns its latency; raises TimeoutError."""
        bot = self.bot(token)
        deadline = time.monotonic() + timeout
        with bot.lock:
            rec = bot.records.get(update_id)
            if rec is None:
                raise KeyError(f"no update {update_id}")
            if not rec.expects_answer:
                raise ValueError(f"update {update_id} expects no answer")
            chat = bot.chats[rec.chat_id]
            while rec.answered is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopping:
                    raise TimeoutError(f"update {update_id} not answered within {timeout}s")
                chat.cv.wait(remaining)
            return rec.answered - rec.available

    def chat_state(
        self,
        token: str,
        user_id: int,
        version: int = -1,
        timeout: float = 0.0,
        chat_id: int | None = None,
    ) -> dict:
        """The chat as the web page shows it to a user: their private chat with the bot, or a
        group or channel given by chat_id; waits up to timeout for a version newer than given."""
        bot = self.bot(token)
        user = self.user(user_id).data
        group = None if chat_id is None or int(chat_id) == user.id else self.group(chat_id).data
        deadline = time.monotonic() + timeout
        with bot.lock:
            chat = bot.chat(user) if group is None else bot.group_chat(group)
            while chat.version <= version and not self.stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                chat.cv.wait(remaining)
            messages = [
                _render(m, user.id, bot.invoices.get((chat.id, m.message_id)))
                for m in chat.messages.values()
                if not m.deleted
            ]
            answers = [
                {"seq": i, "text": e["text"], "show_alert": e["show_alert"]}
                for i, e in enumerate(chat.events)
                if e["kind"] == "callback_answer" and e["text"]
            ]
            return {
                "version": chat.version,
                "messages": messages,
                "reply_keyboard": chat.reply_keyboard,
                "commands": bot.commands_for(chat.id, user.language_code, user.id),
                "blocked": chat.blocked,
                "chat": {**chat.as_chat(), "bot_status": chat.status if group else "member"},
                "callback_answers": answers[-10:],
                "bot": {"username": bot.username, "first_name": bot.first_name},
            }


def percentiles(values: list[float]) -> dict:
    """Nearest-rank percentiles; every field is None when there are no values."""
    if not values:
        return {
            "count": 0,
            "mean": None,
            "p50": None,
            "p90": None,
            "p95": None,
            "p99": None,
            "max": None,
        }
    ordered = sorted(values)
    n = len(ordered)

    def rank(p):
        return ordered[min(n - 1, max(0, -(-p * n // 100) - 1))]

    return {
        "count": n,
        "mean": sum(ordered) / n,
        "p50": rank(50),
        "p90": rank(90),
        "p95": rank(95),
        "p99": rank(99),
        "max": ordered[-1],
    }


def _render(msg, viewer_id: int, invoice_state: dict | None = None) -> dict:  # noqa: PLR0912
    """A message for the web chat, without file bytes; "from" is "bot", "user" (the viewer)
    or "member" (anyone else in a group or channel, named in "sender"). An invoice carries
    whether it is paid and why its last checkout failed; a successful payment is a service
    line."""
    d = msg.data
    sender = d.get("sender_chat") or d.get("from") or {}
    if msg.from_bot:
        who = "bot"
    elif sender.get("id") == viewer_id and "sender_chat" not in d:
        who = "user"
    else:
        who = "member"
    out = {
        "message_id": msg.message_id,
        "from": who,
        "date": d.get("date"),
        "edited": msg.edited,
    }
    for key in ("text", "entities", "caption", "caption_entities", "contact", "location"):
        if key in d:
            out[key] = d[key]
    if "photo" in d:
        out["photo"] = d["photo"][-1]["file_id"]
    if "document" in d:
        out["document"] = d["document"]
    if "reply_markup" in d:
        out["inline_keyboard"] = d["reply_markup"]["inline_keyboard"]
    if "reply_to_message" in d:
        out["reply_to"] = d["reply_to_message"]["message_id"]
    if who == "member":
        out["sender"] = sender.get("title") or sender.get("first_name") or "?"
    if "invoice" in d:
        out["invoice"] = {
            **d["invoice"],
            "price": format_price(d["invoice"]["total_amount"], d["invoice"]["currency"]),
            "paid": bool(invoice_state and invoice_state["paid_by"] is not None),
            "error": invoice_state["last_error"] if invoice_state else None,
        }
    if "successful_payment" in d:
        paid = d["successful_payment"]
        out["service"] = "Payment successful: " + format_price(
            paid["total_amount"], paid["currency"]
        )
        out["successful_payment"] = paid
    if "new_chat_members" in d:
        names = ", ".join(m.get("first_name", "?") for m in d["new_chat_members"])
        out["service"] = f"{out.get('sender') or 'You'} added {names}"
    return out
