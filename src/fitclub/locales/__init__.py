"""User-facing text in English and Russian; `t(lang, key, **values)` picks one."""

from __future__ import annotations

import html

from fitclub.locales import en, ru

CATALOGS = {"en": en.TEXT, "ru": ru.TEXT}
DEFAULT = "en"


def language_of(code: str | None) -> str:
    """Our language for a Telegram language_code ('ru-RU' -> 'ru'; unknown -> English)."""
    base = (code or "").split("-")[0].lower()
    return base if base in CATALOGS else DEFAULT


def t(lang: str | None, key: str, **values: object) -> str:
    """The text for key in lang (English when missing); values are HTML-escaped."""
    catalog = CATALOGS.get(lang or DEFAULT, CATALOGS[DEFAULT])
    template = catalog.get(key) or CATALOGS[DEFAULT][key]
    return template.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})
