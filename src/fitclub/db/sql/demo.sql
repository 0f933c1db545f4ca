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
-- One membership plan, named in English and Russian (left alone if a plan of that name
-- exists).
INSERT INTO membership_plans (name, price_minor, duration_days, visit_count, lang, name_tr)
VALUES (%(name)s, %(price_minor)s, %(duration_days)s, %(visit_count)s, 'en', %(name_tr)s)
ON CONFLICT (name) DO NOTHING;

-- name: insert_class_type
-- One class type, in English and Russian (left alone if a type of that name exists).
INSERT INTO class_types (name, description, default_duration_minutes, default_capacity, lang,
                         name_tr, description_tr)
VALUES (%(name)s, %(description)s, %(duration_minutes)s, %(capacity)s, 'en', %(name_tr)s,
        %(description_tr)s)
ON CONFLICT (name) DO NOTHING;

-- name: class_types_by_name
-- Id, duration and capacity of the named class types.
SELECT name, id, default_duration_minutes, default_capacity
FROM class_types WHERE name = ANY(%(names)s);

-- name: upsert_trainer
-- A trainer as a registered member with the trainer role (an admin keeps their role), so
-- the web chat can switch to them and use the staff side at once.
INSERT INTO members (telegram_id, first_name, last_name, role, registered_at)
VALUES (%(telegram_id)s, %(first_name)s, %(last_name)s, 'trainer', now())
ON CONFLICT (telegram_id) DO UPDATE
SET role = CASE WHEN members.role = 'admin' THEN 'admin' ELSE 'trainer' END,
    registered_at = coalesce(members.registered_at, now())
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

-- name: history_loaded
-- Whether the demo's members and their history were loaded into this database before.
SELECT EXISTS (
    SELECT 1 FROM audit_log WHERE action = 'demo_history_loaded' AND entity = 'demo'
);

-- name: insert_member
-- A registered demo member (left alone if that Telegram id exists).
INSERT INTO members (telegram_id, first_name, last_name, phone, language, registered_at)
VALUES (%(telegram_id)s, %(first_name)s, %(last_name)s, %(phone)s, %(language)s,
        %(registered_at)s)
ON CONFLICT (telegram_id) DO NOTHING
RETURNING id;

-- name: plans_by_name
-- Id, length and visits of the demo's plans.
SELECT name, id, duration_days, visit_count FROM membership_plans WHERE name = ANY(%(names)s);

-- name: insert_membership
-- A demo member's current membership.
INSERT INTO memberships (member_id, plan_id, starts_on, ends_on, visits_left)
VALUES (%(member_id)s, %(plan_id)s, %(starts_on)s, %(ends_on)s, %(visits_left)s)
RETURNING id;

-- name: insert_past_class
-- A class that took place.
INSERT INTO classes (class_type_id, trainer_id, starts_at, duration_minutes, capacity)
VALUES (%(class_type_id)s, %(trainer_id)s, %(starts_at)s, %(duration_minutes)s, %(capacity)s)
RETURNING id;

-- name: insert_booking
-- A booking (attended, no-show, booked or waitlisted) as the member made it.
INSERT INTO bookings (class_id, member_id, status, membership_id, visit_reserved, created_at)
VALUES (%(class_id)s, %(member_id)s, %(status)s, %(membership_id)s, %(visit_reserved)s,
        %(created_at)s);

-- name: insert_visit
-- A visit at the door or to a class.
INSERT INTO visits (member_id, membership_id, class_id, checked_in_at, checked_in_by, method)
VALUES (%(member_id)s, %(membership_id)s, %(class_id)s, %(checked_in_at)s, %(checked_in_by)s,
        %(method)s);

-- name: upcoming_classes
-- The coming classes of the demo timetable, soonest first.
SELECT c.id, t.name, c.capacity FROM classes c JOIN class_types t ON t.id = c.class_type_id
WHERE c.starts_at > now() AND c.status = 'scheduled' ORDER BY c.starts_at;

-- name: insert_plan_request
-- A member asked for a plan from their membership screen.
INSERT INTO plan_requests (member_id, plan_id, created_at)
VALUES (%(member_id)s, %(plan_id)s, %(created_at)s);

-- name: mark_history_loaded
-- Record that the demo's members and history are in, so a second load adds nothing.
INSERT INTO audit_log (action, entity, details)
VALUES ('demo_history_loaded', 'demo', %(details)s::jsonb);

-- name: demo_user_visits
-- The web chat's "You" came to the club on these days (days ago), so /activity has a chart.
INSERT INTO visits (member_id, membership_id, checked_in_at, method)
SELECT m.id, NULL, now() - make_interval(days => d, hours => 2), 'qr'
FROM members m, unnest(%(days_ago)s::int[]) d
WHERE m.telegram_id = %(telegram_id)s
  AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.member_id = m.id);
