-- The content of log files in chunks of 1 MiB (the last chunk of a file may
-- be shorter), so that a file is written and served a chunk at a time:
-- neither the writer nor a download holds a whole file, however large its
-- minute. Chunk seq of a file holds its bytes [seq * 1 MiB, (seq + 1) * 1 MiB);
-- the size of the file is log_files.byte_size. The server computes offsets
-- with that chunk size: changing it means rewriting the chunks here.
--
-- Keyed by the file's minute, like everything else the service looks up
-- and removes by time. The key to log_files is checked at commit, because
-- the file's row, which carries its size and SHA-256, is written after its
-- chunks; it cascades, so that retention, which removes old files, removes
-- their chunks with them.
CREATE TABLE log_file_chunks (
    minute timestamptz NOT NULL,
    part   int NOT NULL,
    seq    int NOT NULL CHECK (seq >= 0),
    data   bytea NOT NULL CHECK (length(data) BETWEEN 1 AND 1048576),
    PRIMARY KEY (minute, part, seq),
    FOREIGN KEY (minute, part) REFERENCES log_files (minute, part)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
-- gzip does not compress further: store the chunks out of line, without
-- a pointless attempt at compression.
ALTER TABLE log_file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

INSERT INTO log_file_chunks (minute, part, seq, data)
    SELECT f.minute, f.part, s.seq, substring(f.content FROM s.seq * 1048576 + 1 FOR 1048576)
    FROM log_files f, generate_series(0, (length(f.content) - 1) / 1048576) AS s(seq)
    ORDER BY f.minute, f.part, s.seq;

-- The content lives in the chunks alone from here on. The append-only
-- trigger of log_files compares whole rows (less digest_id), so it holds
-- without the column. Dropping it frees no disk space by itself: the old
-- content stays in log_files' storage until its rows are rewritten (VACUUM
-- FULL log_files, at a quiet time, gives it back).
ALTER TABLE log_files DROP COLUMN content;

-- Append-only, as log_files: only retention (auditgraph.retention = 'on',
-- in its own transaction) removes chunks, through the cascade from their file.
CREATE FUNCTION auditgraph_chunks_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('auditgraph.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'auditgraph: log_file_chunks is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER log_file_chunks_append_only BEFORE UPDATE OR DELETE ON log_file_chunks
    FOR EACH ROW EXECUTE FUNCTION auditgraph_chunks_append_only();
CREATE TRIGGER log_file_chunks_no_truncate BEFORE TRUNCATE ON log_file_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION auditgraph_no_truncate();
REVOKE UPDATE, DELETE, TRUNCATE ON log_file_chunks FROM PUBLIC;
