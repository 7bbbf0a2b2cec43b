package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/internal/pgcluster"
	"github.com/auditgraph/auditgraph/record"
	"github.com/auditgraph/auditgraph/store"
	"github.com/jackc/pgx/v5"
)

// The demo account and the sample hour that `make run` sets up.
const (
	demoUser     = "demo"
	demoPassword = "demo-password"
	devDatabase  = "auditgraph"
)

// SampleHour is the past hour that holds the sample records.
var SampleHour = time.Date(2023, 6, 12, 16, 0, 0, 0, time.UTC)

func cmdDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o serveOptions
	f := newFlags("dev", "auditgraph dev [flags]",
		"Serves for a local trial, as `make run` does. With no DATABASE_URL it starts a private PostgreSQL cluster\n"+
			"(kept in "+devDir()+" between runs, stopped with the server), creates the demo user\n"+
			demoUser+" (role admin) once, loads sample records into "+SampleHour.Format("2006-01-02 15:04")+"-17:00 UTC once,\n"+
			"and prints how to call the API. With DATABASE_URL set it serves that database and adds nothing to it.",
		getenv, stdout, stderr)
	o.declare(f)
	if _, err := f.parse(args); err != nil {
		return helpOrUsage(err)
	}
	if o.databaseURL != "" {
		return serve(ctx, o, stdout, stderr, func(_ context.Context, _ *store.Store, base string) error {
			fmt.Fprintf(stdout, "auditgraph: using DATABASE_URL; no demo user or sample records were added. Ctrl-C stops the server.\n")
			return nil
		})
	}
	fmt.Fprintf(stdout, "auditgraph: starting a private PostgreSQL cluster in %s\n", devDir())
	cluster, err := pgcluster.Start(pgcluster.Options{Dir: devDir(), Durable: true})
	if err != nil {
		return err
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(stderr, "auditgraph:", err)
		} else {
			fmt.Fprintln(stdout, "auditgraph: stopped the private PostgreSQL cluster")
		}
	}()
	if err := createDatabase(ctx, cluster.URL("postgres"), devDatabase); err != nil {
		return err
	}
	o.databaseURL = cluster.URL(devDatabase)
	return serve(ctx, o, stdout, stderr, func(ctx context.Context, st *store.Store, base string) error {
		if err := seedDemo(ctx, st); err != nil {
			return err
		}
		printQuickStart(stdout, base)
		return nil
	})
}

// devDir is where `make run` keeps its cluster.
func devDir() string {
	return filepath.Join(pgcluster.DefaultBase(), fmt.Sprintf("auditgraph-dev-%d", os.Geteuid()))
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("dev: connect to the private cluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("dev: create database: %w", err)
		}
	}
	return nil
}

// seedDemo creates the demo user and the sample records, each once.
func seedDemo(ctx context.Context, st *store.Store) error {
	hash, err := auth.NewHasher(auth.DefaultArgon2, 1).Hash(ctx, demoPassword)
	if err != nil {
		return err
	}
	if _, err := st.CreateUser(ctx, demoUser, "admin", hash); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	n, err := st.CountRecords(ctx, SampleHour, SampleHour.Add(time.Hour))
	if err != nil || n > 0 {
		return err
	}
	recs, problems := record.ParseBatch(SampleRecords())
	if len(problems) > 0 {
		return fmt.Errorf("dev: sample records: %v", problems[0])
	}
	return st.InsertRecords(ctx, record.Rows(recs))
}

// SampleRecords returns JSON Lines of schema 1.0 records spread over the
// sample hour: logins, user and role changes of a few designers.
func SampleRecords() []byte {
	users := []string{"ada@example.com", "grace@example.com", "linus@example.com"}
	events := []struct{ category, action, objType, result string }{
		{"user-access", "designer-user-login", "designer-user", "success"},
		{"access-management", "add-designer-role", "designer-role", "success"},
		{"user-management", "add-designer-user", "designer-user", "success"},
		{"access-management", "modify-designer-role", "designer-role", "success"},
		{"user-access", "designer-user-login", "designer-user", "failure"},
		{"access-management", "delete-designer-role", "designer-role", "success"},
		{"user-access", "designer-user-logout", "designer-user", "success"},
	}
	var out []byte
	// One record every 150 seconds, from 16:00:07 to 16:57:37, and one at
	// 16:45:00 exactly, which belongs to a range that starts at 16:45.
	stamps := []time.Time{}
	for t := SampleHour.Add(7 * time.Second); t.Before(SampleHour.Add(time.Hour)); t = t.Add(150 * time.Second) {
		stamps = append(stamps, t.Add(time.Duration(len(stamps)*37)*time.Millisecond))
	}
	stamps = append(stamps, SampleHour.Add(45*time.Minute))
	for i, ts := range stamps {
		e := events[i%len(events)]
		u := users[i%len(users)]
		o := record.Outcome{Type: e.result}
		if e.result == "failure" {
			o.Reason = "authentication"
		}
		r := record.Doc{
			Date: ts.Truncate(time.Second).Format("2006-01-02T15:04:05.000000Z"), MessageType: "system-event",
			SchemaVersion: "1.0", Timestamp: ts.Format("2006-01-02T15:04:05.000Z"), EventType: "designer-action",
			Category: e.category, Action: e.action, Source: "designer-api", Tags: map[string]any{},
			Object: record.Object{
				Type: e.objType, Identifier: record.Identifier{Type: "name", Value: fmt.Sprintf("sample-%s-%d", e.objType, i)},
				Attributes: map[string]any{}, Outcome: o,
				Actor: record.Actor{Type: "user", Identifier: record.Identifier{Type: "user-id", Value: u}, Attributes: map[string]any{}},
				Context: &record.Context{Environment: "demo", SessionID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i/4),
					ClientIP: "192.0.2.10", Protocol: "https", Host: "demo.auditgraph.invalid", UserAgent: "curl/7.88.1"},
			},
		}
		b, _ := json.Marshal(r)
		out = append(append(out, b...), '\n')
	}
	return out
}

func printQuickStart(w io.Writer, base string) {
	fmt.Fprintf(w, `
Demo user: %s / %s (role admin). Sample records: %s to 17:00 UTC.

Get a token:
  curl -X POST %s/api/1.0/oauth2/access_token -d "grant_type=password&username=%s&password=%s"

Keep it in a variable and list the logs of 16:30 to 16:45:
  TOKEN=$(curl -s -X POST %s/api/1.0/oauth2/access_token -d "grant_type=password&username=%s&password=%s" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  curl -H "Authorization: Bearer $TOKEN" '%s/api/graphql' \
  -H 'Content-Type: application/json' \
  --data '{"query":" { instrumentation { auditLogs { listAuditLogs( startDatetime: \"2023-06-12T16:30:00Z\", endDatetime: \"2023-06-12T16:45:00Z\", schemaVersion: \"1.0\") { logLocations  } } } }","variables":{}}'

Each location downloads with: curl -o f.jsonl.gz 'LOCATION'   (then: gunzip -c f.jsonl.gz)
Ctrl-C stops the server and the cluster.
`, demoUser, demoPassword, SampleHour.Format("2006-01-02 15:04"), base, demoUser, demoPassword, base, demoUser, demoPassword, base)
}
