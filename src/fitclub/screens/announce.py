"""Announcements (admins): compose, choose the audience, confirm, and follow the progress.

The members' message itself is not a screen: `services.announcements.message` builds that one
call, for the preview and for every member alike.
"""

from __future__ import annotations

from datetime import date

from fitclub.callbacks import (
    ANN_AUDIENCE,
    ANN_BACK,
    ANN_CLASS,
    ANN_CLASSES,
    ANN_DAYS,
    ANN_DISCARD,
    ANN_HOME,
    ANN_SEND,
    ANN_STOP,
    ANN_VIEW,
)
from fitclub.locales import Raw, Texts
from fitclub.screens import Screen, inline
from fitclub.screens.staff import back_row
from fitclub.services.announcements import EXPIRING_DAYS, Announcement, ClassChoice, Status


def audience_label(tx: Texts, ann: Announcement) -> Raw:
    """Who the announcement goes to, in words."""
    if ann.audience == "class":
        if ann.class_name is None:
            return tx("ann_to_class_gone")
        return tx("ann_to_class", name=ann.class_name, when=tx.datetime(ann.class_starts_at))
    if ann.audience == "expiring":
        return tx("ann_to_expiring", days=tx.plural("ann_days", ann.days or 0))
    return tx(f"ann_to_{ann.audience or 'all'}")


def compose(tx: Texts, recent: list[Announcement]) -> Screen:
    """The compose step: what to send, the latest announcements, and a way back."""
    lines = [tx("ann_compose")]
    rows = []
    if recent:
        lines += ["", tx("ann_recent_title")]
    for ann in recent:
        when = tx.datetime(ann.sent_at) if ann.sent_at else ""
        if ann.status == "sending":
            lines.append(tx("ann_recent_sending", id=ann.id, when=when, total=ann.total or 0))
        else:
            key = "ann_recent_done" if ann.status == "done" else "ann_recent_stopped"
            sent = "…" if ann.sent_count is None else ann.sent_count  # still settling
            lines.append(tx(key, id=ann.id, when=when, sent=sent, total=ann.total or 0))
        rows.append([(tx("ann_view_button", id=ann.id), ANN_VIEW(ann_id=ann.id))])
    rows.append([(tx("staff_back"), ANN_HOME())])
    return Screen("\n".join(lines), inline(rows))


def not_supported(tx: Texts) -> Screen:
    """Something other than text or a photo in the compose step."""
    return Screen(tx("ann_not_supported"))


def audiences(tx: Texts, ann: Announcement) -> Screen:
    """Below the preview: who should get it."""
    pick = [(tx(f"ann_audience_{name}_button"), ANN_AUDIENCE(ann_id=ann.id, audience=name))
            for name in ("active", "all", "class", "expiring")]
    return Screen(tx("ann_audience_title"),
                  inline([pick[:2], pick[2:], [(tx("ann_discard_button"),
                                                ANN_DISCARD(ann_id=ann.id))]]))


def classes(tx: Texts, ann: Announcement, day: date, found: list[ClassChoice],
            before: date | None, after: date | None) -> Screen:
    """One club day's classes, a button each, and the days around it."""
    lines = [tx("ann_classes_title", day=tx.date(day, "short"))]
    if not found:
        lines.append(tx("ann_classes_none"))
    rows = [[(tx("ann_class_button", time=tx.time(c.starts_at), name=c.name, people=c.people),
              ANN_CLASS(ann_id=ann.id, class_id=c.id))] for c in found]
    nav = []
    if before is not None:
        nav.append(("◀ " + tx.date(before, "short"), ANN_CLASSES(ann_id=ann.id, day=before)))
    if after is not None:
        nav.append((tx.date(after, "short") + " ▶", ANN_CLASSES(ann_id=ann.id, day=after)))
    if nav:
        rows.append(nav)
    rows.append([(tx("ann_change_audience"), ANN_BACK(ann_id=ann.id))])
    return Screen("\n".join(lines), inline(rows))


def expiring(tx: Texts, ann: Announcement) -> Screen:
    """How many days ahead a membership's end makes its member one of the audience."""
    pick = [(tx.plural("ann_days", n), ANN_DAYS(ann_id=ann.id, days=str(n)))
            for n in EXPIRING_DAYS]
    return Screen(tx("ann_expiring_title"),
                  inline([pick, [(tx("ann_change_audience"), ANN_BACK(ann_id=ann.id))]]))


def confirm(tx: Texts, ann: Announcement, recipients: int) -> Screen:
    """The audience and how many it reaches now; Send (unless nobody), change, discard."""
    audience = audience_label(tx, ann)
    back = [(tx("ann_change_audience"), ANN_BACK(ann_id=ann.id)),
            (tx("ann_discard_button"), ANN_DISCARD(ann_id=ann.id))]
    if recipients == 0:
        return Screen(tx("ann_nobody", audience=audience), inline([back]))
    text = tx("ann_confirm", audience=audience,
              recipients=tx.plural("ann_recipients", recipients))
    send = [(tx.plural("ann_send_button", recipients), ANN_SEND(ann_id=ann.id))]
    return Screen(text, inline([send, back]))


def discarded(tx: Texts) -> Screen:
    """The draft is gone."""
    return Screen(tx("ann_discarded"), inline([back_row(tx)]))


def eta(tx: Texts, seconds: float) -> Raw:
    """'2 min 30 s' or '45 s' (rounded up to whole seconds)."""
    total = max(1, int(seconds + 0.999))
    minutes, secs = divmod(total, 60)
    if minutes:
        return tx("ann_eta_minutes", m=minutes, s=secs)
    return tx("ann_eta_seconds", s=secs)


def progress(tx: Texts, status: Status, *, refresh: bool = False) -> Screen:
    """Sent, failed, blocked, left and the time it may take; Stop while sending.

    The job edits the admin's progress message with this every few seconds; `refresh` adds a
    Refresh button for a copy opened from the staff screen (which no job edits).
    """
    ann, counts = status.announcement, status.progress
    state = {"sending": "ann_state_sending", "done": "ann_state_done"}.get(
        ann.status, "ann_state_stopped")
    lines = [tx("ann_progress_title", id=ann.id, state=tx(state)),
             tx("ann_progress_to", audience=audience_label(tx, ann)), "",
             tx("ann_counts", sent=counts.sent, failed=counts.failed, blocked=counts.blocked)]
    if ann.status == "sending":
        if status.eta_seconds is not None:
            lines.append(tx("ann_left_eta", left=status.left, eta=eta(tx, status.eta_seconds)))
        else:
            lines.append(tx("ann_left", left=status.left))
    elif ann.status == "cancelled":
        if counts.waiting:
            lines.append(tx("ann_in_flight", n=counts.waiting))
        not_sent = max(0, (ann.total or 0) - counts.done - counts.waiting)
        lines.append(tx("ann_not_sent", n=not_sent))
    rows = []
    if ann.status == "sending":
        rows.append([(tx("ann_stop_button"), ANN_STOP(ann_id=ann.id))])
    if refresh and (ann.status == "sending" or counts.waiting):
        rows.append([(tx("ann_refresh_button"), ANN_VIEW(ann_id=ann.id))])
    if ann.status != "sending":
        rows.append(back_row(tx))
    return Screen("\n".join(lines), inline(rows))


def draft_state(tx: Texts, ann: Announcement, recipients: int) -> Screen:
    """Where a draft is, for a refresh after an old or doubled press."""
    if ann.audience is None:
        return audiences(tx, ann)
    return confirm(tx, ann, recipients)

