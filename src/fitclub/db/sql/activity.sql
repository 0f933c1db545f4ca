-- Activity: a member's visits counted by the club's calendar weeks and months.
-- A visit's day is the local date of its check-in in the club's time zone, so weeks and months
-- are whole local days whatever the daylight-saving offset was at the time.

-- name: weeks
-- The member's visits up to now per local week (starting on first_week_day, 0 = Monday), with the class visits and this and last calendar month's visits among them.
WITH local_visits AS (
    SELECT (v.checked_in_at AT TIME ZONE %(timezone)s)::date AS day, v.class_id
    FROM visits v
    WHERE v.member_id = %(member_id)s AND v.checked_in_at <= %(now)s
)
SELECT day - (extract(isodow FROM day)::int - 1 - %(first_week_day)s + 7) %% 7 AS week_start,
       count(*)::int AS visits,
       count(class_id)::int AS classes,
       (count(*) FILTER (WHERE day >= %(this_month)s))::int AS this_month,
       (count(*) FILTER (WHERE day >= %(last_month)s AND day < %(this_month)s))::int
           AS last_month
FROM local_visits
GROUP BY week_start
ORDER BY week_start;

-- name: favourite
-- The class type the member checked in to most up to now; a tie goes to the one visited last.
SELECT t.name_i18n
FROM visits v
JOIN classes c ON c.id = v.class_id
JOIN class_types t ON t.id = c.class_type_id
WHERE v.member_id = %(member_id)s AND v.checked_in_at <= %(now)s
GROUP BY t.id
ORDER BY count(*) DESC, max(v.checked_in_at) DESC, t.id DESC
LIMIT 1;
