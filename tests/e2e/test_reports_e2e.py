"""/report for admins, in English and Russian, with every figure
checked against SQL on the seeded club; the memberships ending soon; the weekly chart decodes
as a PNG; each export, XLSX opened with openpyxl and CSV with Python's csv module, matches its
table row for row and cell by cell (numbers, dates and local date-times typed in the XLSX;
Cyrillic included; column headers in the admin's language; the CSV separated by "," in English
and ";" in Russian, a phone kept as text), and is audited; stale and forged buttons change
nothing."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from PIL import Image

from fitclub import callbacks as cb
from fitclub.locales import Texts
from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person, buttons

TZ = "Europe/Berlin"
TODAY = f"(now() AT TIME ZONE '{TZ}')::date"


def seed(db_url: str, ada: Person, ira: Person) -> dict[str, int]:
    """Two admins (English, Russian), members, memberships, classes, bookings and visits."""
    ids = {}
    for telegram_id, first, last, phone, language, role, registered in (
            (ada.id, "Ada", None, "+4915100000001", "en", "admin", True),
            (ira.id, "Ира", None, "+79160000002", "ru", "admin", True),
            (900001, "Анна", "Петрова", "+79161234567", "ru", "member", True),
            (900002, "Boris", 'O"Neil, Jr', "+4915100000003", "en", "member",
             timedelta(days=-40)),
            (900003, "Clara", None, "+4915100000004", "en", "member", True),
            (900004, "Dima", None, "+4915100000005", "en", "member", True),
            (900005, "Eva", None, "+4915100000006", "en", "member", True),
            (900006, "Tina", None, "+4915100000007", "en", "trainer", True)):
        ids[first] = factories.member(db_url, telegram_id, first, last_name=last, phone=phone,
                                      language=language, role=role, registered=registered)
    plan_id = factories.plan(db_url, "Месяц", price_minor=5000, duration_days=30,
                             visit_count=12)
    (today,), = query(db_url, f"SELECT {TODAY}")
    for who, since, until, visits, status in (
            ("Анна", 20, 3, 5, "active"), ("Boris", 5, 20, None, "active"),
            ("Clara", 10, 6, 1, "active"), ("Dima", 40, -10, 0, "expired"),
            ("Eva", 10, 5, 4, "frozen")):
        factories.membership(db_url, ids[who], plan_id, starts_on=today - timedelta(days=since),
                             ends_on=today + timedelta(days=until), visits_left=visits,
                             status=status)
    types = {kind: factories.class_type(db_url, kind, default_duration_minutes=60,
                                        default_capacity=capacity)
             for kind, capacity in (("Yoga", 10), ("Бокс", 4))}
    for key, kind, starts, capacity, status in (
            ("c1", "Yoga", timedelta(days=-2), 10, "scheduled"),
            ("c2", "Бокс", timedelta(days=-5), 4, "completed"),
            ("c3", "Yoga", timedelta(hours=-1), 5, "scheduled"),
            ("c4", "Yoga", timedelta(days=1), 10, "scheduled"),
            ("c5", "Бокс", timedelta(days=-3), 8, "cancelled")):
        ids[key] = factories.class_(db_url, ids["Tina"], starts, class_type_id=types[kind],
                                    duration_minutes=60, capacity=capacity, status=status)
    for cls, who, status in (
            ("c1", "Анна", "attended"), ("c3", "Boris", "booked"), ("c1", "Clara", "no_show"),
            ("c1", "Dima", "cancelled"), ("c1", "Eva", "waitlisted"), ("c2", "Анна", "attended"),
            ("c2", "Boris", "attended"), ("c3", "Clara", "attended"), ("c4", "Анна", "booked")):
        factories.booking(db_url, ids[cls], ids[who], status=status)
    for who, cls, ago, method, by in (
            ("Анна", None, timedelta(minutes=3), "qr", None),
            ("Boris", None, timedelta(minutes=2), "code", "Ada"),
            ("Clara", "c3", timedelta(minutes=1), "class", "Tina"),
            ("Анна", "c1", timedelta(days=2), "class", "Tina"),
            ("Анна", "c2", timedelta(days=5), "class", "Tina"),
            ("Boris", "c2", timedelta(days=5), "class", "Tina")):
        factories.visit(db_url, ids[who], class_id=ids[cls] if cls else None,
                        checked_in_at=-ago, method=method,
                        checked_in_by=ids[by] if by else None)
    for d in range(1, 17):
        factories.visit(db_url, ids["Boris"], checked_in_at=-timedelta(days=6 * d, hours=3),
                        method="qr")
    return ids


def figures(db_url: str) -> dict:
    """The report's figures worked out in SQL on their own."""
    by_method = dict(query(db_url, f"""
        SELECT method, count(*) FROM visits
        WHERE (checked_in_at AT TIME ZONE '{TZ}')::date = {TODAY} GROUP BY method"""))
    (active, expiring, new), = query(db_url, f"""
        SELECT (SELECT count(DISTINCT member_id) FROM memberships
                WHERE status = 'active' AND {TODAY} BETWEEN starts_on AND ends_on),
               (SELECT count(*) FROM memberships
                -- Within 7 days: today and the six after it.
                WHERE status = 'active' AND ends_on BETWEEN {TODAY} AND {TODAY} + 6),
               (SELECT count(*) FROM members WHERE date_trunc('month',
                    registered_at AT TIME ZONE '{TZ}') = date_trunc('month', {TODAY}))""")
    occupancy = query(db_url, """
        SELECT t.name, count(*), sum(c.capacity), sum((SELECT count(*) FROM bookings b
               WHERE b.class_id = c.id AND b.status IN ('booked', 'attended')))
        FROM classes c JOIN class_types t ON t.id = c.class_type_id
        WHERE c.status <> 'cancelled' AND c.starts_at > now() - interval '30 days'
          AND c.starts_at < now()
        GROUP BY t.name ORDER BY t.name""")
    return {"by_method": by_method, "checkins": sum(by_method.values()), "active": active,
            "expiring": expiring, "new": new, "occupancy": occupancy}


def weeks(db_url: str, first_week_day: int) -> list[int]:
    """Visits in each of the last 12 local weeks (oldest first), weeks starting on
    first_week_day (0 = Monday)."""
    return [n for (n,) in query(db_url, f"""
        WITH this AS (SELECT {TODAY} - (extract(isodow FROM {TODAY})::int + 6 - %s) %% 7
                      AS first)
        SELECT (SELECT count(*) FROM visits v
                WHERE v.checked_in_at <= now()
                  AND (v.checked_in_at AT TIME ZONE '{TZ}')::date
                      BETWEEN first - 7 * back AND first - 7 * back + 6)
        FROM this, generate_series(0, 11) back ORDER BY back DESC""", (first_week_day,))]


def chart_caption(lang: str, weekly: list[int]) -> str:
    """The chart's caption as shown (bold gone): its title, then visits in the 12 weeks, the
    best week (the latest of equals, by its first day) and this week so far."""
    tx = Texts(lang)
    best = max(range(len(weekly)), key=lambda n: (weekly[n], n))
    today = datetime.now(ZoneInfo(TZ)).date()
    first = today - timedelta(days=(today.weekday() - tx.first_week_day) % 7)
    week = tx.date(first - timedelta(weeks=len(weekly) - 1 - best), "compact")
    return {
        "en": f"📈 Club visits per week\n{sum(weekly)} visits in the last 12 weeks · best week:"
              f" {weekly[best]} ({week}) · this week so far: {weekly[-1]}",
        "ru": f"📈 Посещения клуба по неделям\n"
              f"{tx.plural('rep_chart_visits', sum(weekly))} за последние 12 недель · лучшая"
              f" неделя: {weekly[best]} ({week}) · эта неделя пока: {weekly[-1]}",
    }[lang]


def replay(emu, db_url: str, person: Person, message: dict, data: str) -> list[tuple]:
    """Deliver a press of `data` on a message whatever buttons it shows now (an old or a
    double tap, or forged data); what the bot queued in answer, (method, text) each."""
    update_id = emu.inject_update(TOKEN, {"callback_query": {
        "id": f"replay-{time.monotonic_ns()}", "chat_instance": "1",
        "from": {"id": person.id, "is_bot": False, "first_name": person.user.data.first_name},
        "message": {"message_id": message["message_id"], "date": int(time.time()),
                    "chat": {"id": person.id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "FitClub"},
                    "text": message.get("text") or ""},
        "data": data}})
    wait_until(lambda: query(db_url, "SELECT status FROM inbox WHERE update_id = %s",
                             (update_id,)) == [("done",)], 15, f"update {update_id} done")
    return query(db_url, "SELECT method, coalesce(params->>'text', params->>'caption')"
                         " FROM outbox WHERE update_id = %s ORDER BY id", (update_id,))


def _numbers(line: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", line)]


def check_report(text: str, f: dict, lang: str) -> None:
    """Every figure of the report's text against the SQL figures."""
    lines = text.split("\n")
    labels = {"en": ("Check-ins today", "Active members", "Memberships ending within",
                     "New members this month", "QR card", "6-digit code", "at a class"),
              "ru": ("Посещений сегодня", "Активных участников", "Абонементов, истекающих",
                     "Новых участников в этом месяце", "QR-карта", "6-значный код",
                     "на занятии")}[lang]
    checkins, active, expiring, new, *methods = labels
    line = next(x for x in lines if x.startswith(checkins))
    assert _numbers(line)[0] == f["checkins"] == 3
    for name, method in zip(methods, ("qr", "code", "class"), strict=True):
        assert f"{name}: {f['by_method'][method]}" in line, line
    assert next(x for x in lines if x.startswith(active)) == f"{active}: {f['active']}"
    assert _numbers(next(x for x in lines if x.startswith(expiring))) == [7, f["expiring"]]
    assert next(x for x in lines if x.startswith(new)) == f"{new}: {f['new']}"
    shown = [x for x in lines if x.startswith("• ")]
    assert len(shown) == len(f["occupancy"]) == 2
    for line, (name, classes, places, taken) in zip(shown, f["occupancy"], strict=True):
        percent = round(100 * taken / places)
        assert line.startswith(f"• {name}: {percent}% ({taken} "), line
        assert _numbers(line) == [percent, taken, places, classes]


def _sent_after(person: Person, before: int, key: str) -> dict:
    return wait_until(lambda: next((m for m in person.messages()[before:] if m.get(key)), None),
                      15, f"a {key} from the bot")


def _csv(message: dict, separator: str = ",") -> list[list[str]]:
    data = message["document"]["bytes"]
    assert data.startswith(b"\xef\xbb\xbf")  # the byte-order mark
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""),
                           delimiter=separator))


def _second(value: object) -> object:
    """A date-time to the nearest second (a spreadsheet keeps a moment as a fraction of a day,
    the database to the microsecond); any other value as it is."""
    if isinstance(value, datetime):
        return (value + timedelta(microseconds=500_000)).replace(microsecond=0)
    return value


def _xlsx(message: dict, sheet: str) -> list[list[object]]:
    """The document as openpyxl reads it: its one sheet's rows, date-times to the second."""
    book = openpyxl.load_workbook(io.BytesIO(message["document"]["bytes"]))
    assert book.sheetnames == [sheet]
    return [[_second(v) for v in row] for row in book[sheet].iter_rows(values_only=True)]


def _local(column: str) -> str:
    return f"coalesce(to_char({column} AT TIME ZONE '{TZ}', 'YYYY-MM-DD HH24:MI:SS'), '')"


# Each table as the database holds it, cell by cell as the CSV file's text (each seeded member
# has at most one membership, so that is their current one); a phone starts with "+", so the
# file keeps it as text behind an apostrophe.
EXPECTED = {
    "members": f"""
        SELECT m.id::text, m.first_name, coalesce(m.last_name, ''),
               coalesce('''' || m.phone, ''),
               coalesce(m.username, ''), m.language, m.role, {_local('m.registered_at')},
               coalesce(p.name, ''), coalesce(ms.status, ''), coalesce(ms.starts_on::text, ''),
               coalesce(ms.ends_on::text, ''), coalesce(ms.visits_left::text, '')
        FROM members m LEFT JOIN memberships ms ON ms.member_id = m.id
        LEFT JOIN membership_plans p ON p.id = ms.plan_id
        WHERE m.deleted_at IS NULL ORDER BY m.id""",
    "visits": f"""
        SELECT v.id::text, {_local('v.checked_in_at')}, v.member_id::text, m.first_name,
               coalesce(m.last_name, ''), v.method, coalesce(v.class_id::text, ''),
               coalesce(t.name, ''), {_local('c.starts_at')},
               coalesce(v.membership_id::text, ''), coalesce(v.checked_in_by::text, ''),
               coalesce(s.first_name, '')
        FROM visits v JOIN members m ON m.id = v.member_id
        LEFT JOIN classes c ON c.id = v.class_id
        LEFT JOIN class_types t ON t.id = c.class_type_id
        LEFT JOIN members s ON s.id = v.checked_in_by ORDER BY v.id""",
    "bookings": f"""
        SELECT b.id::text, b.class_id::text, t.name, {_local('c.starts_at')}, c.status,
               tr.first_name, b.member_id::text, m.first_name, coalesce(m.last_name, ''),
               b.status, {_local('b.created_at')}, {_local('b.cancelled_at')},
               b.late_cancel::text
        FROM bookings b JOIN classes c ON c.id = b.class_id
        JOIN class_types t ON t.id = c.class_type_id JOIN members tr ON tr.id = c.trainer_id
        JOIN members m ON m.id = b.member_id ORDER BY b.id""",
}

def _moment(column: str) -> str:
    """A moment as the club's wall-clock time (what the XLSX cell holds), to the second."""
    return f"date_trunc('second', {column} AT TIME ZONE '{TZ}' + interval '0.5 second')"


# Each table as the database holds it, cell by cell as the XLSX file's typed values: numbers,
# text, dates (a date-time at midnight to a spreadsheet), local date-times, booleans; None for
# an empty cell.
TYPED = {
    "members": f"""
        SELECT m.id, m.first_name, m.last_name, m.phone, m.username, m.language, m.role,
               {_moment('m.registered_at')}, p.name, ms.status, ms.starts_on::timestamp,
               ms.ends_on::timestamp, ms.visits_left
        FROM members m LEFT JOIN memberships ms ON ms.member_id = m.id
        LEFT JOIN membership_plans p ON p.id = ms.plan_id
        WHERE m.deleted_at IS NULL ORDER BY m.id""",
    "visits": f"""
        SELECT v.id, {_moment('v.checked_in_at')}, v.member_id, m.first_name, m.last_name,
               v.method, v.class_id, t.name, {_moment('c.starts_at')}, v.membership_id,
               v.checked_in_by, s.first_name
        FROM visits v JOIN members m ON m.id = v.member_id
        LEFT JOIN classes c ON c.id = v.class_id
        LEFT JOIN class_types t ON t.id = c.class_type_id
        LEFT JOIN members s ON s.id = v.checked_in_by ORDER BY v.id""",
    "bookings": f"""
        SELECT b.id, b.class_id, t.name, {_moment('c.starts_at')}, c.status, tr.first_name,
               b.member_id, m.first_name, m.last_name, b.status, {_moment('b.created_at')},
               {_moment('b.cancelled_at')}, b.late_cancel
        FROM bookings b JOIN classes c ON c.id = b.class_id
        JOIN class_types t ON t.id = c.class_type_id JOIN members tr ON tr.id = c.trainer_id
        JOIN members m ON m.id = b.member_id ORDER BY b.id""",
}

HEADERS = {
    "en": {
        "members": ["Member ID", "First name", "Last name", "Phone", "Telegram username",
                    "Language", "Role", "Registered", "Plan", "Membership status",
                    "Membership starts", "Membership ends", "Visits left"],
        "visits": ["Visit ID", "Checked in at", "Member ID", "First name", "Last name",
                   "Check-in method", "Class ID", "Class", "Class starts", "Membership ID",
                   "Checked in by (ID)", "Checked in by"],
        "bookings": ["Booking ID", "Class ID", "Class", "Class starts", "Class status",
                     "Trainer", "Member ID", "First name", "Last name", "Booking status",
                     "Booked at", "Cancelled at", "Late cancellation"],
    },
    "ru": {
        "members": ["ID участника", "Имя", "Фамилия", "Телефон", "Имя пользователя в Telegram",
                    "Язык", "Роль", "Дата регистрации", "Тариф", "Статус абонемента",
                    "Начало абонемента", "Конец абонемента", "Осталось посещений"],
        "visits": ["ID посещения", "Время посещения", "ID участника", "Имя", "Фамилия",
                   "Способ отметки", "ID занятия", "Занятие", "Начало занятия",
                   "ID абонемента", "Кто отметил (ID)", "Кто отметил"],
    },
}
SHEETS = {"en": {"members": "Members", "visits": "Visits", "bookings": "Bookings"},
          "ru": {"members": "Участники", "visits": "Посещения"}}


def test_admin_reports_in_english_and_russian(emu, launcher, db_url):
    ada, ira = Person(emu, "Ada"), Person(emu, "Ира", language_code="ru")
    ids = seed(db_url, ada, ira)
    bot = launcher.start(db_url, CLUB_TIMEZONE=TZ)
    f = figures(db_url)
    assert f["by_method"] == {"qr": 1, "code": 1, "class": 1} and f["expiring"] == 2

    # /report in English: every figure, and the buttons.
    (report,) = ada.send("/report")
    assert report["text"].startswith("📊 Club report · ")
    check_report(report["text"], f, "en")
    assert "• Yoga: 20% (3 of 15 places, 2 classes)" in report["text"]
    assert buttons(report) == [["📈 Weekly chart", f"⏳ Ending soon ({f['expiring']})"],
                               ["⬇️ Members · XLSX", "CSV"], ["⬇️ Visits · XLSX", "CSV"],
                               ["⬇️ Bookings · XLSX", "CSV"], ["💳 Payments"],
                               ["🔄 Refresh", "« Staff"]]
    assert report["text"].endswith(
        "\n\n⬇️ XLSX opens in any spreadsheet as it is; CSV is plain text, cells separated by"
        " “,”.")
    rid = report["message_id"]

    # Memberships ending soon, in place, and back; a second tap changes nothing.
    ada.press(report, "Ending soon")
    listed = ada.wait_edit(rid, "Memberships ending within 7 days")
    soon = query(db_url, f"""
        SELECT m.first_name || coalesce(' ' || m.last_name, '') FROM memberships ms
        JOIN members m ON m.id = ms.member_id
        WHERE ms.status = 'active' AND ms.ends_on BETWEEN {TODAY} AND {TODAY} + 6
        ORDER BY ms.ends_on""")
    lines = [x for x in listed["text"].split("\n") if x.startswith("• ")]
    assert [x.split(" — ")[0][2:] for x in lines] == [n for (n,) in soon] == [
        "Анна Петрова", "Clara"]
    assert "Месяц" in lines[0] and "5 visits left" in lines[0] and "1 visit left" in lines[1]
    assert buttons(listed) == [["« Report", "« Staff"]]
    count = len(ada.messages())
    again = replay(emu, db_url, ada, report, cb.REPORT_EXPIRING())
    assert [m for m, _ in again] == ["answerCallbackQuery", "editMessageText"]
    assert "Memberships ending within 7 days" in again[1][1]
    ada.press(listed, "« Report")
    check_report(ada.wait_edit(rid, "Club report")["text"], f, "en")
    assert len(ada.messages()) == count  # edits in place, no new message

    # The weekly chart: a PNG; its caption carries the headline figures of the visits per
    # week, not every bar again.
    # It is drawn off the worker path (the press says it is coming), never in the bot's own
    # process; drawn once, the same chart is sent at once on the next press.
    before = len(ada.messages())
    assert ada.press(report, "Weekly chart")["text"] == (
        "📈 Drawing the chart: it comes in a moment.")
    chart = _sent_after(ada, before, "photo")
    image = Image.open(io.BytesIO(chart["photo"]["bytes"]))
    assert image.format == "PNG" and image.size == (800, 400)
    assert "matplotlib" not in Path(f"/proc/{bot.pid}/maps").read_text()
    before = len(ada.messages())
    assert not ada.press(report, "Weekly chart").get("text")
    assert _sent_after(ada, before, "photo")["photo"]["bytes"] == chart["photo"]["bytes"]
    # Weeks start on the locale's first day (Babel: Monday for "en" and "ru").
    weekly = weeks(db_url, Texts("en").first_week_day)
    assert chart["caption"] == chart_caption("en", weekly)
    assert weekly[-1] >= 3 and sum(weekly) > weekly[-1]

    # Each table as XLSX (the button with the table's name): a document openpyxl opens, its
    # sheet named for the table, headers in English, then the table's rows with typed cells.
    for table in ("members", "visits", "bookings"):
        before = len(ada.messages())
        ada.press(report, f"{SHEETS['en'][table]} · XLSX")
        doc = _sent_after(ada, before, "document")
        assert re.fullmatch(rf"{table}-\d{{4}}-\d\d-\d\d\.xlsx",
                            doc["document"]["file_name"])
        rows = _xlsx(doc, SHEETS["en"][table])
        assert rows[0] == HEADERS["en"][table]
        expected = [list(r) for r in query(db_url, TYPED[table])]
        assert rows[1:] == expected and len(expected) > 5
        assert f"{len(expected)} rows. Times are in {TZ}." in doc["caption"]
    members = _xlsx(next(m for m in ada.messages() if m.get("document")
                         and m["document"]["file_name"].startswith("members")), "Members")
    anna = next(r for r in members if r[0] == ids["Анна"])
    assert anna[1:4] == ["Анна", "Петрова", "+79161234567"]  # the phone as text, as typed
    assert anna[8:10] == ["Месяц", "active"] and anna[12] == 5  # visits left: a number
    assert isinstance(anna[10], datetime) and anna[10] < anna[11]  # starts, ends: dates
    assert 'O"Neil, Jr' in [r[2] for r in members]

    # Each table as CSV (the button beside): separated by ",", equal to the table as text.
    for table in ("members", "visits", "bookings"):
        before = len(ada.messages())
        ada.press_data(rid, cb.REPORT_EXPORT(table=table, fmt="csv"))
        doc = _sent_after(ada, before, "document")
        assert doc["document"]["file_name"].endswith(".csv")
        rows = _csv(doc)
        assert rows[0] == HEADERS["en"][table]
        assert rows[1:] == [list(r) for r in query(db_url, EXPECTED[table])]
    assert query(db_url, "SELECT actor_id, details->>'table', details->>'format',"
                         " (details->>'rows')::int FROM audit_log"
                         " WHERE action = 'report.export' ORDER BY id") == [
        (ids["Ada"], table, fmt, n) for fmt in ("xlsx", "csv")
        for table, n in (("members", 8), ("visits", 22), ("bookings", 9))]

    # A second tap on an export within half a minute sends nothing more: it says the file is
    # just above.
    before = len(ada.messages())
    assert ada.press(report, "Members · XLSX")["text"] == (
        "This file was sent a moment ago: it is just above.")
    assert ada.press_data(rid, cb.REPORT_EXPORT(table="members", fmt="csv"))["text"] == (
        "This file was sent a moment ago: it is just above.")
    time.sleep(0.5)
    assert len(ada.messages()) == before
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'report.export'"
                 ) == [(6,)]

    # A forged export of a table or a format that does not exist, or an export button from
    # before formats (no format): stale, nothing sent, nothing audited.
    for forged in ("qx:secrets:xlsx", "qx:members:pdf", "qx:members"):
        assert replay(emu, db_url, ada, report, forged) == [
            ("answerCallbackQuery", "This is no longer available.")]
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'report.export'"
                 ) == [(6,)]

    # From the staff home, edited in place.
    (home,) = ada.send("/staff")
    ada.press(home, "Reports")
    check_report(ada.wait_edit(home["message_id"], "Club report")["text"], f, "en")

    # In Russian: the same figures, Russian words, a Russian chart caption and CSV caption.
    (otchet,) = ira.send("/report")
    assert otchet["text"].startswith("📊 Отчёт клуба · ")
    check_report(otchet["text"], f, "ru")
    assert "• Yoga: 20% (3 из 15 мест, 2 занятия)" in otchet["text"]
    assert "• Бокс: 50% (2 из 4 мест, 1 занятие)" in otchet["text"]
    assert buttons(otchet)[1:4] == [["⬇️ Участники · XLSX", "CSV"],
                                    ["⬇️ Посещения · XLSX", "CSV"], ["⬇️ Записи · XLSX", "CSV"]]
    assert otchet["text"].endswith(
        "\n\n⬇️ XLSX открывается в любой программе для таблиц как есть; CSV — простой текст,"
        " ячейки разделены «;».")
    ira.press(otchet, "Скоро истекают")
    spisok = ira.wait_edit(otchet["message_id"], "Абонементы, истекающие в ближайшие 7 дней")
    assert "осталось 5 посещений" in spisok["text"] and "осталось 1 посещение" in spisok["text"]
    before = len(ira.messages())
    ira.press(spisok, "« Отчёт")
    assert ira.press(ira.wait_edit(otchet["message_id"], "Отчёт клуба"), "График")["text"] == (
        "📈 Рисую график: он придёт через мгновение.")
    grafik = _sent_after(ira, before, "photo")
    assert Image.open(io.BytesIO(grafik["photo"]["bytes"])).format == "PNG"
    assert grafik["caption"] == chart_caption("ru", weeks(db_url, Texts("ru").first_week_day))
    assert grafik["caption"].startswith("📈 Посещения клуба по неделям\n")
    # Russian files: the sheet and the headers in Russian, plan and class names in Russian
    # where given, Cyrillic intact; the CSV separated by ";" (what Russian Excel splits on).
    for table in ("members", "visits"):
        before = len(ira.messages())
        ira.press(ira.now(otchet["message_id"]), f"{SHEETS['ru'][table]} · XLSX")
        doc = _sent_after(ira, before, "document")
        rows = _xlsx(doc, SHEETS["ru"][table])
        assert rows[0] == HEADERS["ru"][table]
        assert rows[1:] == [list(r) for r in query(db_url, TYPED[table])]
    assert doc["caption"] == f"Посещения: 22 строки. Время указано по часовому поясу {TZ}."
    before = len(ira.messages())
    ira.press_data(otchet["message_id"], cb.REPORT_EXPORT(table="visits", fmt="csv"))
    doc = _sent_after(ira, before, "document")
    assert doc["document"]["file_name"].endswith(".csv")
    assert doc["caption"] == f"Посещения: 22 строки. Время указано по часовому поясу {TZ}."
    assert b"\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0;" in doc["document"]["bytes"]  # "Анна;"
    rows = _csv(doc, ";")
    assert rows[0] == HEADERS["ru"]["visits"]
    assert rows[1:] == [list(r) for r in query(db_url, EXPECTED["visits"])]

