package model

import (
	"encoding/json"
	"fmt"
	"io"
)

// JSON is a JSON value passed through as it is.
type JSON json.RawMessage

// MarshalGQL writes the value as it is.
func (j JSON) MarshalGQL(w io.Writer) {
	if len(j) == 0 {
		io.WriteString(w, "null")
		return
	}
	w.Write(j)
}

// UnmarshalGQL takes any input value.
func (j *JSON) UnmarshalGQL(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("not a JSON value: %w", err)
	}
	*j = b
	return nil
}

// AuditRecord is a schema 1.0 record read from its stored body.
type AuditRecord struct {
	Date          *string     `json:"date"`
	MessageType   string      `json:"messageType"`
	SchemaVersion string      `json:"schemaVersion"`
	Timestamp     string      `json:"timestamp"`
	EventType     string      `json:"eventType"`
	Category      string      `json:"category"`
	Action        string      `json:"action"`
	Source        string      `json:"source"`
	Tags          JSON        `json:"tags"`
	Object        AuditObject `json:"object"`
	Raw           JSON        `json:"-"`
}

// AuditObject is a record's object.
type AuditObject struct {
	Type            string           `json:"type"`
	Identifier      *AuditIdentifier `json:"identifier"`
	Attributes      JSON             `json:"attributes"`
	PriorAttributes JSON             `json:"priorAttributes"`
	Outcome         AuditOutcome     `json:"outcome"`
	Actor           AuditActor       `json:"actor"`
	Context         *AuditContext    `json:"context"`
}

// AuditIdentifier names something by type and value.
type AuditIdentifier struct {
	Type  *string `json:"type"`
	Value *string `json:"value"`
}

// AuditOutcome is how the event ended.
type AuditOutcome struct {
	Type   string  `json:"type"`
	Reason *string `json:"reason"`
	Error  *string `json:"error"`
}

// AuditActor is who acted.
type AuditActor struct {
	Type       *string          `json:"type"`
	Identifier *AuditIdentifier `json:"identifier"`
	Attributes JSON             `json:"attributes"`
}

// AuditContext is where the event came from.
type AuditContext struct {
	Environment *string `json:"environment"`
	SessionID   *string `json:"sessionId"`
	ClientIP    *string `json:"clientIp"`
	Protocol    *string `json:"protocol"`
	Host        *string `json:"host"`
	UserAgent   *string `json:"userAgent"`
}

// ParseRecord reads a stored record body. Values of the wrong type in
// optional string fields are left out rather than failing the record.
func ParseRecord(body []byte) (*AuditRecord, error) {
	var r AuditRecord
	if err := json.Unmarshal(body, &r); err != nil {
		// A free-form field of an unexpected type: keep what is certain.
		var loose struct {
			MessageType, SchemaVersion, Timestamp, EventType, Category, Action, Source string
			Object                                                                     struct {
				Type    string `json:"type"`
				Outcome struct {
					Type string `json:"type"`
				} `json:"outcome"`
			} `json:"object"`
		}
		if err2 := json.Unmarshal(body, &loose); err2 != nil {
			return nil, err
		}
		r = AuditRecord{MessageType: loose.MessageType, SchemaVersion: loose.SchemaVersion, Timestamp: loose.Timestamp,
			EventType: loose.EventType, Category: loose.Category, Action: loose.Action, Source: loose.Source,
			Object: AuditObject{Type: loose.Object.Type, Outcome: AuditOutcome{Type: loose.Object.Outcome.Type}}}
	}
	r.Raw = JSON(body)
	return &r, nil
}
