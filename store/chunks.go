package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// ChunkSize is how many bytes of a log file one row of log_file_chunks
// holds (the last chunk of a file may hold fewer). Chunk seq holds the
// bytes from seq*ChunkSize on. Files are written and read a chunk at a
// time, so that no process holds a whole file, however large its minute.
// Changing it needs a migration that rewrites the chunks.
const ChunkSize = 1 << 20

// chunkWriter takes the content of one file as it is made and stores it
// as chunks, with the SHA-256 and size of the whole.
type chunkWriter struct {
	tx     pgx.Tx
	minute time.Time
	part   int
	buf    []byte // written, not stored yet
	seq    int    // of the next chunk stored
	size   int64
	sum    hash.Hash
}

func newChunkWriter(tx pgx.Tx, minute time.Time, part int) *chunkWriter {
	return &chunkWriter{tx: tx, minute: minute, part: part, sum: sha256.New()}
}

// Write keeps p for the next store: the transaction's connection may be
// busy reading records while the encoder writes.
func (w *chunkWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	w.sum.Write(p)
	w.size += int64(len(p))
	return len(p), nil
}

// store inserts every full chunk held, and with last the rest as the
// file's last chunk.
func (w *chunkWriter) store(ctx context.Context, last bool) error {
	off := 0
	for len(w.buf)-off >= ChunkSize || (last && len(w.buf) > off) {
		n := min(len(w.buf)-off, ChunkSize)
		if _, err := w.tx.Exec(ctx, "INSERT INTO log_file_chunks (minute, part, seq, data) VALUES ($1, $2, $3, $4)",
			w.minute, w.part, w.seq, w.buf[off:off+n]); err != nil {
			return err
		}
		w.seq++
		off += n
	}
	w.buf = w.buf[:copy(w.buf, w.buf[off:])]
	return nil
}

// FileReader reads the content of one log file from its chunks, fetching
// one chunk per query as Read reaches it, so that serving a file holds one
// chunk at a time. It seeks, for range requests. It uses the context it was
// opened with and is not safe for concurrent use.
type FileReader struct {
	store  *Store
	ctx    context.Context
	minute time.Time
	part   int
	size   int64
	off    int64
	seq    int    // the chunk in buf; -1 for none
	buf    []byte // reused from chunk to chunk
}

// OpenLogFile returns the file of minute and part and a reader of its
// content; ErrNotFound when there is none. One query returns the file and
// its first chunk, which is the whole of most files.
func (s *Store) OpenLogFile(ctx context.Context, minute time.Time, part int) (LogFile, *FileReader, error) {
	var f LogFile
	r := &FileReader{store: s, ctx: ctx, minute: minute, part: part, seq: -1}
	var first pgtype.PreallocBytes
	err := s.pool.QueryRow(ctx, `SELECT f.id, f.minute, f.part, f.record_count, f.byte_size, f.sha256, f.created_at, c.data
		FROM log_files f LEFT JOIN log_file_chunks c ON c.minute = f.minute AND c.part = f.part AND c.seq = 0
		WHERE f.minute = $1 AND f.part = $2`, minute, part).
		Scan(&f.ID, &f.Minute, &f.Part, &f.RecordCount, &f.ByteSize, &f.SHA256, &f.CreatedAt, &first)
	if errors.Is(err, pgx.ErrNoRows) {
		return LogFile{}, nil, ErrNotFound
	}
	if err != nil {
		return LogFile{}, nil, fmt.Errorf("store: open log file: %w", err)
	}
	r.size = f.ByteSize
	if first != nil {
		r.buf, r.seq = first, 0
		if err := r.check(); err != nil {
			return LogFile{}, nil, err
		}
	}
	return f, r, nil
}

// Size is the length of the file in bytes.
func (r *FileReader) Size() int64 { return r.size }

// Read reads from the chunk that holds the current offset, fetching it
// first when it is not the one held.
func (r *FileReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if seq := int(r.off / ChunkSize); seq != r.seq {
		if err := r.fetch(seq); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off-int64(r.seq)*ChunkSize:])
	r.off += int64(n)
	return n, nil
}

func (r *FileReader) fetch(seq int) error {
	buf := pgtype.PreallocBytes(r.buf[:cap(r.buf)])
	err := r.store.pool.QueryRow(r.ctx, "SELECT data FROM log_file_chunks WHERE minute = $1 AND part = $2 AND seq = $3",
		r.minute, r.part, seq).Scan(&buf)
	if errors.Is(err, pgx.ErrNoRows) {
		r.seq = -1
		return fmt.Errorf("store: read log file %s part %d: chunk %d is missing", r.minute.Format(time.RFC3339), r.part, seq)
	}
	if err != nil {
		r.seq = -1
		return fmt.Errorf("store: read log file: %w", err)
	}
	r.buf, r.seq = buf, seq
	return r.check()
}

// check refuses a chunk whose length does not fit the file's size, which
// would shift every byte after it.
func (r *FileReader) check() error {
	want := min(ChunkSize, r.size-int64(r.seq)*ChunkSize)
	if int64(len(r.buf)) != want {
		seq := r.seq
		r.seq = -1
		return fmt.Errorf("store: read log file %s part %d: chunk %d holds %d bytes, want %d",
			r.minute.Format(time.RFC3339), r.part, seq, len(r.buf), want)
	}
	return nil
}

// Seek sets the offset of the next Read, as io.Seeker says; it fetches
// nothing.
func (r *FileReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("store: seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("store: seek: negative position")
	}
	r.off = offset
	return offset, nil
}

// LogFileContent returns the file of minute and part with its whole
// content; ErrNotFound when there is none. For checks and tools: serving
// a file goes through OpenLogFile, which holds one chunk at a time.
func (s *Store) LogFileContent(ctx context.Context, minute time.Time, part int) (LogFile, []byte, error) {
	f, r, err := s.OpenLogFile(ctx, minute, part)
	if err != nil {
		return LogFile{}, nil, err
	}
	content := make([]byte, f.ByteSize)
	if _, err := io.ReadFull(r, content); err != nil {
		return LogFile{}, nil, err
	}
	return f, content, nil
}
