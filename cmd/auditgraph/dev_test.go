package main

import (
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/record"
)

// TestSampleRecords: make run's samples are valid schema 1.0 records of the
// sample hour, and one stands exactly at 16:45, where the quick start's
// range ends.
func TestSampleRecords(t *testing.T) {
	recs, problems := record.ParseBatch(SampleRecords())
	if len(problems) > 0 {
		t.Fatalf("sample records: %v", problems)
	}
	at1645 := false
	for _, r := range recs {
		if r.Timestamp.Before(SampleHour) || !r.Timestamp.Before(SampleHour.Add(time.Hour)) {
			t.Errorf("sample record at %s, outside the sample hour", r.Timestamp)
		}
		at1645 = at1645 || r.Timestamp.Equal(SampleHour.Add(45*time.Minute))
		if r.SessionID == "" {
			t.Errorf("sample record without a session: %s", r.Body)
		}
	}
	if len(recs) < 20 || !at1645 {
		t.Errorf("%d samples, one at 16:45: %v", len(recs), at1645)
	}
}
