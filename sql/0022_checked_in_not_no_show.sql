-- A member checked in at the door for a class came to it: from now on neither a trainer nor
-- the no-show sweep can record them as a no-show. Places recorded so before this release
-- (a trainer could press the no-show button after the door check-in) become attended, as the
-- check-in had marked them, each with its audit row (actor NULL: the system).
WITH fixed AS (
    UPDATE bookings b SET status = 'attended'
    WHERE b.status = 'no_show'
      AND EXISTS (SELECT 1 FROM visits v
                  WHERE v.class_id = b.class_id AND v.member_id = b.member_id
                    AND v.method <> 'class')
    RETURNING b.id, b.member_id, b.class_id
)
INSERT INTO audit_log (actor_id, action, entity, entity_id, details)
SELECT NULL, 'attendance.attended', 'booking', id,
       jsonb_build_object('class_id', class_id, 'member_id', member_id, 'from', 'no_show',
                          'by', 'checked_in')
FROM fixed;
