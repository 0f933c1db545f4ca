"""Memberships as admins see them (/members): search, the member card, the steps of grant,
extend, freeze, unfreeze, cancel, adjust and notes, and the notices members get about each
change (plan requests are screens.plan_requests)."""

from __future__ import annotations

from datetime import date, timedelta

from fitclub.callbacks import (
    ADJUST,
    EXTEND,
    EXTEND_OK,
    EXTEND_PLAN,
    FREEZE,
    FREEZE_DATE,
    FREEZE_DAY,
    FREEZE_DAYS,
    FREEZE_OK,
    GRANT,
    GRANT_DATE,
    GRANT_DAY,
    GRANT_OK,
    GRANT_PLAN,
    MEMBER_CARD,
    MEMBER_FIND,
    MEMBER_FLOW_CANCEL,
    MEMBERSHIP_CANCEL,
    NOTE,
    UNFREEZE,
)
from fitclub.db.members import Member
from fitclub.locales import Texts
from fitclub.screens import Screen, inline, payments_admin, person
from fitclub.screens.membership import freeze_line, status_text
from fitclub.screens.plans import summary, visits_text
from fitclub.screens.staff import back_row
from fitclub.services import freezes
from fitclub.services.member_card import Card
from fitclub.services.membership_change import (
    AdminMembership,
    MembershipNotice,
    Outcome,
    Refusal,
    Result,
)
from fitclub.services.payments_admin import MemberPayments
from fitclub.services.people import Found, Kind
from fitclub.services.plans import PlanRow

#: How a typed date looks (an identifier of the format, shown as an example date).
DATE_FORMAT = "%d.%m.%Y"
FREEZE_CHOICES = (7, 14, 30)


def _contact(tx: Texts, member: Member) -> str:
    phone = member.phone or tx("no_phone")
    if member.username:
        return tx("mbr_contact_user", phone=phone, username=member.username)
    return tx("mbr_contact", phone=phone)


def _card_row(tx: Texts, member_id: int) -> list[tuple[str, str]]:
    return [(tx("mbr_button_card"), MEMBER_CARD(member_id=member_id))]


def _cancel_row(tx: Texts, member_id: int) -> list[tuple[str, str]]:
    return [(tx("mbr_button_cancel_step"), MEMBER_FLOW_CANCEL(member_id=member_id))]


def example_date(today: date) -> str:
    """A date a week ahead, as the admin would type it."""
    return (today + timedelta(days=7)).strftime(DATE_FORMAT)


# -- search ------------------------------------------------------------------------------------

def search_prompt(tx: Texts, problem: str | None = None, text: str = "", *,
                  hint: str | None = None) -> Screen:
    """Ask for a name, phone or username (after a search that found nothing, say so, and
    `hint`'s line)."""
    lines = [tx(problem, text=text)] if problem else []
    if hint:
        lines.append(tx(hint))
    if lines:
        lines.append("")
    lines.append(tx("mbr_search_prompt"))
    return Screen("\n".join(lines), inline([back_row(tx)]))


def search_results(tx: Texts, text: str, found: Found) -> Screen:
    """The members found, a button each: a name, with the phone number only when it is the
    whole number the admin typed. Nobody: say so (a phone is found only whole). Too many
    searches: when the next one may go."""
    if found.retry_at is not None:
        return Screen(tx("search_limited", time=tx.time(found.retry_at)),
                      inline([back_row(tx)]))
    if not found.members:
        return search_prompt(tx, "mbr_search_none", text,
                             hint="search_phone_whole" if found.kind is Kind.PHONE else None)
    rows = [[(tx("search_person_phone", name=m.name, phone=found.phone) if found.phone
              else tx("search_person", name=m.name), MEMBER_CARD(member_id=m.id))]
            for m in found.members]
    rows.append(back_row(tx))
    return Screen(tx("mbr_search_results", text=text) + "\n" + tx("mbr_search_again"),
                  inline(rows))


# -- the card ----------------------------------------------------------------------------------

def membership_lines(tx: Texts, m: AdminMembership) -> list[str]:
    """Plan and state (not started yet, active, frozen, ended), dates, visits, freeze days
    (nothing about freezing when the plan allows none) and an open freeze."""
    status = status_text(tx, m.state, m.starts_on, m.ends_on)
    lines = [tx("mbr_card_plan", plan=m.plan_name, status=status),
             tx("mbr_card_dates", start=tx.date(m.starts_on, "long"),
                end=tx.date(m.ends_on, "long"))]
    if m.current:
        lines.append(tx("membership_unlimited") if m.visits_left is None
                     else tx.plural("membership_visits_left", m.visits_left))
        freeze = freeze_line(tx, m.freeze_allowance, m.freeze_left)
        lines += [freeze] if freeze else []
    if m.freeze_id is not None:
        key = "mbr_card_frozen" if m.status == "frozen" else "mbr_card_freeze_planned"
        lines.append(tx(key, start=tx.date(m.frozen_from, "long"),
                        end=tx.date(m.frozen_until, "long")))
    return lines


def card(tx: Texts, found: Card, note: str | None = None,
         payments: MemberPayments | None = None) -> Screen:
    """Who the member is, their membership, their pending request for a plan, their latest
    payments (if they ever paid), recent visits, bookings to come, notes; the actions that
    apply (Freeze only while days are left; Mark refunded for each payment shown that is not
    refunded yet)."""
    member, m = found.member, found.membership
    lines = [note, ""] if note else []
    lines += [tx("mbr_card_title", name=member.name), _contact(tx, member), ""]
    lines += membership_lines(tx, m) if m is not None else [tx("mbr_card_no_membership")]
    if found.request is not None:
        lines.append(tx("mbr_card_request", plan=found.request.plan_name,
                        date=tx.date(found.request.created_at, "long")))
    if payments is not None:
        lines += payments_admin.card_lines(tx, payments)
    lines += ["", tx("mbr_card_visits")]
    lines += [tx("mbr_card_visit_line", when=tx.datetime(v.checked_in_at),
                 name=v.class_name or tx("mbr_card_visit_open")) for v in found.visits]
    if not found.visits:
        lines.append(tx("mbr_card_none"))
    lines += ["", tx("mbr_card_bookings")]
    for b in found.bookings:
        key = "mbr_card_booking_line" if b.status == "booked" else "mbr_card_waitlist_line"
        lines.append(tx(key, when=tx.datetime(b.starts_at), name=b.name, n=b.position or 0))
    if not found.bookings:
        lines.append(tx("mbr_card_none"))
    lines += ["", tx("mbr_card_notes")]
    lines += [tx("mbr_card_note_line", date=tx.date(n.created_at, "long"),
                 author=person(tx, n.author), body=n.body) for n in found.notes]
    if not found.notes:
        lines.append(tx("mbr_card_none"))
    rows = []
    if m is not None and m.current:
        first = [(tx("mbr_button_extend"), EXTEND(membership_id=m.id))]
        if m.freeze_id is not None:
            first.append((tx("mbr_button_unfreeze"), UNFREEZE(membership_id=m.id, step="ask")))
        elif m.freeze_left > 0:
            first.append((tx("mbr_button_freeze"), FREEZE(membership_id=m.id)))
        rows.append(first)
        second = [(tx("mbr_button_cancel"), MEMBERSHIP_CANCEL(membership_id=m.id, step="ask"))]
        if m.visits_left is not None:
            second.insert(0, (tx("mbr_button_adjust"), ADJUST(membership_id=m.id)))
        rows.append(second)
    else:
        rows.append([(tx("mbr_button_grant"), GRANT(member_id=member.id))])
    if payments is not None:
        rows += payments_admin.card_rows(tx, member.id, payments)
    rows.append([(tx("mbr_button_note"), NOTE(member_id=member.id)),
                 (tx("mbr_button_find"), MEMBER_FIND())])
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


# -- grant and extend --------------------------------------------------------------------------

def _plan_rows(tx: Texts, on_sale: list[PlanRow], data) -> list[list[tuple[str, str]]]:
    return [[(tx("mbr_plan_button", name=p.name, price=tx.money(p.price_minor)), data(p))]
            for p in on_sale]


def grant_choose(tx: Texts, member: Member, on_sale: list[PlanRow]) -> Screen:
    """The plans on sale to grant."""
    rows = _plan_rows(tx, on_sale, lambda p: GRANT_PLAN(member_id=member.id, plan_id=p.id))
    rows.append(_card_row(tx, member.id))
    key = "mbr_grant_choose" if on_sale else "mbr_no_plans"
    return Screen(tx(key, name=member.name), inline(rows))


def grant_start(tx: Texts, member: Member, plan: PlanRow, today: date) -> Screen:
    """From today, or another date?"""
    text = "\n".join([tx("mbr_grant_start", plan=plan.name, name=member.name),
                      summary(tx, plan), "", tx("mbr_grant_when")])
    return Screen(text, inline([
        [(tx("mbr_button_today", date=tx.date(today, "long")),
          GRANT_DAY(member_id=member.id, plan_id=plan.id, day=today))],
        [(tx("mbr_button_other_date"), GRANT_DATE(member_id=member.id, plan_id=plan.id))],
        _card_row(tx, member.id)]))


def grant_confirm(tx: Texts, member: Member, plan: PlanRow, start: date) -> Screen:
    """The membership to grant, to confirm."""
    end = start + timedelta(days=plan.duration_days - 1)
    text = tx("mbr_grant_confirm", plan=plan.name, name=member.name, start=tx.date(start, "long"),
              end=tx.date(end, "long"), visits=visits_text(tx, plan.visit_count))
    return Screen(text, inline([
        [(tx("mbr_button_confirm"), GRANT_OK(member_id=member.id, plan_id=plan.id, day=start))],
        _card_row(tx, member.id)]))


def ask_date(tx: Texts, member_id: int, key: str, today: date, *, problem: str | None = None,
             first: date | None = None, last: date | None = None) -> Screen:
    """Type a date (after bad input, why it was refused first: `problem` is the catalog key,
    no such date or one outside `first` to `last`)."""
    example = example_date(today)
    lines = []
    if problem:
        lines += [tx(problem, example=example, first=tx.date(first or today, "long"),
                     last=tx.date(last or today, "long")), ""]
    lines.append(tx(key, example=example))
    return Screen("\n".join(lines), inline([_cancel_row(tx, member_id)]))


def extend_choose(tx: Texts, member: Member, m: AdminMembership,
                  on_sale: list[PlanRow]) -> Screen:
    """The plans on sale to extend by."""
    rows = _plan_rows(tx, on_sale, lambda p: EXTEND_PLAN(membership_id=m.id, plan_id=p.id))
    rows.append(_card_row(tx, member.id))
    if not on_sale:
        return Screen(tx("mbr_no_plans", name=member.name), inline(rows))
    return Screen(tx("mbr_extend_choose", name=member.name, plan=m.plan_name,
                     end=tx.date(m.ends_on, "long")), inline(rows))


def _visits_after(tx: Texts, m: AdminMembership, plan: PlanRow) -> str:
    if m.visits_left is None or plan.visit_count is None:
        return tx("plan_unlimited")
    return tx.plural("plan_visits", m.visits_left + plan.visit_count)


def extend_confirm(tx: Texts, member: Member, m: AdminMembership, plan: PlanRow) -> Screen:
    """The extension, to confirm (the button carries the end date shown)."""
    text = tx("mbr_extend_confirm", name=member.name, plan=plan.name,
              old=tx.date(m.ends_on, "long"),
              new=tx.date(m.ends_on + timedelta(days=plan.duration_days), "long"),
              visits=_visits_after(tx, m, plan))
    return Screen(text, inline([
        [(tx("mbr_button_confirm"),
          EXTEND_OK(membership_id=m.id, plan_id=plan.id, end=m.ends_on))],
        _card_row(tx, member.id)]))


# -- freezes -----------------------------------------------------------------------------------

def freeze_choose(tx: Texts, member: Member, m: AdminMembership,
                  problem: str | None = None) -> Screen:
    """How many days: buttons within the allowance, or a typed number."""
    left = m.freeze_left
    choices = [d for d in FREEZE_CHOICES if d < left] + [left]
    lines = [problem, ""] if problem else []
    lines.append(tx("mbr_freeze_choose", name=member.name,
                    left=tx.plural("plan_days", left), end=tx.date(m.ends_on, "long")))
    rows = [[(tx.plural("plan_days", d), FREEZE_DAYS(membership_id=m.id, days=d))
             for d in choices]]
    rows.append(_cancel_row(tx, member.id))
    return Screen("\n".join(lines), inline(rows))


def freeze_start(tx: Texts, member: Member, m: AdminMembership, days: int,
                 today: date) -> Screen:
    """From today (or the membership's first day, if later), or another date?"""
    first = freezes.first_day(m, today)
    key = "mbr_button_today" if first == today else "mbr_button_from"
    return Screen(tx("mbr_freeze_start", name=member.name, days=tx.plural("plan_days", days)),
                  inline([
                      [(tx(key, date=tx.date(first, "long")),
                        FREEZE_DAY(membership_id=m.id, days=days, day=first))],
                      [(tx("mbr_button_other_date"), FREEZE_DATE(membership_id=m.id, days=days))],
                      _card_row(tx, member.id)]))


def freeze_confirm(tx: Texts, member: Member, m: AdminMembership, days: int,
                   start: date) -> Screen:
    """The freeze, to confirm."""
    until = start + timedelta(days=days - 1)
    text = tx("mbr_freeze_confirm", name=member.name, start=tx.date(start, "long"),
              end=tx.date(until, "long"), days=tx.plural("plan_days", days))
    return Screen(text, inline([
        [(tx("mbr_button_confirm"), FREEZE_OK(membership_id=m.id, days=days, day=start))],
        _card_row(tx, member.id)]))


def unfreeze_ask(tx: Texts, member: Member, m: AdminMembership, today: date) -> Screen:
    """End the freeze now (only the days frozen so far count), or call off a planned one."""
    if m.frozen_from > today:
        text = tx("mbr_unfreeze_planned", name=member.name, start=tx.date(m.frozen_from, "long"))
    else:
        frozen = max(0, (min(m.frozen_until, today - timedelta(days=1)) - m.frozen_from).days
                     + 1)
        text = tx("mbr_unfreeze_ask", name=member.name, days=tx.plural("plan_days", frozen))
    return Screen(text, inline([
        [(tx("mbr_button_unfreeze_yes"), UNFREEZE(membership_id=m.id, step="yes"))],
        _card_row(tx, member.id)]))


def cancel_ask(tx: Texts, member: Member, m: AdminMembership) -> Screen:
    """Cancel the membership? It cannot be undone."""
    return Screen(tx("mbr_cancel_ask", name=member.name, plan=m.plan_name,
                     end=tx.date(m.ends_on, "long")), inline([
        [(tx("mbr_button_cancel_yes"), MEMBERSHIP_CANCEL(membership_id=m.id, step="yes"))],
        _card_row(tx, member.id)]))


# -- typed steps: adjust, note -----------------------------------------------------------------

def ask_delta(tx: Texts, member: Member, m: AdminMembership, problem: str | None = None,
              **values) -> Screen:
    """Type the change of visits."""
    lines = [tx(problem, **values), ""] if problem else []
    lines.append(tx("mbr_ask_delta", name=member.name,
                    visits=tx.plural("plan_visits", m.visits_left or 0)))
    return Screen("\n".join(lines), inline([_cancel_row(tx, member.id)]))


def ask_reason(tx: Texts, member_id: int, delta: int, problem: bool = False) -> Screen:
    """Type the reason for the change."""
    lines = [tx("mbr_bad_reason"), ""] if problem else []
    lines.append(tx("mbr_ask_reason", delta=f"{delta:+d}"))
    return Screen("\n".join(lines), inline([_cancel_row(tx, member_id)]))


def ask_note(tx: Texts, member: Member, problem: bool = False) -> Screen:
    """Type the note."""
    lines = [tx("mbr_bad_note"), ""] if problem else []
    lines.append(tx("mbr_ask_note", name=member.name))
    return Screen("\n".join(lines), inline([_cancel_row(tx, member.id)]))


# -- refusals, notices -------------------------------------------------------------------------

def refusal(tx: Texts, result: Result, member: Member | None = None) -> str:
    """Why a change was refused, in one line, with the numbers."""
    m = result.membership
    values = {"name": member.name if member else "", "plan": m.plan_name if m else "",
              "end": tx.date(m.ends_on, "long") if m else "",
              "left": tx.plural("plan_days", result.left), "asked": tx.plural(
                  "plan_days", result.asked)}
    if result.reason is Refusal.BELOW_ZERO:
        values.update(left=tx.plural("plan_visits", result.left),
                      asked=tx.plural("plan_visits", result.asked))
    return tx(f"mbr_refused_{result.reason.value}", **values)


def outcome(tx: Texts, result: Result, member: Member | None, done: str) -> str:
    """The line the card shows after a change: `done`, why it was refused (`member` named),
    or that the button was stale."""
    if result.outcome is Outcome.UNAVAILABLE:
        return tx("stale_button")
    if result.outcome is Outcome.REFUSED:
        return refusal(tx, result, member)
    return done


def notice(tx: Texts, found: MembershipNotice) -> str:
    """What the member is told about a change of their membership, in their language."""
    m = found.membership
    values = {"plan": m.plan_name, "start": tx.date(m.starts_on, "long"),
              "end": tx.date(m.ends_on, "long"),
              "visits": (tx("membership_unlimited") if m.visits_left is None
                         else tx.plural("membership_visits_left", m.visits_left)),
              "days": tx.plural("plan_days", found.days), "reason": found.reason}
    kind = found.kind
    if kind == "frozen":
        values.update(start=tx.date(m.frozen_from, "long"), until=tx.date(m.frozen_until, "long"))
        kind = "frozen" if m.status == "frozen" else "freeze_planned"
    if kind == "adjusted":
        kind = "added" if found.delta > 0 else "taken"
        values["delta"] = tx.plural("plan_visits", abs(found.delta))
    text = tx(f"mbr_notice_{kind}", **values)
    if found.bookings_cancelled:
        text += "\n" + tx.plural("mbr_notice_bookings_cancelled", found.bookings_cancelled)
    return text
