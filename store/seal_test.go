package store_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/store"
)

// TestSealExactlyOnce: sealers racing each other and inserters on the same
// minutes put every record in exactly one file, parts numbered 1, 2, ...
func TestSealExactlyOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := store.New(pool)
	base := time.Date(2023, 6, 12, 16, 0, 0, 0, time.UTC)
	minutes := []time.Time{base, base.Add(time.Minute), base.Add(2 * time.Minute)}

	const inserters, batches, perBatch = 4, 15, 20
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var sealErr error
	var sealMu sync.Mutex
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, m := range minutes {
					if _, _, err := s.SealMinute(ctx, m, logfile.Encode); err != nil {
						sealMu.Lock()
						sealErr = err
						sealMu.Unlock()
						return
					}
				}
			}
		}()
	}
	var insWG sync.WaitGroup
	for w := 0; w < inserters; w++ {
		insWG.Add(1)
		go func() {
			defer insWG.Done()
			for b := 0; b < batches; b++ {
				var recs []store.NewRecord
				for i := 0; i < perBatch; i++ {
					m := minutes[(b+i)%len(minutes)]
					ts := m.Add(time.Duration(i) * time.Second)
					recs = append(recs, store.NewRecord{Timestamp: ts, Minute: m, Action: "a", Category: "c", EventType: "e",
						Body: []byte(fmt.Sprintf(`{"w":%d,"b":%d,"i":%d}`, w, b, i))})
				}
				if err := s.InsertRecords(ctx, recs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	insWG.Wait()
	close(stop)
	wg.Wait()
	if sealErr != nil {
		t.Fatal(sealErr)
	}
	for _, m := range minutes { // whatever arrived after the last race
		if _, _, err := s.SealMinute(ctx, m, logfile.Encode); err != nil {
			t.Fatal(err)
		}
	}

	files, err := s.LogFiles(ctx, base, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	parts := map[time.Time]int{}
	for _, f := range files {
		parts[f.Minute]++
		if f.Part != parts[f.Minute] {
			t.Errorf("minute %s: part %d, want %d", f.Minute, f.Part, parts[f.Minute])
		}
		_, content, err := s.LogFileContent(ctx, f.Minute, f.Part)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(got) != f.RecordCount {
			t.Errorf("file %s-%d holds %d lines, says %d", f.Minute, f.Part, len(got), f.RecordCount)
		}
		for _, l := range got {
			seen[l]++
		}
	}
	if want := inserters * batches * perBatch; len(seen) != want {
		t.Errorf("%d distinct records in files, want %d", len(seen), want)
	}
	for l, n := range seen {
		if n != 1 {
			t.Errorf("record %s is in %d files, want 1", l, n)
		}
	}
	pending, err := s.PendingMinutes(ctx, base, base.Add(time.Hour))
	if err != nil || len(pending) != 0 {
		t.Errorf("pending minutes after sealing: %v %v, want none", pending, err)
	}
	t.Logf("%d files for %d records", len(files), len(seen))
}
