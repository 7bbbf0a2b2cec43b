package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// NewRecord is an audit record to store: its body exactly as sent, and the
// values the service looks it up by.
type NewRecord struct {
	Timestamp time.Time
	Minute    time.Time
	Action    string
	Category  string
	EventType string
	SessionID string // empty when the record has none
	Body      []byte
}

// InsertRecords stores a batch of records with COPY in one transaction:
// when it returns nil every record is committed, otherwise none is.
func (s *Store) InsertRecords(ctx context.Context, recs []NewRecord) error {
	ms := minutes(recs)
	days := make([]time.Time, 0, 1)
	for _, m := range ms {
		if d := day(m); len(days) == 0 || !days[len(days)-1].Equal(d) {
			days = append(days, d)
		}
	}
	err := s.ensureDays(ctx, days)
	if err == nil {
		err = s.insertRecords(ctx, recs, ms)
		if isNoPartition(err) {
			// A partition this process knew of was dropped since
			// (retention): nothing was stored; make it again and retry.
			s.forgetPartitions()
			if err = s.ensureDays(ctx, days); err == nil {
				err = s.insertRecords(ctx, recs, ms)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("store: insert records: %w", err)
	}
	return nil
}

func (s *Store) insertRecords(ctx context.Context, recs []NewRecord, ms []time.Time) error {
	if len(recs) <= smallBatch {
		return s.insertSmall(ctx, recs, ms)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_records"},
			[]string{"ts", "minute", "action", "category", "event_type", "session_id", "body"},
			pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
				r := recs[i]
				var session *string
				if r.SessionID != "" {
					session = &r.SessionID
				}
				return []any{r.Timestamp, r.Minute, r.Action, r.Category, r.EventType, session, string(r.Body)}, nil
			}))
		if err != nil {
			return err
		}
		// Last, so that the minutes' rows are locked only until commit;
		// sorted, so that concurrent batches lock them in one order.
		_, err = tx.Exec(ctx, `INSERT INTO pending_minutes (minute)
			SELECT DISTINCT m FROM unnest($1::timestamptz[]) AS m ORDER BY m
			ON CONFLICT (minute) DO UPDATE SET minute = EXCLUDED.minute`, ms)
		return err
	})
}

func minutes(recs []NewRecord) []time.Time {
	ms := make([]time.Time, 0, 1)
	for _, r := range recs {
		if len(ms) == 0 || !ms[len(ms)-1].Equal(r.Minute) {
			ms = append(ms, r.Minute)
		}
	}
	return ms
}

// LogFile describes one written log file.
type LogFile struct {
	ID          int64     `db:"id"`
	Minute      time.Time `db:"minute"`
	Part        int       `db:"part"`
	RecordCount int       `db:"record_count"`
	ByteSize    int64     `db:"byte_size"`
	SHA256      []byte    `db:"sha256"`
	CreatedAt   time.Time `db:"created_at"`
}

// Encoder writes the bodies of one minute's records, in order, to w as the
// content of a log file. Each body is valid only until the next one comes:
// neither the records nor the file are ever held whole.
type Encoder func(w io.Writer, bodies iter.Seq[[]byte]) error

// sealFetch is how many records writing a file reads at a time; the
// content they make is stored between reads.
const sealFetch = 1000

// sealLock is the first key of the advisory lock held while a minute's file
// is written; the second key is the minute.
const sealLock = 0x6c6f67 // "log"

// PendingMinutes returns the minutes in [from, to) that hold records not yet
// in a file, oldest first.
func (s *Store) PendingMinutes(ctx context.Context, from, to time.Time) ([]time.Time, error) {
	rows, _ := s.pool.Query(ctx, pendingMinutesSQL, from, to)
	ms, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("store: pending minutes: %w", err)
	}
	return ms, nil
}

// SealMinute writes the records of minute that are in no file yet into a
// new file of that minute, ordered by timestamp, with the next part number.
// It returns false when there was nothing to write. Servers sharing the
// database take turns on a minute, and a record is marked with its file in
// the same transaction that stores the file, so each record lands in exactly
// one file. The records are read through a cursor and the content is stored
// in chunks of ChunkSize as it is made, so a minute of any size is written
// holding one batch of records and about one chunk.
func (s *Store) SealMinute(ctx context.Context, minute time.Time, encode Encoder) (LogFile, bool, error) {
	var f LogFile
	var wrote bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", sealLock, int32(minute.Unix()/60)); err != nil {
			return err
		}
		// Before reading the records: this waits for ingestion of the
		// minute still running, whose records the read then sees, and any
		// that starts later marks the minute pending again.
		if _, err := tx.Exec(ctx, "DELETE FROM pending_minutes WHERE minute = $1", minute); err != nil {
			return err
		}
		// Under the lock no other file of the minute is being written.
		var part int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(max(part), 0) + 1 FROM log_files WHERE minute = $1", minute).Scan(&part); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DECLARE seal_records NO SCROLL CURSOR FOR SELECT id, body FROM audit_records
			WHERE minute = $1 AND file_id IS NULL ORDER BY ts, id`, minute); err != nil {
			return err
		}
		w := newChunkWriter(tx, minute, part)
		var ids []int64
		var readErr error
		var readAll bool
		bodies := func(yield func([]byte) bool) {
			for {
				// The connection reads rows until the batch ends; the chunks
				// the batch filled are stored after it.
				rows, _ := tx.Query(ctx, "FETCH FORWARD "+strconv.Itoa(sealFetch)+" FROM seal_records")
				var id int64
				var body pgtype.DriverBytes
				n, stopped := 0, false
				for rows.Next() {
					if readErr = rows.Scan(&id, &body); readErr != nil {
						break
					}
					n++
					ids = append(ids, id)
					if stopped = !yield(body); stopped {
						break
					}
				}
				rows.Close()
				if readErr == nil {
					readErr = rows.Err()
				}
				if readErr != nil || stopped {
					return
				}
				if readErr = w.store(ctx, false); readErr != nil {
					return
				}
				if n < sealFetch {
					readAll = true
					return
				}
			}
		}
		err := encode(w, bodies)
		if readErr != nil {
			return readErr
		}
		if err != nil {
			return err
		}
		if !readAll {
			return errors.New("the encoder stopped before the last record")
		}
		if len(ids) == 0 {
			return nil
		}
		if err := w.store(ctx, true); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `INSERT INTO log_files (minute, part, record_count, byte_size, sha256)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING id, minute, part, record_count, byte_size, sha256, created_at`,
			minute, part, len(ids), w.size, w.sum.Sum(nil))
		f, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[LogFile])
		if err != nil {
			return err
		}
		// The minute first: audit_records is partitioned by it.
		if _, err := tx.Exec(ctx, "UPDATE audit_records SET file_id = $1 WHERE minute = $2 AND id = ANY($3)", f.ID, minute, ids); err != nil {
			return err
		}
		wrote = true
		return nil
	})
	if err != nil {
		return LogFile{}, false, fmt.Errorf("store: seal minute %s: %w", minute.Format(time.RFC3339), err)
	}
	return f, wrote, nil
}

// LogFiles lists the files of the minutes in [from, to) by minute and part.
func (s *Store) LogFiles(ctx context.Context, from, to time.Time) ([]LogFile, error) {
	rows, _ := s.pool.Query(ctx, logFilesSQL, from, to)
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByName[LogFile])
	if err != nil {
		return nil, fmt.Errorf("store: log files: %w", err)
	}
	return fs, nil
}

// CountRecords counts the records whose minute is in [from, to).
func (s *Store) CountRecords(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM audit_records WHERE minute >= $1 AND minute < $2", from, to).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count records: %w", err)
	}
	return n, nil
}
