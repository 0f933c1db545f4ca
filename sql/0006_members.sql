-- Members, part 1: registration details, settings, erasure on request, plan freeze allowance,
-- and membership requests sent from the member side.

-- The Telegram username, refreshed on every registration; staff search by it.
ALTER TABLE members ADD COLUMN username text;

-- Registration finished (name and own phone given). Rows created by staff or the demo data
-- (trainers) may have none.
ALTER TABLE members ADD COLUMN registered_at timestamptz;

-- Reminders on or off, from the member's settings.
ALTER TABLE members ADD COLUMN reminders_enabled boolean NOT NULL DEFAULT true;

-- "Delete my data": the row stays so visit counts survive for the club's statistics, but it
-- no longer identifies anyone (no Telegram id, name, phone or username).
ALTER TABLE members ADD COLUMN deleted_at timestamptz;
ALTER TABLE members ALTER COLUMN telegram_id DROP NOT NULL;
ALTER TABLE members ALTER COLUMN first_name DROP NOT NULL;
ALTER TABLE members DROP CONSTRAINT members_first_name_check;
ALTER TABLE members ADD CONSTRAINT members_first_name_check
    CHECK (btrim(first_name) <> '' AND char_length(first_name) <= 64);
-- app: members_identity_check (a live member is identifiable, an erased one is not).
ALTER TABLE members ADD CONSTRAINT members_identity_check CHECK (
    CASE WHEN deleted_at IS NULL
         THEN telegram_id IS NOT NULL AND first_name IS NOT NULL
         ELSE telegram_id IS NULL AND first_name IS NULL AND last_name IS NULL
              AND phone IS NULL AND username IS NULL
    END
);

-- Days a membership of this plan may be frozen in total.
ALTER TABLE membership_plans ADD COLUMN freeze_days integer NOT NULL DEFAULT 0;
ALTER TABLE membership_plans ADD CONSTRAINT membership_plans_freeze_days_check
    CHECK (freeze_days >= 0);

-- "Request this plan" from the member side; admins see the open ones and grant them.
CREATE TABLE plan_requests (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    plan_id    bigint NOT NULL REFERENCES membership_plans ON DELETE CASCADE,
    status     text NOT NULL DEFAULT 'open',
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz,
    CONSTRAINT plan_requests_status_check CHECK (status IN ('open', 'granted', 'dismissed')),
    CONSTRAINT plan_requests_closed_check CHECK ((status = 'open') = (closed_at IS NULL))
);

-- A member's requests for a plan, newest first (the once-a-day rule reads it).
CREATE INDEX plan_requests_member_plan_idx ON plan_requests (member_id, plan_id, created_at);
-- The admins' list of open requests.
CREATE INDEX plan_requests_open_idx ON plan_requests (created_at) WHERE status = 'open';
