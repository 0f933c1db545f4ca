-- Members, part 2: booking rules, late cancellations, the waitlist's timed offers, rooms.

-- Where a class takes place ('Studio 2'); empty when the club has one room.
ALTER TABLE classes ADD COLUMN room text NOT NULL DEFAULT '';

-- The membership a booking reserved its visit from (NULL: none reserved, e.g. a waitlist
-- place, or an unlimited membership), so a timely cancellation gives it back to that one.
ALTER TABLE bookings ADD COLUMN membership_id bigint REFERENCES memberships ON DELETE SET NULL;
ALTER TABLE bookings ADD COLUMN visit_reserved boolean NOT NULL DEFAULT false;
-- A cancellation within CANCEL_WINDOW_HOURS of the start: recorded, and the visit is kept.
ALTER TABLE bookings ADD COLUMN cancelled_at timestamptz;
ALTER TABLE bookings ADD COLUMN late_cancel boolean NOT NULL DEFAULT false;
ALTER TABLE bookings ADD CONSTRAINT bookings_late_cancel_check
    CHECK (NOT late_cancel OR status = 'cancelled');

-- A place held for the first in line when one frees up. While an offer is open its place
-- counts as taken: nobody else can book it until it is accepted, declined or expires.
CREATE TABLE waitlist_offers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id  bigint NOT NULL REFERENCES bookings ON DELETE CASCADE,
    class_id    bigint NOT NULL REFERENCES classes ON DELETE CASCADE,
    member_id   bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    offered_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    -- open; accepted; declined (by the member); expired (unanswered); refused (accepted, but
    -- the membership no longer allowed it); withdrawn (the member left the waitlist, or the
    -- class was cancelled).
    status      text NOT NULL DEFAULT 'open',
    resolved_at timestamptz,
    CONSTRAINT waitlist_offers_status_check
        CHECK (status IN ('open', 'accepted', 'declined', 'expired', 'refused', 'withdrawn')),
    CONSTRAINT waitlist_offers_resolved_check CHECK ((status = 'open') = (resolved_at IS NULL)),
    CONSTRAINT waitlist_offers_expires_check CHECK (expires_at > offered_at)
);

-- app: waitlist_offers_one_open_per_booking (one held place per person in line).
CREATE UNIQUE INDEX waitlist_offers_one_open_per_booking
    ON waitlist_offers (booking_id) WHERE status = 'open';
-- Held places of a class (counted against its capacity).
CREATE INDEX waitlist_offers_open_class_idx ON waitlist_offers (class_id) WHERE status = 'open';
-- A member's offers (also serves ON DELETE CASCADE from members).
CREATE INDEX waitlist_offers_member_idx ON waitlist_offers (member_id);
CREATE INDEX waitlist_offers_booking_idx ON waitlist_offers (booking_id);
