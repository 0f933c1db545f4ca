"""The app factory: one Settings object in, everything a bot process runs out (pool, Bot API
client, telebot handlers, workers, sender, poller or webhook server, job runner, health server).
`bot.py` and the tests both go through `create_app`."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import psycopg2
import telebot
from telebot import types
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from fitclub import commands, locales, logs, notify
from fitclub.config import Settings
from fitclub.db.pool import Pool, PoolClosed, close_pool, get_pool, init_pool
from fitclub.db.queries import Q
from fitclub.db.replica import Replica
from fitclub.deps import Deps
from fitclub.handlers import MODULES, register_all
from fitclub.jobs import kinds as _job_kinds  # noqa: F401 - importing registers the kinds
from fitclub.runtime import pictures
from fitclub.runtime.chat_queue import ChatQueue, load_pending
from fitclub.runtime.checkout import CHECKOUT_THREADS, CheckoutLane
from fitclub.runtime.context import UpdateContext, current
from fitclub.runtime.dispatcher import SkipUpdate, Workers
from fitclub.runtime.health import HealthReport, HealthServer, evaluate
from fitclub.runtime.intake import Intake
from fitclub.runtime.jobs.metrics import JobMetrics
from fitclub.runtime.jobs.runner import Runner, overview
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.poller import Poller
from fitclub.runtime.raw_updates import addressed_elsewhere
from fitclub.runtime.sdnotify import SystemdNotifier
from fitclub.runtime.sender import Sender
from fitclub.runtime.telegram import BotApi, NetworkError, TelegramError
from fitclub.runtime.webhook import (
    STORE_SECONDS,
    WebhookApp,
    WebhookServer,
    store_retrying,
)
from fitclub.services import payments, roles

log = logging.getLogger(__name__)

RESYNC_SECONDS = 5.0

#: `bot.py run` exits with this when a webhook is set (as for a configuration error).
EXIT_WEBHOOK_SET = 2
#: What `bot.py run` says then (one line; the URL is not shown: its path is a secret).
WEBHOOK_SET_LINE = ("a webhook is set for this bot, so it cannot poll; `bot.py delete-webhook` "
                    "removes it (or run `bot.py webhook` instances instead)")


def open_pool(settings: Settings, *, wait: float = 60.0) -> Pool:
    """The process's pool; waits (with backoff) for a database that is still starting."""
    retrying = Retrying(
        retry=retry_if_exception_type(psycopg2.OperationalError),
        stop=stop_after_delay(wait),
        wait=wait_exponential(multiplier=0.2, max=5),
        before_sleep=lambda rs: log.warning("database not reachable yet: %s",
                                            logs.describe(rs.outcome.exception())),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            # The process-wide singleton of fitclub.db.pool: one pool per process.
            return init_pool(settings.database_url, minconn=settings.db_pool_min,
                             maxconn=settings.db_pool_max, timeout=settings.db_pool_timeout,
                             connect_timeout=settings.db_connect_timeout,
                             statement_timeout_ms=settings.db_statement_timeout_ms)
    raise AssertionError("unreachable: tenacity reraises")


class App:
    """Everything one bot process runs; start() and stop() it."""

    def __init__(self, settings: Settings, *, pool: Pool,
                 handler_modules: Sequence[ModuleType] = MODULES) -> None:
        self.settings = settings
        self.pool = pool
        self.chats = ChatQueue()
        self.exit_code = 0
        self.stopped = threading.Event()
        self._stop_requested = threading.Event()
        self._outbox_backlog = 0
        self._polling = False
        #: The webhook server of `bot.py webhook` (None in polling mode).
        self.webhook: WebhookServer | None = None
        self.bot_username: str | None = None
        self.metrics = Metrics(pool_stats=pool.stats, backlogs=self.backlogs,
                               last_poll_age=self._poll_age, database_up=self.database_reachable)
        self.api = BotApi(settings.telegram_api_url, settings.telegram_bot_token,
                          maxsize=settings.sender_threads + 4)
        self.api.install_for_telebot()
        self.bot = telebot.TeleBot(settings.telegram_bot_token, threaded=False)
        locales.configure(timezone=settings.club_timezone, currency=settings.club_currency)
        # Reports, exports and the audit log read here when a replica is set (db/replica.py).
        self.replica = Replica(settings.replica_database_url, on_read=lambda source: (
            self.metrics.replica_reads.labels(source=source).inc())
        ) if settings.replica_database_url else None
        register_all(self.bot, Deps(settings=settings, context=current,
                                    bot_username=lambda: self.bot_username or "",
                                    replica=self.replica),
                     handler_modules)
        self.sender = Sender(pool=pool, api=self.api, rate=settings.outbound_rate,
                             per_chat_rate=settings.per_chat_rate,
                             threads=settings.sender_threads, metrics=self.metrics,
                             lease=settings.outbox_lease, shared="auto")
        self.workers = Workers(pool=pool, queue=self.chats, handle=self.handle_update,
                               threads=settings.worker_threads,
                               max_attempts=settings.max_attempts,
                               flood_rate=settings.flood_rate, flood_burst=settings.flood_burst,
                               metrics=self.metrics, on_queued=self.sender.wake,
                               on_payment_failed=self.keep_failed_payment,
                               claim_for=self.sender.claim_for,
                               on_claimed=self.sender.hand_over)
        # Pre-checkout queries are answered by a lane of their own, with connections of its
        # own (database and HTTP): never behind the workers, the outbox or the pool's other
        # borrowers (runtime/checkout.py). Opened ahead only when payments are on; off, a
        # stray query (an invoice sent before) still gets a connection when it comes.
        self.checkout_pool = Pool(settings.database_url,
                                  minconn=CHECKOUT_THREADS + 1 if settings.payments_on else 1,
                                  maxconn=CHECKOUT_THREADS + 1, timeout=2.0,
                                  connect_timeout=min(2, settings.db_connect_timeout),
                                  statement_timeout_ms=3000,
                                  application_name="fitclub-checkout")
        self.checkout_api = BotApi(settings.telegram_api_url, settings.telegram_bot_token,
                                   read_timeout=4.0, maxsize=CHECKOUT_THREADS)
        self.checkout = CheckoutLane(pool=self.checkout_pool, api=self.checkout_api,
                                     check=self._check_checkout, metrics=self.metrics)
        self.poller = Poller(pool=pool, api=self.api, on_stored=self._stored,
                             backlog=self.chats.backlog,
                             backlog_limit=settings.inbox_backlog_limit,
                             timeout=settings.poll_timeout, metrics=self.metrics,
                             on_fatal=self._fatal, checkout=self.checkout)
        self.jobs = Runner(pool=pool, settings=settings, threads=settings.job_threads,
                           poll_seconds=settings.job_poll_seconds,
                           retry_base=settings.job_retry_seconds,
                           metrics=JobMetrics(self.metrics.registry,
                                              overview=lambda: overview(pool)),
                           on_queued=self.sender.wake, after_job=notify.deliver)
        # Charts are drawn by a thread of their own, never by a worker (runtime/pictures.py).
        self.pictures = pictures.Renderer(pool, cooldown=settings.chart_cooldown_seconds,
                                          on_queued=self.sender.wake)
        self._command_sync = threading.Thread(target=self._sync_commands,
                                              name="command-sync", daemon=True)
        self.notifier = SystemdNotifier()
        self.health = (HealthServer(settings.metrics_addr, self.metrics, self.check_health)
                       if settings.metrics_addr else None)

    # -- one update ------------------------------------------------------------------------

    def handle_update(self, payload: dict[str, Any]) -> None:
        """Run one stored update through the telebot handlers (inside the worker's transaction).

        An update pyTelegramBotAPI cannot parse (a type newer than it) and a command addressed
        to another bot are skipped: no handler runs, nothing is answered.
        """
        try:
            update = types.Update.de_json(payload)
        except Exception as exc:
            kind = next((k for k in payload if k != "update_id"), "unknown")
            raise SkipUpdate(f"pyTelegramBotAPI cannot parse its {kind}: "
                             f"{type(exc).__name__}: {exc}",
                             f"pyTelegramBotAPI cannot parse its {kind[:40]}: "
                             f"{type(exc).__name__}") from exc
        if other := addressed_elsewhere(payload, self.bot_username):
            raise SkipUpdate(f"a command for @{other}", "a command for another bot")
        self.bot.process_new_updates([update])
        notify.deliver(current())

    def keep_failed_payment(self, payload: dict[str, Any]) -> None:
        """A successful_payment whose handler failed for good: kept to refund
        (payments.record_unprocessed) and the admins told."""
        message = payload.get("message") or {}
        paid = message.get("successful_payment") or {}
        ctx = current()
        payments.record_unprocessed(
            ctx.conn, telegram_user_id=(message.get("from") or {}).get("id"),
            total_amount=paid.get("total_amount") or 0, currency=paid.get("currency") or "XXX",
            telegram_charge_id=paid["telegram_payment_charge_id"],
            provider_charge_id=paid.get("provider_payment_charge_id"), now=ctx.now())
        notify.deliver(ctx)

    def _check_checkout(self, conn, query: dict[str, Any], now) -> str | None:
        """The club's rule for a pre-checkout query (payments.check_checkout): None when the
        order may be paid, else the catalog key of the refusal."""
        user = query.get("from") if isinstance(query.get("from"), dict) else {}
        return payments.check_checkout(conn, query.get("invoice_payload"), user.get("id"),
                                       query.get("total_amount"), query.get("currency"), now,
                                       self.settings.card_secret)

    def _learn_username(self) -> None:
        # getMe through our client, outside any handler: commands for other bots are told
        # apart by it. Until it succeeds (the resync loop retries) none is skipped.
        try:
            self.bot_username = self.api.call("getMe", {}).get("username")
            log.info("bot username: @%s", self.bot_username)
        except (TelegramError, NetworkError) as exc:
            log.warning("getMe failed (%s); will retry", logs.describe(exc))

    def _stored(self, rows: list[tuple[int, int]]) -> None:
        for chat_id, n in Counter(chat_id for _update_id, chat_id in rows).items():
            self.chats.add(chat_id, n)

    # -- health ----------------------------------------------------------------------------

    def backlogs(self) -> dict[str, int]:
        """Updates waiting for a worker and messages waiting to be sent."""
        return {"inbox": self.chats.backlog(),
                "outbox": max(self._outbox_backlog, self.sender.backlog())}

    def database_reachable(self) -> bool:
        """One `SELECT 1` through the pool, no retries (for /healthz and /metrics)."""
        def ping(conn):
            with conn.cursor() as cur:
                cur.execute("SELECT 1")

        try:
            self.pool.run(ping, attempts=1)
        except Exception:  # any failure to reach the database is what we report
            return False
        return True

    def _poll_age(self) -> float | None:
        """Seconds since the last successful getUpdates (None when nothing polled yet)."""
        return self.poller.seconds_since_success()

    def alive(self) -> bool:
        """Liveness for the systemd watchdog: able to work, however much work is queued.

        A long backlog (a big announcement, a burst of updates) is not a reason to be
        restarted: that would only roll back work in hand. A lost database, a dead or
        wedged poller, or a dead webhook server is.
        """
        if not self.database_reachable() or not self._outbox_ok():
            return False
        if self.webhook is not None:
            return self.webhook.alive()
        if not self._polling:
            return True
        age = self.poller.seconds_since_success()
        return self.poller.alive() and (age is None or
                                        age < self.settings.poll_timeout + 30.0)

    def oldest_reply_age(self) -> float | None:
        """Seconds the oldest waiting reply has waited, None when none waits."""
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.oldest_reply_age"])
                row = cur.fetchone()
                return row[0] if row else None

        return self.pool.run(run, attempts=1)

    def _outbox_ok(self) -> bool:
        """Deliveries are recorded and no reply has waited too long."""
        if self.sender.recording_failed():
            return False
        try:
            age = self.oldest_reply_age()
        except Exception:  # the database check reports that
            return True
        return age is None or age <= self.settings.outbox_reply_max_age

    def check_health(self) -> HealthReport:
        """Database reachable, polling recent, replies going out and recorded, jobs on time."""
        database_ok = self.database_reachable()
        backlog = self.backlogs()
        try:
            reply_age = self.oldest_reply_age() if database_ok else None
        except Exception:
            reply_age = None
        return evaluate(
            database_ok=database_ok,
            seconds_since_poll=self.poller.seconds_since_success() if self._polling else None,
            poll_stale_after=self.settings.poll_timeout + 30.0,
            inbox_backlog=backlog["inbox"], outbox_backlog=backlog["outbox"],
            oldest_reply_age=reply_age, reply_max_age=self.settings.outbox_reply_max_age,
            recording_failed=self.sender.recording_failed(),
            extra={"pool": vars(self.pool.stats())},
            oldest_overdue_job=self._oldest_overdue_job() if database_ok else None,
            jobs_overdue_limit=self.settings.jobs_overdue_limit,
        )

    def _oldest_overdue_job(self) -> float | None:
        """Seconds the oldest due job has waited, None when none is due (or unknown)."""
        try:
            return overview(self.pool)[1]
        except Exception:  # the database check reports that
            return None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, polling: bool = True, webhook: bool = False) -> None:
        """Start processing (sender, workers, jobs, health), then polling or (webhook=True)
        the webhook server; systemd hears READY once updates can come in."""
        self._promote_admins()
        self._queue_default_commands()
        self._learn_username()
        pending = load_pending(self.pool, self.chats)
        if pending:
            log.info("resuming %s updates stored before the last stop", pending)
        self.sender.start()
        pictures.install(self.pictures)
        self.pictures.start()
        self.workers.start()
        self.jobs.start()
        threading.Thread(target=self._resync_loop, name="resync", daemon=True).start()
        self._command_sync.start()
        if self.health:
            self.health.start()
        if webhook:
            self.checkout.start()  # first, so what a previous run left is answered or skipped
            self.webhook = self._webhook_server()
            self.webhook.start()
        elif polling:
            self.checkout.start()  # first, so what a previous run left is answered or skipped
            self.poller.start()
            self._polling = True
        if self.webhook is not None:
            self.webhook.app.ready = True
        self.notifier.ready("webhook" if webhook else "polling" if polling else "processing")
        self.notifier.start_watchdog(self.alive, self._stop_requested)
        log.info("FitClub bot started: %s workers, %s senders", self.settings.worker_threads,
                 self.settings.sender_threads)

    def _webhook_server(self) -> WebhookServer:
        """The webhook server on WEBHOOK_LISTEN, storing through the same intake as polling."""
        intake = Intake(pool=self.pool, on_stored=self._stored, checkout=self.checkout,
                        metrics=self.metrics)

        def take(update: dict[str, Any]) -> None:
            intake.take([update], time.monotonic(), store_retrying(),
                        max_seconds=STORE_SECONDS)

        app = WebhookApp(secret=self.settings.webhook_secret or "",
                         max_body=self.settings.webhook_max_body, take=take,
                         database_ok=self.database_reachable)
        if self.settings.webhook_listen is None:
            raise ValueError("webhook mode needs WEBHOOK_LISTEN")
        return WebhookServer(app, self.settings.webhook_listen,
                             threads=self.settings.webhook_threads)

    def _queue_default_commands(self) -> None:
        # The "/" menu before registration, per language, unless this version's is set
        # already; members get their own from _sync_commands and on every change.
        def run(conn):
            ctx = UpdateContext(conn, chat_id=0, user_id=None, update_id=None)
            return commands.queue_defaults(ctx)

        if self.pool.run(run):
            log.info("command lists: the lists before registration queued")

    def _sync_commands(self) -> None:
        # In its own thread: start-up does not wait, the sender goes on with replies first.
        try:
            # Half the outbound rate at most: the other half stays free for replies.
            commands.sync(self.pool, self._stop_requested, on_queued=self.sender.wake,
                          batch=max(1, int(self.settings.outbound_rate / 2)))
        except Exception as exc:  # the database away past the pool's retries
            log.warning("command lists: the start-up sync stopped (%s); the next start goes "
                        "on", logs.describe(exc))

    def _promote_admins(self) -> None:
        if not self.settings.admin_telegram_ids:
            return

        def run(conn):
            # Like a role change in /people: audited, and the "/" list re-set for their chat
            # (a demoted admin's still shows the member commands).
            ctx = UpdateContext(conn, chat_id=0, user_id=None, update_id=None)
            for member in roles.promote_bootstrap_admins(conn,
                                                         self.settings.admin_telegram_ids):
                commands.set_for_member(ctx, member, chat_id=member.telegram_id)

        self.pool.run(run)

    def _resync_loop(self) -> None:
        # Catches updates stored by other instances or left behind by a failed pass, and
        # keeps the outbox backlog figure fresh for health and metrics.
        while not self._stop_requested.wait(RESYNC_SECONDS):
            try:
                load_pending(self.pool, self.chats, only_new=True)
                if self.bot_username is None:
                    self._learn_username()
                self._outbox_backlog = self._count_outbox()
                self.sender.wake()
            except Exception as exc:  # the database may be away; the next round retries
                log.debug("resync skipped: %s", logs.describe(exc))

    def _count_outbox(self) -> int:
        def run(conn):
            with conn.cursor() as cur:
                cur.execute(Q["outbox.backlog"])
                return cur.fetchone()[0]

        return self.pool.run(run, attempts=1)

    def request_stop(self, code: int = 0) -> None:
        """Ask the process to stop (signal handlers call this)."""
        self.exit_code = self.exit_code or code
        if self.webhook is not None:
            self.webhook.app.draining = True  # 503 from now on: nginx tries another instance
        self._stop_requested.set()

    def wait(self) -> None:
        """Block until stop is requested."""
        while not self._stop_requested.wait(1.0):
            pass

    def _fatal(self, reason: str) -> None:
        log.critical("stopping: %s", reason)
        self.request_stop(1)

    def stop(self) -> None:
        """Graceful stop: no more polling, running handlers and sends finish (bounded)."""
        deadline = time.monotonic() + self.settings.shutdown_timeout
        self._stop_requested.set()
        self.notifier.stopping()
        self.poller.stop()
        if self.webhook is not None:
            # New updates get 503, those being stored finish, then the port closes.
            self.webhook.stop(timeout=max(0.1, min(STORE_SECONDS + 1.0,
                                                   deadline - time.monotonic())))
        if self._polling or self.webhook is not None:
            self.checkout.stop(timeout=min(2.0, max(0.1, deadline - time.monotonic())))
        if not self.workers.stop(timeout=max(0.1, deadline - time.monotonic())):
            log.warning("some handlers were still running at the shutdown timeout; their "
                        "updates stay pending and run after the next start")
        # Charts still waiting are delivered while time allows; the rest are lost (their
        # members keep the text screens, which are true).
        self.pictures.stop(timeout=min(2.0, max(0.1, deadline - time.monotonic())))
        if pictures.installed() is self.pictures:
            pictures.install(None)
        if not self.jobs.stop(timeout=max(0.1, deadline - time.monotonic())):
            log.warning("a scheduled job was still running at the shutdown timeout; it rolls "
                        "back and runs again after the next start")
        if self._command_sync.is_alive():  # it stops between two batches
            self._command_sync.join(max(0.1, deadline - time.monotonic()))
        self.sender.stop(timeout=max(0.5, deadline - time.monotonic()))
        if self.health:
            self.health.stop()
        self.api.close()
        self.checkout_api.close()
        self.checkout_pool.close()
        if self.replica is not None:
            self.replica.close()
        try:
            singleton = get_pool() is self.pool
        except PoolClosed:
            singleton = False
        if singleton:
            close_pool()
        else:
            self.pool.close()
        self.stopped.set()
        log.info("stopped")


def create_app(settings: Settings, *, handler_modules: Sequence[ModuleType] = MODULES,
               pool: Pool | None = None) -> App:
    """Build the app from settings (the pool is opened here unless given)."""
    return App(settings, pool=pool or open_pool(settings), handler_modules=handler_modules)


def run_polling(settings: Settings, *, handler_modules: Sequence[ModuleType] = MODULES,
                polling: bool = True) -> int:
    """`bot.py run`: long polling until SIGTERM/SIGINT; returns the exit code.

    With polling=False (`bot.py run --no-polling`) the process runs workers, sender and jobs
    but never calls getUpdates: a second instance beside the one poller a token allows.
    """
    logs.configure(settings.log_level, settings.log_format, (settings.telegram_bot_token,))
    # A polling instance must not silently take over a webhook fleet: it says how to, once.
    if polling and webhook_is_set(settings):
        log.critical(WEBHOOK_SET_LINE)
        return EXIT_WEBHOOK_SET
    return _run_until_stopped(settings, handler_modules,
                              lambda app: app.start(polling=polling))


def webhook_is_set(settings: Settings) -> bool:
    """getWebhookInfo shows a URL (getUpdates would be refused). False when it cannot be
    asked: polling then finds out, and keeps retrying."""
    api = BotApi(settings.telegram_api_url, settings.telegram_bot_token)
    try:
        return bool(api.call("getWebhookInfo", {}).get("url"))
    except (TelegramError, NetworkError) as exc:
        log.warning("getWebhookInfo failed (%s); polling anyway", logs.describe(exc))
        return False
    finally:
        api.close()


def run_webhook(settings: Settings, *, handler_modules: Sequence[ModuleType] = MODULES) -> int:
    """`bot.py webhook`: one webhook instance until SIGTERM/SIGINT; returns the exit code.

    Updates come in on WEBHOOK_LISTEN; workers, sender, jobs and /healthz run as in polling.
    On SIGTERM it drains: /readyz and new updates answer 503, updates being stored finish,
    then it stops as a polling instance does. Refused (ConfigError) when DB_POOL_MAX cannot
    hold the webhook server's threads beside the others.
    """
    settings.check(webhook=True)
    logs.configure(settings.log_level, settings.log_format,
                   (settings.telegram_bot_token, settings.webhook_secret or ""))
    # waitress warns at every request that waits for a free thread: under a burst that is a
    # line per update, and the requests are served all the same.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    def start(app: App) -> None:
        try:
            app.start(polling=False, webhook=True)
        except OSError as exc:  # the port is taken or not ours to bind
            log.critical("webhook: cannot listen on WEBHOOK_LISTEN: %s", logs.describe(exc))
            app.request_stop(1)

    return _run_until_stopped(settings, handler_modules, start)


def _run_until_stopped(settings: Settings, handler_modules: Sequence[ModuleType],
                       start: Callable[[App], None]) -> int:
    """Build the app, start it, serve until SIGTERM/SIGINT, stop; the exit code (1 when the
    database cannot be reached at all)."""
    try:
        app = create_app(settings, handler_modules=handler_modules)
    except psycopg2.OperationalError as exc:
        log.critical("cannot reach the database: %s", logs.describe(exc))
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: app.request_stop(0))
    start(app)
    try:
        app.wait()
    finally:
        app.stop()
    return app.exit_code
