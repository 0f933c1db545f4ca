"""User-facing text: gettext catalogs (`<lang>/LC_MESSAGES/fitclub.po`) and locale formatting.

Messages are keyed (`msgid "menu_title"`), so code names a message and both catalogs hold the
words; translators open the `.po` files in any gettext tool. Plural messages carry
`msgid_plural` and one `msgstr[i]` per plural form of the language (Russian has three). Dates,
weekdays and prices are formatted for the locale with Babel, in the club's time zone and
currency, set once per process by `configure()`.

A date has one of the lengths of `DATE_LENGTHS`, the same pattern on every screen: "short"
('Sun 6 Dec', 'вс 6 дек.': weekday, day, month) for days near at hand (the timetable,
bookings, classes) and "long" ('6 Dec 2026', '6 дек. 2026 г.': day, month, year) for dates
that may lie in another year (memberships, freezes, notes, exports); a third, "compact"
('6 Dec', '6 дек.'), labels the weeks of the activity charts. `Texts.datetime` is the short
date with the time ('Sun 6 Dec, 18:30'). Code always names the length
(tests/unit/test_locales.py checks every call).
"""

from __future__ import annotations

import functools
import gettext
import html
import io
import string
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision

LANGUAGES = ("en", "ru")
DEFAULT = "en"
DOMAIN = "fitclub"
CATALOG_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Club:
    """What formatting needs to know about the club."""

    timezone: tzinfo
    currency: str


_club = Club(ZoneInfo("UTC"), "EUR")

#: The lengths of a date, as Babel patterns per language: every date on every screen is one.
DATE_LENGTHS: dict[str, dict[str, str]] = {
    "short": {"en": "EEE d MMM", "ru": "EEE d MMM"},  # Sun 6 Dec · вс 6 дек.
    "long": {"en": "d MMM y", "ru": "d MMM y\u00a0'г'."},  # 6 Dec 2026 · 6 дек. 2026 г.
    # A chart's axis and its caption: a week by its first day, where a weekday tells nothing.
    "compact": {"en": "d MMM", "ru": "d MMM"},  # 6 Dec · 6 дек.
}


def configure(*, timezone: str, currency: str) -> None:
    """Set the club's time zone and currency for every Texts of this process (app factory)."""
    global _club  # noqa: PLW0603 - one process, one club: set once at start-up
    _club = Club(ZoneInfo(timezone), currency)


def club() -> Club:
    """The club's formatting settings."""
    return _club


#: Names of the zone that is UTC all year ("Etc/UTC" is what a Debian machine calls it).
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal",
                        "Zulu", "Etc/Zulu", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0",
                        "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich", "Etc/Greenwich"})


def zone_name(timezone: tzinfo | None = None) -> str:
    """The club's time zone (or `timezone`) as every screen names it: its IANA name
    ('Europe/Berlin'), 'UTC' for any name of UTC."""
    zone = _club.timezone if timezone is None else timezone
    key = getattr(zone, "key", None) or zone.tzname(None) or "UTC"
    return "UTC" if key in _UTC_NAMES else key


def language_of(code: str | None) -> str:
    """Our language for a Telegram language_code ('ru-RU' -> 'ru'; unknown -> English)."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT


def catalog_path(lang: str) -> Path:
    """The .po file of a language."""
    return CATALOG_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> gettext.GNUTranslations:
    """The compiled catalog of a language (compiled in memory from its .po, once)."""
    with catalog_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    compiled = gettext.GNUTranslations(buf)
    if lang != DEFAULT:
        compiled.add_fallback(translations(DEFAULT))
    return compiled


def esc(value: object) -> str:
    """Text for Telegram's HTML parse mode: <, > and & escaped (the one escaping helper)."""
    return html.escape(str(value), quote=False)


def other_language(lang: str) -> str:
    """The bot's other language ('en' -> 'ru', 'ru' -> 'en')."""
    return next(code for code in LANGUAGES if code != lang)


class Localized(str):
    """Club content typed by an admin (a plan's name, a class type's name or description).

    As a str it is the text as typed, in `lang`; `translation` is the same in the other
    language (None when not given). Messages show it in the reader's language through
    `shown()`. Queries return such a value as `{lang, text, translation}` (the `*_i18n`
    columns); a row field declared `Localized` is built from it (`fitclub.db.rows`).
    """

    lang: str
    translation: str | None

    def __new__(cls, text: str, lang: str = DEFAULT,
                translation: str | None = None) -> Localized:
        self = super().__new__(cls, text)
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.translation = translation or None
        return self

    @classmethod
    def from_db(cls, value: object) -> Localized | None:
        """A `{lang, text, translation}` array from the database (a plain text is taken as
        typed in the default language; None stays None)."""
        if value is None or isinstance(value, Localized):
            return value
        if isinstance(value, list | tuple):
            lang, text, translation = value
            return cls(text or "", lang, translation)
        return cls(str(value))

    def __reduce__(self) -> tuple:
        return (Localized, (str(self), self.lang, self.translation))

    def given_in(self, lang: str) -> str | None:
        """The text exactly as given in `lang`, None when not given in it (no fallback: for
        the admins who edit it; readers get `shown`)."""
        text = str(self) if lang == self.lang else self.translation
        return text or None


def shown(value: object, lang: str) -> str:
    """The text to show a reader of `lang`: the one place that decides.

    Club content (`Localized`) in the reader's language when given, else in the other
    language; any other value as it is.
    """
    if not isinstance(value, Localized):
        return "" if value is None else str(value)
    typed = str(value)
    own, other = (typed, value.translation) if value.lang == lang else (value.translation,
                                                                       typed)
    return own or other or ""


class _Escaped(string.Formatter):
    """str.format that HTML-escapes every value unless it is Raw; club content (`Localized`)
    in the reader's language."""

    def __init__(self, lang: str = DEFAULT) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        if isinstance(value, Localized):
            value = shown(value, self.lang)
        if isinstance(value, Raw):
            return format(str(value), format_spec)
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return format(value, format_spec)
        return esc(format(value, format_spec) if format_spec else value)


class Raw(str):
    """Markup that is already safe (another message, a formatted list): not escaped again."""

    __slots__ = ()


class Texts:
    """One language's messages and formats; handlers get it as `ctx.texts`."""

    def __init__(self, lang: str | None) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._tr = translations(self.lang)
        self._formatter = _Escaped(self.lang)
        self.locale = Locale.parse(self.lang)

    def __call__(self, key: str, **values: object) -> Raw:
        """The message `key` with values filled in (values are HTML-escaped)."""
        return Raw(self._formatter.format(self._tr.gettext(key), **values))

    def plural(self, key: str, n: int, **values: object) -> Raw:
        """The plural message `key` in the form for n (n is available as {n})."""
        return Raw(self._formatter.format(self._tr.ngettext(key, key, n), n=n, **values))

    def content(self, value: object) -> str:
        """Club content (a plan's or class type's name, a description) in this language,
        else in the other (for a button's label or an f-string; messages do it themselves)."""
        return shown(value, self.lang)

    # -- formats -------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """A moment in the club's time zone."""
        return moment.astimezone(_club.timezone)

    def date(self, day: date | datetime, length: str = "long") -> str:
        """A date, "short" ('Mon 23 Nov', 'пн 23 нояб.'), "long" ('23 Nov 2026',
        '23 нояб. 2026 г.') or "compact" ('23 Nov', for charts); a moment is taken on its day
        in the club's time zone."""
        if isinstance(day, datetime):
            day = self.local(day).date()
        return format_date(day, DATE_LENGTHS[length][self.lang], locale=self.locale)

    def time(self, moment: datetime) -> str:
        """Hours and minutes in the club's time zone ('18:30')."""
        return format_time(self.local(moment), "HH:mm", locale=self.locale)

    def datetime(self, moment: datetime) -> str:
        """The short date and the time in the club's time zone ('Mon 23 Nov, 18:30')."""
        return f"{self.date(moment, 'short')}, {self.time(moment)}"

    def money(self, minor: int) -> str:
        """An amount in minor units (cents) in the club's currency ('€49.00', '49,00 €')."""
        digits = get_currency_precision(_club.currency)
        amount = Decimal(minor).scaleb(-digits)
        return format_currency(amount, _club.currency, locale=self.locale)

    @property
    def first_week_day(self) -> int:
        """0 = Monday ... 6 = Sunday, as the locale starts its week."""
        return self.locale.first_week_day


def t(lang: str | None, key: str, **values: object) -> str:
    """One message in one language (for code that has no context, such as the dispatcher)."""
    return Texts(lang)(key, **values)
