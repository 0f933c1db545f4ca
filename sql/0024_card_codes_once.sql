-- Card codes used once (issue 17): a card (its QR token and its 6-digit code) checks a member
-- in at most once, and a new card replaces the member's earlier ones.
--
-- A code's row says when a newer card replaced it. Tokens are signed, not stored, so the
-- tokens that may no longer check anyone in are listed here: 'used' (a check-in was recorded
-- with it, at `at`) or 'replaced' (a newer card was issued, at `at`). A row is of no use once
-- the token has expired (expires_at); retention may delete it then.
ALTER TABLE card_codes ADD COLUMN revoked_at timestamptz;

CREATE TABLE card_spent (
    token      text PRIMARY KEY,
    member_id  bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    reason     text NOT NULL CHECK (reason IN ('used', 'replaced')),
    at         timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX card_spent_member_idx ON card_spent (member_id);
CREATE INDEX card_spent_expires_idx ON card_spent (expires_at);
