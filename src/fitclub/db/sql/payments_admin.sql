-- Payments as admins read them (the member card, Mark refunded, the report's payments):
-- the rules that change anything are services/payments.py's.

-- name: count_of_member
-- How many payments a member made (the card shows the latest few).
SELECT count(*)::integer FROM payments WHERE member_id = %(member_id)s;

-- name: refund_terms
-- A payment and what it did to the membership it paid for (effect, days added), with that
-- membership as it is now: what marking it refunded would change.
SELECT y.id, y.status, y.effect, y.days_added, ms.id AS membership_id, ms.status AS
       membership_status, ms.starts_on, ms.ends_on
FROM payments y
LEFT JOIN memberships ms ON ms.id = y.membership_id
WHERE y.id = %(payment_id)s;

-- name: count_to_refund
-- How many payments need a refund (the report lists the latest few).
SELECT count(*)::integer FROM payments WHERE status = 'needs_refund';

-- name: member_names
-- The names of live members among these ids (a payment's member may have been erased).
SELECT id, first_name, last_name FROM members
WHERE id = ANY(%(ids)s) AND deleted_at IS NULL;
