-- Demo data for `python bot.py demo`: plans, class types, trainers and a week of classes.

-- name: lock
-- Serialise concurrent loaders (transaction-level, so it is released at COMMIT).
SELECT pg_advisory_xact_lock(hashtext('fitclub.demo_data'));

-- name: loaded
-- Whether the demo data was loaded into this database before.
SELECT EXISTS (
    SELECT 1 FROM audit_log WHERE action = 'demo_data_loaded' AND entity = 'demo'
);

-- name: insert_plan
-- One membership plan (left alone if a plan of that name exists).
INSERT INTO membership_plans (name, price_minor, duration_days, visit_count)
VALUES (%(name)s, %(price_minor)s, %(duration_days)s, %(visit_count)s)
ON CONFLICT (name) DO NOTHING;

-- name: insert_class_type
-- One class type (left alone if a type of that name exists).
INSERT INTO class_types (name, description, default_duration_minutes, default_capacity)
VALUES (%(name)s, %(description)s, %(duration_minutes)s, %(capacity)s)
ON CONFLICT (name) DO NOTHING;

-- name: class_types_by_name
-- Id, duration and capacity of the named class types.
SELECT name, id, default_duration_minutes, default_capacity
FROM class_types WHERE name = ANY(%(names)s);

-- name: upsert_trainer
-- A trainer as a member with the trainer role (an admin keeps their role).
INSERT INTO members (telegram_id, first_name, last_name, role)
VALUES (%(telegram_id)s, %(first_name)s, %(last_name)s, 'trainer')
ON CONFLICT (telegram_id) DO UPDATE
SET role = CASE WHEN members.role = 'admin' THEN 'admin' ELSE 'trainer' END
RETURNING id;

-- name: insert_class
-- One class on the timetable.
INSERT INTO classes (class_type_id, trainer_id, starts_at, duration_minutes, capacity)
VALUES (%(class_type_id)s, %(trainer_id)s, %(starts_at)s, %(duration_minutes)s, %(capacity)s);

-- name: mark_loaded
-- Record that the demo data is in, so a second load adds nothing.
INSERT INTO audit_log (action, entity, details)
VALUES ('demo_data_loaded', 'demo', %(details)s::jsonb);

-- name: counts
-- How many plans, class types, trainers and upcoming classes the database holds.
SELECT (SELECT count(*) FROM membership_plans),
       (SELECT count(*) FROM class_types),
       (SELECT count(*) FROM members WHERE role = 'trainer'),
       (SELECT count(*) FROM classes WHERE starts_at > now() AND status = 'scheduled');

-- name: member_count
-- Live members in the database (the demo refuses to write into one that has any).
SELECT count(*) FROM members WHERE deleted_at IS NULL;

-- name: register_demo_user
-- The web chat's "You": a registered admin.
INSERT INTO members (telegram_id, first_name, phone, role, registered_at)
VALUES (%(telegram_id)s, %(first_name)s, %(phone)s, 'admin', now())
ON CONFLICT (telegram_id) DO UPDATE SET role = 'admin',
    registered_at = coalesce(members.registered_at, now());

-- name: demo_user_membership
-- The web chat's "You" holds a 10-visit membership, so booking can be tried at once.
INSERT INTO memberships (member_id, plan_id, starts_on, ends_on, visits_left)
SELECT m.id, p.id, current_date, current_date + p.duration_days - 1, p.visit_count
FROM members m, membership_plans p
WHERE m.telegram_id = %(telegram_id)s AND p.name = '10 visits'
  AND NOT EXISTS (SELECT 1 FROM memberships x WHERE x.member_id = m.id);
