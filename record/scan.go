package record

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// members are the members of a JSON object as sent, names matched exactly
// (encoding/json matches struct fields case-insensitively). Names and
// values are slices of the scanned bytes: nothing is copied but an escaped
// name.
type members struct {
	entries []entry
}

// entry is one member; kid holds the members of val when it is an object.
type entry struct {
	name, val []byte
	kid       *members
}

// get returns the value named name, and its members when it is an object.
func (m *members) get(name string) ([]byte, *members, bool) {
	for _, e := range m.entries {
		if string(e.name) == name {
			return e.val, e.kid, true
		}
	}
	return nil, nil, false
}

// scanRecord reads valid JSON (json.Valid holds) in one pass. It returns
// the members of the top-level object (nil when the value is not an
// object), the path of the first member name that occurs twice in one
// object, in document order (nil when none does), and whether the value
// holds white space between its tokens (false: it is compact already).
// The members live in s's memory until the next scan with s.
func (s *scanner) scanRecord(b []byte) (top *members, dup *string, spaced bool) {
	*s = scanner{stack: s.stack[:0], path: s.path[:0], objs: s.objs[:0], slab: s.slab[:0], b: b}
	top, _ = s.value(0)
	return top, s.dup, s.spaced
}

// segment is one step of the path to the value being scanned: a member
// name, or an array index when name is nil.
type segment struct {
	name  []byte
	index int
}

// scanner scans one record at a time, reusing its memory from one record
// to the next: a batch of records costs a few allocations, not a few per
// member.
type scanner struct {
	b      []byte
	dup    *string
	spaced bool
	path   []segment // built into a string only to name a duplicate
	stack  []entry   // the members of the objects being scanned
	objs   []members // where finished objects' members live
	slab   []entry   // where their entries live, object after object
}

// finish stores the members of the object whose entries start at base on
// the stack.
func (s *scanner) finish(base int) *members {
	if len(s.objs) == cap(s.objs) {
		s.objs = make([]members, 0, max(16, 2*cap(s.objs)))
	}
	s.objs = s.objs[:len(s.objs)+1]
	m := &s.objs[len(s.objs)-1]
	n := len(s.stack) - base
	if cap(s.slab)-len(s.slab) < n {
		s.slab = make([]entry, 0, max(64, 2*cap(s.slab), n))
	}
	start := len(s.slab)
	s.slab = append(s.slab, s.stack[base:]...)
	m.entries = s.slab[start:len(s.slab):len(s.slab)]
	s.stack = s.stack[:base]
	return m
}

func (s *scanner) ws(i int) int {
	start := i
	for i < len(s.b) && (s.b[i] == ' ' || s.b[i] == '\t' || s.b[i] == '\n' || s.b[i] == '\r') {
		i++
	}
	if i != start {
		s.spaced = true
	}
	return i
}

// str returns the end of the string at i (after its closing quote) and
// whether it holds escapes.
func (s *scanner) str(i int) (int, bool) {
	esc := false
	for i++; i < len(s.b); i++ {
		switch s.b[i] {
		case '\\':
			esc = true
			i++
		case '"':
			return i + 1, esc
		}
	}
	return i, esc
}

// duplicate records the path of the current member as the duplicate.
func (s *scanner) duplicate() {
	var p strings.Builder
	for k, seg := range s.path {
		switch {
		case seg.name == nil:
			p.WriteString("[" + strconv.Itoa(seg.index) + "]")
		case k > 0:
			p.WriteByte('.')
			fallthrough
		default:
			if len(seg.name) == 0 {
				p.WriteString(`""`)
			} else {
				p.Write(seg.name)
			}
		}
	}
	d := p.String()
	s.dup = &d
}

// value scans the value at i and returns, for an object, its members.
func (s *scanner) value(i int) (*members, int) {
	i = s.ws(i)
	if i >= len(s.b) {
		return nil, i
	}
	switch s.b[i] {
	case '{':
		base := len(s.stack)
		i = s.ws(i + 1)
		if s.b[i] == '}' {
			return s.finish(base), i + 1
		}
		for {
			end, esc := s.str(i)
			name := s.b[i+1 : end-1]
			if esc {
				var n string
				_ = json.Unmarshal(s.b[i:end], &n)
				name = []byte(n)
			}
			s.path = append(s.path, segment{name: name})
			for _, e := range s.stack[base:] {
				if bytes.Equal(e.name, name) {
					s.duplicate()
					return nil, len(s.b)
				}
			}
			i = s.ws(end) + 1 // the colon
			start := s.ws(i)
			kid, next := s.value(start)
			if s.dup != nil {
				return nil, len(s.b)
			}
			s.path = s.path[:len(s.path)-1]
			s.stack = append(s.stack, entry{name: name, val: s.b[start:next], kid: kid})
			i = s.ws(next)
			if s.b[i] == '}' {
				return s.finish(base), i + 1
			}
			i = s.ws(i + 1) // after the comma
		}
	case '[':
		i = s.ws(i + 1)
		if s.b[i] == ']' {
			return nil, i + 1
		}
		for k := 0; ; k++ {
			s.path = append(s.path, segment{index: k})
			_, next := s.value(i)
			if s.dup != nil {
				return nil, len(s.b)
			}
			s.path = s.path[:len(s.path)-1]
			i = s.ws(next)
			if s.b[i] == ']' {
				return nil, i + 1
			}
			i = s.ws(i + 1)
		}
	case '"':
		end, _ := s.str(i)
		return nil, end
	default: // number, true, false, null
		for i < len(s.b) && s.b[i] != ',' && s.b[i] != '}' && s.b[i] != ']' && s.b[i] != ' ' && s.b[i] != '\t' && s.b[i] != '\n' && s.b[i] != '\r' {
			i++
		}
		return nil, i
	}
}

// jsonString reads a JSON string value; null reads as "" (encoding/json
// does so too, and a required field then counts as empty).
func jsonString(v []byte) (string, bool) {
	if string(v) == "null" {
		return "", true
	}
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			err := json.Unmarshal(v, &s)
			return s, err == nil
		}
	}
	return string(inner), true
}
