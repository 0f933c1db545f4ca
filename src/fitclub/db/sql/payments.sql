-- Payments (services/payments.py): orders (what an invoice asks to be paid), their checkout
-- and the payments Telegram reports, refunds, expiry, the report and a member's payments.

-- name: lock_member
-- Serialise a live, registered member's orders and memberships for this transaction (the same
-- row lock as membership_admin.lock_member).
SELECT id FROM members
WHERE id = %(member_id)s AND deleted_at IS NULL AND registered_at IS NOT NULL
FOR UPDATE;

-- name: next_id
-- The id the next order gets (its payload is signed with it before the row is written).
SELECT nextval(pg_get_serial_sequence('orders', 'id'));

-- name: reusable
-- The member's open (or pre-checked) order for this plan at this price, currency and terms
-- that stays open at least until `until`, newest first.
SELECT id FROM orders
WHERE member_id = %(member_id)s AND status IN ('open', 'prechecked')
  AND plan_id = %(plan_id)s AND amount_minor = %(amount_minor)s AND currency = %(currency)s
  AND duration_days = %(duration_days)s
  AND visit_count IS NOT DISTINCT FROM %(visit_count)s::integer
  AND freeze_days = %(freeze_days)s
  AND expires_at >= %(until)s
ORDER BY id DESC
LIMIT 1;

-- name: close_others
-- Expire the member's other open orders for this plan (one open order per member and plan).
UPDATE orders SET status = 'expired', closed_at = %(now)s
WHERE member_id = %(member_id)s AND plan_id = %(plan_id)s
  AND status IN ('open', 'prechecked') AND id <> %(keep)s;

-- name: insert_order
-- A new open order, with the terms its invoice promises (the plan's days, visits and freeze
-- days now).
INSERT INTO orders (id, member_id, plan_id, kind, amount_minor, currency, payload, status,
                    created_at, expires_at, duration_days, visit_count, freeze_days)
OVERRIDING SYSTEM VALUE
VALUES (%(id)s, %(member_id)s, %(plan_id)s, %(kind)s, %(amount_minor)s, %(currency)s,
        %(payload)s, 'open', %(now)s, %(expires_at)s, %(duration_days)s, %(visit_count)s,
        %(freeze_days)s);

-- name: order
-- One order with its plan's name (None once the plan was deleted) and the terms it recorded.
SELECT o.id, o.member_id, o.plan_id, o.kind, o.amount_minor, o.currency, o.payload, o.status,
       o.created_at, o.expires_at, p.name_i18n AS plan_name, o.duration_days, o.visit_count,
       o.freeze_days
FROM orders o LEFT JOIN membership_plans p ON p.id = o.plan_id
WHERE o.id = %(order_id)s;

-- name: checkout
-- Telegram's pre-checkout of an order, in one statement: the order as checked (its owner's
-- Telegram id, the plan's sale, price and terms now), and `prechecked` when every rule held
-- and the order was marked so (open or pre-checked, not expired, the payer's, the plan on sale
-- at the order's price and terms, the total and currency the order's). The order's own state
-- is tested on the row the UPDATE changes, not on the CTE's snapshot: a payment (or the
-- expiry) that held the row meanwhile leaves it as it made it, and `prechecked` is false.
WITH found AS (
    SELECT o.id, o.payload, o.status, o.expires_at, o.amount_minor, o.currency,
           m.telegram_id, m.deleted_at IS NULL AS member_live,
           p.id IS NOT NULL AND p.is_active AS plan_on_sale, p.price_minor,
           o.duration_days IS NULL OR (o.duration_days = p.duration_days
               AND o.visit_count IS NOT DISTINCT FROM p.visit_count
               AND o.freeze_days = p.freeze_days) AS same_terms
    FROM orders o
    JOIN members m ON m.id = o.member_id
    LEFT JOIN membership_plans p ON p.id = o.plan_id
    WHERE o.id = %(order_id)s
), marked AS (
    UPDATE orders o SET status = 'prechecked', prechecked_at = %(now)s
    FROM found f
    WHERE o.id = f.id AND o.payload = %(payload)s AND f.member_live
      AND f.telegram_id = %(telegram_id)s AND o.status IN ('open', 'prechecked')
      AND o.expires_at > %(now)s AND f.plan_on_sale AND f.price_minor = o.amount_minor
      AND f.same_terms AND o.amount_minor = %(total)s AND o.currency = %(currency)s
    RETURNING o.id
)
SELECT f.payload, f.status, f.expires_at, f.amount_minor, f.currency, f.telegram_id,
       f.member_live, f.plan_on_sale, f.price_minor, f.same_terms,
       EXISTS (SELECT 1 FROM marked) AS prechecked
FROM found f;

-- name: claim_charge
-- Record a payment Telegram reported, once per charge id: no row when it was recorded before
-- (a second transaction with the same charge id waits for the first one's commit). It starts
-- as needing a refund for an unknown order; record_payment says what it became.
INSERT INTO payments (amount_minor, currency, telegram_payment_charge_id,
                      provider_payment_charge_id, paid_at, status, problem, member_id)
VALUES (%(amount_minor)s, %(currency)s, %(charge_id)s, %(provider_charge_id)s, %(now)s,
        'needs_refund', 'unknown_order', %(member_id)s)
ON CONFLICT (telegram_payment_charge_id) DO NOTHING
RETURNING id;

-- name: by_charge
-- The payment recorded for a charge id, with its membership now.
SELECT y.id, y.status, y.membership_id, s.ends_on, s.visits_left, y.problem,
       p.name_i18n AS plan_name, y.effect, y.amount_minor, s.starts_on
FROM payments y
LEFT JOIN memberships s ON s.id = y.membership_id
LEFT JOIN membership_plans p ON p.id = y.plan_id
WHERE y.telegram_payment_charge_id = %(charge_id)s;

-- name: lock_order
-- An order locked for its payment, with what honouring it needs to know.
SELECT o.id, o.member_id, o.plan_id, o.kind, o.amount_minor, o.currency, o.payload, o.status,
       o.prechecked_at, m.telegram_id, m.deleted_at IS NULL AND m.registered_at IS NOT NULL
       AS member_live, p.id IS NOT NULL AND p.is_active AS plan_on_sale,
       o.duration_days, o.visit_count
FROM orders o
JOIN members m ON m.id = o.member_id
LEFT JOIN membership_plans p ON p.id = o.plan_id
WHERE o.id = %(order_id)s
FOR UPDATE OF o;

-- name: claim_unprocessed
-- A successful_payment whose handler failed for good: kept as needing a refund
-- ('processing_failed') unless this charge was recorded already; its id, else no row.
INSERT INTO payments (amount_minor, currency, telegram_payment_charge_id,
                      provider_payment_charge_id, paid_at, status, problem, member_id)
VALUES (%(amount_minor)s, %(currency)s, %(charge_id)s, %(provider_charge_id)s, %(now)s,
        'needs_refund', 'processing_failed', %(member_id)s)
ON CONFLICT (telegram_payment_charge_id) DO NOTHING
RETURNING id;

-- name: set_terms
-- A paid membership's end and visits as the order recorded them (the plan may say otherwise
-- since).
UPDATE memberships SET ends_on = %(ends_on)s, visits_left = %(visits_left)s
WHERE id = %(membership_id)s;

-- name: later_renewals
-- How many payments, granted and not refunded, extended this membership after this one.
SELECT count(*)::integer FROM payments
WHERE membership_id = %(membership_id)s AND id > %(payment_id)s AND status = 'granted'
  AND effect = 'extended';

-- name: member_by_telegram_id
-- The live member with this Telegram id (a payment's member when its order is unknown).
SELECT id FROM members WHERE telegram_id = %(telegram_id)s AND deleted_at IS NULL;

-- name: settle
-- What became of a payment: its order, member, plan, status and problem, and what it did to
-- a membership (granted or extended, with what it had before).
UPDATE payments
SET order_id = %(order_id)s, member_id = %(member_id)s, plan_id = %(plan_id)s,
    status = %(status)s, problem = %(problem)s, membership_id = %(membership_id)s,
    effect = %(effect)s, days_added = %(days_added)s, visits_added = %(visits_added)s,
    ends_on_before = %(ends_on_before)s, visits_before = %(visits_before)s
WHERE id = %(payment_id)s;

-- name: order_paid
-- An order's payment arrived: it is paid (whatever became of the payment).
UPDATE orders SET status = 'paid', paid_at = %(now)s, closed_at = %(now)s
WHERE id = %(order_id)s;

-- name: plan
-- One plan's figures, on sale or not.
SELECT id, name_i18n AS name, price_minor, duration_days, visit_count, freeze_days
FROM membership_plans WHERE id = %(plan_id)s;

-- name: plan_name
-- One plan's name with its translation (no row once deleted).
SELECT name_i18n FROM membership_plans WHERE id = %(plan_id)s;

-- name: lock_payment
-- One payment locked for a refund, with what its refund undoes.
SELECT id, order_id, member_id, plan_id, amount_minor, currency, status, membership_id,
       effect, days_added, visits_added, ends_on_before, visits_before
FROM payments WHERE id = %(payment_id)s
FOR UPDATE;

-- name: shorten
-- A refunded payment's membership: its new end and visits (status 'cancelled' when it had
-- not started).
UPDATE memberships
SET ends_on = %(ends_on)s, visits_left = %(visits_left)s, status = %(status)s
WHERE id = %(membership_id)s;

-- name: refunded
-- Mark a payment refunded.
UPDATE payments SET status = 'refunded', refunded_at = %(now)s, refunded_by = %(admin_id)s
WHERE id = %(payment_id)s;

-- name: order_refunded
-- A refunded payment's order.
UPDATE orders SET status = 'refunded', closed_at = %(now)s
WHERE id = %(order_id)s AND status = 'paid';

-- name: expire
-- Open and pre-checked orders past their time expire; how many.
UPDATE orders SET status = 'expired', closed_at = %(now)s
WHERE status IN ('open', 'prechecked') AND expires_at <= %(now)s;

-- name: report_days
-- Payments received in [since, until) per club day and currency: how many, the amount, and of
-- them refunded and still to refund.
SELECT (y.paid_at AT TIME ZONE %(tz)s)::date AS day, y.currency,
       count(*)::integer AS payments, sum(y.amount_minor)::bigint AS received_minor,
       count(*) FILTER (WHERE y.status = 'refunded')::integer AS refunded,
       coalesce(sum(y.amount_minor) FILTER (WHERE y.status = 'refunded'), 0)::bigint
           AS refunded_minor,
       count(*) FILTER (WHERE y.status = 'needs_refund')::integer AS to_refund,
       coalesce(sum(y.amount_minor) FILTER (WHERE y.status = 'needs_refund'), 0)::bigint
           AS to_refund_minor
FROM payments y
WHERE y.paid_at >= %(since)s AND y.paid_at < %(until)s
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: report_plans
-- The same per plan (None: a payment for no known plan) and currency.
SELECT y.plan_id, p.name_i18n AS plan_name, y.currency,
       count(*)::integer AS payments, sum(y.amount_minor)::bigint AS received_minor,
       count(*) FILTER (WHERE y.status = 'refunded')::integer AS refunded,
       coalesce(sum(y.amount_minor) FILTER (WHERE y.status = 'refunded'), 0)::bigint
           AS refunded_minor,
       count(*) FILTER (WHERE y.status = 'needs_refund')::integer AS to_refund,
       coalesce(sum(y.amount_minor) FILTER (WHERE y.status = 'needs_refund'), 0)::bigint
           AS to_refund_minor
FROM payments y LEFT JOIN membership_plans p ON p.id = y.plan_id
WHERE y.paid_at >= %(since)s AND y.paid_at < %(until)s
GROUP BY y.plan_id, p.name_i18n, y.currency
ORDER BY sum(y.amount_minor) DESC, y.plan_id;

-- name: lines
-- Payments, newest first: one member's (member_id), one (payment_id), or those needing a
-- refund (to_refund).
SELECT y.id, y.paid_at, y.member_id, y.order_id, y.plan_id, p.name_i18n AS plan_name,
       y.amount_minor, y.currency, y.status, y.problem, y.membership_id, y.effect,
       y.refunded_at, y.refunded_by
FROM payments y LEFT JOIN membership_plans p ON p.id = y.plan_id
WHERE (%(member_id)s::bigint IS NULL OR y.member_id = %(member_id)s)
  AND (%(payment_id)s::bigint IS NULL OR y.id = %(payment_id)s)
  AND (NOT %(to_refund)s OR y.status = 'needs_refund')
ORDER BY y.paid_at DESC, y.id DESC
LIMIT %(limit)s;
