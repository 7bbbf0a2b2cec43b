-- audit_records partitioned by day (UTC) of the record's minute, the column
-- every hot query names: writing a minute's file, a listing's counts and
-- retention touch one day's table and its indexes only, however many days
-- the store holds, and retention drops whole days instead of deleting rows.
-- The service creates the days ahead of time (today and the week after) and
-- on demand for records of other days (auditgraph_ensure_partitions).
--
-- Also dropped here: the foreign key from file_id to log_files and its
-- index, which no query used. Each filed record paid an index entry and a
-- key check for it, and retention paid a scan per removed file. A record's
-- file_id is still set once, in the transaction that stores its file, and
-- the append-only trigger still refuses any other change.
ALTER TABLE audit_records RENAME TO audit_records_unpartitioned;

CREATE TABLE audit_records (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    ts          timestamptz NOT NULL,
    minute      timestamptz NOT NULL,
    action      text NOT NULL,
    category    text NOT NULL,
    event_type  text NOT NULL,
    session_id  text,
    body        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    file_id     bigint,
    tx_id       xid8 NOT NULL DEFAULT pg_current_xact_id()
) PARTITION BY RANGE (minute);

-- Creates the daily partitions of the given days that do not exist yet and
-- returns how many it created. Servers sharing the database take turns.
CREATE FUNCTION auditgraph_ensure_partitions(days date[]) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    d date;
    created int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(1885434484); -- "part"
    FOREACH d IN ARRAY days LOOP
        IF to_regclass(format('public.audit_records_%s', to_char(d, 'YYYYMMDD'))) IS NULL THEN
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.audit_records FOR VALUES FROM (%L) TO (%L)',
                'audit_records_' || to_char(d, 'YYYYMMDD'),
                d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

SELECT auditgraph_ensure_partitions(COALESCE(array_agg(DISTINCT (minute AT TIME ZONE 'UTC')::date), '{}'))
    FROM audit_records_unpartitioned;
SELECT auditgraph_ensure_partitions(ARRAY(
    SELECT (now() AT TIME ZONE 'UTC')::date + i FROM generate_series(0, 7) AS i));

INSERT INTO audit_records OVERRIDING SYSTEM VALUE
    SELECT id, ts, minute, action, category, event_type, session_id, body, received_at, file_id, tx_id
    FROM audit_records_unpartitioned;
SELECT setval(pg_get_serial_sequence('audit_records', 'id'),
    COALESCE((SELECT max(id) FROM audit_records), 0) + 1, false);
DROP TABLE audit_records_unpartitioned;

-- Declared on the parent, so every partition has them.
ALTER TABLE audit_records ADD PRIMARY KEY (id, minute);
CREATE INDEX audit_records_pending ON audit_records (minute) WHERE file_id IS NULL;
CREATE INDEX audit_records_tx ON audit_records (tx_id, id);
CREATE INDEX audit_records_session ON audit_records (session_id, ts, id) WHERE session_id IS NOT NULL;

CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION auditgraph_records_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION auditgraph_no_truncate();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_records FROM PUBLIC;

-- A queued delivery names its record's minute too, so that fetching the
-- record looks in one partition instead of all of them.
ALTER TABLE deliveries ADD COLUMN record_minute timestamptz;
UPDATE deliveries d SET record_minute = r.minute FROM audit_records r WHERE r.id = d.record_id;
DELETE FROM deliveries WHERE record_minute IS NULL;
ALTER TABLE deliveries ALTER COLUMN record_minute SET NOT NULL;
