"""Members' requests for a plan as admins see them: the open requests, and the notice an
admin gets when a member asks for a plan."""

from __future__ import annotations

from fitclub.callbacks import MEMBER_CARD, REQUEST
from fitclub.locales import Texts
from fitclub.screens import Screen, inline
from fitclub.screens.staff import back_row
from fitclub.services.plan_requests import PlanRequested, PlanRequestView

NAME_CHARS, PLAN_CHARS = 18, 14  # cut to this on a request's button (a phone's width)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def requests(tx: Texts, items: list[PlanRequestView], total: int) -> Screen:
    """Open requests for a plan, newest first; each has two rows of buttons that fit a phone:
    who and which plan (opens the member's card), then Grant and Dismiss."""
    lines = [tx("mbr_requests_title", n=total)]
    rows = []
    for r in items:
        lines += ["", tx("mbr_request_line", when=tx.datetime(r.created_at), name=r.name,
                         phone=r.phone or tx("no_phone"), plan=r.plan_name)]
        if not r.plan_on_sale:
            lines.append(tx("mbr_request_off_sale"))
        rows.append([(tx("mbr_button_request_card", name=_cut(r.name, NAME_CHARS),
                         plan=_cut(tx.content(r.plan_name), PLAN_CHARS)),
                      MEMBER_CARD(member_id=r.member_id))])
        rows.append([(tx("mbr_button_request_grant"), REQUEST(request_id=r.id, act="grant")),
                     (tx("mbr_button_request_dismiss"), REQUEST(request_id=r.id,
                                                                act="dismiss"))])
    if not items:
        lines += ["", tx("mbr_requests_none")]
    elif total > len(items):
        lines += ["", tx("mbr_requests_more", n=total - len(items))]
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def plan_requested(tx: Texts, notice: PlanRequested) -> Screen:
    """To an admin: who asked for which plan."""
    return Screen(tx("plan_request_admin", name=notice.member_name,
                     phone=notice.member_phone or tx("no_phone"), plan=notice.plan_name))
