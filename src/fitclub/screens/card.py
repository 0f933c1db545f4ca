"""My card: the caption and buttons under the QR code."""

from __future__ import annotations

from fitclub.callbacks import CARD_REFRESH
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.services.card import Card


def card(tx: Texts, member_name: str, issued: Card) -> Screen:
    """The caption (short code, valid until) and the Refresh button."""
    code = f"{issued.code[:3]} {issued.code[3:]}"
    return Screen(tx("card_caption", name=member_name, code=code,
                     until=tx.time(issued.expires_at)),
                  inline([[(tx("card_refresh"), CARD_REFRESH())]]))


def for_staff(tx: Texts) -> Screen:
    """A member opened a card link: it is the door's, not theirs."""
    return Screen(tx("card_link_for_staff"))
