package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/store"
)

// BenchmarkSealMinute measures writing minute files: records per second
// from the table into a gzip JSON Lines file, with the bookkeeping that
// marks each record filed.
func BenchmarkSealMinute(b *testing.B) {
	ctx := context.Background()
	s := store.New(pgtest.Pool(b))
	const perMinute = 10000
	body := []byte(`{"date":"2022-12-19T19:46:38.000000Z","messageType":"system-event","schemaVersion":"1.0","timestamp":"2022-12-19T19:46:38.338Z","eventType":"designer-action","category":"access-management","action":"delete-designer-role","source":"designer-api","tags":{},"object":{"type":"designer-role","identifier":{"type":"name","value":"Unqork User Name"},"attributes":{},"outcome":{"type":"success"},"actor":{"type":"user","identifier":{"type":"user-id","value":"unqork-user@unqork.com"},"attributes":{}},"context":{"environment":"training-staging","sessionId":"8a83187f-40cb-4bd2-a0fc-8dd3987a771a","clientIp":"73.33.37.100","protocol":"https","host":"training.unqork.io","userAgent":"Mozilla/5.0"}}}`)
	base := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	var sealed time.Duration
	for i := 0; i < b.N; i++ {
		m := base.Add(time.Duration(i) * time.Minute)
		recs := make([]store.NewRecord, perMinute)
		for j := range recs {
			recs[j] = store.NewRecord{Timestamp: m.Add(time.Duration(j) * time.Millisecond), Minute: m, Action: "a", Category: "c", EventType: "e", Body: body}
		}
		if err := s.InsertRecords(ctx, recs); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, ok, err := s.SealMinute(ctx, m, logfile.Encode); err != nil || !ok {
			b.Fatal(err)
		}
		sealed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*perMinute)/sealed.Seconds(), "records/s")
	b.ReportMetric(0, "ns/op")
}
