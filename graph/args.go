package graph

import (
	"fmt"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/record"
)

// MaxRange is the longest range listAuditLogs answers.
const MaxRange = time.Hour

// SupportedSchemaVersions are the record schemas listAuditLogs serves.
var SupportedSchemaVersions = []string{record.SchemaVersion}

// ArgError is a broken rule of a field's arguments, answered as a GraphQL
// error with code BAD_USER_INPUT.
type ArgError struct {
	Argument string
	Message  string
}

func (e *ArgError) Error() string { return e.Message }

// ParseRange checks the arguments of listAuditLogs and returns the range
// they name, or one ArgError per broken rule.
func ParseRange(start, end, schemaVersion string) (from, to time.Time, errs []*ArgError) {
	from, errFrom := parseMinute("startDatetime", start)
	to, errTo := parseMinute("endDatetime", end)
	for _, e := range []*ArgError{errFrom, errTo} {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if errFrom == nil && errTo == nil {
		switch d := to.Sub(from); {
		case d <= 0:
			errs = append(errs, &ArgError{"endDatetime", fmt.Sprintf(
				"endDatetime (%s) must be after startDatetime (%s): the range is [startDatetime, endDatetime)", end, start)})
		case d > MaxRange:
			errs = append(errs, &ArgError{"endDatetime", fmt.Sprintf(
				"endDatetime is %s after startDatetime; the range may be at most one hour: ask for longer spans one hour at a time", d)})
		}
	}
	supported := false
	for _, v := range SupportedSchemaVersions {
		supported = supported || v == schemaVersion
	}
	if !supported {
		errs = append(errs, &ArgError{"schemaVersion", fmt.Sprintf(
			"schemaVersion %s is not supported; supported versions: %s", quote(schemaVersion), strings.Join(SupportedSchemaVersions, ", "))})
	}
	return from, to, errs
}

func parseMinute(arg, s string) (time.Time, *ArgError) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &ArgError{arg, fmt.Sprintf(
			"%s %s is not an RFC 3339 date-time; write it like 2023-06-12T16:30:00Z", arg, quote(s))}
	}
	if t.Second() != 0 || t.Nanosecond() != 0 || strings.ContainsAny(s, ".,") {
		return time.Time{}, &ArgError{arg, fmt.Sprintf(
			"%s %s is not on a whole minute: the seconds must be 00 with no fraction, like 2023-06-12T16:30:00Z", arg, quote(s))}
	}
	return t.UTC(), nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Sprintf("%q", s)
}
