package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// exampleRecord is a copy of the example record clients are given
// (shared/fixtures/example-record.json), pretty-printed as it is there.
const exampleRecord = `{
  "date": "2022-12-19T19:46:38.000000Z",
  "messageType": "system-event",
  "schemaVersion": "1.0",
  "timestamp": "2022-12-19T19:46:38.338Z",
  "eventType": "designer-action",
  "category": "access-management",
  "action": "delete-designer-role",
  "source": "designer-api",
  "tags": {},
  "object": {
    "type": "designer-role",
    "identifier": {
      "type": "name",
      "value": "Unqork User Name"
    },
    "attributes": {},
    "outcome": {
      "type": "success"
    },
    "actor": {
      "type": "user",
      "identifier": {
        "type": "user-id",
        "value": "unqork-user@unqork.com"
      },
      "attributes": {}
    },
    "context": {
      "environment": "training-staging",
      "sessionId": "8a83187f-40cb-4bd2-a0fc-8dd3987a771a",
      "clientIp": "73.33.37.100",
      "protocol": "https",
      "host": "training.unqork.io",
      "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36"
    }
  }
}`

// exampleCompact is exampleRecord without its insignificant whitespace,
// written out by hand: the Body the service must keep for it.
const exampleCompact = `{"date":"2022-12-19T19:46:38.000000Z","messageType":"system-event","schemaVersion":"1.0","timestamp":"2022-12-19T19:46:38.338Z","eventType":"designer-action","category":"access-management","action":"delete-designer-role","source":"designer-api","tags":{},"object":{"type":"designer-role","identifier":{"type":"name","value":"Unqork User Name"},"attributes":{},"outcome":{"type":"success"},"actor":{"type":"user","identifier":{"type":"user-id","value":"unqork-user@unqork.com"},"attributes":{}},"context":{"environment":"training-staging","sessionId":"8a83187f-40cb-4bd2-a0fc-8dd3987a771a","clientIp":"73.33.37.100","protocol":"https","host":"training.unqork.io","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36"}}}`

// minimal is a small valid record, in compact form, from which the table
// cases below are made by replacing one fragment of it.
const minimal = `{"schemaVersion":"1.0","timestamp":"2023-06-12T16:44:10.5Z","messageType":"system-event","eventType":"designer-action","category":"access-management","action":"delete-designer-role","source":"designer-api","object":{"type":"designer-role","outcome":{"type":"success"},"actor":{"type":"user"},"context":{"sessionId":"sess-1"}}}`

// with returns minimal with the one occurrence of old replaced by new.
func with(old, new string) string {
	return replaceOnce(minimal, old, new)
}

func replaceOnce(s, old, new string) string {
	if n := strings.Count(s, old); n != 1 {
		panic(fmt.Sprintf("test bug: %q occurs %d times in %s", old, n, s))
	}
	return strings.Replace(s, old, new, 1)
}

// actionRecord is minimal with its action set to a.
func actionRecord(a string) string {
	return with(`"action":"delete-designer-role"`, `"action":"`+a+`"`)
}

func actions(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Action)
	}
	return out
}

func fields(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Field)
	}
	return out
}

func TestParseBatchFormats(t *testing.T) {
	a, b, c := actionRecord("a"), actionRecord("b"), actionRecord("c")
	tests := []struct {
		name string
		body string
		want []string // the actions of the records, in order
	}{
		{"JSON Lines", a + "\n" + b + "\n" + c + "\n", []string{"a", "b", "c"}},
		{"JSON Lines without final newline", a + "\n" + b, []string{"a", "b"}},
		{"JSON Lines with CRLF", a + "\r\n" + b + "\r\n", []string{"a", "b"}},
		{"JSON Lines with blank lines", "\n\n" + a + "\n\n   \n" + b + "\n\t\n" + c + "\n\n", []string{"a", "b", "c"}},
		{"JSON array", "[" + a + "," + b + "," + c + "]", []string{"a", "b", "c"}},
		{"JSON array pretty-printed", "[\n  " + a + ",\n  " + b + "\n]\n", []string{"a", "b"}},
		{"JSON array of one", "[" + a + "]", []string{"a"}},
		{"one object", a, []string{"a"}},
		{"one object surrounded by whitespace", " \n\t" + a + "\n\n ", []string{"a"}},
		{"one object pretty-printed", exampleRecord, []string{"delete-designer-role"}},
		{"one object pretty-printed with final newline", exampleRecord + "\n", []string{"delete-designer-role"}},
		{"objects concatenated", a + b + c, []string{"a", "b", "c"}},
		{"objects concatenated with spaces", a + " " + b + "  " + c, []string{"a", "b", "c"}},
		{"pretty-printed objects one after another", exampleRecord + "\n" + exampleRecord, []string{"delete-designer-role", "delete-designer-role"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(tt.body))
			if len(problems) != 0 {
				t.Fatalf("got problems %v, want none", problems)
			}
			if got := actions(recs); !equal(got, tt.want) {
				t.Errorf("got actions %v, want %v", got, tt.want)
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

// wantOneProblem checks that a batch of the single record body is refused
// with exactly one problem, about field, whose message contains msg.
func wantOneProblem(t *testing.T, body, field, msg string) {
	t.Helper()
	recs, problems := ParseBatch([]byte(body))
	if recs != nil {
		t.Errorf("got records %v, want none", actions(recs))
	}
	if len(problems) != 1 {
		t.Fatalf("got problems %v, want one about %q", problems, field)
	}
	p := problems[0]
	if p.Field != field {
		t.Errorf("got Field %q, want %q (problem %v)", p.Field, field, p)
	}
	if !strings.Contains(p.Message, msg) {
		t.Errorf("got Message %q, want it to contain %q", p.Message, msg)
	}
	if p.Position != 1 {
		t.Errorf("got Position %d, want 1", p.Position)
	}
	// Parse alone reports the same problem, without a position.
	if _, ps := Parse([]byte(body)); len(ps) != 1 || ps[0].Field != field {
		t.Errorf("Parse: got problems %v, want one about %q", ps, field)
	}
}

func TestParseRequiredFields(t *testing.T) {
	tests := []struct {
		field string
		body  string
	}{
		{"schemaVersion", with(`"schemaVersion":"1.0",`, ``)},
		{"timestamp", with(`"timestamp":"2023-06-12T16:44:10.5Z",`, ``)},
		{"messageType", with(`"messageType":"system-event",`, ``)},
		{"eventType", with(`"eventType":"designer-action",`, ``)},
		{"category", with(`"category":"access-management",`, ``)},
		{"action", with(`"action":"delete-designer-role",`, ``)},
		{"source", with(`,"source":"designer-api"`, ``)},
		{"object", with(`,"object":{"type":"designer-role","outcome":{"type":"success"},"actor":{"type":"user"},"context":{"sessionId":"sess-1"}}`, ``)},
		{"object.type", with(`"type":"designer-role",`, ``)},
		{"object.outcome", with(`"outcome":{"type":"success"},`, ``)},
		{"object.outcome.type", with(`{"type":"success"}`, `{}`)},
		{"object.actor", with(`,"actor":{"type":"user"}`, ``)},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("test bug: invalid JSON %s", tt.body)
			}
			wantOneProblem(t, tt.body, tt.field, "required")
		})
	}
}

func TestParseWrongTypes(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string
		msg   string
	}{
		{"schemaVersion number", with(`"schemaVersion":"1.0"`, `"schemaVersion":1.0`), "schemaVersion", "must be a string"},
		{"timestamp number", with(`"timestamp":"2023-06-12T16:44:10.5Z"`, `"timestamp":1686588250`), "timestamp", "must be a string"},
		{"messageType number", with(`"messageType":"system-event"`, `"messageType":1`), "messageType", "must be a string"},
		{"eventType number", with(`"eventType":"designer-action"`, `"eventType":2`), "eventType", "must be a string"},
		{"category number", with(`"category":"access-management"`, `"category":3`), "category", "must be a string"},
		{"action number", with(`"action":"delete-designer-role"`, `"action":4`), "action", "must be a string"},
		{"action boolean", with(`"action":"delete-designer-role"`, `"action":true`), "action", "must be a string"},
		{"action object", with(`"action":"delete-designer-role"`, `"action":{"name":"x"}`), "action", "must be a string"},
		{"action array", with(`"action":"delete-designer-role"`, `"action":["x"]`), "action", "must be a string"},
		{"action null", with(`"action":"delete-designer-role"`, `"action":null`), "action", "empty"},
		{"action empty", with(`"action":"delete-designer-role"`, `"action":""`), "action", "must not be empty"},
		{"action blank", with(`"action":"delete-designer-role"`, `"action":"  \t "`), "action", "must not be empty"},
		{"source number", with(`"source":"designer-api"`, `"source":5`), "source", "must be a string"},
		{"object.type number", with(`"type":"designer-role"`, `"type":6`), "object.type", "must be a string"},
		{"object.outcome.type number", with(`"type":"success"`, `"type":7`), "object.outcome.type", "must be a string"},
		{"object string", with(`"object":{"type":"designer-role","outcome":{"type":"success"},"actor":{"type":"user"},"context":{"sessionId":"sess-1"}}`, `"object":"designer-role"`), "object", "must be a JSON object"},
		{"object array", with(`"object":{"type":"designer-role","outcome":{"type":"success"},"actor":{"type":"user"},"context":{"sessionId":"sess-1"}}`, `"object":[{"type":"designer-role"}]`), "object", "must be a JSON object"},
		{"object null", with(`"object":{"type":"designer-role","outcome":{"type":"success"},"actor":{"type":"user"},"context":{"sessionId":"sess-1"}}`, `"object":null`), "object", "must be a JSON object"},
		{"object number", with(`"object":{"type":"designer-role","outcome":{"type":"success"},"actor":{"type":"user"},"context":{"sessionId":"sess-1"}}`, `"object":8`), "object", "must be a JSON object"},
		{"object.outcome string", with(`"outcome":{"type":"success"}`, `"outcome":"success"`), "object.outcome", "must be a JSON object"},
		{"object.outcome array", with(`"outcome":{"type":"success"}`, `"outcome":[]`), "object.outcome", "must be a JSON object"},
		{"object.actor string", with(`"actor":{"type":"user"}`, `"actor":"user"`), "object.actor", "must be a JSON object"},
		{"object.actor null", with(`"actor":{"type":"user"}`, `"actor":null`), "object.actor", "must be a JSON object"},
		{"object.context string", with(`"context":{"sessionId":"sess-1"}`, `"context":"sess-1"`), "object.context", "must be a JSON object"},
		{"object.context.sessionId number", with(`"sessionId":"sess-1"`, `"sessionId":9`), "object.context.sessionId", "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("test bug: invalid JSON %s", tt.body)
			}
			wantOneProblem(t, tt.body, tt.field, tt.msg)
		})
	}
}

func TestParseRecordNotAnObject(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"array of strings", `["a"]`},
		{"array of arrays", `[[` + minimal + `]]`},
		{"array with null", `[null]`},
		{"JSON Lines number", `1`},
		{"JSON Lines string", `"x"`},
		{"JSON Lines null", `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(tt.body))
			if recs != nil || len(problems) != 1 {
				t.Fatalf("got records %v and problems %v, want one problem", actions(recs), problems)
			}
			if got, want := problems[0].Message, "must be a JSON object"; !strings.Contains(got, want) {
				t.Errorf("got Message %q, want it to contain %q", got, want)
			}
		})
	}
}

func TestParseSchemaVersion(t *testing.T) {
	tests := []struct {
		version string
		ok      bool
	}{
		{"1.0", true},
		{"2.0", false},
		{"1", false},
		{"1.0.0", false},
		{" 1.0", false},
		{"v1.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			body := with(`"schemaVersion":"1.0"`, `"schemaVersion":"`+tt.version+`"`)
			if tt.ok {
				if _, problems := ParseBatch([]byte(body)); problems != nil {
					t.Errorf("got problems %v, want none", problems)
				}
				return
			}
			wantOneProblem(t, body, "schemaVersion", `"1.0"`)
		})
	}
}

func TestParseTimestamp(t *testing.T) {
	accepted := []struct {
		ts     string
		want   time.Time
		minute time.Time
	}{
		{"2023-06-12T16:44:10Z", time.Date(2023, 6, 12, 16, 44, 10, 0, time.UTC), time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC)},
		{"2023-06-12T16:44:10.123Z", time.Date(2023, 6, 12, 16, 44, 10, 123e6, time.UTC), time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC)},
		{"2023-06-12T16:44:10.123+00:00", time.Date(2023, 6, 12, 16, 44, 10, 123e6, time.UTC), time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC)},
		{"2023-06-12T16:44:00Z", time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC), time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC)},
		{"2023-06-12T16:44:59.9999999Z", time.Date(2023, 6, 12, 16, 44, 59, 999999900, time.UTC), time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC)},
		{"2023-06-12T16:44:59.999999999Z", time.Date(2023, 6, 12, 16, 44, 59, 999999999, time.UTC), time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC)},
		{"2023-12-31T23:59:59.5Z", time.Date(2023, 12, 31, 23, 59, 59, 5e8, time.UTC), time.Date(2023, 12, 31, 23, 59, 0, 0, time.UTC)},
		{"2022-12-19T19:46:38.338Z", time.Date(2022, 12, 19, 19, 46, 38, 338e6, time.UTC), time.Date(2022, 12, 19, 19, 46, 0, 0, time.UTC)},
	}
	for _, tt := range accepted {
		t.Run("accepts "+tt.ts, func(t *testing.T) {
			body := with(`"2023-06-12T16:44:10.5Z"`, `"`+tt.ts+`"`)
			recs, problems := ParseBatch([]byte(body))
			if len(problems) != 0 || len(recs) != 1 {
				t.Fatalf("got %d records and problems %v, want one record", len(recs), problems)
			}
			r := recs[0]
			if !r.Timestamp.Equal(tt.want) {
				t.Errorf("got Timestamp %v, want %v", r.Timestamp, tt.want)
			}
			if r.Timestamp.Location() != time.UTC {
				t.Errorf("got Timestamp location %v, want UTC", r.Timestamp.Location())
			}
			if !r.Minute.Equal(tt.minute) {
				t.Errorf("got Minute %v, want %v", r.Minute, tt.minute)
			}
			if r.Minute.Location() != time.UTC {
				t.Errorf("got Minute location %v, want UTC", r.Minute.Location())
			}
			// The timestamp is kept as sent, not rewritten.
			if !bytes.Contains(r.Body, []byte(`"timestamp":"`+tt.ts+`"`)) {
				t.Errorf("got Body %s, want it to hold the timestamp as sent", r.Body)
			}
		})
	}

	refused := []struct {
		ts  string
		msg string
	}{
		{"2023-06-12T16:44:10+02:00", "UTC"},
		{"0000-12-31T23:59:59Z", "year 0001"},
		{"2023-06-12T18:44:10.5+02:00", "UTC"},
		{"2023-06-12T11:44:10-05:00", "UTC"},
		{"2023-06-12T16:44:10+00:01", "UTC"},
		{"2023-06-12 16:44:10Z", "RFC 3339"},
		{"2023-06-12T16:44:10", "RFC 3339"},
		{"2023-06-12", "RFC 3339"},
		{"16:44:10Z", "RFC 3339"},
		{"1686588250", "RFC 3339"},
		{"yesterday", "RFC 3339"},
		{"2023-06-12T16:44Z", "RFC 3339"},
		{"2023-13-12T16:44:10Z", "RFC 3339"},
		{"2023-06-31T16:44:10Z", "RFC 3339"},
		{"2023-06-12T24:00:00Z", "RFC 3339"},
		{"2023-06-12T16:44:10+0000", "RFC 3339"},
		{"Mon, 12 Jun 2023 16:44:10 GMT", "RFC 3339"},
		{" 2023-06-12T16:44:10Z", "RFC 3339"},
		{"2023-06-12T16:44:10Z ", "RFC 3339"},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.ts, func(t *testing.T) {
			body := with(`"2023-06-12T16:44:10.5Z"`, `"`+tt.ts+`"`)
			wantOneProblem(t, body, "timestamp", tt.msg)
		})
	}
}

// TestParseTimestampCommaFraction documents a known bug: time.Parse with
// time.RFC3339Nano also takes a comma before the fraction of a second,
// which RFC 3339 does not allow, so Parse accepts such timestamps.
func TestParseTimestampCommaFraction(t *testing.T) {
	for _, ts := range []string{"2023-06-12T16:44:10,5Z", "2023-06-12T16:44:10,000Z"} {
		t.Run(ts, func(t *testing.T) {
			body := with(`"2023-06-12T16:44:10.5Z"`, `"`+ts+`"`)
			recs, problems := ParseBatch([]byte(body))
			if len(recs) == 1 && len(problems) == 0 {
				t.Fatalf("timestamp %q (comma before the fraction, not RFC 3339) is accepted; want a problem about \"timestamp\"", ts)
			}
			if len(problems) != 1 || problems[0].Field != "timestamp" {
				t.Errorf("got problems %v, want one about timestamp", problems)
			}
		})
	}
}

func TestParseOutcomeType(t *testing.T) {
	tests := []struct {
		outcome string
		ok      bool
	}{
		{"success", true},
		{"failure", true},
		{"Success", false},
		{"FAILURE", false},
		{"succeeded", false},
		{"error", false},
		{"unknown", false},
		{"success ", false},
	}
	for _, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			body := with(`"type":"success"`, `"type":"`+tt.outcome+`"`)
			if tt.ok {
				if _, problems := ParseBatch([]byte(body)); problems != nil {
					t.Errorf("got problems %v, want none", problems)
				}
				return
			}
			wantOneProblem(t, body, "object.outcome.type", `"success" or "failure"`)
		})
	}
}

func TestParseDuplicateKeys(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"top level", with(`"action":"delete-designer-role"`, `"action":"x","action":"delete-designer-role"`), "action"},
		{"top level same value", with(`"action":"delete-designer-role"`, `"action":"delete-designer-role","action":"delete-designer-role"`), "action"},
		{"top level far apart", with(`"schemaVersion":"1.0",`, `"schemaVersion":"1.0","schemaVersion":"1.0",`), "schemaVersion"},
		{"top level unknown field", with(`"source":"designer-api"`, `"source":"designer-api","extra":1,"extra":2`), "extra"},
		{"top level escaped name", with(`"action":"delete-designer-role"`, `"action":"x","\u0061ction":"delete-designer-role"`), "action"},
		{"object.type", with(`"type":"designer-role"`, `"type":"x","type":"designer-role"`), "object.type"},
		{"object.outcome.type", with(`"type":"success"`, `"type":"failure","type":"success"`), "object.outcome.type"},
		{"object.outcome", with(`"outcome":{"type":"success"}`, `"outcome":{"type":"success"},"outcome":{"type":"success"}`), "object.outcome"},
		{"nested unknown field", with(`"actor":{"type":"user"}`, `"actor":{"type":"user","id":{"v":1,"v":2}}`), "object.actor.id.v"},
		{"inside an array", with(`"source":"designer-api"`, `"source":"designer-api","tags":[{"k":1},{"k":1,"k":2}]`), "tags[1].k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOneProblem(t, tt.body, tt.field, "more than once")
		})
	}

	t.Run("same name in different objects", func(t *testing.T) {
		// minimal has "type" in object, object.outcome and object.actor.
		body := with(`"source":"designer-api"`, `"source":"designer-api","a":{"type":1},"b":[{"type":1},{"type":1}]`)
		if _, problems := ParseBatch([]byte(body)); problems != nil {
			t.Errorf("got problems %v, want none", problems)
		}
	})
}

func TestParseKeysCaseSensitive(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"Action", with(`"action":`, `"Action":`), "action"},
		{"ACTION", with(`"action":`, `"ACTION":`), "action"},
		{"SchemaVersion", with(`"schemaVersion":`, `"SchemaVersion":`), "schemaVersion"},
		{"schemaversion", with(`"schemaVersion":`, `"schemaversion":`), "schemaVersion"},
		{"TimeStamp", with(`"timestamp":`, `"TimeStamp":`), "timestamp"},
		{"Object", with(`"object":`, `"Object":`), "object"},
		{"object.Outcome", with(`"outcome":`, `"Outcome":`), "object.outcome"},
		{"object.Actor", with(`"actor":`, `"Actor":`), "object.actor"},
		{"object.outcome.Type", with(`"type":"success"`, `"Type":"success"`), "object.outcome.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOneProblem(t, tt.body, tt.field, "required")
		})
	}

	t.Run("differently cased key next to the right one", func(t *testing.T) {
		body := with(`"action":"delete-designer-role"`, `"Action":"other","action":"delete-designer-role"`)
		recs, problems := ParseBatch([]byte(body))
		if len(problems) != 0 || len(recs) != 1 {
			t.Fatalf("got %d records and problems %v, want one record", len(recs), problems)
		}
		if got, want := recs[0].Action, "delete-designer-role"; got != want {
			t.Errorf("got Action %q, want %q", got, want)
		}
		if !bytes.Contains(recs[0].Body, []byte(`"Action":"other"`)) {
			t.Errorf("got Body %s, want it to keep \"Action\"", recs[0].Body)
		}
	})

	t.Run("sessionId", func(t *testing.T) {
		body := with(`"sessionId":"sess-1"`, `"SessionId":"sess-1"`)
		recs, problems := ParseBatch([]byte(body))
		if len(problems) != 0 || len(recs) != 1 {
			t.Fatalf("got %d records and problems %v, want one record", len(recs), problems)
		}
		if got := recs[0].SessionID; got != "" {
			t.Errorf("got SessionID %q, want %q", got, "")
		}
	})
}

func TestParseBatchPositions(t *testing.T) {
	good := minimal
	noAction := with(`"action":"delete-designer-role",`, ``)
	noSource := with(`,"source":"designer-api"`, ``)

	t.Run("array", func(t *testing.T) {
		body := "[" + good + "," + noAction + "," + good + "," + noSource + "]"
		recs, problems := ParseBatch([]byte(body))
		if recs != nil {
			t.Errorf("got %d records, want none", len(recs))
		}
		want := []Problem{{Position: 2, Field: "action"}, {Position: 4, Field: "source"}}
		if len(problems) != len(want) {
			t.Fatalf("got problems %v, want %v", problems, want)
		}
		for i, w := range want {
			p := problems[i]
			if p.Position != w.Position || p.Field != w.Field || p.Line != 0 {
				t.Errorf("problem %d: got %+v, want position %d, field %q, no line", i, p, w.Position, w.Field)
			}
		}
	})

	t.Run("concatenated objects", func(t *testing.T) {
		body := good + noAction + good
		recs, problems := ParseBatch([]byte(body))
		if recs != nil {
			t.Errorf("got %d records, want none", len(recs))
		}
		if len(problems) != 1 || problems[0].Position != 2 || problems[0].Field != "action" {
			t.Errorf("got problems %v, want one about record 2's action", problems)
		}
	})

	t.Run("several problems of one record", func(t *testing.T) {
		body := "[" + good + `,{"schemaVersion":"2.0"}]`
		_, problems := ParseBatch([]byte(body))
		want := []string{"schemaVersion", "timestamp", "messageType", "eventType", "category", "action", "source", "object"}
		if got := fields(problems); !equal(got, want) {
			t.Errorf("got fields %v, want %v", got, want)
		}
		for _, p := range problems {
			if p.Position != 2 {
				t.Errorf("got Position %d, want 2 (%v)", p.Position, p)
			}
		}
	})

	t.Run("JSON Lines positions count records, not lines", func(t *testing.T) {
		body := good + "\n\n" + noAction + "\n" + good + "\n\n\n" + noSource + "\n"
		recs, problems := ParseBatch([]byte(body))
		if recs != nil {
			t.Errorf("got %d records, want none", len(recs))
		}
		if got, want := len(problems), 2; got != want {
			t.Fatalf("got %d problems (%v), want %d", got, problems, want)
		}
		if got, want := problems[0].Position, 2; got != want {
			t.Errorf("got Position %v, want %v", got, want)
		}
		if got, want := problems[1].Position, 4; got != want {
			t.Errorf("got Position %v, want %v", got, want)
		}
	})
}

// TestParseBatchLinesOfSchemaProblems checks that a problem in a JSON Lines
// batch names its line even when every line is well-formed JSON.
func TestParseBatchLinesOfSchemaProblems(t *testing.T) {
	noAction := with(`"action":"delete-designer-role",`, ``)
	body := minimal + "\n\n" + noAction + "\n"
	_, problems := ParseBatch([]byte(body))
	if len(problems) != 1 {
		t.Fatalf("got problems %v, want one", problems)
	}
	p := problems[0]
	if p.Position != 2 || p.Field != "action" {
		t.Errorf("got %+v, want position 2, field action", p)
	}
	if p.Line != 3 {
		if p.Line == 0 {
			t.Fatalf("got Line %d, want %d: split only records line numbers when some line is not JSON, so schema problems in JSON Lines carry no line", p.Line, 3)
		}
		t.Errorf("got Line %d, want %d", p.Line, 3)
	}
}

func TestParseBatchAllOrNothing(t *testing.T) {
	bad := with(`"type":"success"`, `"type":"ok"`)
	bodies := map[string]string{
		"JSON Lines first bad":  bad + "\n" + minimal + "\n" + minimal,
		"JSON Lines middle bad": minimal + "\n" + bad + "\n" + minimal,
		"JSON Lines last bad":   minimal + "\n" + minimal + "\n" + bad,
		"array":                 "[" + minimal + "," + minimal + "," + bad + "," + minimal + "]",
		"concatenated":          minimal + bad + minimal,
		"JSON Lines not JSON":   minimal + "\n" + minimal + "\n{nope}\n" + minimal,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(body))
			if recs != nil {
				t.Errorf("got %d records, want none", len(recs))
			}
			if len(problems) != 1 {
				t.Errorf("got problems %v, want one", problems)
			}
		})
	}
}

func TestParseBatchSyntaxErrors(t *testing.T) {
	t.Run("line 3 of JSON Lines", func(t *testing.T) {
		body := minimal + "\n" + minimal + "\n" + `{"action": "x",}` + "\n" + minimal + "\n"
		recs, problems := ParseBatch([]byte(body))
		if recs != nil {
			t.Errorf("got %d records, want none", len(recs))
		}
		if len(problems) != 1 {
			t.Fatalf("got problems %v, want one", problems)
		}
		p := problems[0]
		if p.Line != 3 {
			t.Errorf("got Line %v, want %v", p.Line, 3)
		}
		if p.Position != 3 {
			t.Errorf("got Position %v, want %v", p.Position, 3)
		}
		if !strings.Contains(p.Message, "not valid JSON") {
			t.Errorf("got Message %q, want it to say %q", p.Message, "not valid JSON")
		}
	})

	t.Run("line 3 after a blank line", func(t *testing.T) {
		body := minimal + "\n\n" + `{"action"` + "\n" + minimal
		_, problems := ParseBatch([]byte(body))
		if len(problems) != 1 {
			t.Fatalf("got problems %v, want one", problems)
		}
		if got, want := problems[0].Line, 3; got != want {
			t.Errorf("got Line %v, want %v", got, want)
		}
		if got, want := problems[0].Position, 2; got != want {
			t.Errorf("got Position %v, want %v", got, want)
		}
	})

	t.Run("several bad lines", func(t *testing.T) {
		body := "x\n" + minimal + "\n\ny\n" + minimal + "\n{"
		_, problems := ParseBatch([]byte(body))
		wantLines := []int{1, 4, 6}
		wantPositions := []int{1, 3, 5}
		if len(problems) != len(wantLines) {
			t.Fatalf("got problems %v, want %d", problems, len(wantLines))
		}
		for i, p := range problems {
			if p.Line != wantLines[i] || p.Position != wantPositions[i] {
				t.Errorf("problem %d: got line %d position %d, want line %d position %d", i, p.Line, p.Position, wantLines[i], wantPositions[i])
			}
		}
	})

	others := map[string]string{
		"broken array":          "[" + minimal + ",",
		"array with trailing":   "[" + minimal + "] x",
		"array trailing comma":  "[" + minimal + ",]",
		"garbage":               "hello",
		"unclosed object":       `{"action":"x"`,
		"object spanning lines": "{\n\"a\": 1}\n}",
	}
	for name, body := range others {
		t.Run(name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(body))
			if recs != nil {
				t.Errorf("got %d records, want none", len(recs))
			}
			if len(problems) == 0 {
				t.Fatal("got no problems, want some")
			}
			for _, p := range problems {
				if p.Message == "" {
					t.Errorf("got empty Message in %+v", p)
				}
			}
		})
	}
}

func TestParseBatchBodyProblems(t *testing.T) {
	tests := []struct {
		name string
		body string
		msg  string
	}{
		{"empty body", "", "no record"},
		{"whitespace only", " \n\r\n\t ", "no record"},
		{"empty array", "[]", "no record"},
		{"empty array with spaces", " [ \n ] ", "no record"},
		{"invalid UTF-8 in a value", with(`"designer-api"`, "\"designer-\xffapi\""), "UTF-8"},
		{"invalid UTF-8 in a key", with(`"source"`, "\"sou\xc3rce\""), "UTF-8"},
		{"invalid UTF-8 in an array", "[" + with(`"designer-api"`, "\"\xed\xa0\x80\"") + "]", "UTF-8"},
		{"invalid UTF-8 in JSON Lines", minimal + "\n" + with(`"sess-1"`, "\"\xfe\"") + "\n", "UTF-8"},
		{"invalid UTF-8 alone", "\xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(tt.body))
			if recs != nil {
				t.Errorf("got %d records, want none", len(recs))
			}
			if len(problems) != 1 {
				t.Fatalf("got problems %v, want one", problems)
			}
			if !strings.Contains(problems[0].Message, tt.msg) {
				t.Errorf("got Message %q, want it to contain %q", problems[0].Message, tt.msg)
			}
		})
	}

	t.Run("Parse refuses invalid UTF-8", func(t *testing.T) {
		_, problems := Parse([]byte(with(`"designer-api"`, "\"designer-\xffapi\"")))
		if len(problems) != 1 || !strings.Contains(problems[0].Message, "UTF-8") {
			t.Errorf("got problems %v, want one about UTF-8", problems)
		}
	})
	t.Run("valid UTF-8 accepted", func(t *testing.T) {
		body := with(`"designer-api"`, `"désigner-api ✓ 日本"`)
		recs, problems := ParseBatch([]byte(body))
		if len(recs) != 1 || problems != nil {
			t.Fatalf("got %d records and problems %v, want one record", len(recs), problems)
		}
		if !bytes.Contains(recs[0].Body, []byte(`"désigner-api ✓ 日本"`)) {
			t.Errorf("got Body %s, want the value kept as sent", recs[0].Body)
		}
	})
}

func TestParseBatchMaxProblems(t *testing.T) {
	noAction := with(`"action":"delete-designer-role",`, ``)
	repeat := func(s, sep string, n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = s
		}
		return strings.Join(parts, sep)
	}
	tests := []struct {
		name string
		body string
		want int
	}{
		{"array of 150 bad records", "[" + repeat(noAction, ",", 150) + "]", MaxProblems},
		{"JSON Lines of 150 bad records", repeat(noAction, "\n", 150), MaxProblems},
		{"JSON Lines of 150 lines not JSON", repeat("{x}", "\n", 150), MaxProblems},
		{"20 records of 8 problems", "[" + repeat("{}", ",", 20) + "]", MaxProblems},
		{"exactly MaxProblems", "[" + repeat(noAction, ",", MaxProblems) + "]", MaxProblems},
		{"one fewer than MaxProblems", "[" + repeat(noAction, ",", MaxProblems-1) + "]", MaxProblems - 1},
		{"many bad among good", "[" + minimal + "," + repeat(noAction, ",", 120) + "," + minimal + "]", MaxProblems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(tt.body))
			if recs != nil {
				t.Errorf("got %d records, want none", len(recs))
			}
			if got := len(problems); got != tt.want {
				t.Errorf("got %v problems, want %v", got, tt.want)
			}
			// Problems come in the order of the records.
			for i := 1; i < len(problems); i++ {
				if problems[i].Position < problems[i-1].Position {
					t.Fatalf("problem %d has Position %d after %d", i, problems[i].Position, problems[i-1].Position)
				}
			}
		})
	}
}

func TestParseBody(t *testing.T) {
	// Unknown fields, numbers and escapes must come back byte for byte:
	// only the whitespace between tokens goes.
	sent := `{
	"zeta": 1.50,
	"schemaVersion" : "1.0",
	"alpha": 1e3,
	"timestamp": "2023-06-12T16:44:59.9999999Z",
	"big": 12345678901234567890123456789,
	"neg": -0.0,
	"E": 2.5E-3,
	"messageType": "system-event",
	"name": "caf\u00e9",
	"raw": "café",
	"slash": "a\/b",
	"html": "<b>&amp;</b>",
	"quote": "say \"hi\"\tthen\nleave",
	"spaces": "a  b   c",
	"eventType": "designer-action",
	"category": "access-management",
	"action": "delete-designer-role",
	"source": "designer-api",
	"null": null,
	"list": [ 1, 2.0, { "y" : true }, [ ] ],
	"object": {
		"type": "designer-role",
		"outcome": { "type": "failure", "reason": "\ud83d\ude00" },
		"actor": { },
		"context": { "sessionId": "s-\u0041" }
	},
	"last": false
}`
	want := `{"zeta":1.50,"schemaVersion":"1.0","alpha":1e3,"timestamp":"2023-06-12T16:44:59.9999999Z","big":12345678901234567890123456789,"neg":-0.0,"E":2.5E-3,"messageType":"system-event","name":"caf\u00e9","raw":"café","slash":"a\/b","html":"<b>&amp;</b>","quote":"say \"hi\"\tthen\nleave","spaces":"a  b   c","eventType":"designer-action","category":"access-management","action":"delete-designer-role","source":"designer-api","null":null,"list":[1,2.0,{"y":true},[]],"object":{"type":"designer-role","outcome":{"type":"failure","reason":"\ud83d\ude00"},"actor":{},"context":{"sessionId":"s-\u0041"}},"last":false}`

	forms := map[string]string{
		"one object":   sent,
		"array":        "[\n" + sent + ",\n" + sent + "\n]",
		"concatenated": sent + "\n" + sent,
	}
	for name, body := range forms {
		t.Run(name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(body))
			if problems != nil || len(recs) == 0 {
				t.Fatalf("got %d records and problems %v, want records", len(recs), problems)
			}
			for _, r := range recs {
				if got := string(r.Body); got != want {
					t.Errorf("got Body\n%s\nwant\n%s", got, want)
				}
				if got, want := r.Minute, time.Date(2023, 6, 12, 16, 44, 0, 0, time.UTC); !got.Equal(want) {
					t.Errorf("got Minute %v, want %v", got, want)
				}
				if got, want := r.SessionID, "s-A"; got != want {
					t.Errorf("got SessionID %q, want %q", got, want)
				}
			}
		})
	}

	t.Run("JSON Lines", func(t *testing.T) {
		line := strings.ReplaceAll(sent, "\n", " ")
		recs, problems := ParseBatch([]byte(line + "\n" + line + "\n"))
		if problems != nil || len(recs) != 2 {
			t.Fatalf("got %d records and problems %v, want 2 records", len(recs), problems)
		}
		for _, r := range recs {
			if got := string(r.Body); got != want {
				t.Errorf("got Body\n%s\nwant\n%s", got, want)
			}
		}
	})

	t.Run("example record", func(t *testing.T) {
		recs, problems := ParseBatch([]byte(exampleRecord))
		if problems != nil || len(recs) != 1 {
			t.Fatalf("got %d records and problems %v, want one record", len(recs), problems)
		}
		r := recs[0]
		if got := string(r.Body); got != exampleCompact {
			t.Errorf("got Body\n%s\nwant\n%s", got, exampleCompact)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"Timestamp", r.Timestamp, time.Date(2022, 12, 19, 19, 46, 38, 338e6, time.UTC)},
			{"Minute", r.Minute, time.Date(2022, 12, 19, 19, 46, 0, 0, time.UTC)},
			{"Action", r.Action, "delete-designer-role"},
			{"Category", r.Category, "access-management"},
			{"EventType", r.EventType, "designer-action"},
			{"SessionID", r.SessionID, "8a83187f-40cb-4bd2-a0fc-8dd3987a771a"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
			}
		}
	})

	t.Run("Body is the input when it came compact, else a compact copy", func(t *testing.T) {
		body := []byte(minimal + "\n" + strings.ReplaceAll(minimal, ",", ", "))
		recs, _ := ParseBatch(body)
		if len(recs) != 2 {
			t.Fatalf("got %d records, want 2", len(recs))
		}
		if &recs[0].Body[0] != &body[0] || string(recs[0].Body) != minimal {
			t.Errorf("compact record: Body %s is not the input's bytes", recs[0].Body)
		}
		if string(recs[1].Body) != minimal {
			t.Errorf("spaced record: got Body\n%s\nwant\n%s", recs[1].Body, minimal)
		}
	})
}

func TestParseSessionID(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"present", minimal, "sess-1"},
		{"null", with(`"sessionId":"sess-1"`, `"sessionId":null`), ""},
		{"empty", with(`"sessionId":"sess-1"`, `"sessionId":""`), ""},
		{"absent", with(`"sessionId":"sess-1"`, `"clientIp":"10.0.0.1"`), ""},
		{"no context", with(`,"context":{"sessionId":"sess-1"}`, ``), ""},
		{"at top level is not taken", with(`"source":"designer-api"`, `"source":"designer-api","sessionId":"top"`), "sess-1"},
		{"escaped", with(`"sessionId":"sess-1"`, `"sessionId":"s\u00e9ss"`), "séss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, problems := ParseBatch([]byte(tt.body))
			if problems != nil || len(recs) != 1 {
				t.Fatalf("got %d records and problems %v, want one record", len(recs), problems)
			}
			if got := recs[0].SessionID; got != tt.want {
				t.Errorf("got SessionID %q, want %q", got, tt.want)
			}
		})
	}
}

// parseBatchNoPanic is ParseBatch, with a panic returned instead.
func parseBatchNoPanic(body []byte) (recs []Record, problems []Problem, panicked any) {
	defer func() { panicked = recover() }()
	recs, problems = ParseBatch(body)
	return recs, problems, nil
}

// TestParseEmptyMemberNames keeps what FuzzParseBatch found: a member named
// "" once had the path "", the value that meant "no duplicate", so a
// duplicated "" went unnoticed or made the walk panic.
func TestParseEmptyMemberNames(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		refused bool
	}{
		{"one empty name", with(`"source":"designer-api"`, `"source":"designer-api","":1`), false},
		{"empty name holding an object", with(`"source":"designer-api"`, `"source":"designer-api","":{"":1,"a":{"":2}}`), false},
		{"empty name nested", with(`"actor":{"type":"user"}`, `"actor":{"type":"user","":1}`), false},
		{"duplicate empty name nested", with(`"actor":{"type":"user"}`, `"actor":{"type":"user","":1,"":2}`), true},
		{"fuzz input", `{"":{"":{},"":{}}}`, true},
		{"duplicate in an empty-named object", `{"":{"":1,"":2}}`, true},
		{"duplicate in an empty-named object, in an array", `[{"":{"":1,"":2}}]`, true},
		{"duplicate empty name at top level", with(`"source":"designer-api"`, `"source":"designer-api","":1,"":2`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, problems, panicked := parseBatchNoPanic([]byte(tt.body))
			if panicked != nil {
				t.Fatalf("ParseBatch(%q) panics: %v; want a problem about a member sent more than once", tt.body, panicked)
			}
			if !tt.refused {
				if len(recs) != 1 || problems != nil {
					t.Errorf("got %d records and problems %v, want one record", len(recs), problems)
				}
				return
			}
			if recs != nil || len(problems) == 0 {
				t.Fatalf("got %d records and problems %v, want a problem", len(recs), problems)
			}
			if !strings.Contains(problems[0].Message, "more than once") {
				t.Errorf("got problems %v, want one about a member sent more than once", problems)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Position: 2, Line: 5, Field: "action", Message: "is required"}, "record 2 (line 5): action: is required"},
		{Problem{Position: 1, Field: "object.type", Message: "is required"}, "record 1: object.type: is required"},
		{Problem{Position: 3, Line: 4, Message: "not valid JSON"}, "record 3 (line 4): not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(exampleRecord))
	f.Add([]byte(minimal))
	f.Add([]byte("[" + exampleRecord + "," + minimal + "]"))
	f.Add([]byte(minimal + "\n\n" + minimal + "\n"))
	f.Add([]byte(minimal + minimal))
	f.Add([]byte(with(`"action":"delete-designer-role"`, `"action":"a","action":"b"`)))
	f.Add([]byte(minimal + "\n{oops}\n"))
	f.Add([]byte("[]"))
	f.Add([]byte(""))
	f.Add([]byte("garbage"))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`[1,"x",null,{}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, problems, panicked := parseBatchNoPanic(body)
		if panicked != nil {
			t.Fatalf("ParseBatch(%q) panics: %v", body, panicked)
		}
		if panicked != nil {
			t.Fatalf("ParseBatch(%q) panics: %v", body, panicked)
		}
		if (len(recs) > 0) == (len(problems) > 0) {
			t.Fatalf("got %d records and %d problems (%v), want exactly one of them", len(recs), len(problems), problems)
		}
		if len(problems) > MaxProblems {
			t.Errorf("got %d problems, want at most %d", len(problems), MaxProblems)
		}
		for _, p := range problems {
			if p.Position < 0 {
				t.Errorf("got Position %d, want >= 0 (%+v)", p.Position, p)
			}
			if p.Message == "" {
				t.Errorf("got empty Message (%+v)", p)
			}
		}
		for i, r := range recs {
			if !json.Valid(r.Body) {
				t.Fatalf("record %d: got Body %q, want valid JSON", i+1, r.Body)
			}
			again, ps := Parse(r.Body)
			if ps != nil {
				t.Fatalf("record %d: re-parsing Body %s: got problems %v, want none", i+1, r.Body, ps)
			}
			if !again.Timestamp.Equal(r.Timestamp) {
				t.Errorf("record %d: got Timestamp %v on re-parse, want %v", i+1, again.Timestamp, r.Timestamp)
			}
			if again.Action != r.Action {
				t.Errorf("record %d: got Action %q on re-parse, want %q", i+1, again.Action, r.Action)
			}
			if !bytes.Equal(again.Body, r.Body) {
				t.Errorf("record %d: got Body %s on re-parse, want %s", i+1, again.Body, r.Body)
			}
			if !r.Minute.Equal(r.Timestamp.Truncate(time.Minute)) || r.Minute.After(r.Timestamp) {
				t.Errorf("record %d: got Minute %v for Timestamp %v", i+1, r.Minute, r.Timestamp)
			}
		}
	})
}
