"""The yardstick: a stock pyTelegramBotAPI echo bot, its own infinity_polling, no database.

    python bench/echo_bot.py http://127.0.0.1:PORT TOKEN
"""

import sys

import telebot
from telebot import apihelper


def main(argv: list[str]) -> int:
    base_url, token = argv
    apihelper.API_URL = base_url.rstrip("/") + "/bot{0}/{1}"
    bot = telebot.TeleBot(token)  # defaults: threaded, 2 worker threads, requests

    @bot.message_handler(content_types=["text"])
    def echo(message):
        bot.send_message(message.chat.id, message.text)

    bot.infinity_polling()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
