-- A cancelled booking that comes back joins the end of the waitlist at the moment it is
-- written, not at the start of its transaction: under contention a transaction may wait for
-- the class lock after others committed, and now() (the transaction's start) would put it
-- ahead of them. New bookings already take clock_timestamp() after the lock.
CREATE OR REPLACE FUNCTION bookings_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'cancelled' AND NEW.status <> 'cancelled' THEN
        NEW.created_at := clock_timestamp();
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
