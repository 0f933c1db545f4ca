"""The classic design, as the project's documents start from it: the yardstick of bench/compare.py.

- pyTelegramBotAPI's `TeleBot`, threaded, its own `infinity_polling` (NUM_THREADS handler
  threads, the same count as our bot's default WORKER_THREADS);
- psycopg2's `ThreadedConnectionPool(5, 50)`, a module-level singleton borrowed only through a
  context manager;
- per update ONE transaction: upsert the member (`classic_members`) and log the message
  (`classic_messages`), COMMIT; then a direct `bot.send_message` with the same text and
  keyboard our bot's main menu has (what /start shows a member).

Nothing is queued or retried: the reply goes out from the handler thread once the transaction
has committed. pyTelegramBotAPI's polling advances its offset before the handlers run, so an
update can be lost on a crash; that is the design's known weakness, not measured here.

Its schema (SCHEMA below) is created by the bench (`create_schema(url)` or `--create-schema`),
in a database of its own, not by our migrations.

    python bench/classic_bot.py --api-url http://127.0.0.1:PORT --token TOKEN \
        --database-url postgresql://...   [--threads 16] [--create-schema]

TELEGRAM_API_URL, TELEGRAM_BOT_TOKEN and DATABASE_URL are read from the environment when the
options are not given.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager

import psycopg2
import telebot
from psycopg2.pool import ThreadedConnectionPool
from telebot import apihelper, types

NUM_THREADS = 16
POOL_MIN, POOL_MAX = 5, 50

SCHEMA = """
CREATE TABLE IF NOT EXISTS classic_members (
    telegram_id bigint PRIMARY KEY,
    first_name  text NOT NULL,
    username    text,
    last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS classic_messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    telegram_id bigint NOT NULL REFERENCES classic_members,
    chat_id     bigint NOT NULL,
    text        text,
    received_at timestamptz NOT NULL DEFAULT now()
);
"""

UPSERT_MEMBER = """
INSERT INTO classic_members (telegram_id, first_name, username, last_seen)
VALUES (%s, %s, %s, now())
ON CONFLICT (telegram_id) DO UPDATE
   SET first_name = EXCLUDED.first_name, username = EXCLUDED.username, last_seen = now()
"""
LOG_MESSAGE = "INSERT INTO classic_messages (telegram_id, chat_id, text) VALUES (%s, %s, %s)"

# The same words and buttons as our main menu (screens/menu.py, English catalog).
MENU_TITLE = "<b>FitClub</b> · {name}\nWhat would you like to do?"
MENU_ROWS = [[("🗓 Schedule", "m:schedule"), ("📋 My bookings", "m:bookings")],
             [("🎫 Membership", "m:membership"), ("🪪 My card", "m:card")],
             [("📈 Activity", "m:activity"), ("❓ Help", "m:help")]]

_pools: dict[str, ThreadedConnectionPool] = {}  # the singleton, under "pool"
_pool_lock = threading.Lock()


def create_schema(url: str) -> None:
    """The classic bot's two tables, in the database at `url`."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(SCHEMA)
    finally:
        conn.close()


def init_pool(url: str) -> ThreadedConnectionPool:
    """The process's one pool (min 5, max 50)."""
    with _pool_lock:
        if "pool" not in _pools:
            _pools["pool"] = ThreadedConnectionPool(POOL_MIN, POOL_MAX, url)
        return _pools["pool"]


@contextmanager
def transaction():
    """Borrow a pooled connection for one transaction: COMMIT on success, ROLLBACK on error,
    the connection back to the pool either way."""
    pool = _pools["pool"]  # init_pool first
    conn = pool.getconn()
    try:
        with conn:  # psycopg2: BEGIN on the first statement, COMMIT/ROLLBACK on exit
            yield conn
    finally:
        pool.putconn(conn)


def menu_markup() -> types.InlineKeyboardMarkup:
    markup = types.InlineKeyboardMarkup()
    for row in MENU_ROWS:
        markup.row(*(types.InlineKeyboardButton(text, callback_data=data) for text, data in row))
    return markup


def build_bot(token: str, threads: int = NUM_THREADS) -> telebot.TeleBot:
    bot = telebot.TeleBot(token, threaded=True, num_threads=threads)

    @bot.message_handler(content_types=["text"])
    def on_text(message: types.Message) -> None:
        user = message.from_user
        with transaction() as conn, conn.cursor() as cur:
            cur.execute(UPSERT_MEMBER, (user.id, user.first_name, user.username))
            cur.execute(LOG_MESSAGE, (user.id, message.chat.id, message.text))
        bot.send_message(message.chat.id,
                         MENU_TITLE.format(name=html.escape(user.first_name or "")),
                         parse_mode="HTML", reply_markup=menu_markup())

    return bot


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/classic_bot.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--api-url", default=os.environ.get("TELEGRAM_API_URL"),
                   help="Bot API base URL, e.g. tgemu's http://127.0.0.1:PORT")
    p.add_argument("--token", default=os.environ.get("TELEGRAM_BOT_TOKEN"))
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--threads", type=int, default=NUM_THREADS)
    p.add_argument("--create-schema", action="store_true")
    args = p.parse_args(argv)
    if not (args.token and args.database_url):
        p.error("a token and a database URL are needed (options or environment)")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    if args.api_url:
        apihelper.API_URL = args.api_url.rstrip("/") + "/bot{0}/{1}"
    if args.create_schema:
        create_schema(args.database_url)
    init_pool(args.database_url)
    bot = build_bot(args.token, args.threads)

    def on_term(signum, frame):
        bot.stop_polling()

    signal.signal(signal.SIGTERM, on_term)
    try:
        # Long polls of 10 s, as the bench runs ours (POLL_TIMEOUT 10).
        bot.infinity_polling(timeout=20, long_polling_timeout=10)
    finally:
        if "pool" in _pools:
            _pools["pool"].closeall()
    return 0


if __name__ == "__main__":
    sys.exit(main())
