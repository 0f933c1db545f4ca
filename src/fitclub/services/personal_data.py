"""A member's copy of their data ("Download my data" on /privacy): one JSON file of everything
the club holds about them, read from the database in one transaction.

The file (FORMAT, VERSION) is an object with these keys, always present, in this order
(the user guide lists every field):

- `format`, `version`, `generated_at`, `time_zone`, `about`: what the file is, when it was made,
  the club's time zone, and short notes in the member's language (dates, consents, staff notes,
  what is not in the file).
- `profile`: the member's row: internal id, Telegram id, names, phone, username, language,
  role, when they registered and the row was created, reminders on or off, when Telegram last
  said they had blocked the bot.
- `consents`: what the person agreed to. Registration shows the privacy notice on the step that
  asks for the phone; sharing the number after it is recorded (`kind` "privacy_notice",
  `given_at`, and `notice`: its text as it was shown, recorded at registration). Members registered
  before the notice was shown, or created by staff, have none; `about.consents` says so.
- `memberships` (each with its `freezes` and `visit_adjustments`, the staff's reason
  included), `bookings` (waitlist places are bookings with status "waitlisted"),
  `waitlist_offers`, `visits` (with their method), `plan_requests`, `payments` (the bot records
  no payments yet: always an empty list, the key stays), `staff_notes`, `cards`,
  `announcements`, `audit_log`.

Moments are ISO 8601 in the club's time zone with its offset ("2026-12-06T08:15:00+01:00");
calendar dates (a membership's days, a freeze's days) are ISO dates of the club's calendar.
Plan and class type names are given in the member's language when the club has them in it.

Staff notes are data about the member, so they are in the copy (GDPR art. 15, 152-FZ art.
14 give a right to them); their author, like the staff member who checked a visit in or
adjusted visits, is left out: that is the staff member's data, not the member's.

A member gets at most one copy per COOLDOWN: each copy is recorded in the audit log
(`member.data_copy`, no details) and the next may go COOLDOWN after it.
"""

from __future__ import annotations

import html
import json
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from fitclub.db import audit, rows
from fitclub.locales import Localized, Texts, shown, zone_name

FORMAT = "fitclub-personal-data"
VERSION = 1
#: One copy per member per this long.
COOLDOWN = timedelta(minutes=10)


class Profile(NamedTuple):
    member_id: int
    telegram_id: int
    first_name: str
    last_name: str | None
    phone: str | None
    username: str | None
    language: str
    role: str
    registered_at: datetime | None
    created_at: datetime
    reminders_enabled: bool
    blocked_at: datetime | None


class Membership(NamedTuple):
    id: int
    plan_id: int
    plan_name: Localized
    starts_on: date
    ends_on: date
    visits_left: int | None  # None: unlimited
    status: str
    created_at: datetime


class Freeze(NamedTuple):
    id: int
    membership_id: int
    frozen_from: date
    frozen_until: date
    created_at: datetime
    ended_at: datetime | None


class Adjustment(NamedTuple):
    id: int
    membership_id: int
    delta: int
    visits_after: int
    reason: str
    created_at: datetime


class Booking(NamedTuple):
    id: int
    class_id: int
    class_type: Localized
    class_starts_at: datetime
    room: str
    class_status: str
    status: str
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    late_cancel: bool
    membership_id: int | None
    visit_reserved: bool


class Offer(NamedTuple):
    id: int
    booking_id: int
    class_id: int
    offered_at: datetime
    expires_at: datetime
    status: str
    resolved_at: datetime | None


class Visit(NamedTuple):
    id: int
    checked_in_at: datetime
    method: str
    class_id: int | None
    membership_id: int | None
    checked_in_by_staff: bool


class PlanRequest(NamedTuple):
    id: int
    plan_id: int
    plan_name: Localized
    status: str
    created_at: datetime
    closed_at: datetime | None


class Consent(NamedTuple):
    kind: str
    given_at: datetime
    notice: str | None  # the text as shown (recorded at registration)


class Note(NamedTuple):
    id: int
    body: str
    created_at: datetime


class CardCode(NamedTuple):
    code: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    used_at: datetime | None


class Announcement(NamedTuple):
    id: int
    sent_at: datetime | None
    text: str
    with_photo: bool


class AuditEntry(NamedTuple):
    id: int
    at: datetime
    action: str
    entity: str
    entity_id: int | None
    actor: str  # you, staff or system


#: The keys of the file, in order.
KEYS = ("format", "version", "generated_at", "time_zone", "about", "profile", "consents",
        "memberships", "bookings", "waitlist_offers", "visits", "plan_requests", "payments",
        "staff_notes", "cards", "announcements", "audit_log")
#: The notes of `about`, each a catalog message "pd_about_<key>".
ABOUT = ("dates", "consents", "staff_notes", "not_included")


class Copy(NamedTuple):
    """The file as sent: its bytes, its name, and the moment it describes."""

    data: bytes
    filename: str
    generated_at: datetime


class Wait(NamedTuple):
    """A copy went out lately: when, and when the next may go."""

    sent_at: datetime
    next_at: datetime


def cooldown(conn, member_id: int, within: timedelta = COOLDOWN) -> Wait | None:
    """The member's last copy if it went out less than `within` ago; None when one may go
    now. Presses in one chat run one after another, so a second press sees the first's row."""
    return rows.one(conn, "personal_data.next_copy", {
        "member_id": member_id, "seconds": within.total_seconds()}, Wait)


def _value(value: Any, tz: tzinfo, lang: str) -> Any:
    if isinstance(value, Localized):
        return shown(value, lang)
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _record(row: NamedTuple, tz: tzinfo, lang: str) -> dict[str, Any]:
    return {field: _value(value, tz, lang) for field, value in zip(row._fields, row,
                                                                   strict=True)}


def collect(conn, member_id: int, now: datetime, tz: tzinfo, lang: str) -> dict[str, Any] | None:
    """Everything the club holds about the member as the file's object (see the module's
    notes); None when the member is gone (erased)."""
    profile = rows.one(conn, "personal_data.profile", {"member_id": member_id}, Profile)
    if profile is None:
        return None
    params = {"member_id": member_id}

    def section(name: str, row_type: type[NamedTuple]) -> list[dict[str, Any]]:
        return [_record(r, tz, lang)
                for r in rows.many(conn, f"personal_data.{name}", params, row_type)]

    freezes = section("freezes", Freeze)
    adjustments = section("adjustments", Adjustment)
    memberships = []
    for membership in section("memberships", Membership):
        own = membership["id"]
        membership["freezes"] = [
            {k: v for k, v in f.items() if k != "membership_id"}
            for f in freezes if f["membership_id"] == own]
        membership["visit_adjustments"] = [
            {k: v for k, v in a.items() if k != "membership_id"}
            for a in adjustments if a["membership_id"] == own]
        memberships.append(membership)
    tx = Texts(lang)
    found = {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": _value(now, tz, lang),
        "time_zone": zone_name(tz),
        "about": {key: html.unescape(str(tx(f"pd_about_{key}"))) for key in ABOUT},
        "profile": _record(profile, tz, lang),
        "consents": section("consents", Consent),
        "memberships": memberships,
        "bookings": section("bookings", Booking),
        "waitlist_offers": section("offers", Offer),
        "visits": section("visits", Visit),
        "plan_requests": section("plan_requests", PlanRequest),
        "payments": [],
        "staff_notes": section("notes", Note),
        "cards": section("cards", CardCode),
        "announcements": section("announcements", Announcement),
        "audit_log": section("audit", AuditEntry),
    }
    assert tuple(found) == KEYS
    return found


def filename(now: datetime, tz: tzinfo) -> str:
    """'fitclub-my-data-2026-12-06.json': what it is and the club's date it was made."""
    return f"fitclub-my-data-{now.astimezone(tz).date().isoformat()}.json"


def make_copy(conn, member_id: int, now: datetime, tz: tzinfo, lang: str) -> Copy | None:
    """The member's copy as a UTF-8 JSON file (indented, non-ASCII as is), recorded in the
    audit log (by the member, no details); None when the member is gone."""
    found = collect(conn, member_id, now, tz, lang)
    if found is None:
        return None
    data = json.dumps(found, ensure_ascii=False, indent=2).encode("utf-8")
    audit.record(conn, actor_id=member_id, action="member.data_copy", entity="member",
                 entity_id=member_id)
    return Copy(data, filename(now, tz), now)
