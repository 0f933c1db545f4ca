"""The one codec for callback_data: a short prefix plus typed fields, at most 64 bytes.

Buttons are declared with `action()` (all of them in `fitclub.callbacks`); their data is built
(`MENU(screen="help")` -> "m:help") and parsed here, so no handler splits callback data by
hand. Anything that does not parse (garbage, an old version's button, a field out of range) is
a stale button: `parse()` returns None and the catch-all answers "no longer available". A
well-formed id still has to be checked against what the user may act on, in the query that
uses it.

A button of a guided flow's step is declared with `flow_step=True`: its data ends in the flow's
token (`v`), stamped by `fitclub.ui.show` when the screen goes out (`stamp`) and compared with
the flow's current token when it is pressed (`fitclub.access`), so a button of an earlier step
or an earlier run of the flow is stale. Screens build such data without a token (0, never a
flow's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

MAX_BYTES = 64
SEP = ":"
_BIGINT_MAX = 2**63 - 1


class Field:
    """One typed field of a callback: encode(value) -> text, parse(text) -> value or None."""

    def encode(self, value: Any) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        raise NotImplementedError


class Id(Field):
    """A database id: 1 to 2^63-1, digits only."""

    def encode(self, value: Any) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= _BIGINT_MAX:
            raise ValueError(f"not an id: {value!r}")
        return str(value)

    def parse(self, text: str) -> int | None:
        if not text.isascii() or not text.isdigit() or len(text) > 19 or text.startswith("0"):
            return None
        value = int(text)
        return value if 0 < value <= _BIGINT_MAX else None


class Choice(Field):
    """One word out of a fixed set."""

    def __init__(self, *words: str) -> None:
        self.words = frozenset(words)

    def encode(self, value: Any) -> str:
        if value not in self.words:
            raise ValueError(f"{value!r} is not one of {sorted(self.words)}")
        return value

    def parse(self, text: str) -> str | None:
        return text if text in self.words else None


class Day(Field):
    """A calendar date as YYYYMMDD."""

    def encode(self, value: Any) -> str:
        if not isinstance(value, date):
            raise ValueError(f"not a date: {value!r}")
        return value.strftime("%Y%m%d")

    def parse(self, text: str) -> date | None:
        if not re.fullmatch(r"\d{8}", text):
            return None
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None


class Number(Field):
    """A small whole number (a page, a count): 0 to `top`."""

    def __init__(self, top: int = 10_000) -> None:
        self.top = top

    def encode(self, value: Any) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self.top:
            raise ValueError(f"not a number in 0..{self.top}: {value!r}")
        return str(value)

    def parse(self, text: str) -> int | None:
        if not text.isascii() or not text.isdigit() or len(text) > len(str(self.top)):
            return None
        value = int(text)
        return value if value <= self.top else None


_ACTIONS: dict[str, Action] = {}


@dataclass(frozen=True)
class Action:
    """A kind of button: its prefix and named fields, in order."""

    prefix: str
    fields: tuple[tuple[str, Field], ...]
    #: A button of a flow's step: the last field is the flow's token (`TOKEN_FIELD`).
    flow_step: bool = False

    def __call__(self, **values: Any) -> str:
        """The callback_data for these field values (ValueError when it cannot be encoded);
        a step's token is 0 until `stamp` puts the flow's in."""
        if self.flow_step:
            values.setdefault(TOKEN_FIELD, 0)
        if set(values) != {name for name, _ in self.fields}:
            raise ValueError(f"{self.prefix}: fields are {[n for n, _ in self.fields]}")
        parts = [self.prefix] + [kind.encode(values[name]) for name, kind in self.fields]
        data = SEP.join(parts)
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    def parse(self, data: str | None) -> dict[str, Any] | None:
        """The field values of data if it is this action's, else None."""
        found = parse(data)
        return found[1] if found and found[0] is self else None

    def matches(self, **fixed: Any) -> Callable[[Any], bool]:
        """A filter for callback_query_handler: the press is this action's, well formed,
        and its fields equal `fixed` (`STAFF.matches(section="plans")`)."""
        def check(call: Any) -> bool:
            values = self.parse(getattr(call, "data", None))
            return values is not None and all(values.get(k) == v for k, v in fixed.items())

        return check


#: The field a step's button carries its flow's token in; tokens are 1..TOKEN_MAX.
TOKEN_FIELD = "v"  # noqa: S105 - a field name, not a secret
TOKEN_MAX = 999_999


def action(prefix: str, *, flow_step: bool = False, **fields: Field) -> Action:
    """Declare a kind of button; prefixes are unique. `flow_step=True`: a button of a flow's step,
    valid only while the flow is at the step that showed it."""
    if not re.fullmatch(r"[a-z][a-z0-9]{0,3}", prefix) or prefix in _ACTIONS:
        raise ValueError(f"bad or duplicate callback prefix {prefix!r}")
    if TOKEN_FIELD in fields:
        raise ValueError(f"{prefix}: the field name {TOKEN_FIELD!r} is the flow token's")
    if flow_step:
        fields[TOKEN_FIELD] = Number(TOKEN_MAX)
    declared = Action(prefix, tuple(fields.items()), flow_step)
    _ACTIONS[prefix] = declared
    return declared


def parse(data: str | None) -> tuple[Action, dict[str, Any]] | None:
    """(action, values) of well-formed callback data; None for anything else."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_BYTES:
        return None
    prefix, *parts = data.split(SEP)
    found = _ACTIONS.get(prefix)
    if found is None or len(parts) != len(found.fields):
        return None
    values = {}
    for (name, kind), text in zip(found.fields, parts, strict=True):
        value = kind.parse(text)
        if value is None:
            return None
        values[name] = value
    return found, values


def stamp(data: str, token: int | None) -> str:
    """A step button's data with the flow's token in (other data as it is); no flow leaves
    the token 0, so the press is stale."""
    found = parse(data)
    if found is None or not found[0].flow_step:
        return data
    found_action, values = found
    values[TOKEN_FIELD] = token or 0
    return found_action(**values)
