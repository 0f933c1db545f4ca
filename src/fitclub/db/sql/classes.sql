-- Classes as members see them: the schedule of a day, one class, and the row lock that
-- serialises every booking change of a class.

-- name: view
-- Classes as one member sees them: one class (class_id), or those starting in [start, end)
-- (class_id NULL), with places taken (held offers count), the waitlist length and the
-- member's own booking status. psycopg2 sends the values inline, so the planner folds the
-- branch not taken away.
SELECT c.id, c.starts_at, c.duration_minutes, c.status, t.name, t.description, c.room,
       coalesce(tr.first_name || coalesce(' ' || tr.last_name, ''), '') AS trainer,
       c.capacity,
       c.booked_count + (SELECT count(*) FROM waitlist_offers o
                         WHERE o.class_id = c.id AND o.status = 'open')::integer AS taken,
       (SELECT count(*) FROM bookings w
        WHERE w.class_id = c.id AND w.status = 'waitlisted')::integer AS waiting,
       b.status AS my_status
FROM classes c
JOIN class_types t ON t.id = c.class_type_id
JOIN members tr ON tr.id = c.trainer_id
LEFT JOIN bookings b ON b.class_id = c.id AND b.member_id = %(member_id)s
WHERE CASE WHEN %(class_id)s::bigint IS NULL
           THEN c.starts_at >= %(start)s AND c.starts_at < %(end)s
           ELSE c.id = %(class_id)s END
ORDER BY c.starts_at, c.id;

-- name: lock
-- Take the class row for this transaction (every booking change of a class queues here, so
-- capacity, held offers and waitlist order are decided one at a time, in commit order).
SELECT c.id, c.starts_at, c.status, c.capacity, c.booked_count,
       (SELECT count(*) FROM waitlist_offers o
        WHERE o.class_id = c.id AND o.status = 'open')::integer AS held,
       t.name
FROM classes c JOIN class_types t ON t.id = c.class_type_id
WHERE c.id = %(class_id)s
FOR UPDATE OF c;
