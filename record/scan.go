package record

import (
	"encoding/json"
	"fmt"
)

// members are the members of a JSON object as sent, names matched exactly
// (encoding/json matches struct fields case-insensitively). kids[i] holds
// the members of vals[i] when it is an object.
type members struct {
	names []string
	vals  [][]byte
	kids  []*members
}

// get returns the value named name, and its members when it is an object.
func (m *members) get(name string) ([]byte, *members, bool) {
	for i, n := range m.names {
		if n == name {
			return m.vals[i], m.kids[i], true
		}
	}
	return nil, nil, false
}

// scanRecord reads valid JSON (json.Valid holds) in one pass. It returns
// the members of the top-level object (nil when the value is not an
// object), or the path of the first member name that occurs twice in one
// object, in document order.
func scanRecord(b []byte) (*members, *string) {
	s := &scanner{b: b}
	top, _ := s.value(0, "")
	return top, s.dup
}

type scanner struct {
	b   []byte
	dup *string
}

func (s *scanner) ws(i int) int {
	for i < len(s.b) && (s.b[i] == ' ' || s.b[i] == '\t' || s.b[i] == '\n' || s.b[i] == '\r') {
		i++
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

// value scans the value at i and returns, for an object, its members.
// path is the value's path, for naming a duplicate.
func (s *scanner) value(i int, path string) (*members, int) {
	i = s.ws(i)
	if i >= len(s.b) {
		return nil, i
	}
	switch s.b[i] {
	case '{':
		m := &members{}
		i = s.ws(i + 1)
		if s.b[i] == '}' {
			return m, i + 1
		}
		for {
			end, esc := s.str(i)
			name := string(s.b[i+1 : end-1])
			if esc {
				var n string
				_ = json.Unmarshal(s.b[i:end], &n)
				name = n
			}
			shown := name
			if name == "" {
				shown = `""`
			}
			child := shown
			if path != "" {
				child = path + "." + shown
			}
			for _, n := range m.names {
				if n == name {
					s.dup = &child
					return m, len(s.b)
				}
			}
			i = s.ws(end) + 1 // the colon
			start := s.ws(i)
			kid, next := s.value(start, child)
			if s.dup != nil {
				return m, len(s.b)
			}
			m.names, m.vals, m.kids = append(m.names, name), append(m.vals, s.b[start:next]), append(m.kids, kid)
			i = s.ws(next)
			if s.b[i] == '}' {
				return m, i + 1
			}
			i = s.ws(i + 1) // after the comma
		}
	case '[':
		i = s.ws(i + 1)
		if s.b[i] == ']' {
			return nil, i + 1
		}
		for k := 0; ; k++ {
			_, next := s.value(i, fmt.Sprintf("%s[%d]", path, k))
			if s.dup != nil {
				return nil, len(s.b)
			}
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
