package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The first implementation of Parse (encoding/json maps and a token walk),
// kept as the reference that FuzzParseSame holds the single-pass one to.

// Parse checks one record against schema 1.0.
func parseReference(raw []byte) (Record, []Problem) {
	var problems []Problem
	bad := func(field, format string, args ...any) {
		problems = append(problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !utf8.Valid(raw) {
		bad("", "the record is not valid UTF-8")
		return Record{}, problems
	}
	if dup, found := duplicateKeyRef(raw); found {
		bad(dup, "appears more than once in its object; send each field once")
		return Record{}, problems
	}
	top, ok := objectRef(raw)
	if !ok {
		bad("", "a record must be a JSON object")
		return Record{}, problems
	}
	var r Record
	str := func(obj map[string]json.RawMessage, prefix, name string) string {
		field := prefix + name
		v, present := obj[name]
		if !present {
			bad(field, "is required")
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			bad(field, "must be a string")
			return ""
		}
		if strings.TrimSpace(s) == "" {
			bad(field, "must not be empty")
		}
		return s
	}
	obj := func(parent map[string]json.RawMessage, prefix, name string) map[string]json.RawMessage {
		v, present := parent[name]
		if !present {
			bad(prefix+name, "is required")
			return nil
		}
		m, ok := objectRef(v)
		if !ok {
			bad(prefix+name, "must be a JSON object")
		}
		return m
	}

	if v := str(top, "", "schemaVersion"); v != "" && v != SchemaVersion {
		bad("schemaVersion", "is %q; the supported schema version is %q", v, SchemaVersion)
	}
	if ts := str(top, "", "timestamp"); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || strings.Contains(ts, ",") { // Go also takes a comma before the fraction; RFC 3339 does not
			bad("timestamp", "is %q, not an RFC 3339 date-time such as 2023-06-12T16:30:00.123Z", ts)
		} else if _, off := t.Zone(); off != 0 {
			bad("timestamp", "is %q; give it in UTC, ending in Z", ts)
		} else if t.Year() < 1 {
			bad("timestamp", "is %q, before the year 0001; PostgreSQL has no year 0", ts)
		} else {
			r.Timestamp = t.UTC()
			r.Minute = r.Timestamp.Truncate(time.Minute)
		}
	}
	str(top, "", "messageType")
	r.EventType = str(top, "", "eventType")
	r.Category = str(top, "", "category")
	r.Action = str(top, "", "action")
	str(top, "", "source")
	if o := obj(top, "", "object"); o != nil {
		str(o, "object.", "type")
		if out := obj(o, "object.", "outcome"); out != nil {
			if t := str(out, "object.outcome.", "type"); t != "" && t != "success" && t != "failure" {
				bad("object.outcome.type", "is %q; it must be \"success\" or \"failure\"", t)
			}
		}
		obj(o, "object.", "actor")
		if ctx, present := o["context"]; present {
			if c, ok := objectRef(ctx); !ok {
				bad("object.context", "must be a JSON object")
			} else if sid, present := c["sessionId"]; present && string(sid) != "null" {
				if err := json.Unmarshal(sid, &r.SessionID); err != nil {
					bad("object.context.sessionId", "must be a string")
				}
			}
		}
	}
	if len(problems) > 0 {
		return Record{}, problems
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		bad("", "not valid JSON: %s", jsonError(err))
		return Record{}, problems
	}
	r.Body = buf.Bytes()
	return r, nil
}

// object reads a JSON object, keeping its members as sent. Names are
// matched exactly, not case-insensitively as encoding/json matches struct
// fields.
func objectRef(raw []byte) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	return m, true
}

// duplicateKey returns the path of the first member name that occurs twice
// in one object, and whether there is one. encoding/json would silently
// keep the last.
func duplicateKeyRef(raw []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func(path string) (string, bool, error)
	walk = func(path string) (string, bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", false, err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", false, err
				}
				name, ok := k.(string)
				if !ok {
					return "", false, errors.New("member name is not a string")
				}
				shown := name
				if name == "" {
					shown = `""`
				}
				child := shown
				if path != "" {
					child = path + "." + shown
				}
				if seen[name] {
					return child, true, nil
				}
				seen[name] = true
				if d, found, err := walk(child); found || err != nil {
					return d, found, err
				}
			}
			_, err = dec.Token()
			return "", false, err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if d, found, err := walk(fmt.Sprintf("%s[%d]", path, i)); found || err != nil {
					return d, found, err
				}
			}
			_, err = dec.Token()
			return "", false, err
		}
		return "", false, nil
	}
	d, found, _ := walk("")
	return d, found
}

var _ = errors.New

// FuzzParseSame: the single-pass Parse agrees with the reference on every
// valid JSON input (the same record, or the same problems) and refuses
// every invalid one.
func FuzzParseSame(f *testing.F) {
	f.Add([]byte(exampleRecord))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"":{"":1,"":2}}`))
	f.Add([]byte(`{"object":{"context":{"sessionId":null}}}`))
	f.Add([]byte(`{"schemaVersion":"1.0","timestamp":"2023-06-12T16:30:00Z","messageType":"m","eventType":"e","category":"c","action":"a\u00e9","source":"s","object":{"type":"t","outcome":{"type":"success"},"actor":{}}}`))
	f.Add([]byte(`[1, {"a": [ {"b":1,"b":2} ]}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gotP := Parse(raw)
		if !json.Valid(raw) {
			// The reference's token walk can name a duplicate before it
			// reaches a syntax error; any refusal is right here.
			if gotP == nil {
				t.Fatalf("Parse(%q) accepted invalid JSON", raw)
			}
			return
		}
		want, wantP := parseReference(raw)
		if fmt.Sprint(gotP) != fmt.Sprint(wantP) {
			t.Fatalf("Parse(%q) problems:\ngot  %v\nwant %v", raw, gotP, wantP)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Parse(%q):\ngot  %+v\nwant %+v", raw, got, want)
		}
	})
}

// BenchmarkParse compares the single-pass Parse with the reference.
func BenchmarkParse(b *testing.B) {
	raw := []byte(exampleRecord)
	b.Run("single-pass", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for i := 0; i < b.N; i++ {
			Parse(raw)
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for i := 0; i < b.N; i++ {
			parseReference(raw)
		}
	})
}

// BenchmarkParseBatch: a batch of 1,000 compact records as JSON Lines, the
// shape ingestion mostly gets.
func BenchmarkParseBatch(b *testing.B) {
	var lines []string
	for i := 0; i < 1000; i++ {
		lines = append(lines, strings.Replace(exampleCompact, "delete-designer-role", fmt.Sprintf("action-%d", i), 1))
	}
	body := []byte(strings.Join(lines, "\n"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ps := ParseBatch(body); ps != nil {
			b.Fatal(ps)
		}
	}
}
