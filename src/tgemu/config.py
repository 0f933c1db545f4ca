"""Limits and fault injection settings, changeable while the emulator runs."""

import dataclasses
import math
import time

FAULT_KINDS = ("5xx", "429", "slow", "drop", "lost")
# Methods that receive or manage updates are spared from faults unless named in fault_methods:
# fault injection is about the bot's outbound calls.
_SPARED = {"getupdates", "setwebhook", "deletewebhook", "getwebhookinfo", "getme"}


@dataclasses.dataclass
class Config:
    """Every knob of limits and faults; None or 0 for a rate turns that limit off."""

    global_rate: float | None = 30.0  # outbound messages per second per bot token
    global_burst: float | None = None  # bucket size; default one second's worth
    per_chat_rate: float | None = 1.0  # outbound messages per second per chat
    per_chat_burst: float = 3  # messages a chat may take at once
    per_group_per_minute: float | None = 20.0  # outbound messages per minute per group/channel
    fault_rate: float = 0.0  # share of eligible calls that get a fault
    fault_kinds: tuple = ("5xx",)  # any of "5xx", "429", "slow", "drop", "lost"
    fault_methods: tuple | None = None  # None: every method except update plumbing
    slow_seconds: float = 1.0  # delay of a "slow" fault
    fault_retry_after: int = 1  # retry_after of an injected 429
    callback_query_timeout: float = 15.0  # answerCallbackQuery later than this is "too old"
    pre_checkout_timeout: float = 10.0  # a checkout fails without answerPreCheckoutQuery by then
    webhook_retry_base: float = 1.0  # first webhook retry delay, doubled each time
    webhook_retry_max: float = 60.0
    webhook_timeout: float = 10.0  # seconds to wait for the bot's webhook answer
    seed: int | None = None  # seed of the fault dice, for repeatable runs

    def validate(self):
        """Raise ValueError naming the setting that is out of range."""
        for kind in self.fault_kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"fault_kinds: unknown kind {kind!r}; use {FAULT_KINDS}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        if not self.pre_checkout_timeout > 0:
            raise ValueError("pre_checkout_timeout must be positive")
        if self.per_chat_burst < 1:
            raise ValueError("per_chat_burst must be at least 1")

    def faults_apply_to(self, method_lower: str) -> bool:
        """Whether a call of this method may get an injected fault."""
        if self.fault_methods is None:
            return method_lower not in _SPARED
        return method_lower in {m.lower() for m in self.fault_methods}

    def as_dict(self) -> dict:
        """Plain JSON-friendly copy."""
        out = dataclasses.asdict(self)
        out["fault_kinds"] = list(self.fault_kinds)
        out["fault_methods"] = None if self.fault_methods is None else list(self.fault_methods)
        return out

    def updated(self, **changes) -> "Config":
        """A validated copy with changes applied; unknown names raise TypeError."""
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - fields
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        for key in ("fault_kinds", "fault_methods"):
            if isinstance(changes.get(key), (list, str)):
                value = changes[key]
                changes[key] = (value,) if isinstance(value, str) else tuple(value)
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new


class TokenBucket:
    """Classic token bucket; take() answers how long to wait when empty."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float):
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self, now: float) -> float:
        """Take one token and return 0, or return the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def retry_after_seconds(wait: float) -> int:
    """Telegram's retry_after is a whole number of seconds, at least 1."""
    return max(1, math.ceil(wait))
