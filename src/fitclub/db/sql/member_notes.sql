-- Staff's notes on members (shown on the member card).

-- name: latest
-- The member's latest notes, newest first, with their author's name.
SELECT n.created_at, a.first_name AS author, n.body
FROM member_notes n LEFT JOIN members a ON a.id = n.author_id
WHERE n.member_id = %(member_id)s
ORDER BY n.created_at DESC, n.id DESC
LIMIT %(limit)s;

-- name: insert
-- A note on a live, registered member.
INSERT INTO member_notes (member_id, author_id, body)
SELECT id, %(author_id)s, %(body)s FROM members
WHERE id = %(member_id)s AND deleted_at IS NULL AND registered_at IS NOT NULL
RETURNING id;
