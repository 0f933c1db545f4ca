-- Classes, part 2: admins schedule classes (one, or a weekly series) and class types.

-- A weekly series scheduled in one go ("Tue and Thu 19:00 for 8 weeks"): what the admin
-- asked for, and who. Its classes carry its id and stay ordinary classes (moved, resized
-- or cancelled one at a time).
CREATE TABLE class_series (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- ISO weekdays, 1 = Monday ... 7 = Sunday, in the club's time zone.
    weekdays   smallint[] NOT NULL,
    weeks      integer NOT NULL,
    created_by bigint REFERENCES members ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT class_series_weekdays_check
        CHECK (cardinality(weekdays) BETWEEN 1 AND 7
               AND weekdays <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]),
    CONSTRAINT class_series_weeks_check CHECK (weeks BETWEEN 1 AND 52)
);

ALTER TABLE classes ADD COLUMN series_id bigint REFERENCES class_series ON DELETE SET NULL;
CREATE INDEX classes_series_id_idx ON classes (series_id) WHERE series_id IS NOT NULL;

-- Limits the admin screens enforce, kept by the schema too. NOT VALID: rows written before
-- this file are not re-checked (they came from the demo data or by hand), new ones are.
ALTER TABLE classes ADD CONSTRAINT classes_room_check
    CHECK (char_length(room) <= 64) NOT VALID;
ALTER TABLE class_types ADD CONSTRAINT class_types_name_length_check
    CHECK (char_length(name) <= 64) NOT VALID;
ALTER TABLE class_types ADD CONSTRAINT class_types_description_length_check
    CHECK (char_length(description) <= 500) NOT VALID;

-- app: class_types_name_lower_key (a type of that name exists, whatever the letter case).
CREATE UNIQUE INDEX class_types_name_lower_key ON class_types (lower(btrim(name)));
