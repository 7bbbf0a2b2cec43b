-- Hourly digests: signed lists of the log files of one hour, each linking
-- to the digest before it. Part 1 of an hour lists every file the hour has
-- when it is made; a later part lists the files written after the parts
-- before it (records that arrived late).
CREATE TABLE digests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hour            timestamptz NOT NULL,
    part            int NOT NULL CHECK (part >= 1),
    previous_sha256 bytea,
    sha256          bytea NOT NULL CHECK (length(sha256) = 32),
    content         bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (hour, part)
);

ALTER TABLE log_files ADD COLUMN digest_id bigint REFERENCES digests (id);
CREATE INDEX log_files_undigested ON log_files (minute) WHERE digest_id IS NULL;

-- The first hour of the digest chain: every ended hour from here on gets a
-- digest in the background, even when it holds no record.
CREATE TABLE digest_chain (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    first_hour  timestamptz NOT NULL
);
INSERT INTO digest_chain (first_hour) VALUES (date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');

-- Append-only: audit records, log files and digests are never changed or
-- removed through the application. The only updates allowed are the ones
-- that file a record (file_id from NULL) or digest a file (digest_id from
-- NULL); a migration that adds a column to audit_records adds it to the
-- comparison below. Retention, when configured, removes whole old hours with the
-- session setting auditgraph.retention = 'on', inside its own transaction.
CREATE FUNCTION auditgraph_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('auditgraph.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.file_id IS NULL AND NEW.file_id IS NOT NULL
       AND (OLD.id, OLD.ts, OLD.minute, OLD.action, OLD.category, OLD.event_type, OLD.session_id, OLD.body, OLD.received_at)
           IS NOT DISTINCT FROM
           (NEW.id, NEW.ts, NEW.minute, NEW.action, NEW.category, NEW.event_type, NEW.session_id, NEW.body, NEW.received_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'auditgraph: audit_records is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION auditgraph_files_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('auditgraph.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.digest_id IS NULL AND NEW.digest_id IS NOT NULL
       AND (to_jsonb(OLD) - 'digest_id') = (to_jsonb(NEW) - 'digest_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'auditgraph: log_files is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION auditgraph_digests_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('auditgraph.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'auditgraph: digests is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION auditgraph_records_append_only();
CREATE TRIGGER log_files_append_only BEFORE UPDATE OR DELETE ON log_files
    FOR EACH ROW EXECUTE FUNCTION auditgraph_files_append_only();
CREATE TRIGGER digests_append_only BEFORE UPDATE OR DELETE ON digests
    FOR EACH ROW EXECUTE FUNCTION auditgraph_digests_append_only();

CREATE FUNCTION auditgraph_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'auditgraph: % is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION auditgraph_no_truncate();
CREATE TRIGGER log_files_no_truncate BEFORE TRUNCATE ON log_files
    FOR EACH STATEMENT EXECUTE FUNCTION auditgraph_no_truncate();
CREATE TRIGGER digests_no_truncate BEFORE TRUNCATE ON digests
    FOR EACH STATEMENT EXECUTE FUNCTION auditgraph_no_truncate();

-- Nobody but the owner may change these tables directly.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_records, log_files, digests FROM PUBLIC;
