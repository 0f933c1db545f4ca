-- Reminders: the member's on/off switch, and the sweep that finds reminders due.

-- name: set_enabled
-- Turn a live member's reminders on or off.
UPDATE members SET reminders_enabled = %(enabled)s WHERE id = %(id)s AND deleted_at IS NULL;

-- name: due_classes
-- Booked places in classes starting within the reminder window, of members who get reminders.
SELECT b.id AS booking_id, c.starts_at
FROM bookings b
JOIN classes c ON c.id = b.class_id AND c.status = 'scheduled'
JOIN members m ON m.id = b.member_id
WHERE b.status = 'booked' AND c.starts_at > %(now)s AND c.starts_at <= %(until)s
  AND m.deleted_at IS NULL AND m.blocked_at IS NULL AND m.reminders_enabled
  AND m.telegram_id IS NOT NULL;

-- name: due_expiries
-- Active memberships ending within the notice days, of members who get reminders.
SELECT ms.id AS membership_id, ms.ends_on
FROM memberships ms JOIN members m ON m.id = ms.member_id
WHERE ms.status = 'active' AND ms.ends_on >= %(today)s AND ms.ends_on <= %(last)s
  AND m.deleted_at IS NULL AND m.blocked_at IS NULL AND m.reminders_enabled
  AND m.telegram_id IS NOT NULL;

-- name: due_last_visits
-- Active memberships with one visit left, of members who get reminders.
SELECT ms.id AS membership_id, ms.ends_on
FROM memberships ms JOIN members m ON m.id = ms.member_id
WHERE ms.status = 'active' AND ms.visits_left = 1 AND ms.ends_on >= %(today)s
  AND m.deleted_at IS NULL AND m.blocked_at IS NULL AND m.reminders_enabled
  AND m.telegram_id IS NOT NULL;

-- name: class_reminder
-- A booked place to remind of, if it still stands and its member still gets reminders.
SELECT m.telegram_id, m.language, c.id AS class_id, ct.name_i18n AS class_name, c.starts_at,
       c.room
FROM bookings b
JOIN classes c ON c.id = b.class_id AND c.status = 'scheduled'
JOIN class_types ct ON ct.id = c.class_type_id
JOIN members m ON m.id = b.member_id
WHERE b.id = %(booking_id)s AND b.status = 'booked' AND c.starts_at > %(now)s
  AND m.deleted_at IS NULL AND m.blocked_at IS NULL AND m.reminders_enabled
  AND m.telegram_id IS NOT NULL;

-- name: membership_reminder
-- A membership to tell about, if still active and its member still gets reminders.
SELECT m.telegram_id, m.language, p.name_i18n AS plan_name, ms.ends_on, ms.visits_left
FROM memberships ms
JOIN membership_plans p ON p.id = ms.plan_id
JOIN members m ON m.id = ms.member_id
WHERE ms.id = %(membership_id)s AND ms.status = 'active'
  AND m.deleted_at IS NULL AND m.blocked_at IS NULL AND m.reminders_enabled
  AND m.telegram_id IS NOT NULL;

-- name: my_booked_class
-- The start of a class the member holds a booked place in.
SELECT c.starts_at
FROM bookings b JOIN classes c ON c.id = b.class_id
WHERE b.class_id = %(class_id)s AND b.member_id = %(member_id)s AND b.status = 'booked';
