-- A check-in records how the member was found at the door: 'qr' (their card scanned), 'code'
-- (the 6-digit code of their card typed by staff), 'manual' (found by name), 'class' (marked
-- attended at a class). Until now a typed code was recorded as 'manual'; those rows stay so.
ALTER TABLE visits DROP CONSTRAINT visits_method_check;
ALTER TABLE visits ADD CONSTRAINT visits_method_check
    CHECK (method IN ('qr', 'code', 'manual', 'class'));
