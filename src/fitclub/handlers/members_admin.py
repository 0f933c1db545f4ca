"""/members (admins): find a member, their card, and every change to their membership (grant,
extend, freeze, unfreeze, cancel, adjust visits), notes (the plan requests section is
handlers/plan_requests.py).

Every change is told to the member in their language, through the outbox. Typed steps are
the flow "mbr"; its resting step "mbr.search" takes a typed name as a new search.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial, wraps

import telebot
from telebot import types

from fitclub import access, flows, ui
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
    STAFF,
    UNFREEZE,
)
from fitclub.db.members import by_id
from fitclub.screens import members_admin as screens
from fitclub.services import club, membership_admin, people, plans, timetable
from fitclub.services.membership_admin import Outcome, Refusal

FLOW = "mbr"
SEARCH = "mbr.search"
GRANT_DATE_STEP = "mbr.grant_date"
FREEZE_DAYS_STEP = "mbr.freeze_days"
FREEZE_DATE_STEP = "mbr.freeze_date"
DELTA_STEP = "mbr.delta"
REASON_STEP = "mbr.reason"
NOTE_STEP = "mbr.note"


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /members, the members section, its buttons and typed steps."""
    private = {"chat_types": ["private"]}
    in_flow = flows.in_flow(deps.context, FLOW)
    bot.register_message_handler(partial(show_search, deps), commands=["members"], **private)
    # Commands typed mid-step stay commands (/cancel leaves the flow, in registration).
    bot.register_message_handler(
        partial(typed, deps), content_types=["text"],
        func=lambda m: not (m.text or "").startswith("/") and in_flow(m), **private)
    for handler, matches in (
            (section, STAFF.matches(section="members")), (find, MEMBER_FIND.matches()),
            (open_card, MEMBER_CARD.matches()), (flow_cancel, MEMBER_FLOW_CANCEL.matches()),
            (grant, GRANT.matches()), (grant_plan, GRANT_PLAN.matches()),
            (grant_date, GRANT_DATE.matches()), (grant_day, GRANT_DAY.matches()),
            (grant_ok, GRANT_OK.matches()), (extend, EXTEND.matches()),
            (extend_plan, EXTEND_PLAN.matches()), (extend_ok, EXTEND_OK.matches()),
            (freeze, FREEZE.matches()), (freeze_days, FREEZE_DAYS.matches()),
            (freeze_date, FREEZE_DATE.matches()), (freeze_day, FREEZE_DAY.matches()),
            (freeze_ok, FREEZE_OK.matches()), (unfreeze, UNFREEZE.matches()),
            (cancel, MEMBERSHIP_CANCEL.matches()), (adjust, ADJUST.matches()),
            (note, NOTE.matches())):
        bot.register_callback_query_handler(partial(handler, deps), func=matches)


# -- helpers -----------------------------------------------------------------------------------

def _admin(ctx, call=None, what="members.open"):
    return access.staff_or_refuse(ctx, call, roles=access.ADMIN, what=what)


def _admins_only(what: str):
    """A button handler run as fn(deps, ctx, admin, call) for an admin (others are refused,
    `what` naming the attempt)."""
    def wrap(fn):
        @wraps(fn)
        def handler(deps, call: types.CallbackQuery) -> None:
            ctx = deps.context()
            admin = _admin(ctx, call, what)
            if admin is not None:
                fn(deps, ctx, admin, call)
        return handler
    return wrap


def _rules(deps):
    return club.of(deps.settings).booking


def _today(deps, ctx):
    return timetable.today(ctx.now(), _rules(deps))


def _rest(ctx) -> None:
    """Back to the resting step (a typed text searches) from any plan or membership step."""
    state = flows.current(ctx).state or ""
    if state != SEARCH and (state.startswith(FLOW + ".") or state.startswith("plan.")):
        flows.enter(ctx, SEARCH)


def _card_screen(deps, ctx, member_id: int, note: str | None = None):
    found = membership_admin.card(ctx.conn, member_id, ctx.now(), _rules(deps))
    return screens.card(ctx.texts, found, note) if found is not None else None


def _show_card(deps, ctx, call, member_id: int, *, toast: str | None = None,
               note: str | None = None) -> None:
    """The member's card in place of the pressed message (a search prompt if they are gone)."""
    if call is None and toast and not note:
        note, toast = toast, None  # a typed step has no button to answer: say it in the card
    screen = _card_screen(deps, ctx, member_id, note)
    if screen is None:
        if call is not None:
            _stale(ctx, call)
        else:
            _step_gone(ctx, "mbr_step_gone")
        return
    ui.show(ctx, screen, call, toast=toast)


def _membership(deps, ctx, membership_id: int):
    """(member, membership) of a live member's membership, else (None, None)."""
    found = membership_admin.locked(ctx.conn, membership_id, _today(deps, ctx))
    member = by_id(ctx.conn, found.member_id) if found is not None else None
    return (member, found) if member is not None else (None, None)


def _stale(ctx, call) -> None:
    flows.enter(ctx, SEARCH)
    ui.stale(ctx, call, refresh=screens.search_prompt(ctx.texts))


def _reply(ctx, screen) -> None:
    ctx.reply(screen.text, reply_markup=screen.markup)


def _step_gone(ctx, problem: str | None = None) -> None:
    """A typed step whose member or membership is gone: back to the search."""
    flows.enter(ctx, SEARCH)
    _reply(ctx, screens.search_prompt(ctx.texts, problem))


def _on_sale(ctx) -> list:
    return [p for p in plans.all_plans(ctx.conn) if p.is_active]


def _after(deps, ctx, call, result, done_key: str, **values) -> None:
    """Show the card after a change: done (the member told), refused (why), or stale."""
    member_id = result.member_id
    if result.outcome is Outcome.UNAVAILABLE:
        if member_id is None:
            _stale(ctx, call)
        else:
            _rest(ctx)
            _show_card(deps, ctx, call, member_id, toast=ctx.texts("stale_button"))
        return
    _rest(ctx)
    if result.outcome is Outcome.REFUSED:
        member = by_id(ctx.conn, member_id)
        _show_card(deps, ctx, call, member_id,
                   toast=screens.refusal(ctx.texts, result, member))
        return
    text = ctx.texts(done_key, **values)
    _show_card(deps, ctx, call, member_id, toast=text if call else None, note=text)


# -- search and card ---------------------------------------------------------------------------

def show_search(deps, message: types.Message) -> None:
    ctx = deps.context()
    if _admin(ctx) is None:
        return
    flows.enter(ctx, SEARCH)
    _reply(ctx, screens.search_prompt(ctx.texts))


@_admins_only("members.open")
def section(deps, ctx, admin, call: types.CallbackQuery) -> None:
    flows.enter(ctx, SEARCH)
    ui.show(ctx, screens.search_prompt(ctx.texts), call)


def find(deps, call: types.CallbackQuery) -> None:
    section(deps, call)


@_admins_only("members.card")
def open_card(deps, ctx, admin, call: types.CallbackQuery) -> None:
    _rest(ctx)
    _show_card(deps, ctx, call, MEMBER_CARD.parse(call.data)["member_id"])


@_admins_only("members.step")
def flow_cancel(deps, ctx, admin, call: types.CallbackQuery) -> None:
    _rest(ctx)
    _show_card(deps, ctx, call, MEMBER_FLOW_CANCEL.parse(call.data)["member_id"],
               toast=ctx.texts("mbr_step_cancelled"))


def typed(deps, message: types.Message) -> None:
    """Text at a membership step: a search, a date, a number of days, a change, a reason, a
    note."""
    ctx = deps.context()
    if _admin(ctx, what="members.step") is None:
        flows.leave(ctx)
        return
    flow = flows.current(ctx)
    step = STEPS.get(flow.state, search_step)
    step(deps, ctx, flow.data, message.text or "")


def search_step(deps, ctx, data: dict, text: str) -> None:
    tx = ctx.texts
    query = people.normalize(text)
    if query is None:
        _reply(ctx, screens.search_prompt(tx, "mbr_search_short"))
        return
    found = people.search(ctx.conn, query)
    if not found:
        _reply(ctx, screens.search_prompt(tx, "mbr_search_none", query))
        return
    _reply(ctx, screens.search_results(tx, query, found))


# -- grant -------------------------------------------------------------------------------------

@_admins_only("members.grant")
def grant(deps, ctx, admin, call: types.CallbackQuery) -> None:
    member_id = GRANT.parse(call.data)["member_id"]
    member = by_id(ctx.conn, member_id)
    if member is None:
        _stale(ctx, call)
        return
    current = membership_admin.membership_of(ctx.conn, member_id, _today(deps, ctx))
    if current is not None and current.current:
        _show_card(deps, ctx, call, member_id, toast=ctx.texts(
            "mbr_refused_has_current", name=member.name, plan=current.plan_name,
            end=ctx.texts.date(current.ends_on)))
        return
    ui.show(ctx, screens.grant_choose(ctx.texts, member, _on_sale(ctx)), call)


def _member_and_plan(ctx, member_id: int, plan_id: int):
    member = by_id(ctx.conn, member_id)
    plan = plans.get(ctx.conn, plan_id) if member is not None else None
    return member, plan


@_admins_only("members.grant")
def grant_plan(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = GRANT_PLAN.parse(call.data)
    member, plan = _member_and_plan(ctx, values["member_id"], values["plan_id"])
    if member is None:
        _stale(ctx, call)
        return
    if plan is None or not plan.is_active:
        _show_card(deps, ctx, call, member.id, toast=ctx.texts("mbr_refused_plan_off_sale"))
        return
    ui.show(ctx, screens.grant_start(ctx.texts, member, plan, _today(deps, ctx)), call)


@_admins_only("members.grant")
def grant_date(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = GRANT_DATE.parse(call.data)
    member, plan = _member_and_plan(ctx, values["member_id"], values["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    flows.enter(ctx, GRANT_DATE_STEP, {"member_id": member.id, "plan_id": plan.id})
    ui.show(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_start", _today(deps, ctx)),
            call)


def grant_date_step(deps, ctx, data: dict, text: str) -> None:
    member, plan = _member_and_plan(ctx, data["member_id"], data["plan_id"])
    today = _today(deps, ctx)
    if plan is None:
        _step_gone(ctx)
        return
    day = membership_admin.parse_day(text, today)
    if day is None or not membership_admin.start_allowed(day, today):
        last = today + timedelta(days=membership_admin.MAX_START_AHEAD_DAYS)
        _reply(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_start", today,
                                     problem=True, first=today, last=last))
        return
    flows.enter(ctx, SEARCH)
    _reply(ctx, screens.grant_confirm(ctx.texts, member, plan, day))


@_admins_only("members.grant")
def grant_day(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = GRANT_DAY.parse(call.data)
    member, plan = _member_and_plan(ctx, values["member_id"], values["plan_id"])
    if plan is None:
        _stale(ctx, call)
        return
    ui.show(ctx, screens.grant_confirm(ctx.texts, member, plan, values["day"]), call)


@_admins_only("members.grant")
def grant_ok(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = GRANT_OK.parse(call.data)
    result = membership_admin.grant(ctx.conn, admin.id, values["member_id"], values["plan_id"],
                                    values["day"], ctx.now(), _rules(deps))
    m = result.membership
    _after(deps, ctx, call, result, "mbr_granted", plan=m.plan_name if m else "",
           end=ctx.texts.date(m.ends_on) if m else "")


# -- extend ------------------------------------------------------------------------------------

def _refuse_on_card(deps, ctx, call, member, found, reason: Refusal) -> None:
    result = membership_admin.Result(Outcome.REFUSED, reason, found, member_id=member.id,
                                     left=found.freeze_left)
    _show_card(deps, ctx, call, member.id, toast=screens.refusal(ctx.texts, result, member))


@_admins_only("members.extend")
def extend(deps, ctx, admin, call: types.CallbackQuery) -> None:
    member, found = _membership(deps, ctx, EXTEND.parse(call.data)["membership_id"])
    if found is None:
        _stale(ctx, call)
    elif not found.current:
        _refuse_on_card(deps, ctx, call, member, found, Refusal.NOT_CURRENT)
    else:
        ui.show(ctx, screens.extend_choose(ctx.texts, member, found, _on_sale(ctx)), call)


@_admins_only("members.extend")
def extend_plan(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = EXTEND_PLAN.parse(call.data)
    member, found = _membership(deps, ctx, values["membership_id"])
    plan = plans.get(ctx.conn, values["plan_id"]) if found is not None else None
    if plan is None:
        _stale(ctx, call)
    elif not found.current:
        _refuse_on_card(deps, ctx, call, member, found, Refusal.NOT_CURRENT)
    else:
        ui.show(ctx, screens.extend_confirm(ctx.texts, member, found, plan), call)


@_admins_only("members.extend")
def extend_ok(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = EXTEND_OK.parse(call.data)
    result = membership_admin.extend(ctx.conn, admin.id, values["membership_id"],
                                     values["plan_id"], values["end"], ctx.now(), _rules(deps))
    m = result.membership
    _after(deps, ctx, call, result, "mbr_extended", end=ctx.texts.date(m.ends_on) if m else "")


# -- freeze and unfreeze -----------------------------------------------------------------------

@_admins_only("members.freeze")
def freeze(deps, ctx, admin, call: types.CallbackQuery) -> None:
    member, found = _membership(deps, ctx, FREEZE.parse(call.data)["membership_id"])
    if found is None:
        _stale(ctx, call)
        return
    reason = (Refusal.NOT_CURRENT if not found.current else
              Refusal.FREEZE_OPEN if found.freeze_id is not None else
              Refusal.NO_ALLOWANCE if found.freeze_left <= 0 else None)
    if reason is not None:
        _refuse_on_card(deps, ctx, call, member, found, reason)
        return
    flows.enter(ctx, FREEZE_DAYS_STEP, {"membership_id": found.id})
    ui.show(ctx, screens.freeze_choose(ctx.texts, member, found), call)


def _days_ok(deps, ctx, call, member, found, days: int) -> bool:
    """Whether the membership may be frozen for `days`; otherwise the refusal with the
    numbers (the start day is chosen next)."""
    today = _today(deps, ctx)
    reason = membership_admin.freeze_refusal(
        found, days, membership_admin.first_freeze_day(found, today), today)
    if reason is None:
        return True
    result = membership_admin.Result(Outcome.REFUSED, reason, found, member_id=member.id,
                                     left=found.freeze_left, asked=days)
    text = screens.refusal(ctx.texts, result, member)
    if reason is Refusal.OVER_ALLOWANCE:
        flows.enter(ctx, FREEZE_DAYS_STEP, {"membership_id": found.id})
        screen = screens.freeze_choose(ctx.texts, member, found, text)
        ui.show(ctx, screen, call, toast=text if call else None)
    else:
        _rest(ctx)
        _show_card(deps, ctx, call, member.id, toast=text)
    return False


@_admins_only("members.freeze")
def freeze_days(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = FREEZE_DAYS.parse(call.data)
    member, found = _membership(deps, ctx, values["membership_id"])
    if found is None:
        _stale(ctx, call)
    elif _days_ok(deps, ctx, call, member, found, values["days"]):
        _rest(ctx)
        ui.show(ctx, screens.freeze_start(ctx.texts, member, found, values["days"],
                                          _today(deps, ctx)), call)


def freeze_days_step(deps, ctx, data: dict, text: str) -> None:
    member, found = _membership(deps, ctx, data["membership_id"])
    if found is None:
        _step_gone(ctx)
        return
    checked = plans.check_days(text)
    if checked.problem is not None:
        _reply(ctx, screens.freeze_choose(ctx.texts, member, found, ctx.texts(
            "mbr_bad_days", left=ctx.texts.plural("plan_days", found.freeze_left))))
        return
    if _days_ok(deps, ctx, None, member, found, checked.value):
        flows.enter(ctx, SEARCH)
        _reply(ctx, screens.freeze_start(ctx.texts, member, found, checked.value,
                                         _today(deps, ctx)))


@_admins_only("members.freeze")
def freeze_date(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = FREEZE_DATE.parse(call.data)
    member, found = _membership(deps, ctx, values["membership_id"])
    if found is None:
        _stale(ctx, call)
    elif _days_ok(deps, ctx, call, member, found, values["days"]):
        flows.enter(ctx, FREEZE_DATE_STEP, {"membership_id": found.id, "days": values["days"]})
        ui.show(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_freeze_start",
                                      _today(deps, ctx)), call)


def freeze_date_step(deps, ctx, data: dict, text: str) -> None:
    member, found = _membership(deps, ctx, data["membership_id"])
    if found is None:
        _step_gone(ctx)
        return
    today = _today(deps, ctx)
    first = membership_admin.first_freeze_day(found, today)
    day = membership_admin.parse_day(text, today)
    if day is None or not first <= day <= found.ends_on:
        _reply(ctx, screens.ask_date(ctx.texts, member.id, "mbr_ask_freeze_start", today,
                                     problem=True, first=first, last=found.ends_on))
        return
    flows.enter(ctx, SEARCH)
    _reply(ctx, screens.freeze_confirm(ctx.texts, member, found, data["days"], day))


@_admins_only("members.freeze")
def freeze_day(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = FREEZE_DAY.parse(call.data)
    member, found = _membership(deps, ctx, values["membership_id"])
    if found is None:
        _stale(ctx, call)
    elif _days_ok(deps, ctx, call, member, found, values["days"]):
        ui.show(ctx, screens.freeze_confirm(ctx.texts, member, found, values["days"],
                                            values["day"]), call)


@_admins_only("members.freeze")
def freeze_ok(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = FREEZE_OK.parse(call.data)
    result = membership_admin.freeze(ctx.conn, admin.id, values["membership_id"],
                                     values["days"], values["day"], ctx.now(), _rules(deps))
    m = result.membership
    _after(deps, ctx, call, result, "mbr_frozen",
           start=ctx.texts.date(m.frozen_from) if m and m.frozen_from else "",
           end=ctx.texts.date(m.frozen_until) if m and m.frozen_until else "")


@_admins_only("members.unfreeze")
def unfreeze(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = UNFREEZE.parse(call.data)
    if values["step"] == "ask":
        member, found = _membership(deps, ctx, values["membership_id"])
        if found is None:
            _stale(ctx, call)
        elif found.freeze_id is None or not found.current:
            _refuse_on_card(deps, ctx, call, member, found, Refusal.NO_FREEZE)
        else:
            ui.show(ctx, screens.unfreeze_ask(ctx.texts, member, found, _today(deps, ctx)),
                    call)
        return
    result = membership_admin.unfreeze(ctx.conn, admin.id, values["membership_id"],
                                       ctx.now(), _rules(deps))
    m = result.membership
    _after(deps, ctx, call, result, "mbr_unfrozen", end=ctx.texts.date(m.ends_on) if m else "")


# -- cancel, adjust, notes ---------------------------------------------------------------------

@_admins_only("members.cancel")
def cancel(deps, ctx, admin, call: types.CallbackQuery) -> None:
    values = MEMBERSHIP_CANCEL.parse(call.data)
    if values["step"] == "ask":
        member, found = _membership(deps, ctx, values["membership_id"])
        if found is None:
            _stale(ctx, call)
        elif not found.current:
            _refuse_on_card(deps, ctx, call, member, found, Refusal.NOT_CURRENT)
        else:
            ui.show(ctx, screens.cancel_ask(ctx.texts, member, found), call)
        return
    result = membership_admin.cancel(ctx.conn, admin.id, values["membership_id"], ctx.now(),
                                     _rules(deps))
    _after(deps, ctx, call, result, "mbr_cancelled")


@_admins_only("members.adjust")
def adjust(deps, ctx, admin, call: types.CallbackQuery) -> None:
    member, found = _membership(deps, ctx, ADJUST.parse(call.data)["membership_id"])
    if found is None:
        _stale(ctx, call)
    elif not found.current or found.visits_left is None:
        reason = Refusal.NOT_CURRENT if not found.current else Refusal.UNLIMITED
        _refuse_on_card(deps, ctx, call, member, found, reason)
    else:
        flows.enter(ctx, DELTA_STEP, {"membership_id": found.id})
        ui.show(ctx, screens.ask_delta(ctx.texts, member, found), call)


def delta_step(deps, ctx, data: dict, text: str) -> None:
    member, found = _membership(deps, ctx, data["membership_id"])
    if found is None or not found.current or found.visits_left is None:
        _step_gone(ctx, "mbr_step_gone")
        return
    checked = membership_admin.check_delta(text)
    if checked.problem is not None:
        _reply(ctx, screens.ask_delta(ctx.texts, member, found, checked.problem))
        return
    if found.visits_left + checked.value < 0:
        tx = ctx.texts
        _reply(ctx, screens.ask_delta(tx, member, found, "mbr_refused_below_zero",
                                      left=tx.plural("plan_visits", found.visits_left),
                                      asked=tx.plural("plan_visits", -checked.value)))
        return
    flows.enter(ctx, REASON_STEP, {"membership_id": found.id, "delta": checked.value})
    _reply(ctx, screens.ask_reason(ctx.texts, member.id, checked.value))


def reason_step(deps, ctx, data: dict, text: str) -> None:
    member, found = _membership(deps, ctx, data["membership_id"])
    if found is None:
        _step_gone(ctx, "mbr_step_gone")
        return
    checked = membership_admin.check_reason(text)
    if checked.problem is not None:
        _reply(ctx, screens.ask_reason(ctx.texts, member.id, data["delta"], problem=True))
        return
    result = membership_admin.adjust(ctx.conn, ctx.member.id, found.id, data["delta"],
                                     checked.value, ctx.now(), _rules(deps))
    after = result.membership.visits_left if result.membership else None
    _after(deps, ctx, None, result, "mbr_adjusted", before=found.visits_left or 0,
           after=after or 0)


@_admins_only("members.note")
def note(deps, ctx, admin, call: types.CallbackQuery) -> None:
    member = by_id(ctx.conn, NOTE.parse(call.data)["member_id"])
    if member is None:
        _stale(ctx, call)
        return
    flows.enter(ctx, NOTE_STEP, {"member_id": member.id})
    ui.show(ctx, screens.ask_note(ctx.texts, member), call)


def note_step(deps, ctx, data: dict, text: str) -> None:
    member = by_id(ctx.conn, data["member_id"])
    checked = membership_admin.check_note(text)
    if member is not None and checked.problem is not None:
        _reply(ctx, screens.ask_note(ctx.texts, member, problem=True))
        return
    if member is None or not membership_admin.add_note(ctx.conn, ctx.member.id, member.id,
                                                       checked.value):
        _step_gone(ctx, "mbr_step_gone")
        return
    flows.enter(ctx, SEARCH)
    _show_card(deps, ctx, None, member.id, note=ctx.texts("mbr_note_saved"))


STEPS = {SEARCH: search_step, GRANT_DATE_STEP: grant_date_step,
         FREEZE_DAYS_STEP: freeze_days_step, FREEZE_DATE_STEP: freeze_date_step,
         DELTA_STEP: delta_step, REASON_STEP: reason_step, NOTE_STEP: note_step}
