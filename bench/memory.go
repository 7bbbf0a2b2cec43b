package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// bigMinute is the minute of the memory step's file, in an hour no other
// step uses.
var bigMinute = time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC)

// bigFileRecords records of about 2.8 KB, 2 KB of it random base64, make a
// minute file of about 110 MB (over 100 MiB): gzip saves only a quarter of
// random base64.
const (
	bigFileRecords = 70000
	bigFileNoise   = 1536 // random bytes per record, before base64
	bigFileBatch   = 10000
	bigFileRounds  = 3 // timed downloads, and reads from PostgreSQL
)

// memory: the server's resident memory while it writes, then serves, a
// minute file of over 100 MB, and the download's MB/s against reading the
// same chunks from PostgreSQL. The server restarts before each phase, so
// that memory left over from ingesting or writing cannot hide what the
// phase needs: a server that held the file whole would grow by its size.
func (b *bench) memory(ctx context.Context) error {
	rng := rand.New(rand.NewChaCha8([32]byte{}))
	noise := make([]byte, bigFileNoise)
	for i := 0; i < bigFileRecords; i += bigFileBatch {
		lines := make([]string, 0, bigFileBatch)
		for j := i; j < min(i+bigFileBatch, bigFileRecords); j++ {
			for k := range noise {
				noise[k] = byte(rng.Uint32())
			}
			ts := bigMinute.Add(time.Duration(j) * time.Minute / bigFileRecords)
			lines = append(lines, strings.Replace(record(ts, j), `"attributes":{"n":`,
				`"attributes":{"noise":"`+base64.StdEncoding.EncodeToString(noise)+`","n":`, 1))
		}
		if _, err := b.post("/api/1.0/audit-events", "application/x-ndjson", strings.Join(lines, "\n")); err != nil {
			return err
		}
	}

	// Writing: the first listing of the hour writes the minute's file.
	if err := b.restart(); err != nil {
		return err
	}
	writeBefore := b.rss()
	sample := b.sampleRSS()
	start := time.Now()
	locs, size, err := b.list(bigMinute.Truncate(time.Hour))
	writeTime := time.Since(start)
	writePeak := sample()
	if err != nil {
		return err
	}
	if len(locs) != 1 || size < 100e6 {
		return fmt.Errorf("memory: want one file of at least 100 MB, got %d files, %d bytes", len(locs), size)
	}

	// Serving: one download checked against the ETag, then bigFileRounds
	// timed ones.
	if err := b.restart(); err != nil {
		return err
	}
	if locs, _, err = b.list(bigMinute.Truncate(time.Hour)); err != nil { // locations on the new address
		return err
	}
	readBefore := b.rss()
	sample = b.sampleRSS()
	var readTime time.Duration
	for round := 0; round <= bigFileRounds; round++ {
		start = time.Now()
		resp, err := b.client.Get(locs[0])
		if err != nil {
			sample()
			return err
		}
		h := sha256.New()
		var n int64
		if round == 0 {
			n, err = io.Copy(h, resp.Body)
		} else {
			n, err = io.Copy(io.Discard, resp.Body)
			readTime += time.Since(start)
		}
		resp.Body.Close()
		if err != nil {
			sample()
			return err
		}
		if n != size || round == 0 && `"`+hex.EncodeToString(h.Sum(nil))+`"` != resp.Header.Get("ETag") {
			sample()
			return fmt.Errorf("memory: downloaded %d bytes with another SHA-256 than the ETag, want %d", n, size)
		}
	}
	readPeak := sample()
	httpMBs := float64(bigFileRounds*size) / 1e6 / readTime.Seconds()

	pgMBs, err := b.readPG(ctx, bigFileRounds, "SELECT data FROM log_file_chunks WHERE minute = $1 AND part = 1 ORDER BY seq", bigMinute)
	if err != nil {
		return err
	}

	mb := float64(size) / 1e6
	b.add(fmt.Sprintf("download of one %.0f MB file (MB/s)", mb), fmt.Sprintf("%.1f over HTTP", httpMBs), fmt.Sprintf("%.1f from PostgreSQL", pgMBs), httpMBs/pgMBs, "at least 0.8")
	b.add(fmt.Sprintf("server RSS downloading a %.0f MB file (MB)", mb), fmt.Sprintf("peak %.0f (%.0f before)", readPeak, readBefore),
		fmt.Sprintf("file %.0f", mb), (readPeak-readBefore)/mb, "flat: RSS growth / file size near 0")
	note := fmt.Sprintf("a %.0f MB minute file (%d records, %d chunks of 1 MiB): written in %.1fs with server RSS %.0f MB before, peak %.0f MB while writing; downloaded %d times (the last %d timed: %.1fs) with RSS %.0f MB before, peak %.0f MB (VmRSS sampled every 10 ms, the server restarted before each)",
		mb, bigFileRecords, (size+(1<<20)-1)>>20, writeTime.Seconds(), writeBefore, writePeak, bigFileRounds+1, bigFileRounds, readTime.Seconds(), readBefore, readPeak)
	fmt.Println(note)
	b.notes = append(b.notes, note)
	return nil
}

// readPG is the baseline of the download figures: MB/s reading the bytea
// column of query's rows `rounds` times from PostgreSQL, from this process.
func (b *bench) readPG(ctx context.Context, rounds int, query string, args ...any) (float64, error) {
	conn, err := pgx.Connect(ctx, b.dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	start := time.Now()
	for round := 0; round < rounds; round++ {
		rows, _ := conn.Query(ctx, query, args...)
		var data []byte
		if _, err := pgx.ForEachRow(rows, []any{&data}, func() error { n += int64(len(data)); return nil }); err != nil {
			return 0, err
		}
	}
	return float64(n) / 1e6 / time.Since(start).Seconds(), nil
}

// restart stops the server and starts a fresh one on the same database,
// with a token of its own: the address, and so the issuer, change.
func (b *bench) restart() error {
	b.stop()
	if err := b.start(); err != nil {
		return err
	}
	var err error
	b.token, err = b.getToken()
	return err
}

// rss is the server's resident memory now, in MB.
func (b *bench) rss() float64 {
	return procStatus(b.server.Process.Pid, "VmRSS:")
}

// sampleRSS samples the server's resident memory every 10 ms until the
// returned function is called, which returns the peak in MB.
func (b *bench) sampleRSS() func() float64 {
	peak := b.rss()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak = max(peak, b.rss())
			}
		}
	}()
	return func() float64 {
		close(done)
		<-stopped
		return max(peak, b.rss())
	}
}

// procStatus reads a field of /proc/<pid>/status given in kB, in MB.
func procStatus(pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
