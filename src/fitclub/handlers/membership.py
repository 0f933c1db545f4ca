"""/membership: the member's membership, or the plans with "request this plan"."""

from __future__ import annotations

import telebot
from telebot import types

from fitclub import ui
from fitclub.callbacks import PLAN_REQUEST
from fitclub.locales import Texts
from fitclub.screens import membership as screens
from fitclub.services import memberships
from fitclub.services.memberships import RequestOutcome


def register(bot: telebot.TeleBot, deps) -> None:
    """Register /membership and the plan request button."""

    def screen_for(ctx, member):
        today = ctx.texts.local(ctx.now()).date()
        return screens.membership(ctx.texts,
                                  memberships.membership_of(ctx.conn, member.id, today),
                                  memberships.plans_on_sale(ctx.conn))

    @bot.message_handler(commands=["membership"], chat_types=["private"])
    def show_membership(message: types.Message) -> None:
        ctx = deps.context()
        member = ui.member_or_refuse(ctx)
        if member is None:
            return
        screen = screen_for(ctx, member)
        ctx.reply(screen.text, reply_markup=screen.markup)

    @bot.callback_query_handler(func=PLAN_REQUEST.matches())
    def request_plan(call: types.CallbackQuery) -> None:
        ctx = deps.context()
        member = ui.member_or_refuse(ctx, call)
        if member is None:
            return
        plan_id = PLAN_REQUEST.parse(call.data)["plan_id"]
        result = memberships.request_plan(ctx.conn, member.id, plan_id)
        if result.outcome is RequestOutcome.UNAVAILABLE:
            ui.stale(ctx, call, refresh=screen_for(ctx, member))
            return
        if result.outcome is RequestOutcome.REPEAT:
            ctx.answer_callback(call.id, ctx.texts("plan_request_repeat", plan=result.plan.name))
            return
        for admin in result.notify:
            tx = Texts(admin.language)
            ctx.reply(tx("plan_request_admin", name=member.name,
                         phone=member.phone or tx("no_phone"), plan=result.plan.name),
                      chat_id=admin.telegram_id)
        ctx.answer_callback(call.id, ctx.texts("plan_requested", plan=result.plan.name),
                            show_alert=True)
