"""Webhook delivery: POST each update to the bot's URL, as Telegram does."""

import collections
import contextlib
import heapq
import http.client
import itertools
import json
import logging
import ssl
import threading
import time
import urllib.parse

log = logging.getLogger(__name__)


def queue_key(rec):
    """The delivery queue an update belongs to: its chat, else its user, else its own.

    A private chat's id is its user's, so one person's messages and chat-less updates (an
    inline query, a shipping query) share a queue.
    """
    if rec.chat_id is not None:
        return rec.chat_id
    obj = rec.payload.get(rec.type) if isinstance(rec.type, str) else None
    if isinstance(obj, dict):
        message = obj.get("message") if rec.type == "callback_query" else obj
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and _is_id(chat.get("id")):
            return chat["id"]
        for field in ("from", "user"):
            person = obj.get(field)
            if isinstance(person, dict) and _is_id(person.get("id")):
                return person["id"]
    # Ids are ints; a tuple can never equal one, so this queue is the update's alone.
    return ("update", id(rec))


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Webhook:
    """Pushes one bot's pending updates with at most max_connections requests in flight.

    Updates go out per queue (queue_key: the chat, else the user), as Telegram's Bot API
    server sends them: at most one update of a queue is in flight, the queue's updates go in
    the order of bot.pending (update_id order; a redelivered update goes first, after the one
    in flight), and one that fails holds back the rest of its queue until it is delivered,
    while other queues go on.

    An update is confirmed (dropped from pending) only on a 2xx answer; any other answer or a
    network error schedules a retry after a doubling delay, and the error shows in
    getWebhookInfo as Telegram's does.
    """

    def __init__(self, emu, bot, url: str, secret: str | None, max_connections: int):
        self.emu = emu
        self.bot = bot
        self.url = url
        self.secret = secret
        self.max_connections = max_connections
        self.last_error_date = 0
        self.last_error_message = ""
        self.stopped = False
        self._threads: list[threading.Thread] = []
        parts = urllib.parse.urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # Delivery queues, kept under bot.lock. bot.pending stays the one record of what is
        # pending (getWebhookInfo, drop_pending_updates and redelivery change it); _sync
        # brings the queues in line with it.
        self._queues: dict = {}  # queue key -> deque of UpdateRec, oldest first
        self._keys: dict = {}  # UpdateRec -> its queue key, for every update in _queues
        self._busy: dict = {}  # queue key -> its update in flight
        self._ready: collections.deque = collections.deque()  # (key, head) that may go now
        self._later: list = []  # heap of (next_attempt, n, key, head) waiting for a retry
        self._tie = itertools.count()
        self._stale = True  # rebuild the queues from bot.pending before the next claim

    def start(self):
        for n in range(self.max_connections):
            t = threading.Thread(
                target=self._worker, name=f"tgemu-webhook-{self.bot.id}-{n}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self, wait: float = 5.0):
        """Stop pushing; requests in flight finish (or time out) first."""
        with self.bot.lock:
            self.stopped = True
            self.bot.updates_cv.notify_all()
        deadline = time.monotonic() + wait
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))

    # --- the queues (bot.lock held) -------------------------------------------------------------

    def _sync(self):
        """Take in what bot.pending gained or lost since the last look.

        New updates are appended to pending and redelivered ones put in front of it, so both
        ends show what is new; anything else (drop_pending_updates, another webhook's answer)
        leaves a count that does not add up, and the queues are rebuilt.
        """
        pending = self.bot.pending
        keys = self._keys
        if not self._stale:
            ends_known = not pending or (pending[0] in keys and pending[-1] in keys)
            if ends_known and len(keys) == len(pending):
                return
            appended = []
            for rec in reversed(pending):
                if rec in keys:
                    break
                appended.append(rec)
            for rec in reversed(appended):
                self._add(rec, front=False)
            prepended = []
            for rec in pending:
                if rec in keys:
                    break
                prepended.append(rec)
            for rec in reversed(prepended):
                self._add(rec, front=True)
            if len(keys) == len(pending):
                return
        self._stale = False
        self._queues.clear()
        keys.clear()
        self._ready.clear()
        self._later.clear()
        for rec in pending:
            self._add(rec, front=False, schedule=False)
        for key in self._queues:
            self._schedule(key)

    def _add(self, rec, front: bool, schedule: bool = True):
        key = queue_key(rec)
        self._keys[rec] = key
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = collections.deque()
        if not front:
            queue.append(rec)
        elif queue and queue[0] is self._busy.get(key):
            queue.insert(1, rec)  # never ahead of the update in flight
        else:
            queue.appendleft(rec)
        if schedule and queue[0] is rec:
            self._schedule(key)

    def _schedule(self, key):
        """Offer a queue's head for sending: now, or when its retry is due."""
        queue = self._queues.get(key)
        if not queue or key in self._busy:
            return
        head = queue[0]
        if head.next_attempt <= time.monotonic():
            self._ready.append((key, head))
        else:
            heapq.heappush(self._later, (head.next_attempt, next(self._tie), key, head))

    def _claimable(self, key, rec) -> bool:
        queue = self._queues.get(key)
        return (
            bool(queue)
            and queue[0] is rec
            and key not in self._busy
            and not rec.inflight  # an earlier webhook's request may still be out
            and rec.next_attempt <= time.monotonic()
        )

    def _next(self):
        """Claim the next update to send: the head of a queue with nothing in flight whose
        retry, if any, is due. None when stopping."""
        bot = self.bot
        while True:
            if self.stopped or self.emu.stopping or bot.webhook is not self:
                return None
            self._sync()
            now = time.monotonic()
            while self._later and self._later[0][0] <= now:
                _, _, key, rec = heapq.heappop(self._later)
                self._ready.append((key, rec))
            while self._ready:
                key, rec = self._ready.popleft()
                if self._claimable(key, rec):
                    self._busy[key] = rec
                    rec.inflight = True
                    return rec
            soonest = self._later[0][0] if self._later else None
            bot.updates_cv.wait(None if soonest is None else max(0.001, soonest - now))

    def _connect(self):
        timeout = self.emu.config.webhook_timeout
        if self._https:
            ctx = ssl.create_default_context()
            # Local test servers use self-signed certificates; nothing leaves 127.0.0.1.
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _worker(self):
        conn = None
        try:
            while True:
                with self.bot.lock:
                    rec = self._next()
                    if rec is None:
                        return
                    self.bot._mark_available(rec)
                    rec.attempts += 1
                    body = json.dumps(rec.payload).encode()
                error = None
                try:
                    if conn is None:
                        conn = self._connect()
                    headers = {"Content-Type": "application/json"}
                    if self.secret:
                        headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret
                    conn.request("POST", self._path, body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.will_close:
                        conn.close()
                        conn = None
                    if not 200 <= resp.status < 300:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except (OSError, http.client.HTTPException) as exc:
                    error = f"Connection error: {exc.__class__.__name__}"
                    if conn is not None:
                        conn.close()
                        conn = None
                self._finish(rec, error)
        finally:
            if conn is not None:
                conn.close()

    def _finish(self, rec, error):
        bot = self.bot
        with bot.lock:
            rec.inflight = False
            key = self._keys.get(rec)
            if key is None:
                key = queue_key(rec)  # dropped from pending while in flight
            if self._busy.get(key) is rec:
                del self._busy[key]
            if error is None:
                # It may have been dropped meanwhile (drop_pending_updates).
                with contextlib.suppress(ValueError):
                    bot.pending.remove(rec)
                if self._keys.pop(rec, None) is not None:
                    queue = self._queues[key]
                    if queue[0] is rec:
                        queue.popleft()
                    else:
                        queue.remove(rec)
                    if not queue:
                        del self._queues[key]
                bot.counts["webhook_deliveries"] += 1
            else:
                cfg = self.emu.config
                delay = min(cfg.webhook_retry_max, cfg.webhook_retry_base * 2 ** (rec.attempts - 1))
                rec.next_attempt = time.monotonic() + delay
                self.last_error_date = int(time.time())
                self.last_error_message = error
                bot.counts["webhook_failures"] += 1
                log.debug("webhook %s failed for update %s: %s", self.url, rec.update_id, error)
            self._schedule(key)
            if bot.webhook is not None and bot.webhook is not self:
                # The webhook that replaced this one skipped the update while it was out here.
                bot.webhook._stale = True
            bot.updates_cv.notify_all()
