"""The message catalogs: complete in both languages, same placeholders, right plural forms,
and every text the handlers and screens show comes from them."""

from __future__ import annotations

import ast
import functools
import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from fitclub.locales import DATE_LENGTHS, LANGUAGES, Texts, catalog_path, language_of

SRC = Path(__file__).resolve().parents[2] / "src" / "fitclub"


def _catalog(lang: str) -> dict[str, tuple[str, ...]]:
    with catalog_path(lang).open("rb") as fh:
        cat = read_po(fh, locale=lang)
    out = {}
    for msg in cat:
        if not msg.id:
            continue
        key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
        out[key] = tuple(msg.string) if isinstance(msg.string, tuple) else (msg.string,)
    return out


CATALOGS = {lang: _catalog(lang) for lang in LANGUAGES}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_exists_in_every_language_and_is_translated():
    keys = {lang: set(cat) for lang, cat in CATALOGS.items()}
    assert keys["en"] == keys["ru"], (
        f"only in en: {sorted(keys['en'] - keys['ru'])}; "
        f"only in ru: {sorted(keys['ru'] - keys['en'])}")
    for lang, cat in CATALOGS.items():
        empty = [k for k, forms in cat.items() if not all(f.strip() for f in forms)]
        assert not empty, f"{lang}: untranslated {empty}"


def test_placeholders_are_the_same_in_every_language_and_form():
    for key, en_forms in CATALOGS["en"].items():
        expected = _placeholders(en_forms[0])
        for lang, cat in CATALOGS.items():
            for form in cat[key]:
                assert _placeholders(form) == expected, f"{lang} {key}: {form!r}"


def test_plural_messages_have_every_form_of_the_language():
    counts = {"en": 2, "ru": 3}
    plural_keys = {k for k, forms in CATALOGS["en"].items() if len(forms) > 1}
    assert plural_keys, "no plural messages found at all"
    for lang, n in counts.items():
        for key in plural_keys:
            assert len(CATALOGS[lang][key]) == n, f"{lang} {key}"


@pytest.mark.parametrize(("n", "word"), [(1, "посещение"), (2, "посещения"), (5, "посещений"),
                                         (11, "посещений"), (21, "посещение"),
                                         (22, "посещения")])
def test_russian_plurals(n, word):
    assert Texts("ru").plural("plan_visits", n) == f"{n} {word}"


@pytest.mark.parametrize(("n", "text"), [(1, "1 day"), (2, "2 days"), (21, "21 days")])
def test_english_plurals(n, text):
    assert Texts("en").plural("plan_days", n) == text


def test_values_are_escaped_and_dates_and_prices_follow_the_locale():
    assert Texts("en")("menu_title", name="<b>&").startswith("<b>FitClub</b> · &lt;b&gt;&amp;")
    assert Texts("ru").date(date(2026, 11, 23), "short") == "пн 23 нояб."
    assert Texts("en").date(date(2026, 11, 23), "short") == "Mon 23 Nov"
    assert Texts("en").money(4900) == "€49.00"
    assert Texts("ru").money(4900) == "49,00\xa0€"


@pytest.mark.parametrize(("lang", "short", "long", "compact", "moment"), [
    ("en", "Sun 6 Dec", "6 Dec 2026", "6 Dec", "Sun 6 Dec, 18:30"),
    ("ru", "вс 6 дек.", "6 дек. 2026\u00a0г.", "6 дек.", "вс 6 дек., 18:30"),
])
def test_a_date_has_one_pattern_per_length_in_each_language(lang, short, long, compact,
                                                            moment):
    """'Sun 6 Dec', '6 Dec 2026' (and '6 Dec' on charts): never Babel's 'Dec 6, 2026'."""
    tx = Texts(lang)
    assert tx.date(date(2026, 12, 6), "short") == short
    assert tx.date(date(2026, 12, 6), "long") == long
    assert tx.date(date(2026, 12, 6), "compact") == compact
    assert tx.date(datetime(2026, 12, 6, 17, 30, tzinfo=UTC), "long") == long
    assert tx.datetime(datetime(2026, 12, 6, 18, 30, tzinfo=UTC)) == moment
    assert set(DATE_LENGTHS) == {"short", "long", "compact"}
    with pytest.raises(KeyError):
        tx.date(date(2026, 12, 6), "medium")


def _date_calls() -> list[tuple[str, ast.Call]]:
    """Every `<texts>.date(...)` call with arguments in src/ (a datetime's `.date()` has none)."""
    calls = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "date" and (node.args or node.keywords)):
                calls.append((f"{path.relative_to(SRC)}:{node.lineno}", node))
    return calls


def test_every_date_in_the_code_names_one_of_the_lengths():
    """`tx.date(day, "short")` or `tx.date(day, "long")`: no Babel style ("medium"), no old
    name ("day", "weekday") and no default, so every screen writes a date the same way."""
    calls = _date_calls()
    assert len(calls) > 20, "the scan found too few date calls"
    bad = [f"{where}: {ast.unparse(call)}" for where, call in calls
           if len(call.args) != 2 or call.keywords
           or not isinstance(call.args[1], ast.Constant) or call.args[1].value not in DATE_LENGTHS]
    assert bad == []


def test_no_date_is_formatted_outside_the_locales():
    """Babel's date functions and strftime with month or weekday names are the locales' own."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent.name == "locales":
            continue
        text = path.read_text()
        for name in ("format_date", "format_datetime", "format_skeleton"):
            if re.search(rf"\b{name}\b", text):
                offenders.append(f"{path.relative_to(SRC)}: {name}")
        if re.search(r"strftime\([^)]*%[aAbB]", text):
            offenders.append(f"{path.relative_to(SRC)}: strftime with names")
    assert offenders == []


@pytest.mark.parametrize(("code", "lang"), [("ru", "ru"), ("ru-RU", "ru"), ("en-US", "en"),
                                            ("de", "en"), (None, "en"), ("", "en")])
def test_language_of_telegram_codes(code, lang):
    assert language_of(code) == lang


def _code_files() -> list[Path]:
    return sorted([*(SRC / "handlers").glob("*.py"), *(SRC / "screens").glob("*.py"),
                   SRC / "ui.py", SRC / "commands.py"])


def test_every_message_key_the_code_uses_exists():
    used = set()
    pattern = re.compile(r'(?:tx|texts|ctx\.texts)(?:\.plural)?\(\s*f?"([a-z0-9_{}.]+)"')
    for path in [*_code_files(), *SRC.rglob("*.py")]:
        used |= set(pattern.findall(path.read_text()))
    assert used, "the pattern found no message keys at all"
    static = {k for k in used if "{" not in k}
    assert sorted(static - set(CATALOGS["en"])) == []


def _reads_as_text(value: str) -> bool:
    """Words a person reads: spaces between words, or letters beyond ASCII (parse modes,
    content types, method names and patterns are single ASCII tokens)."""
    return bool(re.search(r"\w\s+\w", value)) or any(
        ch.isalpha() and not ch.isascii() for ch in value)


def test_handlers_and_screens_show_no_text_of_their_own():
    """Any literal with spaces or non-ASCII letters in handlers/screens is text a user would
    read: it must come from the catalogs instead (docstrings and log calls aside)."""
    offenders = []
    for path in _code_files():
        tree = ast.parse(path.read_text())
        skip = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.Module | ast.ClassDef) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    skip.add(id(first.value))
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "log"):
                skip |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in skip and _reads_as_text(node.value)):
                offenders.append(f"{path.name}:{node.lineno}: {node.value!r}")
    allowed = {"🇬🇧 English", "🇷🇺 Русский"}  # language names are shown in their own language
    assert [o for o in offenders if not any(repr(a) in o for a in allowed)] == []


_EMOJI = "[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2190-\u21FF\u2300-\u23FF]\ufe0f?"


@functools.cache
def _button_label_keys() -> frozenset[str]:
    """Keys whose text is a button's label: the first of a (label, callback) pair in screens
    and handlers, or a reply keyboard button."""
    keys = set()
    for path in [*(SRC / "screens").glob("*.py"), *(SRC / "handlers").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            label = None
            if isinstance(node, ast.Tuple) and len(node.elts) == 2:
                label = node.elts[0]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "KeyboardButton" and node.args):
                label = node.args[0]
            if (isinstance(label, ast.Call) and label.args
                    and isinstance(label.args[0], ast.Constant)
                    and isinstance(label.args[0].value, str)):
                keys.add(label.args[0].value)
    return frozenset(keys)


@functools.cache
def _named_buttons(lang: str) -> tuple[dict[str, str], set[str]]:
    """The words of each fixed button label that starts with an emoji -> the whole label
    ('Membership' -> '🎫 Membership'); and every fixed label as it is."""
    named, labels = {}, set()
    for key in _button_label_keys() & set(CATALOGS[lang]):
        label = CATALOGS[lang][key][0]
        labels.add(label)
        found = re.fullmatch(rf"{_EMOJI}\s+([^{{}}<]+)", label)
        if found:
            named[found[1].strip()] = label
    return named, labels


_CUES = {"en": r"(?:see|tap|press|open|in|under)",
         "ru": r"(?:см\.|нажмите|нажать|откройте|открыть|в|в разделе|раздел)"}


def _wrong_button_names(lang: str, text: str) -> list[str]:
    """Buttons a text names otherwise than by their label: another emoji before the words
    inside a sentence ('see 💳 Membership' for '🎫 Membership'), or the words without the
    emoji after a verb ('tap Refresh', 'см. «Абонемент»') when no button is labelled so."""
    named, labels = _named_buttons(lang)
    wrong = []
    for words, label in named.items():
        w = re.escape(words)
        for found in re.finditer(rf"(?<=\S )({_EMOJI})\s+{w}(?!\w)", text):
            if not text[found.start():].startswith(label):
                wrong.append(found[0])
        if words not in labels:
            wrong += [found[0] for found in
                      re.finditer(rf"\b{_CUES[lang]}\s+[«“\"]?{w}(?!\w)", text)]
    return wrong


def test_a_text_that_names_a_button_uses_the_buttons_own_label():
    """'see 💳 Membership' when the button is '🎫 Membership' sends people looking for a button
    that does not exist: a text names a button by its catalog label (best through a
    placeholder filled from the button's own key, as refusal_no_membership does)."""
    keys = _button_label_keys()
    assert {"menu_membership", "menu_bookings", "card_refresh"} <= keys
    wrong = [f"{lang} {key}: {bad!r}" for lang in LANGUAGES
             for key, forms in CATALOGS[lang].items() if key not in keys
             for text in forms for bad in _wrong_button_names(lang, text)]
    assert wrong == []


@pytest.mark.parametrize(("lang", "text", "wrong"), [
    ("en", "You need a membership to book: see 💳 Membership.", ["💳 Membership"]),
    ("en", "Ask the member to open /card again or tap Refresh.", ["tap Refresh"]),
    ("en", "Find a class in 🗓 Schedule.", []),
    ("en", "⏳ Membership ending soon", []),  # a title, not a sentence naming a button
    ("ru", "Для записи нужен абонемент: см. «Абонемент».", ["см. «Абонемент"]),
    ("ru", "откройте занятие в «Мои записи».", ["в «Мои записи"]),
    ("ru", "Выберите занятие в разделе «🗓 Расписание».", []),
])
def test_the_button_name_check_tells_a_wrong_name(lang, text, wrong):
    assert _wrong_button_names(lang, text) == wrong
