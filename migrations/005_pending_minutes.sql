-- The minutes that hold records in no file yet. Finding them through the
-- partial index on audit_records walked one dead entry for every record
-- ever filed (until vacuum), so listings slowed as the store grew. Ingestion
-- adds its minutes here in its own transaction; writing a minute's file
-- removes the minute first, which waits for any ingestion of that minute
-- still running, so no record is left in no file unnoticed.
CREATE TABLE pending_minutes (
    minute timestamptz PRIMARY KEY
);
INSERT INTO pending_minutes SELECT DISTINCT minute FROM audit_records WHERE file_id IS NULL;
