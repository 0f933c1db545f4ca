-- Pictures drawn off the worker path (fitclub.runtime.pictures), delivered under the chat's lock.

-- name: lock_chat
-- Wait for the chat's lock (the one a worker holds while it runs an update), for this transaction.
SELECT pg_advisory_xact_lock(%(namespace)s, mod(%(chat_id)s::bigint, 2147483647)::integer);

-- name: state
-- Whether the picture may replace its text screen: the update's status, whether a newer update of the chat came in, whether a photo for the update is queued already (outbox_photo_by_update), and the screen's row (its status and, once sent, its message). member_gone: the picture's member erased their data meanwhile (nothing more goes to their chat).
SELECT (SELECT i.status FROM inbox i WHERE i.update_id = %(update_id)s) AS update_status,
       NOT EXISTS (SELECT 1 FROM members m
                   WHERE m.id = %(member_id)s AND m.deleted_at IS NULL) AS member_gone,
       EXISTS (SELECT 1 FROM inbox i
               WHERE i.update_id > %(update_id)s AND i.chat_id = %(chat_id)s) AS newer,
       EXISTS (SELECT 1 FROM outbox o
               WHERE o.id > coalesce(%(screen_id)s::bigint, 0) AND o.chat_id = %(chat_id)s
                 AND o.update_id = %(update_id)s AND o.method = 'sendPhoto') AS photo_queued,
       s.status AS screen_status,
       s.result_message_id AS screen_message_id
FROM (SELECT 1) AS one
LEFT JOIN outbox s ON s.id = %(screen_id)s AND s.chat_id = %(chat_id)s;

-- name: drop_screen
-- Take back a text screen no sender has claimed yet (its photo goes instead); its id, or nothing.
UPDATE outbox SET status = 'dropped', error = 'replaced by its picture'
WHERE id = %(id)s AND status = 'pending'
RETURNING id;
