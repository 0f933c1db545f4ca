"""Telling people what a change meant for them, in one place.

Services record notices as they make a change (`fitclub.runtime.notices.record`); after the
handler or job that called them, the runtime calls `deliver`, which words each notice in its
recipient's language and queues it in the same transaction. A notice type without a
renderer here is a programming error: `deliver` raises, and the change rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fitclub import commands
from fitclub.locales import Texts
from fitclub.runtime import notices
from fitclub.runtime.context import PRIORITY_REMINDER, UpdateContext
from fitclub.screens import Screen
from fitclub.screens import bookings as booking_screens
from fitclub.screens import checkin as checkin_screens
from fitclub.screens import classes as class_screens
from fitclub.screens import members_admin as member_screens
from fitclub.screens import myclasses as myclasses_screens
from fitclub.screens import payments as payment_screens
from fitclub.screens import payments_admin as admin_payment_screens
from fitclub.screens import people as people_screens
from fitclub.screens import plan_requests as request_screens
from fitclub.services import payments
from fitclub.services.attendance import NoShowsRecorded
from fitclub.services.booking import OfferExpired, OfferNotice
from fitclub.services.checkin import CheckedIn
from fitclub.services.classes import ClassCancelled, ClassMoved
from fitclub.services.membership_change import MembershipNotice
from fitclub.services.payments import AdminPaymentNotice, PaymentNotice, RefundNotice
from fitclub.services.plan_requests import PlanRequested
from fitclub.services.roles import RoleChanged


def _send(ctx: UpdateContext, chat_id: int | None, screen: Screen, *,
          priority: int | None = None) -> None:
    if chat_id is not None:  # None: erased since, nobody to tell
        ctx.reply(screen.text, reply_markup=screen.markup, chat_id=chat_id, priority=priority)


def _offer(ctx: UpdateContext, notice: OfferNotice) -> None:
    _send(ctx, notice.telegram_id, booking_screens.offer(Texts(notice.language), notice))


def _offer_expired(ctx: UpdateContext, notice: OfferExpired) -> None:
    offer = notice.offer
    _send(ctx, offer.telegram_id, booking_screens.offer_expired(Texts(offer.language), offer))


def _membership(ctx: UpdateContext, notice: MembershipNotice) -> None:
    _send(ctx, notice.telegram_id,
          Screen(member_screens.notice(Texts(notice.language), notice)))


def _class_moved(ctx: UpdateContext, notice: ClassMoved) -> None:
    who = notice.attendee
    screen = class_screens.moved_notice(Texts(who.language), who, notice.class_id, notice.name,
                                        notice.old_start, notice.new_start)
    _send(ctx, who.telegram_id, screen, priority=PRIORITY_REMINDER)


def _class_cancelled(ctx: UpdateContext, notice: ClassCancelled) -> None:
    who = notice.attendee
    screen = class_screens.cancelled_notice(Texts(who.language), who, notice.name,
                                            notice.starts_at)
    _send(ctx, who.telegram_id, screen, priority=PRIORITY_REMINDER)


def _role_changed(ctx: UpdateContext, notice: RoleChanged) -> None:
    person = notice.person
    _send(ctx, person.telegram_id,
          Screen(people_screens.notice(Texts(person.language), person.role)))
    if person.telegram_id is not None:
        commands.set_for_member(ctx, person, chat_id=person.telegram_id)


def _checked_in(ctx: UpdateContext, notice: CheckedIn) -> None:
    person = notice.person
    _send(ctx, person.telegram_id, checkin_screens.member_note(Texts(person.language), notice))


def _no_shows(ctx: UpdateContext, notice: NoShowsRecorded) -> None:
    _send(ctx, notice.telegram_id, myclasses_screens.no_show_summary(Texts(notice.language),
                                                                     notice))


def _plan_requested(ctx: UpdateContext, notice: PlanRequested) -> None:
    admin = notice.admin
    _send(ctx, admin.telegram_id,
          request_screens.plan_requested(Texts(admin.language), notice))


def _payment(ctx: UpdateContext, notice: PaymentNotice) -> None:
    """The member's one message about their payment: the plan, the end date and the visits
    (granted or extended), or that the club will refund it."""
    tx = Texts(notice.language)
    if notice.kind == "needs_refund":
        screen = payment_screens.needs_refund(tx, notice.amount_minor, notice.problem,
                                              notice.currency)
    else:
        screen = payment_screens.paid(tx, notice.plan_name, notice.ends_on, notice.visits_left,
                                      renewed=notice.kind == "extended")
    _send(ctx, notice.telegram_id, screen)


def _refund(ctx: UpdateContext, notice: RefundNotice) -> None:
    _send(ctx, notice.telegram_id, payment_screens.refunded(
        Texts(notice.language), notice.amount_minor, notice.plan_name, notice.ends_on,
        notice.currency))


def _payment_to_admin(ctx: UpdateContext, notice: AdminPaymentNotice) -> None:
    """An admin is told of a payment: who paid what for which plan and until when, or that it
    needs a refund and why (in the admins' words); a button opens the member's card."""
    admin = notice.admin
    tx = Texts(admin.language)
    values = {"member": notice.member_name or tx("member_erased"),
              "plan": notice.plan_name or tx("aud_gone"),
              "amount": admin_payment_screens.amount(tx, notice.amount_minor, notice.currency)}
    if notice.kind == "needs_refund":
        text = tx("pay_admin_needs_refund",
                  why=admin_payment_screens.problem(tx, notice.problem), **values)
    else:
        text = tx(f"pay_admin_{notice.kind}", end=tx.date(notice.ends_on, "long"), **values)
    paid = payments.payment(ctx.conn, notice.payment_id) if notice.member_name else None
    _send(ctx, admin.telegram_id, Screen(text, admin_payment_screens.notice_markup(
        tx, paid.member_id if paid is not None else None)))


RENDERERS: dict[type, Callable[[UpdateContext, Any], None]] = {
    OfferNotice: _offer,
    OfferExpired: _offer_expired,
    MembershipNotice: _membership,
    ClassMoved: _class_moved,
    ClassCancelled: _class_cancelled,
    RoleChanged: _role_changed,
    PlanRequested: _plan_requested,
    CheckedIn: _checked_in,
    NoShowsRecorded: _no_shows,
    PaymentNotice: _payment,
    RefundNotice: _refund,
    AdminPaymentNotice: _payment_to_admin,
}


def deliver(ctx: UpdateContext) -> int:
    """Queue every notice recorded in ctx's transaction; how many there were."""
    taken = notices.take(ctx)
    for notice in taken:
        render = RENDERERS.get(type(notice))
        if render is None:
            raise TypeError(f"no renderer for the notice {type(notice).__name__}")
        render(ctx, notice)
    return len(taken)
