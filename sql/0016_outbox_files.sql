-- A file sent through the outbox (a CSV export with members' phones, a chart, an .ics) is kept
-- only until it is delivered or dropped: the row stays as the record, its bytes go.
ALTER TABLE outbox DROP CONSTRAINT outbox_file_check;
-- app: outbox_file_check (a file's bytes are there while it waits, and only for a file).
ALTER TABLE outbox ADD CONSTRAINT outbox_file_check CHECK (
    CASE WHEN file_field IS NULL THEN file_bytes IS NULL
         ELSE file_bytes IS NOT NULL OR status IN ('sent', 'dropped')
    END
);
UPDATE outbox SET file_bytes = NULL WHERE file_bytes IS NOT NULL AND status IN ('sent', 'dropped');
