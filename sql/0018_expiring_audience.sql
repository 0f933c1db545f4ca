-- "Membership ending within N days" is today and the next N - 1 days, as the report's
-- "ending within 7 days" counts them; 0014 reached one day more (today + N). Same function,
-- same signature, only that window changes.
CREATE OR REPLACE FUNCTION announcement_audience(p_audience text, p_class_id bigint,
                                                 p_days integer, p_today date)
RETURNS TABLE (member_id bigint, telegram_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT m.id, m.telegram_id
    FROM members m
    WHERE m.registered_at IS NOT NULL AND m.deleted_at IS NULL AND m.blocked_at IS NULL
      AND m.telegram_id IS NOT NULL
      AND (p_audience = 'all'
           OR (p_audience = 'active' AND EXISTS (
                   SELECT 1 FROM memberships ms
                   WHERE ms.member_id = m.id AND ms.status = 'active'
                     AND ms.starts_on <= p_today AND ms.ends_on >= p_today))
           OR (p_audience = 'expiring' AND EXISTS (
                   SELECT 1 FROM memberships ms
                   WHERE ms.member_id = m.id AND ms.status = 'active'
                     AND ms.starts_on <= p_today
                     AND ms.ends_on >= p_today AND ms.ends_on < p_today + p_days))
           OR (p_audience = 'class' AND EXISTS (
                   SELECT 1 FROM bookings b
                   WHERE b.class_id = p_class_id AND b.member_id = m.id
                     AND b.status IN ('booked', 'attended'))))
$$;
