"""Webhook delivery: POST each update to the bot's URL, as Telegram does."""

import contextlib
import http.client
import json
import logging
import ssl
import threading
import time
import urllib.parse

log = logging.getLogger(__name__)


class Webhook:
    """Pushes one bot's pending updates with at most max_connections requests in flight.

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

    def _next(self):
        """Claim the first pending update that is due; None when stopping. Lock held."""
        bot = self.bot
        while True:
            if self.stopped or self.emu.stopping or bot.webhook is not self:
                return None
            now = time.monotonic()
            soonest = None
            for rec in bot.pending:
                if rec.inflight:
                    continue
                if rec.next_attempt <= now:
                    rec.inflight = True
                    return rec
                if soonest is None or rec.next_attempt < soonest:
                    soonest = rec.next_attempt
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
            if error is None:
                # It may have been dropped meanwhile (drop_pending_updates).
                with contextlib.suppress(ValueError):
                    bot.pending.remove(rec)
                bot.counts["webhook_deliveries"] += 1
            else:
                cfg = self.emu.config
                delay = min(cfg.webhook_retry_max, cfg.webhook_retry_base * 2 ** (rec.attempts - 1))
                rec.next_attempt = time.monotonic() + delay
                self.last_error_date = int(time.time())
                self.last_error_message = error
                bot.counts["webhook_failures"] += 1
                log.debug("webhook %s failed for update %s: %s", self.url, rec.update_id, error)
            bot.updates_cv.notify_all()
