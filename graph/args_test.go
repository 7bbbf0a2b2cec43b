package graph

import (
	"strings"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2023, 6, 12, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		start    string
		end      string
		version  string
		wantArgs []string // the Argument of each error, in order
		from, to time.Time
	}{
		{name: "Z range", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00Z", version: "1.0", from: at(16, 30), to: at(16, 45)},
		{name: "one minute", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:31:00Z", version: "1.0", from: at(16, 30), to: at(16, 31)},
		{name: "+00:00 offsets", start: "2023-06-12T16:30:00+00:00", end: "2023-06-12T17:00:00+00:00", version: "1.0", from: at(16, 30), to: at(17, 0)},
		{name: "+05:30 offsets", start: "2023-06-12T22:00:00+05:30", end: "2023-06-12T22:30:00+05:30", version: "1.0", from: at(16, 30), to: at(17, 0)},
		{name: "-07:00 offsets", start: "2023-06-12T09:30:00-07:00", end: "2023-06-12T10:00:00-07:00", version: "1.0", from: at(16, 30), to: at(17, 0)},
		{name: "mixed offsets", start: "2023-06-12T22:00:00+05:30", end: "2023-06-12T17:00:00Z", version: "1.0", from: at(16, 30), to: at(17, 0)},
		{name: "lower-case z", start: "2023-06-12T16:30:00z", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "exactly one hour", start: "2023-06-12T16:30:00Z", end: "2023-06-12T17:30:00Z", version: "1.0", from: at(16, 30), to: at(17, 30)},
		{name: "one hour across midnight", start: "2023-06-12T23:30:00Z", end: "2023-06-13T00:30:00Z", version: "1.0", from: at(23, 30), to: at(24, 30)},
		{name: "one hour with offsets", start: "2023-06-12T22:00:00+05:30", end: "2023-06-12T17:30:00Z", version: "1.0", from: at(16, 30), to: at(17, 30)},

		{name: "one hour and one minute", start: "2023-06-12T16:30:00Z", end: "2023-06-12T17:31:00Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "a day", start: "2023-06-12T16:30:00Z", end: "2023-06-13T16:30:00Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "over an hour through offsets", start: "2023-06-12T16:30:00Z", end: "2023-06-12T23:01:00+05:30", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "end equals start", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:30:00Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "end equals start through offsets", start: "2023-06-12T22:00:00+05:30", end: "2023-06-12T16:30:00Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "end before start", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:29:00Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "end long before start", start: "2023-06-12T16:30:00Z", end: "2020-01-01T00:00:00Z", version: "1.0", wantArgs: []string{"endDatetime"}},

		{name: "start seconds", start: "2023-06-12T16:30:01Z", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "start seconds 59", start: "2023-06-12T16:30:59Z", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "end seconds", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:30Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "start fraction", start: "2023-06-12T16:30:00.5Z", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "end fraction", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00.001Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "start zero fraction", start: "2023-06-12T16:30:00.000Z", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "end zero fraction", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00.000Z", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "end one-digit zero fraction", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00.0+00:00", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "start zero fraction with offset", start: "2023-06-12T22:00:00.000000000+05:30", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},

		{name: "start with space", start: "2023-06-12 16:30:00", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "end with space", start: "2023-06-12T16:30:00Z", end: "2023-06-12 16:45:00", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "start empty", start: "", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "end empty", start: "2023-06-12T16:30:00Z", end: "", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "start yesterday", start: "yesterday", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "end yesterday", start: "2023-06-12T16:30:00Z", end: "yesterday", version: "1.0", wantArgs: []string{"endDatetime"}},
		{name: "start without zone", start: "2023-06-12T16:30:00", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "start without seconds", start: "2023-06-12T16:30Z", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "start date only", start: "2023-06-12", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "start unix seconds", start: "1686587400", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "start bad month", start: "2023-13-12T16:30:00Z", end: "2023-06-12T16:45:00Z", version: "1.0", wantArgs: []string{"startDatetime"}},
		{name: "end bad hour", start: "2023-06-12T16:30:00Z", end: "2023-06-12T24:00:00Z", version: "1.0", wantArgs: []string{"endDatetime"}},

		{name: "schemaVersion 2.0", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00Z", version: "2.0", wantArgs: []string{"schemaVersion"}},
		{name: "schemaVersion empty", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00Z", version: "", wantArgs: []string{"schemaVersion"}},
		{name: "schemaVersion 1", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00Z", version: "1", wantArgs: []string{"schemaVersion"}},
		{name: "schemaVersion with space", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:45:00Z", version: "1.0 ", wantArgs: []string{"schemaVersion"}},

		{name: "bad start and bad version", start: "yesterday", end: "2023-06-12T16:45:00Z", version: "2.0", wantArgs: []string{"startDatetime", "schemaVersion"}},
		{name: "bad start and bad end", start: "2023-06-12T16:30:30Z", end: "", version: "1.0", wantArgs: []string{"startDatetime", "endDatetime"}},
		{name: "too long and bad version", start: "2023-06-12T16:30:00Z", end: "2023-06-12T18:00:00Z", version: "", wantArgs: []string{"endDatetime", "schemaVersion"}},
		{name: "end before start and bad version", start: "2023-06-12T16:30:00Z", end: "2023-06-12T16:00:00Z", version: "2.0", wantArgs: []string{"endDatetime", "schemaVersion"}},
		{name: "all three bad", start: "x", end: "y", version: "z", wantArgs: []string{"startDatetime", "endDatetime", "schemaVersion"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to, errs := ParseRange(tt.start, tt.end, tt.version)
			var got []string
			for _, e := range errs {
				got = append(got, e.Argument)
			}
			if !equal(got, tt.wantArgs) {
				t.Fatalf("got errors on %v (%v), want on %v", got, errs, tt.wantArgs)
			}
			for _, e := range errs {
				if !strings.Contains(e.Message, e.Argument) {
					t.Errorf("got Message %q, want it to name %q", e.Message, e.Argument)
				}
				if e.Error() != e.Message {
					t.Errorf("got Error() %q, want the Message %q", e.Error(), e.Message)
				}
				if e.Argument == "schemaVersion" && !strings.Contains(e.Message, "1.0") {
					t.Errorf("got Message %q, want it to list 1.0", e.Message)
				}
			}
			if len(errs) > 0 {
				return
			}
			if !from.Equal(tt.from) || from.Location() != time.UTC {
				t.Errorf("got from %v, want %v", from, tt.from)
			}
			if !to.Equal(tt.to) || to.Location() != time.UTC {
				t.Errorf("got to %v, want %v", to, tt.to)
			}
		})
	}
}

func TestParseRangeSchemaVersionMessage(t *testing.T) {
	for _, v := range []string{"2.0", ""} {
		t.Run(v, func(t *testing.T) {
			_, _, errs := ParseRange("2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z", v)
			if len(errs) != 1 {
				t.Fatalf("got errors %v, want one", errs)
			}
			msg := errs[0].Message
			if !strings.Contains(msg, "supported versions: 1.0") {
				t.Errorf("got Message %q, want it to list the supported versions, 1.0", msg)
			}
			if !strings.Contains(msg, `"`+v+`"`) {
				t.Errorf("got Message %q, want it to quote the version sent %q", msg, v)
			}
		})
	}
	t.Run("long version is cut", func(t *testing.T) {
		v := strings.Repeat("9", 1000)
		_, _, errs := ParseRange("2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z", v)
		if len(errs) != 1 {
			t.Fatalf("got errors %v, want one", errs)
		}
		if got := len(errs[0].Message); got > 300 {
			t.Errorf("got a Message of %d bytes, want it short", got)
		}
	})
}

// TestParseRangeCommaFraction documents a known bug: time.Parse with
// time.RFC3339Nano also takes a comma before the fraction of a second, and
// parseMinute only looks for a '.', so a zero fraction written with a
// comma (not RFC 3339 at all) is accepted.
func TestParseRangeCommaFraction(t *testing.T) {
	tests := []struct {
		start, end, arg string
	}{
		{"2023-06-12T16:30:00,000Z", "2023-06-12T16:45:00Z", "startDatetime"},
		{"2023-06-12T16:30:00Z", "2023-06-12T16:45:00,0Z", "endDatetime"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			_, _, errs := ParseRange(tt.start, tt.end, "1.0")
			if len(errs) == 0 {
				t.Fatalf("ParseRange(%q, %q) got no error, want one on %s: a comma fraction is accepted", tt.start, tt.end, tt.arg)
			}
			if len(errs) != 1 || errs[0].Argument != tt.arg {
				t.Errorf("got errors %v, want one on %s", errs, tt.arg)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseRange(f *testing.F) {
	f.Add("2023-06-12T16:30:00Z", "2023-06-12T17:30:00Z", "1.0")
	f.Add("2023-06-12T22:00:00+05:30", "2023-06-12T16:45:00Z", "1.0")
	f.Add("2023-06-12T16:30:00.000Z", "2023-06-12T16:31:00Z", "1.0")
	f.Add("2023-06-12T16:30:00Z", "2023-06-12T16:30:00Z", "2.0")
	f.Add("0000-01-01T00:00:00Z", "9999-12-31T23:59:00Z", "1.0")
	f.Add("9999-12-31T23:59:00+23:59", "0000-01-01T00:00:00-23:59", "")
	f.Add("yesterday", "", "")
	f.Fuzz(func(t *testing.T, start, end, version string) {
		from, to, errs := ParseRange(start, end, version)
		for _, e := range errs {
			if e == nil {
				t.Fatal("got a nil error")
			}
			switch e.Argument {
			case "startDatetime", "endDatetime", "schemaVersion":
			default:
				t.Errorf("got Argument %q, want one of the three arguments", e.Argument)
			}
			if !strings.Contains(e.Message, e.Argument) {
				t.Errorf("got Message %q, want it to name %q", e.Message, e.Argument)
			}
		}
		if len(errs) > 3 {
			t.Errorf("got %d errors, want at most 3", len(errs))
		}
		if len(errs) > 0 {
			return
		}
		if version != "1.0" {
			t.Errorf("got no error for schemaVersion %q", version)
		}
		if d := to.Sub(from); d <= 0 || d > time.Hour {
			t.Errorf("ParseRange(%q, %q): got range of %v, want in (0, 1h]", start, end, d)
		}
		for _, tm := range []time.Time{from, to} {
			if tm.Location() != time.UTC {
				t.Errorf("ParseRange(%q, %q): got %v, want UTC", start, end, tm)
			}
			if !tm.Equal(tm.Truncate(time.Minute)) || tm.Second() != 0 || tm.Nanosecond() != 0 {
				t.Errorf("ParseRange(%q, %q): got %v, want a whole minute", start, end, tm)
			}
		}
	})
}
