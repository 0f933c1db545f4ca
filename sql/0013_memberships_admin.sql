-- Admins manage memberships: freezes that end (moving the end date by the days actually
-- frozen), notes on members, and visit adjustments with their reason.

-- Who set a freeze up (NULL once that admin is gone).
ALTER TABLE membership_freezes ADD COLUMN created_by bigint REFERENCES members ON DELETE SET NULL;
-- When the freeze ended (its last day passed, or an admin unfroze early) and the membership's
-- end date moved by its days. NULL while it is planned or running.
ALTER TABLE membership_freezes ADD COLUMN ended_at timestamptz;
-- Freezes from before this file have no job to end them: those already over count as ended.
UPDATE membership_freezes SET ended_at = now() WHERE frozen_until < current_date;

-- app: membership_freezes_one_open (the membership already has a freeze planned or running).
-- Also how the freeze jobs and the member card find the open freeze of a membership.
CREATE UNIQUE INDEX membership_freezes_one_open
    ON membership_freezes (membership_id) WHERE ended_at IS NULL;

-- Admins' notes on a member (seen by staff only, never sent to the member).
CREATE TABLE member_notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    author_id  bigint REFERENCES members ON DELETE SET NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT member_notes_body_check CHECK (btrim(body) <> '' AND char_length(body) <= 500)
);

-- A member's notes, newest first.
CREATE INDEX member_notes_member_idx ON member_notes (member_id, created_at);

-- Notes may say anything about a person: "delete my data" takes them too.
CREATE FUNCTION member_notes_erase() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM member_notes WHERE member_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_erase_notes AFTER UPDATE OF deleted_at ON members
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION member_notes_erase();

-- Visits added to or taken from a membership by an admin, with the reason they gave.
CREATE TABLE membership_adjustments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    membership_id bigint NOT NULL REFERENCES memberships ON DELETE CASCADE,
    actor_id      bigint REFERENCES members ON DELETE SET NULL,
    delta         integer NOT NULL,
    visits_after  integer NOT NULL,
    reason        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT membership_adjustments_delta_check CHECK (delta <> 0),
    CONSTRAINT membership_adjustments_visits_after_check CHECK (visits_after >= 0),
    CONSTRAINT membership_adjustments_reason_check
        CHECK (btrim(reason) <> '' AND char_length(reason) <= 200)
);

-- A membership's adjustments (also serves ON DELETE CASCADE from memberships).
CREATE INDEX membership_adjustments_membership_idx ON membership_adjustments (membership_id);
