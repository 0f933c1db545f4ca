-- Memberships and plans as members see them.

-- name: latest_for_member
-- The member's current membership (active or frozen), else their most recent one, with its
-- plan, freeze allowance and open freeze (planned or running); `status` reads 'upcoming' for
-- an active one whose first day is after today, and 'expired' once the end date of an active
-- one has passed (a frozen one's end date moves when its freeze ends).
SELECT m.id, p.name_i18n AS plan_name,
       CASE WHEN m.status = 'active' AND m.ends_on < %(today)s THEN 'expired'
            WHEN m.status = 'active' AND m.starts_on > %(today)s THEN 'upcoming'
            ELSE m.status END AS status,
       m.starts_on, m.ends_on, m.visits_left, p.freeze_days AS freeze_allowance,
       greatest(0, p.freeze_days - coalesce(
           (SELECT sum(f.frozen_until - f.frozen_from + 1) FROM membership_freezes f
            WHERE f.membership_id = m.id), 0))::integer AS freeze_days_left,
       o.frozen_from, o.frozen_until, m.plan_id
FROM memberships m JOIN membership_plans p ON p.id = m.plan_id
LEFT JOIN membership_freezes o ON o.membership_id = m.id AND o.ended_at IS NULL
WHERE m.member_id = %(member_id)s
ORDER BY (m.status IN ('active', 'frozen')) DESC, m.ends_on DESC, m.id DESC
LIMIT 1;

-- name: plans_on_sale
-- The plans a member may request, cheapest first.
SELECT id, name_i18n AS name, price_minor, duration_days, visit_count, freeze_days
FROM membership_plans WHERE is_active
ORDER BY price_minor, id;

-- name: plan_on_sale
-- One plan if it is still on sale.
SELECT id, name_i18n AS name, price_minor, duration_days, visit_count, freeze_days
FROM membership_plans WHERE id = %(plan_id)s AND is_active;
