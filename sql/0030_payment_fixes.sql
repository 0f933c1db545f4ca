-- Payments review fixes (issue 18).
--
-- An order records the terms its invoice promised (the plan's days, visits and freeze days
-- when it was opened): a plan edited after the invoice was sent is refused at checkout, and a
-- payment grants what the order recorded. Orders opened before this migration take their
-- plan's terms now (NULL when the plan was deleted).
--
-- A payment whose successful_payment could not be processed at all (its handler kept
-- failing) is kept as needing a refund with the problem 'processing_failed'.

ALTER TABLE orders
    ADD COLUMN duration_days integer,
    ADD COLUMN visit_count   integer,
    ADD COLUMN freeze_days   integer,
    ADD CONSTRAINT orders_terms_check
        CHECK (duration_days IS NULL OR (duration_days > 0 AND freeze_days >= 0
                                         AND (visit_count IS NULL OR visit_count >= 0)));

UPDATE orders o
SET duration_days = p.duration_days, visit_count = p.visit_count, freeze_days = p.freeze_days
FROM membership_plans p
WHERE p.id = o.plan_id;

ALTER TABLE payments DROP CONSTRAINT payments_problem_check;
ALTER TABLE payments ADD CONSTRAINT payments_problem_check CHECK (problem IN (
    'plan_gone', 'member_gone', 'order_expired', 'order_paid', 'amount_mismatch',
    'unknown_order', 'processing_failed'));
