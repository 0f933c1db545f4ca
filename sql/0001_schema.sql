-- The first schema: members, plans and memberships, classes and bookings, visits, the audit log.
--
-- The migrator runs this file in one transaction (so does psql --single-transaction): no
-- BEGIN/COMMIT here. Statuses are text + CHECK rather than enum types so a later migration can
-- extend a list with DROP/ADD CONSTRAINT inside a transaction. Every constraint is named on
-- purpose: application code maps these names to messages (see the comments marked "app:").

-- Keeps updated_at honest whatever the writer forgets.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE members (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- app: members_telegram_id_key (a second registration of the same Telegram user)
    telegram_id bigint NOT NULL CONSTRAINT members_telegram_id_key UNIQUE,
    first_name  text NOT NULL,
    last_name   text,
    -- Stored normalised (digits, optional leading +, E.164 length), as Telegram's contact
    -- sharing gives it; the handler strips spaces and dashes from typed numbers.
    phone       text,
    language    text NOT NULL DEFAULT 'en',
    role        text NOT NULL DEFAULT 'member',
    -- Set when Telegram answers 403 "bot was blocked by the user"; cleared when they write again.
    blocked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_telegram_id_check CHECK (telegram_id > 0),
    CONSTRAINT members_first_name_check CHECK (btrim(first_name) <> ''),
    CONSTRAINT members_phone_check CHECK (phone ~ '^\+?[0-9]{5,15}$'),
    CONSTRAINT members_language_check CHECK (language IN ('en', 'ru')),
    CONSTRAINT members_role_check CHECK (role IN ('member', 'trainer', 'admin'))
);

CREATE TRIGGER members_set_updated_at BEFORE UPDATE ON members
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE membership_plans (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL CONSTRAINT membership_plans_name_key UNIQUE,
    -- Minor units (kopecks, cents): integer money, no rounding.
    price_minor   bigint NOT NULL,
    duration_days integer NOT NULL,
    -- NULL means unlimited visits.
    visit_count   integer,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT membership_plans_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT membership_plans_price_minor_check CHECK (price_minor >= 0),
    CONSTRAINT membership_plans_duration_days_check CHECK (duration_days > 0),
    CONSTRAINT membership_plans_visit_count_check CHECK (visit_count > 0)
);

CREATE TRIGGER membership_plans_set_updated_at BEFORE UPDATE ON membership_plans
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE memberships (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    -- Plans in use are retired with is_active = false, never deleted.
    plan_id     bigint NOT NULL REFERENCES membership_plans ON DELETE RESTRICT,
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    -- NULL means unlimited (copied from the plan when sold).
    visits_left integer,
    status      text NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memberships_dates_check CHECK (ends_on >= starts_on),
    -- app: memberships_visits_left_check (no visits left on the membership)
    CONSTRAINT memberships_visits_left_check CHECK (visits_left >= 0),
    CONSTRAINT memberships_status_check
        CHECK (status IN ('active', 'frozen', 'expired', 'cancelled'))
);

-- app: memberships_one_current_per_member (the member already has a current membership).
-- A unique index rather than a constraint because it is partial; it lives here, not in
-- 0002, because it is a rule of the data, not a speed-up.
CREATE UNIQUE INDEX memberships_one_current_per_member
    ON memberships (member_id) WHERE status IN ('active', 'frozen');

CREATE TRIGGER memberships_set_updated_at BEFORE UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE membership_freezes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    membership_id bigint NOT NULL REFERENCES memberships ON DELETE CASCADE,
    -- Both days inclusive.
    frozen_from   date NOT NULL,
    frozen_until  date NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT membership_freezes_dates_check CHECK (frozen_until >= frozen_from)
);

CREATE TABLE class_types (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                     text NOT NULL CONSTRAINT class_types_name_key UNIQUE,
    description              text NOT NULL DEFAULT '',
    default_duration_minutes integer NOT NULL,
    default_capacity         integer NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT class_types_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT class_types_default_duration_minutes_check CHECK (default_duration_minutes > 0),
    CONSTRAINT class_types_default_capacity_check CHECK (default_capacity > 0)
);

-- Scheduled classes: one row per occurrence on the timetable.
CREATE TABLE classes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A type with classes on the timetable cannot be deleted from under them.
    class_type_id    bigint NOT NULL REFERENCES class_types ON DELETE RESTRICT,
    -- Reassign a trainer's classes before deleting the trainer.
    trainer_id       bigint NOT NULL REFERENCES members ON DELETE RESTRICT,
    starts_at        timestamptz NOT NULL,
    duration_minutes integer NOT NULL,
    capacity         integer NOT NULL,
    status           text NOT NULL DEFAULT 'scheduled',
    -- Seats taken (bookings in booked/attended/no_show). Written only by the bookings trigger
    -- below, never by application code.
    booked_count     integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT classes_duration_minutes_check CHECK (duration_minutes > 0),
    CONSTRAINT classes_capacity_check CHECK (capacity > 0),
    CONSTRAINT classes_status_check CHECK (status IN ('scheduled', 'cancelled', 'completed')),
    -- app: classes_booked_count_check (the class is full). Also stops capacity being lowered
    -- below the seats already taken.
    CONSTRAINT classes_booked_count_check CHECK (booked_count >= 0 AND booked_count <= capacity)
);

CREATE TRIGGER classes_set_updated_at BEFORE UPDATE ON classes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE bookings (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    class_id   bigint NOT NULL REFERENCES classes ON DELETE CASCADE,
    member_id  bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    status     text NOT NULL DEFAULT 'booked',
    -- The waitlist is served in (created_at, id) order; a rebooking after a cancel counts
    -- as a new booking (see bookings_before_update).
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- app: bookings_class_id_member_id_key (already booked or waitlisted). Rebooking after a
    -- cancel updates the existing row instead of inserting a second one.
    CONSTRAINT bookings_class_id_member_id_key UNIQUE (class_id, member_id),
    CONSTRAINT bookings_status_check
        CHECK (status IN ('booked', 'waitlisted', 'cancelled', 'attended', 'no_show'))
);

-- Sets updated_at, and puts a cancelled booking that comes back at the end of the waitlist
-- queue rather than at the place it held before it was cancelled.
CREATE FUNCTION bookings_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'cancelled' AND NEW.status <> 'cancelled' THEN
        NEW.created_at := now();
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER bookings_before_update BEFORE UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_before_update();

-- Keeps classes.booked_count equal to the number of seat-taking bookings of each class.
-- The UPDATE of the class row takes its row lock, so concurrent bookings of one class queue
-- behind each other and each sees the count the previous one committed; the CHECK on
-- classes then refuses the booking that would overfill it, raising check_violation on
-- classes_booked_count_check. Rows that take no seat (waitlisted, cancelled) never touch the
-- class row, so joining a waitlist does not contend for that lock.
CREATE FUNCTION bookings_maintain_booked_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_seat integer := 0;
    new_seat integer := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('booked', 'attended', 'no_show') THEN
        old_seat := 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ('booked', 'attended', 'no_show') THEN
        new_seat := 1;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.class_id <> NEW.class_id THEN
        -- A booking moved to another class: release the old seat, take the new one.
        IF old_seat = 1 THEN
            UPDATE classes SET booked_count = booked_count - 1 WHERE id = OLD.class_id;
        END IF;
        IF new_seat = 1 THEN
            UPDATE classes SET booked_count = booked_count + 1 WHERE id = NEW.class_id;
        END IF;
    ELSIF new_seat <> old_seat THEN
        -- On a cascaded delete the class row is already gone and this updates nothing.
        UPDATE classes SET booked_count = booked_count + new_seat - old_seat
         WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.class_id ELSE NEW.class_id END;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER bookings_maintain_booked_count AFTER INSERT OR UPDATE OR DELETE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_maintain_booked_count();

CREATE TABLE visits (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id     bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    -- A visit stays on record when the membership or class it used is removed.
    membership_id bigint REFERENCES memberships ON DELETE SET NULL,
    class_id      bigint REFERENCES classes ON DELETE SET NULL,
    checked_in_at timestamptz NOT NULL DEFAULT now(),
    -- The trainer or admin who checked the member in; NULL when the member scanned the QR code.
    checked_in_by bigint REFERENCES members ON DELETE SET NULL,
    method        text NOT NULL,
    CONSTRAINT visits_method_check CHECK (method IN ('qr', 'manual', 'class')),
    -- A class check-in says which class. Not enforced the other way: a QR check-in may be
    -- matched to the class the member came for.
    CONSTRAINT visits_class_method_check CHECK (method <> 'class' OR class_id IS NOT NULL)
);

-- app: visits_one_per_member_class (already checked in to this class). Stops one class
-- visit from being counted, and charged to the membership, twice.
CREATE UNIQUE INDEX visits_one_per_member_class
    ON visits (member_id, class_id) WHERE class_id IS NOT NULL;

CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    -- NULL for actions by the system (scheduled jobs, migrations).
    actor_id  bigint REFERENCES members ON DELETE SET NULL,
    action    text NOT NULL,
    entity    text NOT NULL,
    entity_id bigint,
    details   jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT audit_log_action_check CHECK (btrim(action) <> ''),
    CONSTRAINT audit_log_entity_check CHECK (btrim(entity) <> ''),
    CONSTRAINT audit_log_details_check CHECK (jsonb_typeof(details) = 'object')
);
