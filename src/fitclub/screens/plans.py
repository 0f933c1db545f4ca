"""Plans as admins see them (/plans): the list, a plan's details, the steps that create or
edit one, and the confirmations."""

from __future__ import annotations

from typing import Any

from fitclub.callbacks import (
    PLAN_CONFIRM,
    PLAN_DELETE,
    PLAN_EDIT,
    PLAN_FLOW_CANCEL,
    PLAN_NEW,
    PLAN_SALE,
    PLAN_SKIP,
    PLAN_TRANSLATE,
    PLAN_UNLIMITED,
    PLAN_VIEW,
    STAFF,
)
from fitclub.locales import Texts, club, other_language
from fitclub.screens import Screen, inline
from fitclub.screens.staff import back_row
from fitclub.services import plans
from fitclub.services.plans import Draft, PlanRow

#: The create flow's steps, in order (a field each; "name_tr" is the name in the language the
#: admin does not read the bot in, optional).
STEPS = ("name", "name_tr", *plans.FIELDS[1:])


def visits_text(tx: Texts, visit_count: int | None) -> str:
    """'12 visits' or 'unlimited visits'."""
    return (tx.plural("plan_visits", visit_count) if visit_count is not None
            else tx("plan_unlimited"))


def freeze_text(tx: Texts, freeze_days: int) -> str:
    """'freezing up to 7 days' or 'no freezing'."""
    return tx.plural("pl_freeze", freeze_days) if freeze_days else tx("pl_no_freeze")


def value_text(tx: Texts, field: str, value: Any) -> str:
    """One field's value as shown."""
    if field == "name":
        return value
    if field == "name_tr":
        return value or tx("pl_no_tr")
    if field == "price":
        return tx.money(value)
    if field == "days":
        return tx.plural("plan_days", value)
    if field == "visits":
        return visits_text(tx, value)
    return freeze_text(tx, value)


def summary(tx: Texts, plan: Draft | PlanRow) -> str:
    """Price, length, visits and freezing, a line each."""
    return "\n".join([
        tx("pl_field_price", value=tx.money(plan.price_minor)),
        tx("pl_field_days", value=tx.plural("plan_days", plan.duration_days)),
        (tx("membership_unlimited") if plan.visit_count is None
         else tx.plural("pl_field_visits", plan.visit_count)),
        tx("pl_field_freeze", value=freeze_text(tx, plan.freeze_days)),
    ])


def names(tx: Texts, plan: PlanRow) -> list[str]:
    """The name in the other language (or that there is none), and a line when the plan has
    no name in the admin's own language yet."""
    lines = [tx("pl_field_name_tr", value=value_text(
        tx, "name_tr", plan.name.given_in(other_language(tx.lang))))]
    if plan.name.given_in(tx.lang) is None:
        lines.append(tx("pl_no_own_name"))
    return lines


def plan_list(tx: Texts, found: list[PlanRow]) -> Screen:
    """Every plan, on sale then archived, a button each, and New plan; a plan's terms in a
    line short enough for a phone ('365 days · unlimited · no freezing')."""
    lines = [tx("pl_title")]
    on_sale = [p for p in found if p.is_active]
    archived = [p for p in found if not p.is_active]
    for title, group in (("pl_on_sale", on_sale), ("pl_archived", archived)):
        if not group:
            continue
        lines += ["", tx(title)]
        lines += [tx("pl_line", name=p.name, price=tx.money(p.price_minor),
                     days=tx.plural("plan_days", p.duration_days),
                     visits=(tx.plural("plan_visits", p.visit_count)
                             if p.visit_count is not None else tx("pl_line_unlimited")),
                     freeze=(tx.plural("pl_line_freeze", p.freeze_days) if p.freeze_days
                             else tx("pl_line_no_freeze"))) for p in group]
    if not found:
        lines += ["", tx("pl_none")]
    rows = [[(tx("pl_button_plan" if p.is_active else "pl_button_archived_plan", name=p.name),
              PLAN_VIEW(plan_id=p.id))] for p in on_sale + archived]
    rows.append([(tx("pl_button_new"), PLAN_NEW())])
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def details(tx: Texts, plan: PlanRow, note: str | None = None) -> Screen:
    """One plan with its sales, edit buttons, archive or put on sale, and delete if unsold."""
    state = tx("pl_state_on_sale" if plan.is_active else "pl_state_archived")
    lines = [note, ""] if note else []
    lines += [tx("pl_details_title", name=plan.name, state=state), *names(tx, plan),
              summary(tx, plan), tx("pl_sold", sold=plan.sold, current=plan.current)]
    edit = [(tx(f"pl_button_edit_{field}"), PLAN_EDIT(plan_id=plan.id, field=field))
            for field in plans.FIELDS]
    rows = [[edit[0], (tx("pl_button_edit_name_tr"), PLAN_TRANSLATE(plan_id=plan.id))],
            edit[1:3], edit[3:]]
    if plan.is_active:
        rows.append([(tx("pl_button_archive"), PLAN_SALE(plan_id=plan.id, on="n"))])
    else:
        rows.append([(tx("pl_button_unarchive"), PLAN_SALE(plan_id=plan.id, on="y"))])
    if plan.sold == 0:
        rows.append([(tx("pl_button_delete"), PLAN_DELETE(plan_id=plan.id, step="ask"))])
    rows.append([(tx("pl_button_back"), STAFF(section="plans"))])
    rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def ask(tx: Texts, field: str, *, step: int | None = None, plan: PlanRow | None = None,
        problem: str | None = None, limit: int | None = None,
        name: str | None = None) -> Screen:
    """The prompt for one field: a step of the create flow, or an edit of `plan`; after bad
    input, the problem first."""
    lines = []
    if problem:
        lines += [tx(problem, limit=limit or 0, name=name or "",
                     unlimited=tx("pl_button_unlimited")), ""]
    if plan is None:
        lines.append(tx("pl_new_step", n=step or 1, total=len(STEPS)))
    else:
        lines.append(tx("pl_edit_title", name=plan.name))
    lines.append(tx(f"pl_ask_{field}", limit=plans.MAX_NAME, currency=club().currency,
                    unlimited=tx("pl_button_unlimited")))
    if plan is not None:
        current = (plan.name.given_in(other_language(tx.lang)) if field == "name_tr"
                   else getattr(plan, plans.COLUMNS[field]))
        lines.append(tx("pl_now", value=value_text(tx, field, current)))
    rows = []
    if field == "visits":
        rows.append([(tx("pl_button_unlimited"), PLAN_UNLIMITED())])
    if field == "name_tr" and plan is None:
        rows.append([(tx("pl_button_skip"), PLAN_SKIP())])
    elif field == "name_tr" and plan.name.given_in(other_language(tx.lang)) and (
            plan.name.given_in(tx.lang)):  # removable while a name stays
        rows.append([(tx("pl_button_remove_tr"), PLAN_SKIP())])
    rows.append([(tx("pl_button_cancel"), PLAN_FLOW_CANCEL())])
    return Screen("\n".join(lines), inline(rows))


def confirm_new(tx: Texts, draft: Draft) -> Screen:
    """The plan gathered, to create or drop."""
    text = "\n".join([tx("pl_confirm", name=draft.name),
                      tx("pl_field_name_tr", value=value_text(tx, "name_tr", draft.name_tr)),
                      summary(tx, draft)])
    return Screen(text, inline([[(tx("pl_button_create"), PLAN_CONFIRM(answer="yes")),
                                 (tx("pl_button_cancel"), PLAN_CONFIRM(answer="no"))]]))


def delete_ask(tx: Texts, plan: PlanRow) -> Screen:
    """Are you sure? (only a plan never sold gets here)."""
    return Screen(tx("pl_delete_ask", name=plan.name), inline([
        [(tx("pl_button_delete_yes"), PLAN_DELETE(plan_id=plan.id, step="yes"))],
        [(tx("pl_button_back"), PLAN_VIEW(plan_id=plan.id))]]))


def cancelled(tx: Texts) -> Screen:
    """The step was left; back to the plans or the staff home."""
    return Screen(tx("pl_cancelled"), inline([[(tx("pl_button_back"), STAFF(section="plans"))],
                                              back_row(tx)]))
