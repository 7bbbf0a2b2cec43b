// Package record reads batches of schema 1.0 audit records as clients send
// them (JSON Lines, a JSON array, or one object) and checks each record, so
// that a batch is stored whole or not at all and every record is kept
// exactly as sent.
package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditgraph/auditgraph/store"
)

// SchemaVersion is the one record schema the service takes.
const SchemaVersion = "1.0"

// Record is one checked record: its body as compact JSON, with the same
// fields and values as sent, and the values the service files it by.
type Record struct {
	Timestamp time.Time
	Minute    time.Time // the minute the record belongs to
	Action    string
	Category  string
	EventType string
	SessionID string
	// Body is the record compact (insignificant white space removed). When
	// it came compact, Body is the very bytes of the input, not a copy: keep
	// the input unchanged while the record is in use.
	Body []byte
}

// Problem is what is wrong with one record of a batch.
type Problem struct {
	Position int    `json:"position"`       // 1-based, in the order sent
	Line     int    `json:"line,omitempty"` // for JSON Lines: the line number
	Field    string `json:"field,omitempty"`
	Message  string `json:"message"`
}

func (p Problem) String() string {
	s := fmt.Sprintf("record %d", p.Position)
	if p.Line > 0 {
		s += fmt.Sprintf(" (line %d)", p.Line)
	}
	if p.Field != "" {
		s += ": " + p.Field
	}
	return s + ": " + p.Message
}

// MaxProblems bounds the problems reported for one batch.
const MaxProblems = 100

// ParseBatch reads a batch and checks every record in it. It returns the
// records when all are good, else the problems (at most MaxProblems) and no
// records.
func ParseBatch(body []byte) ([]Record, []Problem) {
	raws, lines, p := split(body)
	if p != nil {
		return nil, p
	}
	var recs []Record
	var problems []Problem
	var sc scanner
	for i, raw := range raws {
		r, ps := parse(raw, true, &sc)
		for _, p := range ps {
			p.Position = i + 1
			if lines != nil {
				p.Line = lines[i]
			}
			problems = append(problems, p)
		}
		if len(problems) >= MaxProblems {
			return nil, problems[:MaxProblems]
		}
		recs = append(recs, r)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return recs, nil
}

// jsonSpace is the white space JSON allows between values.
const jsonSpace = " \t\r\n"

// split cuts a batch into its records. lines is nil unless the batch was
// read line by line.
func split(body []byte) (raws []json.RawMessage, lines []int, problems []Problem) {
	trimmed := bytes.Trim(body, jsonSpace)
	leading := bytes.Count(body[:len(body)-len(bytes.TrimLeft(body, jsonSpace))], []byte("\n"))
	if len(trimmed) == 0 {
		return nil, nil, []Problem{{Message: "the body holds no record: send JSON Lines, a JSON array or one JSON object"}}
	}
	if !utf8.Valid(trimmed) {
		return nil, nil, []Problem{{Message: "the body is not valid UTF-8"}}
	}
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, nil, []Problem{{Message: "the body is not a valid JSON array: " + jsonError(err)}}
		}
		if len(raws) == 0 {
			return nil, nil, []Problem{{Message: "the array holds no record"}}
		}
		return raws, nil, nil
	}
	// JSON Lines, the common case, cut at each newline: when every line
	// holds one JSON value, they are the records.
	if raws, lines, ok := splitLines(trimmed, leading); ok {
		return raws, lines, nil
	}
	// One object spread over lines, or objects one after another.
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var line int
	var counted int64
	for {
		end := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			if len(raws) == 1 {
				lines = nil // one object: lines mean nothing
			}
			return raws, lines, nil
		}
		if err != nil {
			break
		}
		raws = append(raws, raw)
		start := end + int64(len(trimmed[end:])-len(bytes.TrimLeft(trimmed[end:], jsonSpace)))
		line += bytes.Count(trimmed[counted:start], []byte("\n")) // only what is new: linear in the body
		counted = start
		lines = append(lines, leading+1+line)
	}
	lines = nil
	// Some value is not JSON: go line by line to say which.
	raws = nil
	for i, line := range bytes.Split(trimmed, []byte("\n")) {
		line = bytes.Trim(line, jsonSpace)
		if len(line) == 0 {
			continue
		}
		raws = append(raws, line)
		if !json.Valid(line) {
			var v any
			err := json.Unmarshal(line, &v)
			problems = append(problems, Problem{Position: len(raws), Line: leading + i + 1, Message: "not valid JSON: " + jsonError(err)})
			if len(problems) == MaxProblems {
				break
			}
		}
	}
	if len(problems) == 0 {
		// Every line is JSON, yet the whole is not: a value spans lines.
		problems = []Problem{{Message: "the body is neither one JSON object, a JSON array, nor JSON Lines (one record per line)"}}
	}
	return nil, nil, problems
}

// splitLines cuts body (trimmed, not empty) at its newlines; ok is false
// when some line is not one JSON value. A single line is one record with
// no line number.
func splitLines(body []byte, leading int) (raws []json.RawMessage, lines []int, ok bool) {
	n := bytes.Count(body, []byte("\n")) + 1
	raws, lines = make([]json.RawMessage, 0, n), make([]int, 0, n)
	for i := 0; len(body) > 0; i++ {
		line, rest, _ := bytes.Cut(body, []byte("\n"))
		body = rest
		line = bytes.Trim(line, jsonSpace)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil, nil, false
		}
		raws, lines = append(raws, line), append(lines, leading+i+1)
	}
	if len(raws) == 1 {
		lines = nil
	}
	return raws, lines, true
}

func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if err != nil {
		return err.Error()
	}
	return "unexpected end of input"
}

// Parse checks one record against schema 1.0, in one pass over its bytes
// after json.Valid (ingestion spends most of its time here).
func Parse(raw []byte) (Record, []Problem) {
	return parse(raw, false, &scanner{})
}

// parse is Parse; valid tells that raw is known to be valid UTF-8 and JSON
// already (ParseBatch checked), which spares two passes over it. sc is
// reused from record to record.
func parse(raw []byte, valid bool, sc *scanner) (Record, []Problem) {
	var problems []Problem
	bad := func(field, format string, args ...any) {
		problems = append(problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !valid && !utf8.Valid(raw) {
		bad("", "the record is not valid UTF-8")
		return Record{}, problems
	}
	trimmed := bytes.TrimSpace(raw)
	if !valid && !json.Valid(trimmed) {
		bad("", "a record must be a JSON object")
		return Record{}, problems
	}
	top, dup, spaced := sc.scanRecord(trimmed)
	if dup != nil {
		bad(*dup, "appears more than once in its object; send each field once")
		return Record{}, problems
	}
	if top == nil {
		bad("", "a record must be a JSON object")
		return Record{}, problems
	}
	var r Record
	str := func(o *members, prefix, name string) string {
		field := prefix + name
		v, _, present := o.get(name)
		if !present {
			bad(field, "is required")
			return ""
		}
		s, ok := jsonString(v)
		if !ok {
			bad(field, "must be a string")
			return ""
		}
		if strings.TrimSpace(s) == "" {
			bad(field, "must not be empty")
		}
		return s
	}
	obj := func(parent *members, prefix, name string) *members {
		_, kid, present := parent.get(name)
		if !present {
			bad(prefix+name, "is required")
			return nil
		}
		if kid == nil {
			bad(prefix+name, "must be a JSON object")
		}
		return kid
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
		if _, ctx, present := o.get("context"); present {
			if ctx == nil {
				bad("object.context", "must be a JSON object")
			} else if sid, _, present := ctx.get("sessionId"); present && string(sid) != "null" {
				s, ok := jsonString(sid)
				if !ok {
					bad("object.context.sessionId", "must be a string")
				}
				r.SessionID = s
			}
		}
	}
	if len(problems) > 0 {
		return Record{}, problems
	}
	// Stored compact, one line each in the files; most records come so.
	r.Body = trimmed
	if spaced {
		var buf bytes.Buffer
		buf.Grow(len(trimmed))
		if err := json.Compact(&buf, trimmed); err != nil {
			bad("", "not valid JSON: %s", jsonError(err))
			return Record{}, problems
		}
		r.Body = buf.Bytes()
	}
	return r, nil
}

// Row is the record as the store keeps it.
func (r Record) Row() store.NewRecord {
	return store.NewRecord{Timestamp: r.Timestamp, Minute: r.Minute, Action: r.Action, Category: r.Category,
		EventType: r.EventType, SessionID: r.SessionID, Body: r.Body}
}

// Rows is the records as the store keeps them.
func Rows(recs []Record) []store.NewRecord {
	rows := make([]store.NewRecord, len(recs))
	for i, r := range recs {
		rows[i] = r.Row()
	}
	return rows
}
