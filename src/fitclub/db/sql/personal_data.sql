-- "Download my data" (/privacy): everything the club holds about one member, section by
-- section (services/personal_data.py turns the rows into the JSON file). Each query reads one
-- member's rows by its index on member_id, oldest first, ties by id.

-- name: profile
-- The member's own row (a live member only: an erased one has nothing left to copy).
SELECT id AS member_id, telegram_id, first_name, last_name, phone, username, language, role,
       registered_at, created_at, reminders_enabled, blocked_at
FROM members
WHERE id = %(member_id)s AND deleted_at IS NULL;

-- name: memberships
-- The member's memberships with their plan's name, oldest first.
SELECT ms.id, ms.plan_id, p.name_i18n AS plan_name, ms.starts_on, ms.ends_on, ms.visits_left,
       ms.status, ms.created_at
FROM memberships ms JOIN membership_plans p ON p.id = ms.plan_id
WHERE ms.member_id = %(member_id)s
ORDER BY ms.created_at, ms.id;

-- name: freezes
-- The freezes of the member's memberships (planned, running or ended).
SELECT f.id, f.membership_id, f.frozen_from, f.frozen_until, f.created_at, f.ended_at
FROM membership_freezes f JOIN memberships ms ON ms.id = f.membership_id
WHERE ms.member_id = %(member_id)s
ORDER BY f.created_at, f.id;

-- name: adjustments
-- Visits staff added to or took from the member's memberships, with the reason they gave.
SELECT a.id, a.membership_id, a.delta, a.visits_after, a.reason, a.created_at
FROM membership_adjustments a JOIN memberships ms ON ms.id = a.membership_id
WHERE ms.member_id = %(member_id)s
ORDER BY a.created_at, a.id;

-- name: bookings
-- Every place the member took or asked for (waitlist places included), with its class.
SELECT b.id, b.class_id, t.name_i18n AS class_type, c.starts_at AS class_starts_at, c.room,
       c.status AS class_status, b.status, b.created_at, b.updated_at, b.cancelled_at,
       b.late_cancel, b.membership_id, b.visit_reserved
FROM bookings b
JOIN classes c ON c.id = b.class_id
JOIN class_types t ON t.id = c.class_type_id
WHERE b.member_id = %(member_id)s
ORDER BY b.id;

-- name: offers
-- Places offered to the member from a waitlist, and what became of each offer.
SELECT o.id, o.booking_id, o.class_id, o.offered_at, o.expires_at, o.status, o.resolved_at
FROM waitlist_offers o
WHERE o.member_id = %(member_id)s
ORDER BY o.offered_at, o.id;

-- name: visits
-- The member's check-ins: when, how, the class and membership it counted for, and whether a
-- staff member checked them in (who is left out: that is the staff member's data).
SELECT v.id, v.checked_in_at, v.method, v.class_id, v.membership_id,
       v.checked_in_by IS NOT NULL AS checked_in_by_staff
FROM visits v
WHERE v.member_id = %(member_id)s
ORDER BY v.checked_in_at, v.id;

-- name: plan_requests
-- The member's requests for a plan, with the plan's name.
SELECT r.id, r.plan_id, p.name_i18n AS plan_name, r.status, r.created_at, r.closed_at
FROM plan_requests r JOIN membership_plans p ON p.id = r.plan_id
WHERE r.member_id = %(member_id)s
ORDER BY r.created_at, r.id;

-- name: consents
-- What the member agreed to: the privacy notice shown when registration asked for their
-- phone, and when they shared it after the notice (none before the notice was shown).
SELECT 'privacy_notice' AS kind, privacy_notice_at AS given_at, privacy_notice AS notice
FROM members
WHERE id = %(member_id)s AND privacy_notice_at IS NOT NULL;

-- name: notes
-- Staff's notes about the member (the author is left out: that is the staff member's data).
SELECT n.id, n.body, n.created_at
FROM member_notes n
WHERE n.member_id = %(member_id)s
ORDER BY n.created_at, n.id;

-- name: cards
-- The member's card codes still on record, and when each was used to check in (if it was).
SELECT c.code, c.issued_at, c.expires_at, c.revoked_at,
       (SELECT s.at FROM card_spent s
        WHERE s.token = c.token AND s.reason = 'used') AS used_at
FROM card_codes c
WHERE c.member_id = %(member_id)s
ORDER BY c.issued_at, c.code;

-- name: announcements
-- The announcements the club sent the member: when each went out and what it said.
SELECT a.id, a.sent_at, a.text, a.photo_file_id IS NOT NULL AS with_photo
FROM announcement_deliveries d JOIN announcements a ON a.id = d.announcement_id
WHERE d.member_id = %(member_id)s
ORDER BY a.sent_at, a.id;

-- name: audit
-- The audit log's entries by the member or about them (the same "on whom" as audit_log.page:
-- the member, or their membership, booking, offer, plan request or visit, or a member_id in
-- the details); who acted is only "you", "staff" or "system".
SELECT l.id, l.at, l.action, l.entity, l.entity_id,
       CASE WHEN l.actor_id = %(member_id)s THEN 'you'
            WHEN l.actor_id IS NULL THEN 'system' ELSE 'staff' END AS actor
FROM audit_log l
WHERE l.id = ANY(ARRAY(
    SELECT id FROM audit_log WHERE actor_id = %(member_id)s
    UNION
    SELECT id FROM audit_log WHERE entity = 'member' AND entity_id = %(member_id)s
    UNION
    SELECT l2.id FROM memberships x
    JOIN audit_log l2 ON l2.entity = 'membership' AND l2.entity_id = x.id
    WHERE x.member_id = %(member_id)s
    UNION
    SELECT l2.id FROM bookings x
    JOIN audit_log l2 ON l2.entity = 'booking' AND l2.entity_id = x.id
    WHERE x.member_id = %(member_id)s
    UNION
    SELECT l2.id FROM waitlist_offers x
    JOIN audit_log l2 ON l2.entity = 'waitlist_offer' AND l2.entity_id = x.id
    WHERE x.member_id = %(member_id)s
    UNION
    SELECT l2.id FROM plan_requests x
    JOIN audit_log l2 ON l2.entity = 'plan_request' AND l2.entity_id = x.id
    WHERE x.member_id = %(member_id)s
    UNION
    SELECT l2.id FROM visits x
    JOIN audit_log l2 ON l2.entity = 'visit' AND l2.entity_id = x.id
    WHERE x.member_id = %(member_id)s
    UNION
    SELECT id FROM audit_log
    WHERE details ? 'member_id' AND details ->> 'member_id' = %(member_id)s::text))
ORDER BY l.at, l.id;

-- name: next_copy
-- The member's last copy and when the next may go (the last plus the cooldown), by the
-- database's clock, which stamped the audit row; no row when a copy may go now.
SELECT max(at) AS sent_at, max(at) + make_interval(secs => %(seconds)s) AS next_at
FROM audit_log
WHERE actor_id = %(member_id)s AND action = 'member.data_copy'
HAVING max(at) + make_interval(secs => %(seconds)s) > now();
