-- The audit log as admins read it (/audit): staff actions, newest first, by or on a member.
-- "On whom" is the member an entry is about: the member itself, the member of the
-- membership, booking, waitlist offer, plan request or visit it names, else a member_id in its
-- details (an action on a class that names a member).
-- What an entry names is read for the sentence it is shown as: the class (its type's name and
-- start) of a class, booking, waitlist offer or visit, else a class_id in its details; the plan
-- of a plan, membership or plan request, else a plan_id in its details; the class type of a
-- class type, else a type_id in its details; the trainer of a trainer_id in its details.
-- The page is chosen first and only its rows are joined to names. A member's entries are
-- gathered each kind through its index into an array (`= ANY(ARRAY(...))`, worked out once):
-- written as `IN (...)` the planner expects a large share of the log to match and walks the
-- whole log newest first instead.

-- name: page
-- A page of staff actions, newest first: entries with an actor whose action is not a member's own (member_actions), optionally only those by or on one member; with who did it, on whom, and the class, plan, class type and trainer it names.
WITH page AS (
    SELECT a.id, a.at, a.action, a.entity, a.entity_id, a.details, a.actor_id
    FROM audit_log a
    WHERE a.actor_id IS NOT NULL
      AND a.action <> ALL(%(member_actions)s)
      AND (%(member_id)s::bigint IS NULL OR a.id = ANY(ARRAY(
            SELECT id FROM audit_log WHERE actor_id = %(member_id)s
            UNION ALL
            SELECT id FROM audit_log WHERE entity = 'member' AND entity_id = %(member_id)s
            UNION ALL
            SELECT l.id FROM memberships x
            JOIN audit_log l ON l.entity = 'membership' AND l.entity_id = x.id
            WHERE x.member_id = %(member_id)s
            UNION ALL
            SELECT l.id FROM bookings x
            JOIN audit_log l ON l.entity = 'booking' AND l.entity_id = x.id
            WHERE x.member_id = %(member_id)s
            UNION ALL
            SELECT l.id FROM waitlist_offers x
            JOIN audit_log l ON l.entity = 'waitlist_offer' AND l.entity_id = x.id
            WHERE x.member_id = %(member_id)s
            UNION ALL
            SELECT l.id FROM plan_requests x
            JOIN audit_log l ON l.entity = 'plan_request' AND l.entity_id = x.id
            WHERE x.member_id = %(member_id)s
            UNION ALL
            SELECT l.id FROM visits x
            JOIN audit_log l ON l.entity = 'visit' AND l.entity_id = x.id
            WHERE x.member_id = %(member_id)s
            UNION ALL
            SELECT id FROM audit_log
            WHERE details ? 'member_id' AND details ->> 'member_id' = %(member_id)s::text)))
    ORDER BY a.at DESC, a.id DESC
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT a.id, a.at, a.action, a.entity, a.entity_id, a.details,
       a.actor_id, actor.first_name AS actor_first_name, actor.last_name AS actor_last_name,
       s.member_id AS subject_id, subject.first_name AS subject_first_name,
       subject.last_name AS subject_last_name,
       ct.name_i18n AS class_name, c.starts_at AS class_starts_at, p.name_i18n AS plan_name,
       t.name_i18n AS type_name, trainer.first_name AS trainer_first_name,
       trainer.last_name AS trainer_last_name
FROM page a
LEFT JOIN members actor ON actor.id = a.actor_id
CROSS JOIN LATERAL (
    SELECT coalesce(
        CASE a.entity
            WHEN 'member' THEN a.entity_id
            WHEN 'membership' THEN (SELECT member_id FROM memberships WHERE id = a.entity_id)
            WHEN 'booking' THEN (SELECT member_id FROM bookings WHERE id = a.entity_id)
            WHEN 'waitlist_offer' THEN
                (SELECT member_id FROM waitlist_offers WHERE id = a.entity_id)
            WHEN 'plan_request' THEN
                (SELECT member_id FROM plan_requests WHERE id = a.entity_id)
            WHEN 'visit' THEN (SELECT member_id FROM visits WHERE id = a.entity_id)
        END,
        CASE WHEN a.details ->> 'member_id' ~ '^[0-9]{1,18}$'
             THEN (a.details ->> 'member_id')::bigint END) AS member_id
) s
LEFT JOIN members subject ON subject.id = s.member_id
CROSS JOIN LATERAL (
    SELECT coalesce(
        CASE WHEN a.details ->> 'class_id' ~ '^[0-9]{1,18}$'
             THEN (a.details ->> 'class_id')::bigint END,
        CASE a.entity
            WHEN 'class' THEN a.entity_id
            WHEN 'booking' THEN (SELECT class_id FROM bookings WHERE id = a.entity_id)
            WHEN 'waitlist_offer' THEN
                (SELECT class_id FROM waitlist_offers WHERE id = a.entity_id)
            WHEN 'visit' THEN (SELECT class_id FROM visits WHERE id = a.entity_id)
        END) AS class_id,
    coalesce(
        CASE WHEN a.details ->> 'plan_id' ~ '^[0-9]{1,18}$'
             THEN (a.details ->> 'plan_id')::bigint END,
        CASE a.entity
            WHEN 'plan' THEN a.entity_id
            WHEN 'membership' THEN (SELECT plan_id FROM memberships WHERE id = a.entity_id)
            WHEN 'plan_request' THEN
                (SELECT plan_id FROM plan_requests WHERE id = a.entity_id)
        END) AS plan_id,
    coalesce(
        CASE WHEN a.details ->> 'type_id' ~ '^[0-9]{1,18}$'
             THEN (a.details ->> 'type_id')::bigint END,
        CASE WHEN a.entity = 'class_type' THEN a.entity_id END) AS type_id,
    CASE WHEN a.details ->> 'trainer_id' ~ '^[0-9]{1,18}$'
         THEN (a.details ->> 'trainer_id')::bigint END AS trainer_id
) named
LEFT JOIN classes c ON c.id = named.class_id
LEFT JOIN class_types ct ON ct.id = c.class_type_id
LEFT JOIN membership_plans p ON p.id = named.plan_id
LEFT JOIN class_types t ON t.id = named.type_id
LEFT JOIN members trainer ON trainer.id = named.trainer_id
ORDER BY a.at DESC, a.id DESC;
