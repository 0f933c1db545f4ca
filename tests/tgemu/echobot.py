"""A small pyTelegramBotAPI bot for tgemu's tests: greets, echoes, edits on a button press."""

import logging
import threading

import telebot
from telebot import apihelper, types

log = logging.getLogger(__name__)


class EchoBot:
    """/start greets with an inline button; pressing it edits the greeting; text is echoed.

    /buy sends an invoice (/buy_sold_out one whose checkout the bot refuses with "Sold out");
    a successful payment is thanked for with its amount.
    """

    def __init__(self, token: str, threads: int = 1):
        self.token = token
        self.bot = telebot.TeleBot(token, threaded=threads > 1, num_threads=max(1, threads))
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="echo-bot", daemon=True)
        bot = self.bot

        @bot.message_handler(commands=["start"])
        def start(message):
            kb = types.InlineKeyboardMarkup()
            kb.add(types.InlineKeyboardButton("Press me", callback_data="press:1"))
            bot.send_message(
                message.chat.id, f"Hello, {message.from_user.first_name}!", reply_markup=kb
            )

        @bot.callback_query_handler(func=lambda call: call.data.startswith("press:"))
        def press(call):
            bot.answer_callback_query(call.id, "Pressed")
            bot.edit_message_text(
                f"You pressed {call.data.split(':')[1]}",
                call.message.chat.id,
                call.message.message_id,
            )

        @bot.message_handler(commands=["buy", "buy_sold_out"])
        def buy(message):
            sold_out = message.text.startswith("/buy_sold_out")
            bot.send_invoice(
                message.chat.id,
                "Monthly plan",
                "30 days, unlimited visits",
                "sold-out" if sold_out else "plan-1",
                "284685063:TEST:echo",
                "EUR",
                [types.LabeledPrice("Monthly plan", 4500)],
            )

        @bot.pre_checkout_query_handler(func=lambda query: True)
        def checkout(query):
            if query.invoice_payload == "sold-out":
                bot.answer_pre_checkout_query(query.id, ok=False, error_message="Sold out")
            else:
                bot.answer_pre_checkout_query(query.id, ok=True)

        @bot.message_handler(content_types=["successful_payment"])
        def paid(message):
            amount = message.successful_payment.total_amount
            bot.send_message(message.chat.id, f"Thanks for paying {amount / 100:.2f} EUR")

        @bot.message_handler(content_types=["text"])
        def echo(message):
            bot.send_message(message.chat.id, f"echo: {message.text}")

    def start(self) -> "EchoBot":
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        if getattr(self.bot, "worker_pool", None) is not None:
            self.bot.worker_pool.close()

    def _loop(self):
        offset = None
        try:
            while not self._stop.is_set():
                try:
                    updates = self.bot.get_updates(offset=offset, timeout=5, long_polling_timeout=1)
                except Exception as exc:
                    self.errors.append(exc)
                    self._stop.wait(0.1)
                    continue
                if updates:
                    offset = updates[-1].update_id + 1
                    try:
                        self.bot.process_new_updates(updates)
                    except Exception as exc:
                        self.errors.append(exc)
        finally:
            # The session is per thread; close it here so no socket outlives the test.
            apihelper._get_req_session().close()
