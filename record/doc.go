package record

// Doc is a schema 1.0 record's fields, in the order the schema lists them,
// for code that writes records (the service's own, the demo's samples).
type Doc struct {
	Date          string         `json:"date,omitempty"`
	MessageType   string         `json:"messageType"`
	SchemaVersion string         `json:"schemaVersion"`
	Timestamp     string         `json:"timestamp"`
	EventType     string         `json:"eventType"`
	Category      string         `json:"category"`
	Action        string         `json:"action"`
	Source        string         `json:"source"`
	Tags          map[string]any `json:"tags"`
	Object        Object         `json:"object"`
}

// Object is a record's object.
type Object struct {
	Type       string         `json:"type"`
	Identifier Identifier     `json:"identifier"`
	Attributes map[string]any `json:"attributes"`
	Outcome    Outcome        `json:"outcome"`
	Actor      Actor          `json:"actor"`
	Context    *Context       `json:"context,omitempty"`
}

// Context is where the event came from, in the schema's order.
type Context struct {
	Environment string `json:"environment"`
	SessionID   string `json:"sessionId"`
	ClientIP    string `json:"clientIp"`
	Protocol    string `json:"protocol"`
	Host        string `json:"host"`
	UserAgent   string `json:"userAgent"`
}

// Identifier names something by type and value.
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Outcome is how the event ended; Reason and Error are for failures.
type Outcome struct {
	Type   string `json:"type"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Actor is who acted.
type Actor struct {
	Type       string         `json:"type"`
	Identifier Identifier     `json:"identifier"`
	Attributes map[string]any `json:"attributes"`
}
