-- Membership cards: short codes for check-in by hand.

-- name: claim_code
-- Take a 6-digit code for a card unless a valid card holds it (an expired holder is replaced).
INSERT INTO card_codes AS c (code, member_id, token, issued_at, expires_at)
VALUES (%(code)s, %(member_id)s, %(token)s, %(issued_at)s, %(expires_at)s)
ON CONFLICT (code) DO UPDATE
    SET member_id = EXCLUDED.member_id, token = EXCLUDED.token,
        issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, revoked_at = NULL
    WHERE c.expires_at <= %(issued_at)s
RETURNING code;

-- name: by_code
-- The live member behind a valid code (revoked_at: a newer card replaced it).
SELECT c.member_id, c.token, c.expires_at, c.revoked_at
FROM card_codes c JOIN members m ON m.id = c.member_id AND m.deleted_at IS NULL
WHERE c.code = %(code)s AND c.expires_at > %(now)s;

-- name: replace_earlier
-- A new card (token) replaces the member's earlier valid ones: their codes are revoked and
-- their tokens listed as replaced (a token of the same minute is the new card's own).
WITH old AS (
    UPDATE card_codes SET revoked_at = %(now)s
    WHERE member_id = %(member_id)s AND expires_at > %(now)s AND revoked_at IS NULL
    RETURNING token, expires_at
)
INSERT INTO card_spent (token, member_id, reason, at, expires_at)
SELECT token, %(member_id)s, 'replaced', %(now)s, max(expires_at)
FROM old WHERE token <> %(token)s
GROUP BY token
ON CONFLICT (token) DO NOTHING;

-- name: spent
-- Why a token may no longer check anyone in, if it may not.
SELECT reason, at FROM card_spent WHERE token = %(token)s;

-- name: mark_used
-- A check-in was recorded with this token: it checks nobody in again.
INSERT INTO card_spent (token, member_id, reason, at, expires_at)
VALUES (%(token)s, %(member_id)s, 'used', %(now)s, %(expires_at)s)
ON CONFLICT (token) DO NOTHING;
