-- Reports: how the club is doing (/report) and its tables as CSV.
-- Callers pass moments (the club's local midnights as timestamptz) and local dates, worked
-- out in the club's time zone, so every window here is a plain range over an index.

-- name: checkins
-- Visits checked in within a window (the club's day), counted by method.
SELECT method, count(*)::int AS visits
FROM visits
WHERE checked_in_at >= %(since)s AND checked_in_at < %(until)s
GROUP BY method
ORDER BY method;

-- name: occupancy
-- Per class type, the classes started within a window and not cancelled: how many, their places, and the places booked or attended (cancelled, waitlisted and no-show do not count).
SELECT t.id AS type_id, t.name_i18n AS name, count(*)::int AS classes,
       sum(c.capacity)::int AS places,
       sum(taken.n)::int AS taken
FROM classes c
JOIN class_types t ON t.id = c.class_type_id
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM bookings b
    WHERE b.class_id = c.id AND b.status IN ('booked', 'attended')
) taken
WHERE c.starts_at >= %(since)s AND c.starts_at < %(until)s AND c.status <> 'cancelled'
GROUP BY t.id
ORDER BY t.name, t.id;

-- name: counts
-- Members with an active membership today (erased ones too: "delete my data" leaves the membership as an anonymous figure), active memberships ending today to the last day (both included; people staff can still reach), and members who registered within a window (erased ones too: they joined all the same).
SELECT
    (SELECT count(DISTINCT ms.member_id)
     FROM memberships ms
     WHERE ms.status = 'active' AND ms.starts_on <= %(today)s
       AND ms.ends_on >= %(today)s)::int AS active_members,
    (SELECT count(*)
     FROM memberships ms JOIN members m ON m.id = ms.member_id
     WHERE ms.status = 'active' AND ms.ends_on >= %(today)s AND ms.ends_on <= %(last)s
       AND m.deleted_at IS NULL)::int AS expiring,
    (SELECT count(*) FROM members
     WHERE registered_at >= %(since)s AND registered_at < %(until)s)::int AS new_members;

-- name: expiring
-- Active memberships ending today to the last day (both included), soonest first, with their members and plans, and how many there are in all.
SELECT m.id AS member_id, m.first_name, m.last_name, p.name_i18n AS plan, ms.ends_on,
       ms.visits_left, (count(*) OVER ())::int AS total
FROM memberships ms
JOIN members m ON m.id = ms.member_id
JOIN membership_plans p ON p.id = ms.plan_id
WHERE ms.status = 'active' AND ms.ends_on >= %(today)s AND ms.ends_on <= %(last)s
  AND m.deleted_at IS NULL
ORDER BY ms.ends_on, m.first_name, m.last_name NULLS FIRST, m.id
LIMIT %(limit)s;

-- name: weekly_visits
-- Visits from a local date up to now, per local week starting on first_week_day (0 = Monday).
WITH local_visits AS (
    SELECT (checked_in_at AT TIME ZONE %(timezone)s)::date AS day
    FROM visits
    WHERE checked_in_at >= %(since)s AND checked_in_at <= %(now)s
)
SELECT day - (extract(isodow FROM day)::int - 1 - %(first_week_day)s + 7) %% 7 AS start,
       count(*)::int AS visits
FROM local_visits
GROUP BY 1
ORDER BY 1;

-- name: export_members
-- Every member not erased, by id, with their current membership (else their latest).
SELECT m.id, m.first_name, m.last_name, m.phone, m.username, m.language, m.role,
       m.registered_at, cur.plan, cur.status AS membership_status, cur.starts_on,
       cur.ends_on, cur.visits_left
FROM members m
LEFT JOIN LATERAL (
    SELECT p.name_i18n AS plan, ms.status, ms.starts_on, ms.ends_on, ms.visits_left
    FROM memberships ms JOIN membership_plans p ON p.id = ms.plan_id
    WHERE ms.member_id = m.id
    ORDER BY ms.status IN ('active', 'frozen') DESC, ms.starts_on DESC, ms.id DESC
    LIMIT 1
) cur ON true
WHERE m.deleted_at IS NULL
ORDER BY m.id;

-- name: export_visits
-- Every visit, by id: who, when, how, the class if any, and the staff member who checked them in.
SELECT v.id, v.checked_in_at, v.member_id, m.first_name, m.last_name, v.method,
       v.class_id, t.name_i18n AS class_type, c.starts_at AS class_starts_at,
       v.membership_id, v.checked_in_by, s.first_name AS checked_in_by_name
FROM visits v
JOIN members m ON m.id = v.member_id
LEFT JOIN classes c ON c.id = v.class_id
LEFT JOIN class_types t ON t.id = c.class_type_id
LEFT JOIN members s ON s.id = v.checked_in_by
ORDER BY v.id;

-- name: export_bookings
-- Every booking, by id: the class, its trainer, the member and what became of the place.
SELECT b.id, b.class_id, t.name_i18n AS class_type, c.starts_at AS class_starts_at,
       c.status AS class_status, tr.first_name AS trainer, b.member_id, m.first_name,
       m.last_name, b.status, b.created_at, b.cancelled_at, b.late_cancel
FROM bookings b
JOIN classes c ON c.id = b.class_id
JOIN class_types t ON t.id = c.class_type_id
JOIN members tr ON tr.id = c.trainer_id
JOIN members m ON m.id = b.member_id
ORDER BY b.id;

-- name: export_payments
-- Every payment, by id: when, the member (by internal id; the name while registered), the plan,
-- the amount in minor units of its currency, what became of it (granted, needs a refund,
-- refunded) and the charge ids of Telegram and the provider.
SELECT p.id, p.paid_at, p.member_id, m.first_name, m.last_name, pl.name_i18n AS plan,
       p.amount_minor AS amount, p.currency, p.status AS payment_status, p.problem,
       p.refunded_at, p.membership_id, p.order_id, p.telegram_payment_charge_id,
       p.provider_payment_charge_id
FROM payments p
LEFT JOIN members m ON m.id = p.member_id
LEFT JOIN membership_plans pl ON pl.id = p.plan_id
ORDER BY p.id;

-- name: exported_lately
-- Whether this admin had this table exported in this format within the last few seconds (a
-- double tap); an entry without a format is from when every export was CSV.
SELECT EXISTS (SELECT 1 FROM audit_log
               WHERE actor_id = %(actor_id)s AND action = 'report.export'
                 AND details->>'table' = %(table)s
                 AND coalesce(details->>'format', 'csv') = %(format)s
                 AND at > now() - make_interval(secs => %(seconds)s));
