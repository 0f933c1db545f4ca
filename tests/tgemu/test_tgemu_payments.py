"""Telegram Payments in tgemu: sendInvoice's checks, the checkout, redelivery."""

import json
import threading
import time

import pytest
import requests
from telebot import types

from tgemu.client import RemoteEmulator

PROVIDER = "284685063:TEST:tgemu"
PRICES = [{"label": "Monthly plan", "amount": 4500}]


@pytest.fixture
def ann(emu, token, bot):
    """A user who has started the bot (her /start is confirmed)."""
    user = emu.create_user(first_name="Ann")
    uid = user.send_text(token, "/start")
    bot.get_updates(offset=uid + 1, long_polling_timeout=0)
    return user


def call(emu, token, method, **params) -> dict:
    """A raw Bot API call with a JSON body; Telegram's JSON answer."""
    with requests.Session() as s:
        return s.post(emu.api_url.format(token, method), json=params, timeout=10).json()


def invoice(emu, token, chat_id, **changes) -> dict:
    params = {
        "chat_id": chat_id,
        "title": "Monthly plan",
        "description": "30 days, unlimited visits",
        "payload": "o1.abc.def",
        "provider_token": PROVIDER,
        "currency": "EUR",
        "prices": PRICES,
        **changes,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return call(emu, token, "sendInvoice", **params)


def paying(emu, token, user, message_id, **kwargs):
    """Start emu.pay in a thread (it waits for the bot's answer); join() returns its result."""
    box = {}
    thread = threading.Thread(
        target=lambda: box.setdefault("result", emu.pay(token, user.id, message_id, **kwargs)),
        daemon=True,
    )
    thread.start()

    def join(timeout=15):
        thread.join(timeout)
        assert not thread.is_alive(), "pay() did not return"
        return box["result"]

    return join


def next_update(bot, kind, timeout=5):
    """The next update of this kind (earlier ones are confirmed)."""
    deadline = time.monotonic() + timeout
    offset = None
    while time.monotonic() < deadline:
        for update in bot.get_updates(offset=offset, long_polling_timeout=1):
            offset = update.update_id + 1
            if getattr(update, kind) is not None:
                bot.get_updates(offset=offset, long_polling_timeout=0)
                return update
    raise AssertionError(f"no {kind} update within {timeout}s")


# --- sendInvoice ------------------------------------------------------------------------------


def test_send_invoice_returns_the_message_with_its_invoice_and_a_pay_button(bot, emu, token, ann):
    msg = bot.send_invoice(
        ann.id,
        "Monthly plan",
        "30 days, unlimited visits",
        "o1.abc.def",
        PROVIDER,
        "EUR",
        [types.LabeledPrice("Plan", 4000), types.LabeledPrice("Towel", 500)],
        start_parameter="plan-1",
    )
    assert msg.invoice.title == "Monthly plan"
    assert msg.invoice.description == "30 days, unlimited visits"
    assert msg.invoice.currency == "EUR"
    assert msg.invoice.total_amount == 4500
    assert msg.invoice.start_parameter == "plan-1"
    assert msg.reply_markup.keyboard[0][0].text == "Pay 45.00 EUR"
    assert msg.reply_markup.keyboard[0][0].pay is True
    event = emu.transcript(token, ann.id)[-1]
    assert event["invoice"]["total_amount"] == 4500
    assert "payload" not in event["invoice"]  # the payload is never shown to the user
    state = emu.chat_state(token, ann.id)
    shown = state["messages"][-1]["invoice"]
    assert shown["price"] == "45.00 EUR"
    assert shown["paid"] is False
    assert emu.stats(token)["invoices"] == 1


def test_a_bot_keyboard_is_kept_when_its_first_button_pays(emu, token, ann):
    keyboard = {
        "inline_keyboard": [
            [{"text": "Pay now", "pay": True}],
            [{"text": "Cancel", "callback_data": "x"}],
        ]
    }
    answer = invoice(emu, token, ann.id, reply_markup=keyboard)
    assert answer["ok"], answer
    assert answer["result"]["reply_markup"] == keyboard


def test_stars_need_no_provider_and_one_price(emu, token, ann):
    answer = invoice(
        emu,
        token,
        ann.id,
        provider_token="",
        currency="XTR",
        prices=[{"label": "Plan", "amount": 250}],
    )
    assert answer["ok"], answer
    assert answer["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Pay 250 XTR"


LONG_PAYLOAD = "p" * 129


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"title": None}, 'parameter "title" is required'),
        ({"description": ""}, 'parameter "description" is required'),
        ({"payload": None}, 'parameter "payload" is required'),
        ({"currency": None}, 'parameter "currency" is required'),
        ({"prices": None}, 'parameter "prices" is required'),
        ({"title": "T" * 33}, "TITLE_INVALID"),
        ({"description": "D" * 256}, "DESCRIPTION_INVALID"),
        ({"payload": LONG_PAYLOAD}, "INVOICE_PAYLOAD_INVALID"),
        ({"payload": "é" * 65}, "INVOICE_PAYLOAD_INVALID"),  # 130 bytes in UTF-8
        ({"currency": "EURO"}, "CURRENCY_INVALID"),
        ({"provider_token": ""}, "PAYMENT_PROVIDER_INVALID"),
        ({"currency": "XTR"}, "PAYMENT_PROVIDER_INVALID"),  # Stars take no provider token
        (
            {"provider_token": "", "currency": "XTR", "prices": PRICES + PRICES},
            "STARS_INVOICE_INVALID",  # Stars take exactly one price
        ),
        ({"prices": "[{"}, "can't parse prices JSON object"),
        ({"prices": {"label": "x", "amount": 1}}, "expected an Array of labeled prices"),
        ({"prices": ["x"]}, "can't parse labeled price: LabeledPrice must be an Object"),
        ({"prices": [{"amount": 100}]}, "can't parse labeled price: Can't find field \"label\""),
        (
            {"prices": [{"label": "x", "amount": 10.5}]},
            'can\'t parse labeled price: Field "amount" must be a valid Number',
        ),
        (
            {"prices": [{"label": "x", "amount": "ten"}]},
            'can\'t parse labeled price: Field "amount" must be a valid Number',
        ),
        ({"prices": []}, "total price must be positive"),
        (
            {"prices": [{"label": "x", "amount": 500}, {"label": "y", "amount": -500}]},
            "total price must be positive",
        ),
        (
            {"prices": [{"label": "x", "amount": 10**13}]},
            "too big amount of the currency specified",
        ),
        ({"prices": [{"label": "x", "amount": 50}]}, "CURRENCY_TOTAL_AMOUNT_INVALID"),  # 0.50 EUR
        ({"prices": [{"label": "x", "amount": 10**8}]}, "CURRENCY_TOTAL_AMOUNT_INVALID"),
        ({"max_tip_amount": -1}, "invalid max_tip_amount of the currency specified"),
        (
            {"max_tip_amount": 100, "suggested_tip_amounts": [200]},
            "suggested tip amount can't be bigger than max_tip_amount",
        ),
        (
            {"max_tip_amount": 100, "suggested_tip_amounts": [0]},
            "suggested tip amount must be positive",
        ),
        (
            {"max_tip_amount": 100, "suggested_tip_amounts": [10, 20, 30, 40, 50]},
            "there can be at most 4 suggested tip amounts",
        ),
        ({"provider_data": "{oops"}, "DATA_JSON_INVALID"),
        (
            {"reply_markup": {"inline_keyboard": [[{"text": "Menu", "callback_data": "m"}]]}},
            "BUTTON_TYPE_INVALID",
        ),
    ],
)
def test_send_invoice_checks_as_telegram_does(emu, token, ann, changes, description):
    answer = invoice(emu, token, ann.id, **changes)
    assert answer == {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}
    assert emu.stats(token)["invoices"] == 0


def test_send_invoice_is_rate_limited_like_other_sends(emu, token, ann):
    answers = [invoice(emu, token, ann.id) for _ in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[-1]["error_code"] == 429


def test_an_invoice_to_a_user_who_never_wrote_is_forbidden(emu, token):
    stranger = emu.create_user(first_name="Stranger")
    answer = invoice(emu, token, stranger.id)
    assert answer["description"] == "Forbidden: bot can't initiate conversation with a user"


# --- the checkout -----------------------------------------------------------------------------


def test_checkout_happy_path_delivers_successful_payment(bot, emu, token, ann):
    mid = invoice(emu, token, ann.id)["result"]["message_id"]
    done = paying(emu, token, ann, mid)
    update = next_update(bot, "pre_checkout_query")
    query = update.pre_checkout_query
    assert query.from_user.id == ann.id
    assert (query.currency, query.total_amount, query.invoice_payload) == (
        "EUR",
        4500,
        "o1.abc.def",
    )
    assert bot.answer_pre_checkout_query(query.id, ok=True) is True
    result = done()
    assert result["status"] == "paid"
    assert result["answered"] and result["ok"] is True
    assert 0 <= result["answer_seconds"] < 5
    paid_update = next_update(bot, "message")
    assert paid_update.update_id == result["successful_payment_update_id"]
    paid = paid_update.message.successful_payment
    assert paid_update.message.chat.id == ann.id
    assert paid_update.message.from_user.id == ann.id
    assert (paid.currency, paid.total_amount, paid.invoice_payload) == ("EUR", 4500, "o1.abc.def")
    assert (
        paid.telegram_payment_charge_id
        == result["successful_payment"]["telegram_payment_charge_id"]
    )
    assert paid.provider_payment_charge_id
    # The invoice is paid: the web chat says so, and it cannot be paid again.
    state = emu.chat_state(token, ann.id)
    by_id = {m["message_id"]: m for m in state["messages"]}
    assert by_id[mid]["invoice"]["paid"] is True
    assert by_id[result["successful_payment_message_id"]]["service"] == (
        "Payment successful: 45.00 EUR"
    )
    with pytest.raises(RuntimeError, match="paid already"):
        emu.pay(token, ann.id, mid)
    checkouts = emu.checkouts(token)
    assert [c["ok"] for c in checkouts] == [True]
    assert emu.checkout_percentiles(token)["count"] == 1
    assert emu.latencies(token)[update.update_id] >= 0  # answered counts as the update's answer


def test_a_tip_is_added_to_the_total(bot, emu, token, ann):
    mid = invoice(emu, token, ann.id, max_tip_amount=500, suggested_tip_amounts=[100, 300])[
        "result"
    ]["message_id"]
    done = paying(emu, token, ann, mid, tip=300)
    query = next_update(bot, "pre_checkout_query").pre_checkout_query
    assert query.total_amount == 4800
    bot.answer_pre_checkout_query(query.id, ok=True)
    assert done()["successful_payment"]["total_amount"] == 4800
    with pytest.raises(ValueError, match="outside"):
        emu.pay(token, ann.id, invoice(emu, token, ann.id)["result"]["message_id"], tip=1)


def test_ok_false_fails_the_checkout_with_the_bots_message(bot, emu, token, ann):
    mid = invoice(emu, token, ann.id)["result"]["message_id"]
    done = paying(emu, token, ann, mid)
    query = next_update(bot, "pre_checkout_query").pre_checkout_query
    answer = call(emu, token, "answerPreCheckoutQuery", pre_checkout_query_id=query.id, ok=False)
    assert answer["description"] == 'Bad Request: parameter "error_message" is required'
    bot.answer_pre_checkout_query(query.id, ok=False, error_message="The price has changed.")
    result = done()
    assert result["status"] == "refused"
    assert (result["ok"], result["error_message"]) == (False, "The price has changed.")
    assert result["successful_payment_update_id"] is None
    assert bot.get_updates(long_polling_timeout=0) == []  # no successful_payment
    state = emu.chat_state(token, ann.id)
    shown = {m["message_id"]: m for m in state["messages"]}[mid]["invoice"]
    assert (shown["paid"], shown["error"]) == (False, "The price has changed.")
    answers = [e for e in emu.transcript(token, ann.id) if e["kind"] == "pre_checkout_answer"]
    assert [(a["ok"], a["error_message"]) for a in answers] == [(False, "The price has changed.")]


def test_a_late_answer_is_too_old_and_the_checkout_fails(bot, emu, token, ann):
    emu.configure(pre_checkout_timeout=0.5)
    mid = invoice(emu, token, ann.id)["result"]["message_id"]
    done = paying(emu, token, ann, mid)
    query = next_update(bot, "pre_checkout_query").pre_checkout_query
    result = done()
    assert result["status"] == "timeout"
    assert result["timed_out"] and not result["answered"]
    answer = call(emu, token, "answerPreCheckoutQuery", pre_checkout_query_id=query.id, ok=True)
    assert answer["description"] == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    assert bot.get_updates(long_polling_timeout=0) == []
    assert emu.checkouts(token)[0]["timed_out"] is True
    assert emu.stats(token)["checkouts_timed_out"] == 1
    # The invoice can be paid again later.
    done = paying(emu, token, ann, mid)
    bot.answer_pre_checkout_query(
        next_update(bot, "pre_checkout_query").pre_checkout_query.id, ok=True
    )
    assert done()["status"] == "paid"


def test_answering_twice_or_an_unknown_query_is_an_error(bot, emu, token, ann):
    mid = invoice(emu, token, ann.id)["result"]["message_id"]
    done = paying(emu, token, ann, mid)
    query = next_update(bot, "pre_checkout_query").pre_checkout_query
    assert call(emu, token, "answerPreCheckoutQuery", pre_checkout_query_id=query.id, ok=True)["ok"]
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    again = call(emu, token, "answerPreCheckoutQuery", pre_checkout_query_id=query.id, ok=True)
    assert again["description"] == too_old
    unknown = call(emu, token, "answerPreCheckoutQuery", pre_checkout_query_id="123", ok=True)
    assert unknown["description"] == too_old
    assert done()["status"] == "paid"
    assert len(emu.checkouts(token)) == 1


@pytest.mark.parametrize("how", ["decline", "token"])
def test_a_declining_provider_fails_after_the_bot_said_ok(bot, emu, token, ann, how):
    provider = PROVIDER + ":DECLINE" if how == "token" else PROVIDER
    mid = invoice(emu, token, ann.id, provider_token=provider)["result"]["message_id"]
    done = paying(emu, token, ann, mid, decline=how == "decline")
    bot.answer_pre_checkout_query(
        next_update(bot, "pre_checkout_query").pre_checkout_query.id, ok=True
    )
    result = done()
    assert result["status"] == "declined"
    assert result["declined"] and result["ok"] is True
    assert result["successful_payment"] is None
    assert bot.get_updates(long_polling_timeout=0) == []
    assert emu.stats(token)["payments_declined"] == 1
    shown = {m["message_id"]: m for m in emu.chat_state(token, ann.id)["messages"]}[mid]
    assert shown["invoice"]["error"] == "the payment provider declined the payment"


def test_allowed_updates_filters_pre_checkout_queries(bot, emu, token, ann):
    mid = invoice(emu, token, ann.id)["result"]["message_id"]
    bot.get_updates(allowed_updates=["message", "callback_query"], long_polling_timeout=0)
    started = time.monotonic()
    result = emu.pay(token, ann.id, mid)
    assert result["status"] == "timeout"
    assert result["pre_checkout_update_id"] is None
    assert time.monotonic() - started < 2  # nothing to wait for: the bot never gets it
    assert emu.stats(token)["updates_filtered"] == 1
    bot.get_updates(allowed_updates=["message", "pre_checkout_query"], long_polling_timeout=0)
    done = paying(emu, token, ann, mid)
    bot.answer_pre_checkout_query(
        next_update(bot, "pre_checkout_query").pre_checkout_query.id, ok=True
    )
    assert done()["status"] == "paid"


# --- redelivery --------------------------------------------------------------------------------


def _paid(bot, emu, token, ann) -> dict:
    mid = invoice(emu, token, ann.id)["result"]["message_id"]
    done = paying(emu, token, ann, mid)
    bot.answer_pre_checkout_query(
        next_update(bot, "pre_checkout_query").pre_checkout_query.id, ok=True
    )
    result = done()
    next_update(bot, "message")  # delivered and confirmed
    return result


def test_redeliver_gives_the_same_update_again_after_the_offset_passed_it(bot, emu, token, ann):
    result = _paid(bot, emu, token, ann)
    uid = result["successful_payment_update_id"]
    later = ann.send_text(token, "hello")
    assert [u.update_id for u in bot.get_updates(offset=uid + 1)] == [later]
    assert emu.redeliver(token, uid) == uid
    again = bot.get_updates(offset=later + 1, long_polling_timeout=0)
    assert [u.update_id for u in again] == [uid]
    paid = again[0].message.successful_payment
    assert (
        paid.telegram_payment_charge_id
        == result["successful_payment"]["telegram_payment_charge_id"]
    )
    # Confirmed like any update once the bot has been given it.
    assert bot.get_updates(offset=later + 1, long_polling_timeout=0) == []
    assert emu.stats(token)["updates_redelivered"] == 1


def test_redeliver_with_a_new_id(bot, emu, token, ann):
    result = _paid(bot, emu, token, ann)
    uid = result["successful_payment_update_id"]
    new = emu.redeliver(token, uid, same_id=False)
    assert new > uid
    again = bot.get_updates(offset=uid + 1, long_polling_timeout=0)
    assert [u.update_id for u in again] == [new]
    assert (
        again[0].message.successful_payment.telegram_payment_charge_id
        == (result["successful_payment"]["telegram_payment_charge_id"])
    )
    with pytest.raises(KeyError):
        emu.redeliver(token, 10**6)


def test_redelivery_reaches_a_webhook_too(emu, token, ann):
    got = []

    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        assert call(emu, token, "setWebhook", url=url)["ok"]
        uid = ann.send_text(token, "hi")
        deadline = time.monotonic() + 5
        while len(got) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        emu.redeliver(token, uid)
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [u["update_id"] for u in got] == [uid, uid]
        assert got[0] == got[1]
    finally:
        call(emu, token, "deleteWebhook")
        server.shutdown()
        server.server_close()


# --- the control API -------------------------------------------------------------------------


def test_the_control_api_pays_and_redelivers(bot, emu, token, ann):
    mid = invoice(emu, token, ann.id)["result"]["message_id"]
    with RemoteEmulator(emu.base_url) as remote:
        box = {}
        thread = threading.Thread(
            target=lambda: box.setdefault("r", remote.pay(token, ann.id, mid)), daemon=True
        )
        thread.start()
        query = next_update(bot, "pre_checkout_query").pre_checkout_query
        bot.answer_pre_checkout_query(query.id, ok=True)
        thread.join(15)
        result = box["r"]
        assert result["status"] == "paid"
        uid = result["successful_payment_update_id"]
        next_update(bot, "message")
        assert remote.redeliver(token, uid) == uid
        assert [u.update_id for u in bot.get_updates(offset=uid + 1)] == [uid]
        assert remote.checkouts(token)[0]["ok"] is True
        assert remote.checkout_percentiles(token)["count"] == 1
        with pytest.raises(Exception, match="no invoice"):
            remote.pay(token, ann.id, 999)
