"""The audit log in words: every action the code writes (found by scanning src/ and the
migrations) has a sentence in both catalogs, and a sentence never shows a field name, an id,
None, True or False; check-ins say their method; refusals say what was refused."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from fitclub.locales import LANGUAGES, Texts, catalog_path
from fitclub.screens import audit_log as screens
from fitclub.services.attendance import Mark
from fitclub.services.audit_log import Entry
from fitclub.services.booking import Refusal

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "fitclub"
AT = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)  # Mon 7 Dec, 18:00 in Berlin

#: The values an f-string action can take, by its fixed start (a new one fails the scan).
FORMATTED = {"attendance.": {m.value for m in Mark}, "booking.": {"booked", "waitlisted"}}


def _literals(node: ast.expr) -> set[str]:
    """The action names an `action=` argument can be."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body) | _literals(node.orelse)
    if isinstance(node, ast.JoinedStr):
        start = node.values[0].value if isinstance(node.values[0], ast.Constant) else ""
        assert start in FORMATTED, f"an action made by an f-string starting {start!r}: " \
                                   "add its values to FORMATTED"
        return {start + value for value in FORMATTED[start]}
    raise AssertionError(f"an action the scan cannot read: {ast.unparse(node)}")


def _top_level_items(text: str) -> list[str]:
    """A SQL list split at its top-level commas."""
    items, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            break
        current += ch
    items.append(current.strip())
    return items


def recorded_actions() -> set[str]:
    """Every action written to the audit log: `record(..., action=...)` calls in src/, and
    the literal actions of `INSERT INTO audit_log` in the query files and migrations."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and (
                    getattr(node.func, "attr", None) == "record"
                    or getattr(node.func, "id", None) == "record"):
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        found |= _literals(keyword.value)
    insert = re.compile(r"INSERT INTO audit_log\s*\(([^)]*)\)\s*(?:VALUES\s*\(|SELECT\s)", re.I)
    for path in [*(SRC / "db" / "sql").glob("*.sql"), *(ROOT / "sql").glob("*.sql")]:
        text = path.read_text()
        for match in insert.finditer(text):
            columns = [c.strip() for c in match.group(1).split(",")]
            value = _top_level_items(text[match.end():])[columns.index("action")]
            joined = re.fullmatch(r"'([a-z_.]+)' \|\| \w+", value)
            if joined:  # 'attendance.' || status
                assert joined.group(1) in FORMATTED, f"{path.name}: add {value} to FORMATTED"
                found |= {joined.group(1) + v for v in FORMATTED[joined.group(1)]}
            elif value.startswith("'"):
                found.add(value.strip("'"))
            else:
                assert value.startswith("%("), f"{path.name}: action {value}"
    return found


def _catalog(lang: str) -> set[str]:
    with catalog_path(lang).open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh, locale=lang)}


def test_the_scan_finds_actions_of_every_kind():
    actions = recorded_actions()
    assert {"checkin", "denied", "report.export", "plan.on_sale", "plan.archived",
            "attendance.attended", "attendance.no_show", "booking.booked",
            "booking.waitlisted", "demo_data_loaded", "waitlist.expired"} <= actions
    assert len(actions) > 40


def test_every_action_written_has_a_sentence_in_both_catalogs():
    actions = recorded_actions()
    for lang in LANGUAGES:
        keys = _catalog(lang)
        missing = sorted(a for a in actions if "aud_do_" + a.replace(".", "_") not in keys)
        assert missing == [], f"{lang}: actions without a sentence: {missing}"


# Details as the code writes them (None where it writes None).
DETAILS: dict[str, dict[str, Any]] = {
    "checkin": {"member_id": 3, "method": "code", "class_id": None, "booking_id": None,
                "visits_left": 9},
    "class.scheduled": {"type_id": 1, "trainer_id": 2, "starts_at": AT.isoformat(),
                        "duration": 60, "capacity": 12, "room": "", "series_id": None},
    "class.capacity": {"from": 10, "to": 12, "offered": 2},
    "class.moved": {"from": AT.isoformat(), "to": "2026-12-08T18:00:00+00:00", "told": 3,
                    "offers_retimed": 0},
    "class.cancelled": {"starts_at": AT.isoformat(), "booked": 3, "waitlisted": 0,
                        "checked_in": 0, "visits_returned": 3, "offers_withdrawn": 0},
    "class_type.created": {"name": "Pilates", "description": "", "duration": 55,
                           "capacity": 8},
    "class_type.changed": {"field": "capacity", "from": 8, "to": 10},
    "class_type.deleted": {"name": "Pilates"},
    "plan.created": {"name": "Month", "price_minor": 5000, "duration_days": 30,
                     "visit_count": None, "freeze_days": 0},
    "plan.updated": {"field": "visit_count", "old": None, "new": 10},
    "plan.deleted": {"name": "Month"},
    "membership.granted": {"member_id": 3, "plan_id": 1, "starts_on": "2026-12-10",
                           "requests_closed": []},
    "membership.extended": {"member_id": 3, "plan_id": 1, "days": 30, "visits": None,
                            "ends_on_before": "2027-01-08"},
    "membership.cancelled": {"member_id": 3, "plan_id": 1, "classes_cancelled": [5]},
    "membership.visits_adjusted": {"member_id": 3, "delta": 2, "visits_before": 1,
                                   "visits_after": 3, "reason": "paid in cash"},
    "membership.frozen": {"member_id": 3, "freeze_id": 1, "days": 14, "from": "2026-12-10",
                          "until": "2026-12-23", "classes_cancelled": []},
    "membership.unfrozen": {"member_id": 3, "freeze_id": 1, "days_frozen": 5, "early": True,
                            "planned": False},
    "membership.freeze_started": {"freeze_id": 1},
    "role.changed": {"from": "member", "to": "trainer"},
    "report.export": {"table": "visits", "rows": 22, "complete": True},
    "announcement.create": {"photo": False, "length": 120},
    "announcement.send": {"audience": "all", "class_id": None, "days": None,
                          "recipients": 120},
    "announcement.cancel": {"taken_back": 80, "sent": 40, "in_flight": 0},
    "denied": {"what": "announce.open", "role": "member", "telegram_id": 900001},
    "attendance.attended": {"class_id": 7, "member_id": 3, "from": "booked"},
    "attendance.no_show": {"class_id": 7, "member_id": 3, "from": "booked"},
    "booking.booked": {"class_id": 7}, "booking.waitlisted": {"class_id": 7},
    "booking.cancelled": {"class_id": 7, "late": False},
    "waitlist.left": {"class_id": 7}, "waitlist.offered": {"class_id": 7, "member_id": 3},
    "waitlist.accepted": {"class_id": 7}, "waitlist.declined": {"class_id": 7},
    "waitlist.expired": {"class_id": 7}, "waitlist.refused": {"reason": "no_visits"},
    "plan.requested": {"plan_id": 1}, "plan.withdrawn": {"plan_id": 1},
    "plan_request.granted": {"membership_id": 4},
    "plan_request.dismissed": {"member_id": 3, "plan_id": 1},
    "member.note_added": {"note_id": 1},
    "demo_data_loaded": {"plans": 3, "class_types": 4},
    "people.search": {"kind": "phone", "found": 1, "member_ids": [3]},
    "payment.received": {"member_id": 3, "plan_id": 1, "order_id": 5, "amount_minor": 4900,
                         "currency": "EUR", "status": "granted", "problem": None,
                         "membership_id": 4, "effect": "granted"},
    "payment.refunded": {"member_id": 3, "plan_id": 1, "amount_minor": 4900,
                         "currency": "EUR", "was": "granted", "membership_id": 4,
                         "ends_on_before": "2027-01-05", "ends_on_after": "2026-12-07",
                         "visits_before": 12, "visits_after": 12, "cancelled": False,
                         "classes_cancelled": [8]},
}


def entry(action: str, details: dict[str, Any] | None = None, *, actor: bool = True,
          **names: Any) -> Entry:
    """An entry by Ada Admin about Anna Petrova, naming Yoga on Mon 7 Dec, the plan Month,
    the class type Pilates and the trainer Tom (each can be left out with None)."""
    fields = dict(id=1, at=AT, action=action, entity="member", entity_id=3,
                  details=DETAILS.get(action, {}) if details is None else details,
                  actor_id=1 if actor else None, actor_first_name="Ada",
                  actor_last_name="Admin", subject_id=3, subject_first_name="Anna",
                  subject_last_name="Petrova", class_name="Yoga", class_starts_at=AT,
                  plan_name="Month", type_name="Pilates", trainer_first_name="Tom",
                  trainer_last_name=None)
    fields.update(names)
    return Entry(**fields)


# What raw details looked like: "days: None, audience: all, class_id: None", "complete: True".
RAW = re.compile(r"None|True|False|\b[a-z]+_[a-z_]+\b|\b[a-z]+: \w|#\d|\baud_|900001|\{")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_action_reads_as_words(lang):
    tx = Texts(lang)
    for action in sorted(recorded_actions()):
        for actor in (True, False):
            text = screens.sentence(tx, entry(action, actor=actor))
            assert not RAW.search(text), (action, text)
            assert action not in text, (action, text)


@pytest.mark.parametrize(("lang", "method", "expected"), [
    ("en", "qr", "Ada Admin checked in Anna Petrova by QR scan · 9 visits left"),
    ("en", "code", "Ada Admin checked in Anna Petrova by 6-digit code · 9 visits left"),
    ("en", "manual", "Ada Admin checked in Anna Petrova by name search · 9 visits left"),
    ("ru", "qr", "Ada Admin: отмечен приход по QR-коду — Anna Petrova · осталось посещений: 9"),
    ("ru", "code",
     "Ada Admin: отмечен приход по 6-значному коду — Anna Petrova · осталось посещений: 9"),
    ("ru", "manual",
     "Ada Admin: отмечен приход через поиск по имени — Anna Petrova · осталось посещений: 9"),
])
def test_a_check_in_says_how_the_member_was_found(lang, method, expected):
    details = {**DETAILS["checkin"], "method": method}
    assert screens.sentence(Texts(lang), entry("checkin", details, class_name=None,
                                               class_starts_at=None)) == expected


@pytest.mark.parametrize(("lang", "action", "details", "expected"), [
    ("en", "announcement.send", None,
     "Ada Admin sent an announcement to all members · sent to 120"),
    ("ru", "announcement.send", None,
     "Ada Admin: объявление отправлено всем участникам · получателей: 120"),
    ("en", "announcement.send", {"audience": "class", "class_id": 7, "days": None,
                                 "recipients": 1},
     "Ada Admin sent an announcement to members booked for Yoga on Mon 7 Dec, 17:00 · "
     "sent to 1"),
    ("ru", "announcement.send", {"audience": "expiring", "class_id": None, "days": 7,
                                 "recipients": 2},
     "Ada Admin: объявление отправлено участникам, чей абонемент заканчивается в ближайшие"
     " 7 дней · получателей: 2"),
    ("en", "report.export", None, "Ada Admin exported “Visits” as CSV · 22 rows"),
    ("ru", "report.export", {"table": "members", "rows": 21, "complete": False},
     "Ada Admin: выгрузка CSV «Участники» · 21 строка · не полностью: файл слишком большой"),
    ("en", "report.export", {"table": "bookings", "format": "xlsx", "rows": 9,
                             "complete": True}, "Ada Admin exported “Bookings” as XLSX · 9 rows"),
    ("ru", "report.export", {"table": "visits", "format": "csv", "rows": 22, "complete": True},
     "Ada Admin: выгрузка CSV «Посещения» · 22 строки"),
    ("ru", "report.export", {"table": "members", "format": "xlsx", "rows": 5, "complete": True},
     "Ada Admin: выгрузка XLSX «Участники» · 5 строк"),
    ("en", "denied", None, "⛔ Refused: Ada Admin (member) tried to use announcements"),
    ("ru", "denied", {"what": "report.export", "role": "trainer", "telegram_id": 1,
                      "data": "rx:members"},
     "⛔ Отказано: Ada Admin (тренер) — отчёты"),
    ("en", "booking.booked", None, "Ada Admin booked Yoga on Mon 7 Dec, 17:00"),
    ("ru", "booking.booked", None, "Ada Admin: запись на занятие «Yoga», пн 7 дек., 17:00"),
    ("en", "membership.granted", None,
     "Ada Admin granted Anna Petrova the plan Month · from 10 Dec 2026"),
    ("ru", "membership.granted", None,
     "Ada Admin: выдан абонемент «Month» — Anna Petrova · с 10 дек. 2026\u00a0г."),
    ("en", "plan.updated", None, "Ada Admin changed the plan Month · visits unlimited → 10"),
    ("en", "class.scheduled", None,
     "Ada Admin scheduled Yoga on Mon 7 Dec, 17:00 · trainer Tom · 60 min · 12 places"),
    ("ru", "class.scheduled", None,
     "Ada Admin: запланировано занятие «Yoga», пн 7 дек., 17:00 · тренер Tom · 60 мин · "
     "12 мест"),
    ("en", "membership.visits_adjusted", None, "Ada Admin changed the visits of Anna Petrova's"
     " membership Month · +2 · 1 → 3 · reason: “paid in cash”"),
    ("en", "role.changed", None, "Ada Admin changed the role of Anna Petrova · member → trainer"),
    ("en", "people.search", None, "Ada Admin searched by phone number · 1 found"),
    ("ru", "people.search", None, "Ada Admin: поиск по номеру телефона · найден 1 человек"),
    ("en", "people.search", {"kind": "name", "found": 0, "member_ids": []},
     "Ada Admin searched by name · nobody found"),
    ("ru", "people.search", {"kind": "code", "found": 2, "member_ids": [3, 4]},
     "Ada Admin: поиск по коду карты · найдено 2 человека"),
    ("en", "people.search", {"kind": "username", "found": 3, "member_ids": [3, 4, 5]},
     "Ada Admin searched by username · 3 found"),
    ("ru", "role.changed", None, "Ada Admin: изменена роль — Anna Petrova · участник → тренер"),
    ("en", "payment.received", None,
     "Ada Admin paid for the plan Month · €49.00 · membership granted"),
    ("ru", "payment.received", {**DETAILS["payment.received"], "effect": "extended"},
     "Ada Admin: оплата тарифа «Month» · 49,00\u00a0€ · абонемент продлён"),
    ("en", "payment.received", {**DETAILS["payment.received"], "status": "needs_refund",
                                "problem": "plan_gone", "membership_id": None, "effect": None},
     "Ada Admin paid for the plan Month, and the payment needs a refund · €49.00 · "
     "plan archived"),
    ("en", "payment.refunded", None,
     "Ada Admin marked Anna Petrova's payment for Month refunded · €49.00 · the membership"
     " now ends on 7 Dec 2026 · was until 5 Jan 2027 · 1 booking cancelled"),
    ("ru", "payment.refunded", {"member_id": 3, "plan_id": 1, "amount_minor": 1500,
                                "currency": "EUR", "was": "needs_refund",
                                "membership_id": None},
     "Ada Admin: возврат оплаты тарифа «Month» — Anna Petrova · 15,00\u00a0€ · платёж ждал"
     " возврата"),
])
def test_sentences_in_each_language(lang, action, details, expected):
    assert screens.sentence(Texts(lang), entry(action, details)) == expected


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["The bot marked Anna Petrova as a no-show at Yoga on Mon 7 Dec, 17:00",
            "⛔ Refused: Someone not registered tried to use check-in",
            "Ada Admin: membership.transferred",
            "(deleted member) booked a class",
            "Ada Admin deleted the plan Trial"]),
    ("ru", ["Бот: отмечена неявка (занятие «Yoga», пн 7 дек., 17:00) — Anna Petrova",
            "⛔ Отказано: Незарегистрированный пользователь — отметка прихода",
            "Ada Admin: membership.transferred",
            "(удалённый участник): запись на занятие",
            "Ada Admin: удалён тариф «Trial»"]),
])
def test_the_bot_strangers_erased_people_and_gone_things(lang, expected):
    tx = Texts(lang)
    assert [
        screens.sentence(tx, entry("attendance.no_show", actor=False)),
        screens.sentence(tx, entry("denied", {"what": "checkin.scan", "role": None,
                                              "telegram_id": 900001}, actor=False)),
        screens.sentence(tx, entry("membership.transferred", {"days": 30})),
        screens.sentence(tx, entry("booking.booked", actor_first_name=None, class_name=None,
                                   class_starts_at=None)),
        screens.sentence(tx, entry("plan.deleted", {"name": "Trial"}, entity="plan",
                                   plan_name=None)),
    ] == expected


def test_names_are_escaped():
    text = screens.sentence(Texts("en"), entry("booking.booked", actor_first_name="<b>Bo",
                                               class_name="Yoga & <i>"))
    assert text.startswith("&lt;b&gt;Bo Admin booked Yoga &amp; &lt;i&gt; on")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("reason", [*(r.value for r in Refusal), "expired_on_date"])
def test_every_reason_an_offered_place_was_refused_has_words(lang, reason):
    """Each booking.Refusal a `waitlist.refused` row may carry, and the name older rows gave
    "ends before the class", adds its clause to the sentence."""
    tx = Texts(lang)
    bare = screens.sentence(tx, entry("waitlist.refused", {}))
    text = screens.sentence(tx, entry("waitlist.refused", {"reason": reason}))
    assert text == bare + screens.SEPARATOR + tx(f"aud_why_{reason}")
    assert f"aud_why_{reason}" in _catalog(lang)


@pytest.mark.parametrize(("lang", "reason", "expected"), [
    ("en", "not_started", "· the membership had not started yet"),
    ("en", "ends_before", "· the membership ends before the class"),
    ("en", "ended", "· the membership had ended"),
    ("ru", "not_started", "· абонемент ещё не начался"),
    ("ru", "ends_before", "· абонемент закончится до занятия"),
    ("ru", "ended", "· срок абонемента уже истёк"),
])
def test_an_offered_place_refused_by_the_membership_says_how(lang, reason, expected):
    text = screens.sentence(Texts(lang), entry("waitlist.refused", {"reason": reason}))
    assert text.endswith(expected)


def test_every_refused_part_of_the_bot_has_words():
    """A `denied` row names what was attempted ("report.export"); its first word is a part
    of the bot with words in both catalogs."""
    found = set()
    pattern = re.compile(r'(?:staff_only|admin_only)\(\s*"([a-z_]+\.[a-z_.]+)"'
                         r'|"what": "([a-z_]+\.[a-z_.]+)"')
    for path in SRC.rglob("*.py"):
        for a, b in pattern.findall(path.read_text()):
            found.add((a or b).split(".")[0])
    assert {"report", "checkin", "audit"} <= found
    assert sorted(found - set(screens.AREAS)) == []
    for lang in LANGUAGES:
        keys = _catalog(lang)
        assert [a for a in screens.AREAS if f"aud_area_{a}" not in keys] == []


@pytest.mark.parametrize(("lang", "start", "expected"), [
    ("en", "2026-12-07", "Ada Admin froze Anna Petrova's membership Month · 7 Dec 2026 – "),
    ("en", "2026-12-21", "Ada Admin planned a freeze of Anna Petrova's membership Month · 21"),
    ("ru", "2026-12-07", "Ada Admin: заморожен абонемент «Month» — Anna Petrova · 7 дек."),
    ("ru", "2026-12-21",
     "Ada Admin: запланирована заморозка абонемента «Month» — Anna Petrova · 21 дек."),
])
def test_a_freeze_from_a_later_day_is_planned_not_frozen(lang, start, expected):
    """The entry's day (Mon 7 Dec) against the freeze's first day: only one from that day on
    says "froze"; one from a later day was planned then."""
    details = {**DETAILS["membership.frozen"], "from": start, "until": "2026-12-27"}
    text = screens.sentence(Texts(lang), entry("membership.frozen", details))
    assert text.startswith(expected), text
