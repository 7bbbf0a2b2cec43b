package logfile

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/store"
)

// Store is what Service needs of the database; *store.Store is one.
type Store interface {
	PendingMinutes(ctx context.Context, from, to time.Time) ([]time.Time, error)
	SealMinute(ctx context.Context, minute time.Time, encode store.Encoder) (store.LogFile, bool, error)
	LogFiles(ctx context.Context, from, to time.Time) ([]store.LogFile, error)
	ListingState(ctx context.Context, r store.ListingRanges) (store.ListingState, error)
	OpenLogFile(ctx context.Context, minute time.Time, part int) (store.LogFile, *store.FileReader, error)
	MakeDigest(ctx context.Context, hour, now time.Time, build store.DigestBuilder) (store.Digest, bool, error)
	HoursNeedingDigest(ctx context.Context, before time.Time) ([]time.Time, error)
	NeedsDigest(ctx context.Context, hour time.Time) (bool, error)
	Digests(ctx context.Context, from, to time.Time) ([]store.Digest, error)
	DigestContent(ctx context.Context, hour time.Time, part int) (store.Digest, []byte, error)
	DeleteHoursBefore(ctx context.Context, cutoff time.Time) (int64, error)
	EnsurePartitions(ctx context.Context, from, to time.Time) error
}

// LocationLifetime is how long a handed-out location downloads.
const LocationLifetime = time.Hour

// DefaultGrace is how long after a minute ends the background writer waits
// for its stragglers before writing its file.
const DefaultGrace = 60 * time.Second

// Service writes log files and digests, in the background and when first
// needed, and hands out their signed locations.
type Service struct {
	store         Store
	signer        *Signer
	schemaVersion string
	digest        store.DigestBuilder
	publicURL     string
	now           func() time.Time
}

// NewService returns a Service for schemaVersion whose locations start with
// publicURL and whose digests digestSigner signs.
func NewService(st Store, signer *Signer, digestSigner DigestSigner, schemaVersion, publicURL string) *Service {
	return &Service{
		store: st, signer: signer, schemaVersion: schemaVersion,
		digest:    BuildDigest(schemaVersion, digestSigner),
		publicURL: strings.TrimRight(publicURL, "/"), now: time.Now,
	}
}

// File is a log file with its location.
type File struct {
	store.LogFile
	Location string
}

// DigestFile is a digest with its location.
type DigestLocation struct {
	store.Digest
	Location string
}

// Listing is what a range holds.
type Listing struct {
	Files   []File
	Digests []DigestLocation
	// Complete is true when every minute of the range has ended and its
	// records are in the files listed (late records aside, which go into
	// further files).
	Complete bool
}

// List returns the files of the minutes in [from, to) and the digests of
// the hours they touch. It first writes the files of every ended minute
// that has records in no file yet, and the digests of every ended hour that
// needs one, so that a query over the past is complete at once.
func (s *Service) List(ctx context.Context, from, to time.Time) (Listing, error) {
	now := s.now()
	ended := now.Truncate(time.Minute)
	lastHourEnd := to.Add(-time.Nanosecond).Truncate(time.Hour).Add(time.Hour)
	// Only the hours the range touches: a scan of every pending minute
	// would walk the index entries of every record ever filed.
	r := store.ListingRanges{
		SealFrom: from.Truncate(time.Hour), SealBefore: minTime(lastHourEnd, ended),
		DigestBefore: minTime(lastHourEnd, now.Truncate(time.Hour)), DigestFirst: from.Truncate(time.Hour),
		From: from, To: to, DigestFrom: from.Truncate(time.Hour), DigestTo: lastHourEnd,
	}
	// Usually a past range is written and digested already, and one round
	// trip answers it; otherwise the work is done first and the answer read
	// again.
	st, err := s.store.ListingState(ctx, r)
	if err != nil {
		return Listing{}, err
	}
	files, digests := st.Files, st.Digests
	if len(st.Pending) > 0 || len(st.DigestHours) > 0 {
		if err := s.Seal(ctx, r.SealFrom, r.SealBefore); err != nil {
			return Listing{}, err
		}
		if err := s.MakeDigests(ctx, r.DigestBefore, r.DigestFirst); err != nil {
			return Listing{}, err
		}
		if files, err = s.store.LogFiles(ctx, r.From, r.To); err != nil {
			return Listing{}, err
		}
		if digests, err = s.store.Digests(ctx, r.DigestFrom, r.DigestTo); err != nil {
			return Listing{}, err
		}
	}
	expires := now.Add(LocationLifetime)
	l := Listing{Files: make([]File, len(files)), Digests: make([]DigestLocation, len(digests)), Complete: !to.After(ended)}
	for i, f := range files {
		l.Files[i] = File{LogFile: f, Location: s.publicURL + s.signer.Sign(Path(s.schemaVersion, f.Minute, f.Part), expires)}
	}
	for i, d := range digests {
		l.Digests[i] = DigestLocation{Digest: d, Location: s.publicURL + s.signer.Sign(DigestPath(s.schemaVersion, d.Hour, d.Part), expires)}
	}
	return l, nil
}

// Seal writes the files of the minutes in [from, before) that hold records
// in no file yet.
func (s *Service) Seal(ctx context.Context, from, before time.Time) error {
	minutes, err := s.store.PendingMinutes(ctx, from, before)
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

// MakeDigests makes, oldest first, the digests that the hours before
// `before` need, and those of the hours from `first` on even when they lie
// before the chain's first hour.
func (s *Service) MakeDigests(ctx context.Context, before, first time.Time) error {
	hours, err := s.store.HoursNeedingDigest(ctx, before)
	if err != nil {
		return err
	}
	for h := first; h.Before(before); h = h.Add(time.Hour) {
		if slices.ContainsFunc(hours, h.Equal) {
			continue
		}
		need, err := s.store.NeedsDigest(ctx, h)
		if err != nil {
			return err
		}
		if need {
			hours = append(hours, h)
		}
	}
	slices.SortFunc(hours, func(a, b time.Time) int { return a.Compare(b) })
	for _, h := range hours {
		if _, _, err := s.store.MakeDigest(ctx, h, s.now(), s.digest); err != nil {
			return err
		}
	}
	return nil
}

// recentWindow is how far back each round of the background writer looks
// for minutes to write; once an hour it looks at the whole past, for records
// that arrived late for old hours.
const recentWindow = 2 * time.Hour

// Run writes files and digests in the background until ctx ends: every
// `every`, the files of the minutes that ended more than grace ago, then the
// digests of the hours that did. Once an hour it makes the record
// partitions of the days ahead; with retention above zero it also removes,
// once an hour, the hours that ended longer than retention ago.
func (s *Service) Run(ctx context.Context, grace, every, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastRetention, lastSweep time.Time
	for {
		if retention > 0 && s.now().Sub(lastRetention) >= time.Hour {
			lastRetention = s.now()
			if n, err := s.store.DeleteHoursBefore(ctx, s.now().Add(-retention)); err != nil && ctx.Err() == nil {
				log.Error("retention", "err", err)
			} else if n > 0 {
				log.Info("retention removed old hours", "records", n, "before", s.now().Add(-retention).Truncate(time.Hour))
			}
		}
		cutoff := s.now().Add(-grace)
		from := cutoff.Add(-recentWindow)
		if s.now().Sub(lastSweep) >= time.Hour {
			from, lastSweep = time.Time{}, s.now()
			// The days ahead get their tables before records need them.
			if err := s.store.EnsurePartitions(ctx, s.now(), s.now().AddDate(0, 0, store.PartitionsAhead)); err != nil && ctx.Err() == nil {
				log.Error("partitions ahead", "err", err)
			}
		}
		if err := s.Seal(ctx, from, cutoff.Truncate(time.Minute)); err != nil && ctx.Err() == nil {
			log.Error("background log files", "err", err)
		} else if err := s.MakeDigests(ctx, cutoff.Truncate(time.Hour), cutoff.Truncate(time.Hour)); err != nil && ctx.Err() == nil {
			log.Error("background digests", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ErrNoFile is returned by Open for a path that names no file.
var ErrNoFile = errors.New("no such log file")

// Object is a served file: a log file or a digest.
type Object struct {
	Name        string
	ContentType string
	SHA256      []byte
	Created     time.Time
	// Content reads the file. A log file's reader fetches it a chunk at
	// a time as it is read, with the context given to Open.
	Content io.ReadSeeker
}

// Open returns the log file or digest at path. The caller has checked
// that the request may read it (signature or token).
func (s *Service) Open(ctx context.Context, path string) (Object, error) {
	if v, minute, part, ok := ParsePath(path); ok && v == s.schemaVersion {
		f, content, err := s.store.OpenLogFile(ctx, minute, part)
		if errors.Is(err, store.ErrNotFound) {
			return Object{}, ErrNoFile
		}
		if err != nil {
			return Object{}, err
		}
		return Object{Name: Name(minute, part), ContentType: "application/gzip", SHA256: f.SHA256, Created: f.CreatedAt, Content: content}, nil
	}
	if v, hour, part, ok := ParseDigestPath(path); ok && v == s.schemaVersion {
		d, content, err := s.store.DigestContent(ctx, hour, part)
		if errors.Is(err, store.ErrNotFound) {
			return Object{}, ErrNoFile
		}
		return Object{Name: DigestName(hour, part), ContentType: "application/json", SHA256: d.SHA256, Created: d.CreatedAt, Content: bytes.NewReader(content)}, err
	}
	return Object{}, ErrNoFile
}

// VerifyLocation splits a requested path into the file's path and its
// signature, and checks the signature: nil when it is valid now,
// ErrUnsigned when there is none.
func (s *Service) VerifyLocation(requested string) (path string, err error) {
	path, sig := Split(requested)
	return path, s.signer.Verify(path, sig, s.now())
}

// LogLocations are the files' locations, in order.
func (l *Listing) LogLocations() []string {
	if l == nil {
		return nil
	}
	locs := make([]string, len(l.Files))
	for i, f := range l.Files {
		locs[i] = f.Location
	}
	return locs
}

// MinuteText is the file's minute in RFC 3339.
func (f File) MinuteText() string { return stamp(f.Minute) }

// SHA256Hex is the file's SHA-256 in hex.
func (f File) SHA256Hex() string { return hex.EncodeToString(f.SHA256) }

// HourText is the digest's hour in RFC 3339.
func (d DigestLocation) HourText() string { return stamp(d.Hour) }

// SHA256Hex is the digest document's SHA-256 in hex.
func (d DigestLocation) SHA256Hex() string { return hex.EncodeToString(d.SHA256) }

// CreatedText is when the digest was made, in RFC 3339.
func (d DigestLocation) CreatedText() string { return d.CreatedAt.UTC().Format(time.RFC3339Nano) }
