// Package model holds the Go types bound to the GraphQL schema.
package model

// Instrumentation is the namespace of the service's observability data.
type Instrumentation struct{}

// AuditLogs is the namespace of the audit-log queries.
type AuditLogs struct{}
