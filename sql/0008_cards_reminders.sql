-- Members, part 3: the membership card's short codes (the QR token itself is signed, not stored).

-- A 6-digit code to type at the door, valid as long as the card's token. One row per code:
-- a new card takes over a code only once its row has expired (INSERT ... ON CONFLICT DO UPDATE
-- WHERE expires_at <= now), so no two valid codes are ever equal.
CREATE TABLE card_codes (
    code       text PRIMARY KEY,
    member_id  bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    token      text NOT NULL,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT card_codes_code_check CHECK (code ~ '^[0-9]{6}$'),
    CONSTRAINT card_codes_expires_check CHECK (expires_at > issued_at)
);

-- A member's cards (erasure and the staff side look them up).
CREATE INDEX card_codes_member_idx ON card_codes (member_id);
