// Package migrations holds the database schema as numbered SQL files, embedded
// into the binary so that every server can bring its database up to date.
package migrations

import "embed"

// FS holds the NNN_name.sql files. An applied file is never edited: a change
// to the schema is a new file.
//
//go:embed *.sql
var FS embed.FS
