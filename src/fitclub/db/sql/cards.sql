-- Membership cards: short codes for check-in by hand.

-- name: claim_code
-- Take a 6-digit code for a card unless a valid card holds it (an expired holder is replaced).
INSERT INTO card_codes AS c (code, member_id, token, issued_at, expires_at)
VALUES (%(code)s, %(member_id)s, %(token)s, %(issued_at)s, %(expires_at)s)
ON CONFLICT (code) DO UPDATE
    SET member_id = EXCLUDED.member_id, token = EXCLUDED.token,
        issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at
    WHERE c.expires_at <= %(issued_at)s
RETURNING code;

-- name: by_code
-- The live member behind a valid code.
SELECT c.member_id, c.token, c.expires_at
FROM card_codes c JOIN members m ON m.id = c.member_id AND m.deleted_at IS NULL
WHERE c.code = %(code)s AND c.expires_at > %(now)s;
