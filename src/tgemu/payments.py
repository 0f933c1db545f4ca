"""Telegram Payments: sendInvoice, the checkout (pre_checkout_query, answerPreCheckoutQuery,
the provider's charge) and the successful_payment message.

The checkout is what happens when a user presses an invoice's Pay button: Telegram sends the
bot a pre_checkout_query and waits up to 10 seconds for answerPreCheckoutQuery; without an
answer, or with ok=false, the payment fails (the user sees the bot's error_message). With
ok=true the provider charges the card, and the bot gets a `message` with `successful_payment`
in the user's chat. Checkout state lives in Bot.checkouts (guarded by the bot's lock); every
answer's time is kept for percentiles (Emulator.checkouts, checkout_percentiles).
"""

import secrets
import time

from tgemu.errors import bad_request
from tgemu.markup import load_json, parse_reply_markup
from tgemu.messages import QUERY_TOO_OLD
from tgemu.model import Chat, to_bool

# A provider token ending so always declines the charge (a card the bank refuses).
DECLINING_TOKEN_SUFFIX = ":DECLINE"  # noqa: S105 - a marker, not a secret
STARS = "XTR"
# td's check_currency_amount: |amount| at most 9,999,999,999,999 minor units.
_MAX_AMOUNT = 9_999_999_999_999
# Currencies Telegram's payments accept, with the digits past the decimal point (ISO 4217
# "exp"), as in https://core.telegram.org/bots/payments/currencies.json.


def _codes(text: str) -> list[str]:
    return text.split()


CURRENCY_EXP = {
    **dict.fromkeys(
        _codes(
            "AED AFN ALL AMD ARS AUD AZN BAM BDT BGN BND BOB BRL BYN CAD CHF CNY COP CRC CZK DKK "
            "DOP DZD EGP ETB EUR GBP GEL GHS GTQ HKD HNL HRK HUF IDR ILS INR IRR JMD KES KGS "
            "KZT LBP LKR MAD MDL MNT MUR MVR MXN MYR MZN NGN NIO NOK NPR NZD PAB PEN PHP PKR "
            "PLN QAR RON RSD RUB SAR SEK SGD SYP THB TJS TRY TTD TWD TZS UAH USD UYU UZS VND "
            "YER ZAR"
        ),
        2,
    ),
    **dict.fromkeys(_codes("CLP ISK JPY KRW PYG UGX"), 0),
    **dict.fromkeys(_codes("BHD JOD KWD OMR"), 3),
    STARS: 0,
}
# Telegram accepts totals between about US$1 and US$10,000; in a currency's minor units,
# rounded (tgemu's approximation of currencies.json's min_amount / max_amount).
_USD_RATE = {
    "USD": 1,
    "EUR": 0.92,
    "GBP": 0.79,
    "CHF": 0.88,
    "RUB": 90,
    "UAH": 40,
    "KZT": 470,
    "UZS": 12_600,
    "BYN": 3.3,
    "PLN": 4,
    "CZK": 23,
    "SEK": 10.5,
    "NOK": 10.7,
    "DKK": 6.9,
    "TRY": 32,
    "INR": 83,
    "BRL": 5,
    "CAD": 1.36,
    "AUD": 1.5,
    "JPY": 150,
    "CNY": 7.2,
    "GEL": 2.7,
    "AMD": 390,
    "AZN": 1.7,
    "ILS": 3.7,
    "AED": 3.67,
    "KRW": 1_350,
}
STAR_LIMITS = (1, 10_000)  # a Stars invoice's total, in stars


def currency_limits(currency: str) -> tuple[int, int]:
    """(min, max) total_amount Telegram accepts, in the currency's minor units."""
    if currency == STARS:
        return STAR_LIMITS
    scale = 10 ** CURRENCY_EXP[currency]
    rate = _USD_RATE.get(currency)
    if rate is None:  # unknown rate: any positive total up to td's own bound
        return 1, _MAX_AMOUNT
    return max(1, round(rate * scale)), round(rate * 10_000 * scale)


def format_price(amount: int, currency: str) -> str:
    """A total as the Pay button shows it: '25.00 EUR', '150 XTR'."""
    exp = CURRENCY_EXP.get(currency, 2)
    if exp == 0:
        return f"{amount} {currency}"
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d} {currency}"


def _required(p, name: str):
    """A required parameter as given (a JSON body may carry a list), never empty."""
    value = p.get(name)
    if value is None or value == "":
        raise bad_request(f'parameter "{name}" is required')
    return value if name == "prices" else str(value)


def _amount(value, field: str) -> int:
    """An integer amount as td reads a JSON Number (a bool or fraction is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f'Field "{field}" must be a valid Number')
    try:
        return int(value)
    except ValueError:
        raise ValueError(f'Field "{field}" must be a valid Number') from None


def parse_prices(value) -> list[dict]:
    """sendInvoice's prices: a JSON array of LabeledPrice, worded as the Bot API words it."""
    prices = load_json(value, "can't parse prices JSON object")
    if not isinstance(prices, list):
        raise bad_request("expected an Array of labeled prices")
    out = []
    for price in prices:
        try:
            if not isinstance(price, dict):
                raise ValueError("LabeledPrice must be an Object")
            if "label" not in price:
                raise ValueError('Can\'t find field "label"')
            if not isinstance(price["label"], str):
                raise ValueError('Field "label" must be of type String')
            if not price["label"]:
                raise ValueError("LabeledPrice label must be non-empty")
            if "amount" not in price:
                raise ValueError('Can\'t find field "amount"')
            amount = _amount(price["amount"], "amount")
        except ValueError as exc:
            raise bad_request(f"can't parse labeled price: {exc}") from None
        if abs(amount) > _MAX_AMOUNT:
            raise bad_request("too big amount of the currency specified")
        out.append({"label": price["label"], "amount": amount})
    return out


def _tips(p) -> tuple[int, list[int]]:
    raw_max = p.get("max_tip_amount")
    try:
        max_tip = 0 if raw_max in (None, "") else _amount(raw_max, "max_tip_amount")
    except ValueError:
        raise bad_request("invalid max_tip_amount of the currency specified") from None
    if max_tip < 0 or max_tip > _MAX_AMOUNT:
        raise bad_request("invalid max_tip_amount of the currency specified")
    raw = p.get("suggested_tip_amounts")
    suggested = [] if raw in (None, "") else load_json(raw, "can't parse suggested tip amounts")
    if not isinstance(suggested, list):
        raise bad_request("expected an Array of suggested tip amounts")
    tips = []
    for tip in suggested:
        try:
            tips.append(_amount(tip, "suggested_tip_amounts"))
        except ValueError:
            raise bad_request("can't parse suggested tip amount: expected a Number") from None
    for tip in tips:
        if tip <= 0:
            raise bad_request("suggested tip amount must be positive")
        if tip > max_tip:
            raise bad_request("suggested tip amount can't be bigger than max_tip_amount")
    if len(tips) > 4:
        raise bad_request("there can be at most 4 suggested tip amounts")
    return max_tip, tips


def _pay_markup(p, total: int, currency: str) -> dict:
    """The invoice's inline keyboard: the bot's (its first button a Pay button) or Telegram's
    own single 'Pay <total>' button."""
    markup = parse_reply_markup(p.get("reply_markup"))
    if markup is None or (markup.get("inline_keyboard") == []):
        button = {"text": f"Pay {format_price(total, currency)}", "pay": True}
        return {"inline_keyboard": [[button]]}
    if "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    rows = markup["inline_keyboard"]
    first = rows[0][0] if rows and rows[0] else None
    if first is None or not first.get("pay"):
        raise bad_request("BUTTON_TYPE_INVALID")
    return markup


class Checkout:
    """One press of Pay: its pre_checkout_query and what became of it."""

    __slots__ = (
        "answer_seconds",
        "answered",
        "chat_id",
        "created",
        "error_message",
        "expired",
        "id",
        "message_id",
        "ok",
        "update_id",
        "user_id",
    )

    def __init__(self, qid, chat_id, user_id, message_id):
        self.id = qid
        self.chat_id = chat_id
        self.user_id = user_id
        self.message_id = message_id
        self.created = time.monotonic()
        self.update_id = None
        self.answered = None  # monotonic time of answerPreCheckoutQuery
        self.answer_seconds = None
        self.ok = None
        self.error_message = None
        self.expired = False

    def as_dict(self) -> dict:
        return {
            "pre_checkout_query_id": self.id,
            "user_id": self.user_id,
            "message_id": self.message_id,
            "update_id": self.update_id,
            "answered": self.answered is not None,
            "ok": self.ok,
            "error_message": self.error_message,
            "answer_seconds": self.answer_seconds,
            "timed_out": self.expired and self.answered is None,
        }


class PaymentsMixin:
    """The payments half of Bot. Needs self.invoices ((chat_id, message_id) -> invoice
    details the bot gave) and self.checkouts (query id -> Checkout)."""

    def api_sendinvoice(self, p):
        with self.lock:
            chat = self._target_chat(p)
            title = _required(p, "title")
            description = _required(p, "description")
            payload = _required(p, "payload")
            currency = _required(p, "currency")
            prices = parse_prices(_required(p, "prices"))
            token = str(p.get("provider_token") or "")
            if (currency == STARS) == bool(token):
                # Stars take no provider; every other currency needs one (from @BotFather).
                raise bad_request("PAYMENT_PROVIDER_INVALID")
            if currency not in CURRENCY_EXP:
                raise bad_request("CURRENCY_INVALID")
            max_tip, tips = _tips(p)
            total = sum(price["amount"] for price in prices)
            if total <= 0:
                raise bad_request("total price must be positive")
            if total > _MAX_AMOUNT:
                raise bad_request("total price is too big")
            if currency == STARS and (len(prices) != 1 or max_tip or tips):
                raise bad_request("STARS_INVOICE_INVALID")
            if len(title) > 32:
                raise bad_request("TITLE_INVALID")
            if len(description) > 255:
                raise bad_request("DESCRIPTION_INVALID")
            if len(payload.encode("utf-8")) > 128:
                raise bad_request("INVOICE_PAYLOAD_INVALID")
            if p.get("provider_data") not in (None, ""):
                data = p.get("provider_data")
                if isinstance(data, str):
                    load_json(data, "DATA_JSON_INVALID")
            low, high = currency_limits(currency)
            if not low <= total <= high:
                raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
            markup = _pay_markup(p, total, currency)
            reply_to = self._reply_to(chat, p)
            self._rate_limit(chat)
            invoice = {
                "title": title,
                "description": description,
                "start_parameter": str(p.get("start_parameter") or ""),
                "currency": currency,
                "total_amount": total,
            }
            content = {"invoice": invoice}
            if reply_to:
                content["reply_to_message"] = reply_to
            msg = self._new_bot_message(chat, content, markup, {"invoice": invoice})
            self.invoices[(chat.id, msg["message_id"])] = {
                "payload": payload,
                "provider_token": token,
                "prices": prices,
                "max_tip_amount": max_tip,
                "suggested_tip_amounts": tips,
                "need_name": to_bool(p.get("need_name")),
                "need_phone_number": to_bool(p.get("need_phone_number")),
                "need_email": to_bool(p.get("need_email")),
                "paid_by": None,  # the successful_payment's message_id once paid
                "last_error": None,
            }
            self.counts["invoices"] += 1
            return msg

    def api_answerprecheckoutquery(self, p):
        qid = str(p.get("pre_checkout_query_id") or "")
        ok = to_bool(p.get("ok"))
        error = str(p.get("error_message") or "")
        if not ok and not error:
            raise bad_request('parameter "error_message" is required')
        with self.lock:
            checkout = self.checkouts.get(qid)
            now = time.monotonic()
            if checkout is None or checkout.answered is not None or checkout.expired:
                raise bad_request(QUERY_TOO_OLD)
            if now - checkout.created > self.emu.config.pre_checkout_timeout:
                raise bad_request(QUERY_TOO_OLD)
            checkout.answered = now
            checkout.answer_seconds = now - checkout.created
            checkout.ok = ok
            checkout.error_message = None if ok else error
            rec = self.records.get(checkout.update_id)
            if rec is not None and rec.answered is None and rec.available is not None:
                rec.answered = now
                self.counts["updates_answered"] += 1
            chat = self.chats[checkout.chat_id]
            chat.events.append(
                {
                    "kind": "pre_checkout_answer",
                    "from": "bot",
                    "pre_checkout_query_id": qid,
                    "message_id": checkout.message_id,
                    "ok": ok,
                    "error_message": checkout.error_message,
                    "seconds": checkout.answer_seconds,
                    "time": time.time(),
                }
            )
            self.counts["pre_checkout_answers"] += 1
            chat.changed()
            return True

    # --- what the user does (called by the emulator with the lock held) -------------------

    def user_pay(self, chat: Chat, message_id: int, decline: bool, tip: int) -> dict:
        """The user presses Pay on an invoice and confirms: the whole checkout, waiting on the
        chat's condition (the lock is released meanwhile) for the bot's answer."""
        invoice = self._payable(chat, message_id)
        details = self.invoices[(chat.id, message_id)]
        tip = int(tip)
        if tip < 0 or tip > details["max_tip_amount"]:
            raise ValueError(f"tip {tip} is outside 0..{details['max_tip_amount']}")
        total = invoice["total_amount"] + tip
        currency = invoice["currency"]
        user = chat.user
        checkout = Checkout(str(secrets.randbits(63)), chat.id, user.id, message_id)
        self.checkouts[checkout.id] = checkout
        query = {
            "id": checkout.id,
            "from": user.as_user(),
            "currency": currency,
            "total_amount": total,
            "invoice_payload": details["payload"],
        }
        checkout.update_id = self.push_update(chat, "pre_checkout_query", query, False)
        chat.events.append(
            {
                "kind": "pre_checkout",
                "from": "user",
                "message_id": message_id,
                "pre_checkout_query_id": checkout.id,
                "update_id": checkout.update_id,
                "total_amount": total,
                "currency": currency,
                "time": time.time(),
            }
        )
        chat.changed()
        result = {
            "status": None,
            "pre_checkout_query_id": checkout.id,
            "pre_checkout_update_id": checkout.update_id,
            "invoice_message_id": message_id,
            "currency": currency,
            "total_amount": total,
            "answered": False,
            "ok": None,
            "error_message": None,
            "answer_seconds": None,
            "timed_out": False,
            "declined": False,
            "successful_payment": None,
            "successful_payment_update_id": None,
            "successful_payment_message_id": None,
        }
        if checkout.update_id is not None:
            deadline = checkout.created + self.emu.config.pre_checkout_timeout
            while checkout.answered is None and not self.emu.stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                chat.cv.wait(remaining)
        if checkout.answered is None:
            # Filtered by allowed_updates, or no answer in time: Telegram gives up.
            checkout.expired = True
            self.counts["checkouts_timed_out"] += 1
            return self._checkout_failed(chat, details, result, "timeout", None)
        result.update(
            answered=True,
            ok=checkout.ok,
            error_message=checkout.error_message,
            answer_seconds=checkout.answer_seconds,
        )
        if not checkout.ok:
            self.counts["checkouts_refused"] += 1
            return self._checkout_failed(chat, details, result, "refused", checkout.error_message)
        if decline or details["provider_token"].endswith(DECLINING_TOKEN_SUFFIX):
            self.counts["payments_declined"] += 1
            result["declined"] = True
            return self._checkout_failed(chat, details, result, "declined", None)
        paid = {
            "currency": currency,
            "total_amount": total,
            "invoice_payload": details["payload"],
            "telegram_payment_charge_id": f"tgemu_{secrets.token_hex(12)}",
            "provider_payment_charge_id": (
                "" if currency == STARS else f"prov_{secrets.token_hex(10)}"
            ),
        }
        uid = self.user_message(chat, {"successful_payment": paid})
        mid = chat.next_message_id - 1
        details["paid_by"] = mid
        details["last_error"] = None
        self.counts["payments"] += 1
        chat.changed()
        result.update(
            status="paid",
            successful_payment=paid,
            successful_payment_update_id=uid,
            successful_payment_message_id=mid,
        )
        return result

    def _payable(self, chat: Chat, message_id: int) -> dict:
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted or not msg.from_bot or "invoice" not in msg.data:
            raise LookupError(f"no invoice {message_id} from the bot in chat {chat.id}")
        if not chat.private:
            raise RuntimeError("tgemu pays invoices in private chats only")
        if chat.blocked:
            raise RuntimeError(f"user {chat.id} has blocked the bot; unblock first")
        if self.invoices[(chat.id, message_id)]["paid_by"] is not None:
            raise RuntimeError(f"invoice {message_id} is paid already")
        return msg.data["invoice"]

    def _checkout_failed(self, chat, details, result, status, error) -> dict:
        reasons = {
            "timeout": "the bot did not answer the pre-checkout query in time",
            "declined": "the payment provider declined the payment",
            "refused": error,
        }
        details["last_error"] = reasons[status]
        result["status"] = status
        result["timed_out"] = status == "timeout"
        chat.events.append(
            {
                "kind": "checkout_failed",
                "from": "user",
                "message_id": result["invoice_message_id"],
                "reason": status,
                "error_message": reasons[status],
                "time": time.time(),
            }
        )
        chat.changed()
        return result

    def redeliver(self, update_id: int, same_id: bool = True) -> int:
        """Queue a delivered update's payload again (lock held). With same_id it keeps its
        update_id, as Telegram's redelivery does, and is delivered even though the bot's
        offset has passed it; otherwise it gets the bot's next id."""
        rec = self.records.get(int(update_id))
        if rec is None:
            raise KeyError(f"no update {update_id}")
        body = {k: v for k, v in rec.payload.items() if k != "update_id"}
        if not same_id:
            return self._queue(rec.type, body, rec.chat_id, False)
        again = type(rec)(rec.update_id, rec.type, dict(rec.payload), rec.chat_id, False)
        again.redelivered = True
        self.pending.appendleft(again)
        self.redeliveries += 1
        self.counts["updates_redelivered"] += 1
        self.updates_cv.notify_all()
        return rec.update_id
