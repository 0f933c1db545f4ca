"""Every button of the bot: its prefix and typed fields (encoded by `fitclub.callback_codec`)."""

from __future__ import annotations

# The codec's names are re-exported: callers import them from here.
from fitclub.callback_codec import (  # noqa: F401
    MAX_BYTES,
    SEP,
    TOKEN_FIELD,
    TOKEN_MAX,
    Action,
    Choice,
    Day,
    Field,
    Id,
    Number,
    action,
    parse,
    stamp,
)

# -- menu, language, privacy -----------------------------------------------------------------------

#: The member's screens, named as their commands (/schedule opens the timetable).
SCREENS = ("home", "schedule", "bookings", "membership", "card", "activity", "help")

#: Main menu navigation: open a screen in place.
MENU = action("m", screen=Choice(*SCREENS))
#: /help: the staff part (trainers' commands, and admins' for admins), edited in place.
HELP_STAFF = action("hs")
#: "Request this plan" from the membership screen.
PLAN_REQUEST = action("pr", plan_id=Id())
#: Withdraw my pending request for a plan (the membership screen).
PLAN_WITHDRAW = action("pw", request_id=Id())
#: Buy (or, with a current membership, renew) a plan: an invoice for it (payments on).
PAY_PLAN = action("pp", plan_id=Id())
#: /language: choose a language.
LANGUAGE = action("lg", lang=Choice("en", "ru"))
#: /privacy: ask to delete, confirm, or keep.
PRIVACY = action("pv", step=Choice("ask", "yes", "no"))
#: /privacy: "Download my data", one JSON file of it; `member_id` is whose screen it was (a
#: press after erasure, or from before a new registration, is stale).
PRIVACY_COPY = action("pvc", member_id=Id())

# -- timetable, booking, waitlist ------------------------------------------------------------------

#: Where a class screen's Back goes: the timetable ("s") or My bookings ("b").
BACK_TO = Choice("s", "b")
#: The timetable of one day (previous/next edit in place).
TIMETABLE = action("sc", day=Day())
#: A class's details.
CLASS = action("cl", class_id=Id(), back=BACK_TO)
#: Book a class; on a full class the same press joins its waitlist.
BOOK = action("bk", class_id=Id(), back=BACK_TO)
#: Cancel my booking of a class.
CANCEL_BOOKING = action("cb", class_id=Id(), back=BACK_TO)
#: Leave the waitlist of a class.
LEAVE_WAITLIST = action("lw", class_id=Id(), back=BACK_TO)
#: Where a booking's Cancel or Leave was pressed, so the answer shows that screen again: My
#: bookings ("b"), or a class's details whose Back goes to the timetable ("s") or to My
#: bookings ("d"). (CANCEL_BOOKING and LEAVE_WAITLIST are the buttons of older messages.)
BOOKING_AT = Choice("b", "s", "d")
#: Cancel my booking: ask first, saying whether the visit comes back.
CANCEL_ASK = action("ca", class_id=Id(), at=BOOKING_AT)
#: Cancel my booking, confirmed on the terms shown (services.booking.Terms: free, late, none).
CANCEL_YES = action("cy", class_id=Id(), at=BOOKING_AT, terms=Choice("free", "late", "none"))
#: Leave the waitlist of a class (no confirmation: it costs nothing).
LEAVE = action("lv", class_id=Id(), at=BOOKING_AT)
#: Answer a waitlist offer on a class's details (which show again, with the answer).
OFFER_AT = action("oa", offer_id=Id(), answer=Choice("yes", "no"), class_id=Id(), at=BOOKING_AT)
#: A booked class as an .ics file.
CALENDAR = action("ics", class_id=Id())
#: Answer a waitlist offer.
OFFER = action("of", offer_id=Id(), answer=Choice("yes", "no"))

# -- card, reminders, activity, settings -----------------------------------------------------------

#: /settings: choose the language.
SETTINGS_LANGUAGE = action("sl", lang=Choice("en", "ru"))
#: /settings: reminders on ("y") or off ("n").
SETTINGS_REMINDERS = action("sr", on=Choice("y", "n"))
#: My card: a new QR code and short code in place of the shown one.
CARD_REFRESH = action("cr")
#: Cancel a booking from its reminder (only while the visit would come back).
REMINDER_CANCEL = action("rc", class_id=Id())
#: From the activity chart back to the main menu (a photo cannot be edited into the menu).
ACTIVITY_MENU = action("act")

# -- staff -----------------------------------------------------------------------------------------

#: The staff home's sections; each feature module handles its own (`STAFF.matches(section=)`).
STAFF_SECTIONS = ("home", "people", "checkin", "myclasses", "classes", "types", "plans",
                  "members", "requests", "announce", "report", "audit")
#: Open a section of the staff home (/staff), edited in place.
STAFF = action("st", section=Choice(*STAFF_SECTIONS))

# -- roles and check-in ----------------------------------------------------------------------------

PEOPLE_ROLES = ("member", "trainer", "admin")
#: /people: open a person's card from the search results.
PEOPLE_PERSON = action("xpp", person_id=Id())
#: A person's card: ask to give them another role (the confirmation step).
PEOPLE_ROLE = action("xpr", person_id=Id(), role=Choice(*PEOPLE_ROLES))
#: Confirm a role change; `was` is the role the admin saw, so a change made meanwhile by
#: someone else is not overwritten unseen.
PEOPLE_SET_ROLE = action("xps", person_id=Id(), was=Choice(*PEOPLE_ROLES),
                          role=Choice(*PEOPLE_ROLES))
#: /checkin by name: a found member, then the confirm button.
CHECKIN_PERSON = action("xcp", member_id=Id())
#: /checkin: check this member in.
CHECKIN_CONFIRM = action("xcc", member_id=Id())

# -- trainers' classes and attendance --------------------------------------------------------------

#: /myclasses: the classes the staff member teaches, a page of them.
TRAINER_CLASSES = action("tl", page=Number(99))
#: A class's roster (theirs, any for an admin), a page of it.
TRAINER_ROSTER = action("tr", class_id=Id(), page=Number(99))
#: Mark a booked place of a class attended ("a") or no-show ("n"); `page` is the roster page
#: to show again (the class's roster, even when the place has gone meanwhile).
TRAINER_MARK = action("tm", class_id=Id(), booking_id=Id(), mark=Choice("a", "n"),
                      page=Number(99))

# -- reports and the audit log ---------------------------------------------------------------------

#: The tables a report exports (payments from the report's Payments screen, the others from
#: the report), and the formats (XLSX, the default, and CSV).
EXPORTS = ("members", "visits", "bookings", "payments")
EXPORT_FORMATS = ("xlsx", "csv")
#: /report: the weekly attendance chart, sent as a photo.
REPORT_CHART = action("qc")
#: /report: the memberships ending within 7 days, listed in place.
REPORT_EXPIRING = action("qe")
#: /report: one table as an XLSX or a CSV document.
REPORT_EXPORT = action("qx", table=Choice(*EXPORTS), fmt=Choice(*EXPORT_FORMATS))
#: /report: the payments of the last 30 days (per day, per plan, refunds, those to refund).
REPORT_PAYMENTS = action("qp")
#: /audit: a page of the log (0 = newest), unfiltered.
AUDIT_PAGE = action("qa", page=Number())
#: /audit: a page of the actions by or on one member.
AUDIT_MEMBER = action("qm", member_id=Id(), page=Number())
#: /audit: filter by member (asks for a name to search).
AUDIT_FILTER = action("qf")

# -- classes and class types for admins ------------------------------------------------------------

#: Class types: open one type's card.
TYPE_OPEN = action("kt", type_id=Id())
#: Class types: start creating a new type.
TYPE_NEW = action("ktn")
#: Class types: edit one field of a type (name, description, duration, capacity).
TYPE_EDIT = action("kte", type_id=Id(), field=Choice("name", "desc", "dur", "cap"))
#: Class types, at a step: a value by button (no description = 0, a duration, a capacity).
TYPE_VALUE = action("ktv", flow_step=True, step=Choice("desc", "dur", "cap"), value=Number(1000))
#: Class types: save the new type, or cancel its creation or an edit.
TYPE_FLOW = action("ktf", flow_step=True, answer=Choice("save", "cancel"))
#: Class types: delete one that never had a class (ask, then yes).
TYPE_DELETE = action("ktd", type_id=Id(), step=Choice("ask", "yes"))
#: Class types: type the name or description in the other language.
TYPE_TRANSLATE = action("ktt", type_id=Id(), field=Choice("name", "desc"))
#: Class types, at a translation step: skip it (creating), or remove it (editing).
TYPE_SKIP = action("kts", flow_step=True, step=Choice("name_tr", "desc_tr"))

#: The admin timetable: one day (previous/next edit in place).
ADMIN_DAY = action("kc", day=Day())
#: The admin card of a class.
ADMIN_CLASS = action("kco", class_id=Id())
#: A class's capacity: the screen with the numbers to choose.
CLASS_CAPACITY = action("kca", class_id=Id())
#: A class's capacity: set it to this number.
CLASS_SET_CAPACITY = action("kcb", class_id=Id(), capacity=Number(1000))
#: Move a class: choose the new date.
CLASS_MOVE = action("kcm", class_id=Id())
#: Move a class: this date chosen, ask for the time.
CLASS_MOVE_DAY = action("kcmd", class_id=Id(), day=Day())
#: Move a class: this date and time (minutes after midnight, club time) to confirm.
CLASS_MOVE_AT = action("kcmt", class_id=Id(), day=Day(), minute=Number(1439))
#: Move a class: confirmed.
CLASS_MOVE_OK = action("kcmo", class_id=Id(), day=Day(), minute=Number(1439))
#: Cancel a class: the confirmation screen.
CLASS_CANCEL = action("kcx", class_id=Id())
#: Cancel a class: confirmed.
CLASS_CANCEL_OK = action("kcxo", class_id=Id())

#: The class planner: start the guided flow that creates a class.
NEW_CLASS = action("kn")
#: The class planner, at a step: the class type.
NEW_CLASS_TYPE = action("knt", flow_step=True, type_id=Id())
#: The class planner, at a step: the trainer.
NEW_CLASS_TRAINER = action("knr", flow_step=True, member_id=Id())
#: The class planner, at a step: the date (or a series' first day).
NEW_CLASS_DAY = action("knd", flow_step=True, day=Day())
#: The class planner: one class, a weekly series, or the series' weekdays and weeks are done.
NEW_CLASS_REPEAT = action("knw", flow_step=True, mode=Choice("once", "weekly", "done"))
#: The class planner, a weekly series: turn a weekday (1 = Monday ... 7 = Sunday) on or off.
NEW_CLASS_WEEKDAY = action("knx", flow_step=True, weekday=Number(7))
#: The class planner, a weekly series: the number of weeks (1-12).
NEW_CLASS_WEEKS = action("knk", flow_step=True, weeks=Number(12))
#: The class planner, at a step: a duration or capacity by button (the type's default).
NEW_CLASS_VALUE = action("knv", flow_step=True, step=Choice("dur", "cap"), value=Number(1000))
#: The class planner, at the room step: no room (0) or one of the rooms offered (1-4).
NEW_CLASS_ROOM = action("knq", flow_step=True, pick=Number(4))
#: The class planner, at the confirmation: create, change something, cancel, or back to it.
NEW_CLASS_FLOW = action("knf", flow_step=True, answer=Choice("ok", "change", "cancel", "back"))
#: The class planner: change one thing before confirming.
NEW_CLASS_CHANGE = action("knc", flow_step=True,
                          field=Choice("type", "trainer", "date", "time", "dur", "cap", "room"))

# -- announcements ---------------------------------------------------------------------------------

#: The audiences an announcement may go to (services.announcements.AUDIENCES).
ANN_AUDIENCES = ("active", "all", "class", "expiring")
#: Leave the announcement's compose step for the staff home.
ANN_HOME = action("nh", flow_step=True)
#: A draft's audience: active and all are chosen at once; class and expiring ask which first.
ANN_AUDIENCE = action("na", ann_id=Id(), audience=Choice(*ANN_AUDIENCES))
#: The classes of one club day, to choose the one whose members get the draft.
ANN_CLASSES = action("nk", ann_id=Id(), day=Day())
#: The members of this class get the draft.
ANN_CLASS = action("nc", ann_id=Id(), class_id=Id())
#: Members whose membership ends within this many days get the draft.
ANN_DAYS = action("nd", ann_id=Id(), days=Choice("3", "7", "14", "30"))
#: Back to the choice of audience.
ANN_BACK = action("nb", ann_id=Id())
#: Send the draft to the audience chosen.
ANN_SEND = action("ns", ann_id=Id())
#: Discard the draft.
ANN_DISCARD = action("nx", ann_id=Id())
#: Stop an announcement that is sending.
ANN_STOP = action("nst", ann_id=Id())
#: An announcement's progress, as it is now.
ANN_VIEW = action("nv", ann_id=Id())

# -- plans and memberships (admins) ----------------------------------------------------------------

#: A plan's fields as admins edit them (services.plans.FIELDS).
PLAN_FIELDS = ("name", "price", "days", "visits", "freeze")
#: A plan's details (from the list of plans).
PLAN_VIEW = action("yp", plan_id=Id())
#: Start the guided flow that creates a plan.
PLAN_NEW = action("ypn")
#: Type a new value for one field of a plan.
PLAN_EDIT = action("ype", plan_id=Id(), field=Choice(*PLAN_FIELDS))
#: "Unlimited" as the answer to the visits step (creating or editing a plan).
PLAN_UNLIMITED = action("ypu", flow_step=True)
#: Create the plan the flow gathered ("yes") or drop it ("no").
PLAN_CONFIRM = action("ypc", flow_step=True, answer=Choice("yes", "no"))
#: Put a plan on sale ("y") or archive it ("n").
PLAN_SALE = action("yps", plan_id=Id(), on=Choice("y", "n"))
#: Delete a plan never sold: ask, then confirm.
PLAN_DELETE = action("ypd", plan_id=Id(), step=Choice("ask", "yes"))
#: Leave the plan step being typed.
PLAN_FLOW_CANCEL = action("ypx", flow_step=True)
#: Type the plan's name in the other language (the one the admin does not read the bot in).
PLAN_TRANSLATE = action("ypt", plan_id=Id())
#: The name in the other language: skip it (creating), or remove it (editing).
PLAN_SKIP = action("ypk", flow_step=True)
#: Leave the membership step being typed, back to the member's card.
MEMBER_FLOW_CANCEL = action("yx", flow_step=True, member_id=Id())
#: A member's card (from a search, a request or after a change).
MEMBER_CARD = action("ym", member_id=Id())
#: Find another member (type a name, phone or username).
MEMBER_FIND = action("yf")
#: Grant: the plans on sale to choose from.
GRANT = action("yg", member_id=Id())
#: Grant this plan: start today or on a date to type.
GRANT_PLAN = action("ygp", member_id=Id(), plan_id=Id())
#: Grant this plan from a date to type.
GRANT_DATE = action("ygd", member_id=Id(), plan_id=Id())
#: Grant this plan from this day: the confirmation.
GRANT_DAY = action("ygt", member_id=Id(), plan_id=Id(), day=Day())
#: Grant this plan from this day (confirmed).
GRANT_OK = action("ygo", member_id=Id(), plan_id=Id(), day=Day())
#: Extend: the plans on sale to extend by.
EXTEND = action("ye", membership_id=Id())
#: Extend by this plan: the confirmation.
EXTEND_PLAN = action("yep", membership_id=Id(), plan_id=Id())
#: Extend by this plan (confirmed); `end` is the end date shown, so a second press is stale.
EXTEND_OK = action("yeo", membership_id=Id(), plan_id=Id(), end=Day())
#: Freeze: how many days (buttons, or typed).
FREEZE = action("yz", membership_id=Id())
#: Freeze for this many days: from today, or a date to type.
FREEZE_DAYS = action("yzd", membership_id=Id(), days=Number(999))
#: Freeze for this many days from a date to type.
FREEZE_DATE = action("yzt", membership_id=Id(), days=Number(999))
#: Freeze for this many days from this day: the confirmation.
FREEZE_DAY = action("yzy", membership_id=Id(), days=Number(999), day=Day())
#: Freeze for this many days from this day (confirmed).
FREEZE_OK = action("yzo", membership_id=Id(), days=Number(999), day=Day())
#: Unfreeze early (or call off a planned freeze): ask, then confirm.
UNFREEZE = action("yu", membership_id=Id(), step=Choice("ask", "yes"))
#: Cancel a membership: ask, then confirm.
MEMBERSHIP_CANCEL = action("yc", membership_id=Id(), step=Choice("ask", "yes"))
#: Adjust visits: type the change, then the reason.
ADJUST = action("ya", membership_id=Id())
#: Add a note on a member: type it.
NOTE = action("yn", member_id=Id())
#: Grant or dismiss a member's request for a plan.
REQUEST = action("yr", request_id=Id(), act=Choice("grant", "dismiss"))
#: Every payment of a member (the card shows the latest few).
MEMBER_PAYMENTS = action("yy", member_id=Id())
#: Mark a payment refunded (the refund itself is made at the provider): ask, then confirm.
PAYMENT_REFUND = action("yv", payment_id=Id(), step=Choice("ask", "yes"))
