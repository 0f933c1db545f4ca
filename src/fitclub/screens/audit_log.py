"""/audit: pages of staff actions, each a sentence in the admin's language, and the member filter.

Every action the code records has a sentence in both catalogs, `aud_do_<action>` (dots as
underscores): the base names who did it ({who}), the member it was about ({member}) and the
class ({cls}, {cls_name}), plan ({plan}) or class type ({type}) it names, as read with the entry;
a thing it cannot name is a neutral word ("a class"). What the details add is a clause each
(`aud_part_*`), joined with " · "; a detail that is missing or None is left out, and no field
name or raw value is ever shown. A new action without a sentence fails
tests/unit/test_audit_sentences.py; an action of some other version is shown by its identifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fitclub.callbacks import AUDIT_FILTER, AUDIT_MEMBER, AUDIT_PAGE
from fitclub.db.members import Member
from fitclub.locales import Raw, Texts, translations
from fitclub.screens import Screen, inline
from fitclub.screens.payments_admin import PROBLEMS, amount
from fitclub.screens.staff import back_row
from fitclub.services.audit_log import Entry, Page
from fitclub.services.booking import Refusal
from fitclub.services.people import Found, Kind

#: How a member was found at the door (visits.method), each with its words.
CHECKIN_METHODS = ("qr", "code", "manual", "class")
#: The parts of the bot a `denied` row names (the first word of its `what`), with words.
AREAS = ("announce", "audit", "checkin", "classes", "members", "myclasses", "people", "plans",
         "report", "requests", "staff", "types")
ROLES = ("member", "trainer", "admin")
#: Why a member could not take an offered place: every services/booking.Refusal value, and
#: `expired_on_date`, the name rows written before `ends_before` and `ended` gave the
#: membership's end.
OFFER_REFUSALS = (*(reason.value for reason in Refusal), "expired_on_date")
EXPORT_TABLES = ("members", "visits", "bookings", "payments")
#: What a staff search looked for (services/people.Kind values), each with its words.
SEARCH_KINDS = ("name", "username", "phone", "code")
FREE_TEXT_MAX = 80  # a reason or a name typed by an admin, as quoted in a sentence
SEPARATOR = " · "


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= FREE_TEXT_MAX else text[:FREE_TEXT_MAX - 1].rstrip() + "…"


class Words:
    """What one entry's sentence may use: its names (or neutral words) and typed details."""

    def __init__(self, tx: Texts, entry: Entry) -> None:
        self.tx = tx
        self.entry = entry
        self.details: dict[str, Any] = entry.details if isinstance(entry.details, dict) else {}
        self.key = "aud_do_" + entry.action.replace(".", "_")

    # -- details, typed; anything else (missing, None, another type) is None ---------------

    def number(self, key: str) -> int | None:
        value = self.details.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def count(self, key: str) -> int | None:
        """A number, or how many items a list holds."""
        value = self.details.get(key)
        return len(value) if isinstance(value, list) else self.number(key)

    def text(self, key: str) -> str | None:
        value = self.details.get(key)
        return _shortened(value) if isinstance(value, str) and value.strip() else None

    def flag(self, key: str) -> bool | None:
        value = self.details.get(key)
        return value if isinstance(value, bool) else None

    def moment(self, key: str) -> datetime | None:
        try:
            found = datetime.fromisoformat(self.details.get(key))
        except (TypeError, ValueError):
            return None
        return found if found.tzinfo is not None else None

    def day(self, key: str) -> date | None:
        try:
            return date.fromisoformat(self.details.get(key))
        except (TypeError, ValueError):
            return None

    # -- names -------------------------------------------------------------------------------

    @property
    def who(self) -> str:
        """Who did it: their name, the erased member, or the bot itself (no actor)."""
        if self.entry.actor_id is None:
            return self.tx("aud_system")
        return self.entry.actor_name or self.tx("member_erased")

    @property
    def member(self) -> str:
        """The member it was about: their name, else the erased member, else 'a member'."""
        if self.entry.subject_id is None:
            return self.tx("aud_a_member")
        return self.entry.subject_name or self.tx("member_erased")

    @property
    def cls_name(self) -> Raw:
        """The class by its type's name ('Yoga'), else 'a class'."""
        name = self.entry.class_name
        return self.tx("aud_class_named", name=name) if name else self.tx("aud_a_class")

    @property
    def cls(self) -> Raw:
        """The class and when it starts ('Yoga on Mon 7 Dec, 18:00'), as far as known."""
        starts = self.entry.class_starts_at or self.moment("starts_at")
        if self.entry.class_name and starts is not None:
            return self.tx("aud_class", name=self.entry.class_name,
                           when=self.tx.datetime(starts))
        return self.cls_name

    @property
    def plan(self) -> Raw:
        """The plan by name (a deleted one by the name its entry kept), else '(deleted)'."""
        name = self.entry.plan_name or (self.text("name") if self.entry.entity == "plan"
                                        else None)
        return self.tx("aud_plan_named", name=name) if name else self.tx("aud_gone")

    @property
    def class_type(self) -> Raw:
        """The class type by name (a deleted one by the name its entry kept), else '(deleted)'."""
        name = self.entry.type_name or (self.text("name") if self.entry.entity == "class_type"
                                        else None)
        return self.tx("aud_type_named", name=name) if name else self.tx("aud_gone")

    def days(self, n: int) -> Raw:
        return self.tx.plural("aud_days", n)

    def visits(self, value: Any) -> str:
        """A plan's or a membership's visits: a number, or 'unlimited' (None)."""
        return self.tx("aud_unlimited") if value is None else str(value)

    # -- the sentence --------------------------------------------------------------------------

    def say(self, *clauses: str | None, key: str | None = None, **values: object) -> Raw:
        """The action's base sentence (or `key`'s, a variant of it) with every name filled in,
        then the clauses given."""
        names = {"who": self.who, "member": self.member, "cls": self.cls,
                 "cls_name": self.cls_name, "plan": self.plan, "type": self.class_type}
        base = self.tx(key or self.key, **{**names, **values})
        return Raw(SEPARATOR.join([base, *(c for c in clauses if c)]))

    def part(self, key: str, **values: object) -> Raw:
        return self.tx(f"aud_part_{key}", **values)

    def parts(self, key: str, n: int, **values: object) -> Raw:
        return self.tx.plural(f"aud_part_{key}", n, **values)


Sentence = Callable[[Words], Raw]
#: The actions whose details add clauses; every other action is its base sentence alone.
SENTENCES: dict[str, Sentence] = {}


def _sentence(*actions: str) -> Callable[[Sentence], Sentence]:
    def register(build: Sentence) -> Sentence:
        for action in actions:
            SENTENCES[action] = build
        return build
    return register


def _positive(w: Words, key: str, part: str, plural: bool = False) -> Raw | None:
    n = w.count(key)
    if not n or n <= 0:
        return None
    return w.parts(part, n) if plural else w.part(part, n=n)


def _from_to(w: Words, old: Any, new: Any, part: str = "from_to") -> Raw | None:
    if old is None or new is None:
        return None
    return w.part(part, old=old, new=new)


@_sentence("checkin")
def _checkin(w: Words) -> Raw:
    method = w.text("method")
    how = w.tx(f"aud_how_{method}") if method in CHECKIN_METHODS else Raw("")
    named = w.entry.class_name or w.number("class_id") is not None
    for_class = w.part("for_class", cls=w.cls) if named else None
    left = w.number("visits_left")
    return w.say(for_class, w.parts("visits_left", left) if left is not None else None,
                 how=how)


@_sentence("class.scheduled")
def _scheduled(w: Words) -> Raw:
    trainer = w.entry.trainer_name
    minutes, places = w.number("duration"), w.number("capacity")
    room = w.text("room")
    return w.say(w.part("trainer", name=trainer) if trainer else None,
                 w.part("minutes", n=minutes) if minutes else None,
                 w.parts("places", places) if places else None,
                 w.part("room", room=room) if room else None,
                 w.part("series") if w.details.get("series_id") is not None else None)


@_sentence("class.capacity")
def _capacity(w: Words) -> Raw:
    return w.say(_from_to(w, w.number("from"), w.number("to")),
                 _positive(w, "offered", "offered"))


@_sentence("class.moved")
def _moved(w: Words) -> Raw:
    old, new = w.moment("from"), w.moment("to")
    moved = (w.part("moved", old=w.tx.datetime(old), new=w.tx.datetime(new))
             if old is not None and new is not None else None)
    return w.say(moved, _positive(w, "told", "told", plural=True))


@_sentence("class.cancelled")
def _class_cancelled(w: Words) -> Raw:
    return w.say(_positive(w, "booked", "booked"), _positive(w, "waitlisted", "waitlisted"),
                 _positive(w, "checked_in", "checked_in"),
                 _positive(w, "visits_returned", "visits_returned", plural=True))


@_sentence("class_type.created")
def _type_created(w: Words) -> Raw:
    minutes, places = w.number("duration"), w.number("capacity")
    return w.say(w.part("minutes", n=minutes) if minutes else None,
                 w.parts("places", places) if places else None)


_TYPE_FIELDS = {"name": "renamed", "duration": "duration_change", "capacity": "places_change"}


@_sentence("class_type.changed")
def _type_changed(w: Words) -> Raw:
    field = w.text("field")
    if field == "description":
        return w.say(w.part("new_description"))
    if field not in _TYPE_FIELDS:
        return w.say()
    return w.say(_from_to(w, w.details.get("from"), w.details.get("to"), _TYPE_FIELDS[field]))


def _plan_terms(w: Words) -> list[Raw | None]:
    price, days, freeze = w.number("price_minor"), w.number("duration_days"), w.number(
        "freeze_days")
    visits: Raw | None = None
    if "visit_count" in w.details:
        count = w.number("visit_count")
        visits = w.parts("visits", count) if count is not None else w.part("unlimited")
    return [w.part("price", price=w.tx.money(price)) if price is not None else None,
            w.part("length", days=w.days(days)) if days else None,
            visits,
            w.part("freeze", days=w.days(freeze)) if freeze else None]


@_sentence("plan.created")
def _plan_created(w: Words) -> Raw:
    return w.say(*_plan_terms(w))


@_sentence("plan.updated")
def _plan_updated(w: Words) -> Raw:
    field = w.text("field")
    old, new = w.details.get("old"), w.details.get("new")
    if field == "name":
        change = _from_to(w, old, new, "renamed")
    elif field == "price_minor" and isinstance(old, int) and isinstance(new, int):
        change = w.part("price_change", old=w.tx.money(old), new=w.tx.money(new))
    elif field == "duration_days":
        change = _from_to(w, old, new, "length_change")
    elif field == "visit_count" and "old" in w.details and "new" in w.details:
        change = w.part("visits_change", old=w.visits(old), new=w.visits(new))
    elif field == "freeze_days":
        change = _from_to(w, old, new, "freeze_change")
    else:
        change = None
    return w.say(change)


@_sentence("membership.granted")
def _granted(w: Words) -> Raw:
    starts = w.day("starts_on")
    return w.say(w.part("starts", date=w.tx.date(starts, "long")) if starts else None,
                 w.part("request_closed") if w.count("requests_closed") else None)


@_sentence("membership.extended")
def _extended(w: Words) -> Raw:
    days, before = w.number("days"), w.day("ends_on_before")
    return w.say(w.part("by", days=w.days(days)) if days else None,
                 _positive(w, "visits", "plus_visits", plural=True),
                 w.part("was_until", date=w.tx.date(before, "long")) if before else None)


@_sentence("membership.cancelled")
def _membership_cancelled(w: Words) -> Raw:
    return w.say(_positive(w, "classes_cancelled", "bookings_cancelled", plural=True))


@_sentence("membership.visits_adjusted")
def _adjusted(w: Words) -> Raw:
    delta, reason = w.number("delta"), w.text("reason")
    return w.say(w.part("delta", delta=f"{delta:+d}") if delta else None,
                 _from_to(w, w.number("visits_before"), w.number("visits_after")),
                 w.part("reason", reason=reason) if reason else None)


@_sentence("membership.frozen")
def _frozen(w: Words) -> Raw:
    start, until, days = w.day("from"), w.day("until"), w.number("days")
    period = (w.part("period", start=w.tx.date(start, "long"), end=w.tx.date(until, "long"))
              if start and until else None)
    # A freeze from a day after the entry's own was planned then, not begun ("froze").
    planned = start is not None and start > w.tx.local(w.entry.at).date()
    return w.say(period, w.days(days) if days else None,
                 _positive(w, "classes_cancelled", "bookings_cancelled", plural=True),
                 key="aud_do_membership_freeze_planned" if planned else None)


@_sentence("membership.unfrozen")
def _unfrozen(w: Words) -> Raw:
    days = w.number("days_frozen")
    return w.say(w.part("planned_off") if w.flag("planned") else None,
                 w.part("frozen_for", days=w.days(days)) if days else None)


@_sentence("role.changed")
def _role(w: Words) -> Raw:
    old, new = w.text("from"), w.text("to")
    change = (w.part("from_to", old=w.tx(f"aud_role_{old}"), new=w.tx(f"aud_role_{new}"))
              if old in ROLES and new in ROLES else None)
    by_settings = w.part("by_settings") if w.text("reason") == "ADMIN_TELEGRAM_IDS" else None
    return w.say(change, by_settings)


@_sentence("report.export")
def _export(w: Words) -> Raw:
    table = w.text("table")
    name = w.tx(f"rep_table_{table}") if table in EXPORT_TABLES else w.tx("aud_a_table")
    rows = w.number("rows")
    # An entry without a format is from when every export was CSV.
    fmt = "XLSX" if w.text("format") == "xlsx" else "CSV"
    return w.say(w.parts("rows", rows) if rows is not None else None,
                 w.part("cut_short") if w.flag("complete") is False else None, table=name,
                 format=fmt)


def _amount(w: Words) -> Raw | None:
    """A payment's amount in its currency ('€49.00'), as far as the details say."""
    minor, currency = w.number("amount_minor"), w.text("currency")
    if minor is None or currency is None or not re.fullmatch(r"[A-Z]{3}", currency):
        return None
    return w.part("pay_amount", amount=amount(w.tx, minor, currency))


def _problem(w: Words) -> Raw | None:
    found = w.text("problem")
    return w.tx(f"pmt_problem_{found}") if found in PROBLEMS else None


@_sentence("payment.received")
def _payment_received(w: Words) -> Raw:
    if w.text("status") == "needs_refund":
        return w.say(_amount(w), _problem(w), key="aud_do_payment_received_needs_refund")
    effect = w.text("effect")
    return w.say(_amount(w), w.part(f"pay_{effect}") if effect in ("granted", "extended")
                 else None)


@_sentence("payment.needs_refund")
def _payment_needs_refund(w: Words) -> Raw:
    return w.say(_amount(w), _problem(w))


@_sentence("payment.refunded")
def _payment_refunded(w: Words) -> Raw:
    after, before = w.day("ends_on_after"), w.day("ends_on_before")
    if w.flag("cancelled"):
        change = w.part("pay_cancelled")
    elif after is not None:
        change = w.part("pay_ends", date=w.tx.date(after, "long"))
    else:
        change = None
    return w.say(_amount(w), change,
                 w.part("was_until", date=w.tx.date(before, "long"))
                 if change is not None and before is not None and before != after else None,
                 _positive(w, "classes_cancelled", "bookings_cancelled", plural=True),
                 w.part("pay_was_to_refund") if w.text("was") == "needs_refund" else None)


@_sentence("announcement.create")
def _announcement_created(w: Words) -> Raw:
    return w.say(w.part("with_photo") if w.flag("photo") else None)


@_sentence("announcement.send")
def _announcement_sent(w: Words) -> Raw:
    audience, days = w.text("audience"), w.number("days")
    if audience in ("all", "active"):
        whom = w.tx(f"aud_audience_{audience}")
    elif audience == "expiring" and days:
        whom = w.tx("aud_audience_expiring", days=w.days(days))
    elif audience == "class":
        whom = w.tx("aud_audience_class", cls=w.cls)
    else:
        whom = w.tx("aud_audience_chosen")
    recipients = w.number("recipients")
    return w.say(w.parts("recipients", recipients) if recipients is not None else None,
                 audience=whom)


@_sentence("announcement.cancel")
def _announcement_stopped(w: Words) -> Raw:
    sent, kept = w.number("sent"), w.number("taken_back")
    return w.say(w.part("sent", n=sent) if sent is not None else None,
                 w.part("not_sent", n=kept) if kept is not None else None,
                 _positive(w, "in_flight", "in_flight"))


@_sentence("booking.cancelled")
def _booking_cancelled(w: Words) -> Raw:
    return w.say(w.part("late") if w.flag("late") else None)


@_sentence("waitlist.refused")
def _offer_refused(w: Words) -> Raw:
    reason = w.text("reason")
    return w.say(w.tx(f"aud_why_{reason}") if reason in OFFER_REFUSALS else None)


@_sentence("people.search")
def _search(w: Words) -> Raw:
    # Only the kind and the count: the text typed is never recorded (services/people.py).
    kind, found = w.text("kind"), w.number("found")
    how = w.tx(f"aud_search_{kind}") if kind in SEARCH_KINDS else Raw("")
    if found is None:
        return w.say(how=how)
    return w.say(w.parts("found", found) if found else w.part("found_none"), how=how)


@_sentence("denied")
def _denied(w: Words) -> Raw:
    what = w.text("what") or ""
    area = what.split(".")[0]
    role = w.text("role")
    who = w.who if w.entry.actor_id is not None else w.tx("aud_unregistered")
    return w.say(who=who, area=w.tx(f"aud_area_{area}") if area in AREAS
                 else w.tx("aud_area_other"),
                 role=w.tx("aud_as_role", role=w.tx(f"aud_role_{role}")) if role in ROLES
                 else Raw(""))


def sentence(tx: Texts, entry: Entry) -> Raw:
    """What the entry records, as one sentence in tx's language (see the module)."""
    words = Words(tx, entry)
    if translations(tx.lang).gettext(words.key) == words.key:  # another version's action
        return tx("aud_do_other", who=words.who, action=entry.action)
    return SENTENCES.get(entry.action, Words.say)(words)


def entry_lines(tx: Texts, entry: Entry) -> list[str]:
    """An entry: when, then what happened in words."""
    return [tx("aud_entry_when", when=tx.datetime(entry.at)), sentence(tx, entry)]


def _page_button(member: Member | None, number: int) -> str:
    if member is None:
        return AUDIT_PAGE(page=number)
    return AUDIT_MEMBER(member_id=member.id, page=number)


def page(tx: Texts, found: Page) -> Screen:
    """A page of the log, newest first, with newer/older, the filter and the way back."""
    lines = [tx("aud_title", page=found.number + 1)]
    if found.member is not None:
        lines.append(tx("aud_filtered", name=found.member.name))
    for entry in found.entries:
        lines += ["", *entry_lines(tx, entry)]
    if not found.entries:
        lines += ["", tx("aud_empty_member", name=found.member.name) if found.member
                  else tx("aud_empty")]
    nav = []
    if found.number > 0:
        nav.append((tx("aud_newer"), _page_button(found.member, found.number - 1)))
    if found.has_older:
        nav.append((tx("aud_older"), _page_button(found.member, found.number + 1)))
    rows = [nav] if nav else []
    if found.member is None:
        rows.append([(tx("aud_filter"), AUDIT_FILTER())])
    else:
        rows.append([(tx("aud_clear"), AUDIT_PAGE(page=0))])
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def ask(tx: Texts) -> Screen:
    """The filter's question: whose actions to show."""
    return Screen(tx("aud_ask"), inline([[(tx("aud_cancel"), AUDIT_PAGE(page=0))]]))


def found_people(tx: Texts, text: str, found: Found) -> Screen:
    """The people a search found, a button each: a name, with the phone number only when it
    is the whole number typed; nobody: say so (a phone is found only whole); too many
    searches: when the next one may go. Cancel either way."""
    cancel = [(tx("aud_cancel"), AUDIT_PAGE(page=0))]
    if found.retry_at is not None:
        return Screen(tx("search_limited", time=tx.time(found.retry_at)), inline([cancel]))
    # Catalog text escapes the name, and `inline` unescapes labels: "&#8238;Eve" shows as
    # typed, never as a direction override.
    rows = [[(tx("search_person_phone", name=p.name, phone=found.phone) if found.phone
              else tx("search_person", name=p.name), AUDIT_MEMBER(member_id=p.id, page=0))]
            for p in found.members]
    rows.append(cancel)
    lines = [tx("aud_found" if found.members else "aud_none_found", text=text)]
    if not found.members and found.kind is Kind.PHONE:
        lines.append(tx("search_phone_whole"))
    return Screen("\n".join(lines), inline(rows))


def bad_query(tx: Texts, shortest: int, longest: int) -> Screen:
    """A search text too short or too long."""
    return Screen(tx("aud_bad_query", min=shortest, max=longest),
                  inline([[(tx("aud_cancel"), AUDIT_PAGE(page=0))]]))
