package logfile

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/store"
)

// Store is what Service needs of the database; *store.Store is one.
type Store interface {
	PendingMinutes(ctx context.Context, from, to time.Time) ([]time.Time, error)
	SealMinute(ctx context.Context, minute time.Time, encode store.Encoder) (store.LogFile, bool, error)
	LogFiles(ctx context.Context, from, to time.Time) ([]store.LogFile, error)
	LogFileContent(ctx context.Context, minute time.Time, part int) (store.LogFile, []byte, error)
}

// LocationLifetime is how long a handed-out location downloads.
const LocationLifetime = time.Hour

// Service writes log files when they are first needed and hands out their
// signed locations.
type Service struct {
	store     Store
	signer    *Signer
	publicURL string
	now       func() time.Time
}

// NewService returns a Service whose locations start with publicURL.
func NewService(st Store, signer *Signer, publicURL string) *Service {
	return &Service{store: st, signer: signer, publicURL: strings.TrimRight(publicURL, "/"), now: time.Now}
}

// File is a log file with its location.
type File struct {
	store.LogFile
	Location string
}

// List returns the files of the minutes in [from, to), first writing the
// files of every ended minute that has records in no file yet, so that a
// query over the past is complete at once.
func (s *Service) List(ctx context.Context, schemaVersion string, from, to time.Time) ([]File, error) {
	now := s.now()
	if err := s.Seal(ctx, from, minTime(to, now.Truncate(time.Minute))); err != nil {
		return nil, err
	}
	files, err := s.store.LogFiles(ctx, from, to)
	if err != nil {
		return nil, err
	}
	expires := now.Add(LocationLifetime)
	out := make([]File, len(files))
	for i, f := range files {
		p := Path(schemaVersion, f.Minute, f.Part)
		out[i] = File{LogFile: f, Location: s.publicURL + s.signer.Sign(p, expires)}
	}
	return out, nil
}

// Seal writes the files of the minutes in [from, to) that hold records in
// no file yet.
func (s *Service) Seal(ctx context.Context, from, to time.Time) error {
	if !from.Before(to) {
		return nil
	}
	minutes, err := s.store.PendingMinutes(ctx, from, to)
	if err != nil {
		return err
	}
	for _, m := range minutes {
		if _, _, err := s.store.SealMinute(ctx, m, Encode); err != nil {
			return err
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ErrNoFile is returned by Open for a path that names no file.
var ErrNoFile = errors.New("no such log file")

// Open returns the file at path and its content. The caller has checked
// that the request may read it (signature or token).
func (s *Service) Open(ctx context.Context, path string) (store.LogFile, []byte, error) {
	_, minute, part, ok := ParsePath(path)
	if !ok {
		return store.LogFile{}, nil, ErrNoFile
	}
	f, content, err := s.store.LogFileContent(ctx, minute, part)
	if errors.Is(err, store.ErrNotFound) {
		return store.LogFile{}, nil, ErrNoFile
	}
	return f, content, err
}

// VerifyLocation splits a requested path into the file's path and its
// signature, and checks the signature: nil when it is valid now,
// ErrUnsigned when there is none.
func (s *Service) VerifyLocation(requested string) (path string, err error) {
	path, sig := Split(requested)
	return path, s.signer.Verify(path, sig, s.now())
}
