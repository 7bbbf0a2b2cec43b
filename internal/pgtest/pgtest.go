// Package pgtest gives each test a fresh, migrated PostgreSQL database. One
// private cluster serves a whole test binary (or the server named by
// DATABASE_URL, when set); each test gets a database copied from a migrated
// template, which takes milliseconds. Without PostgreSQL the tests fail and
// say why: they never skip.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgcluster"
	"github.com/auditgraph/auditgraph/migrations"
	"github.com/auditgraph/auditgraph/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	adminURL func(db string) string
	template string
	counter  atomic.Int64
)

// Main starts PostgreSQL, migrates the template database and runs the tests
// of m. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	closeInheritedOnExec()
	template = fmt.Sprintf("auditgraph_template_%d", os.Getpid())
	if env := os.Getenv("DATABASE_URL"); env != "" {
		if _, err := pgx.ParseConfig(env); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: DATABASE_URL is not a valid PostgreSQL connection string")
			return 1
		}
		adminURL = func(db string) string { return replaceDB(env, db) }
	} else {
		removeOrphans()
		dir, err := os.MkdirTemp(pgcluster.DefaultBase(), "auditgraph-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			return 1
		}
		// Whoever finds this test process gone stops its cluster.
		_ = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
		c, err := pgcluster.Start(pgcluster.Options{Dir: dir})
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: the tests need PostgreSQL and could not start it: %v\n", err)
			os.RemoveAll(dir)
			return 1
		}
		defer c.Remove()
		adminURL = c.URL
	}
	if err := makeTemplate(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	defer dropDatabase(ctx, template)
	return m.Run()
}

// ownerFile holds the process id of the test binary that owns a cluster.
const ownerFile = "owner.pid"

// removeOrphans stops and removes the clusters of test processes that died
// without doing so themselves (a fuzz worker killed by the fuzzer, say).
func removeOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(pgcluster.DefaultBase(), "auditgraph-test-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue // its owner still runs
		}
		if c, err := pgcluster.Start(pgcluster.Options{Dir: d}); err == nil {
			_ = c.Remove()
		}
	}
}

// closeInheritedOnExec marks the descriptors this process inherited (fd 3
// and up) close-on-exec, so that the PostgreSQL cluster does not hold them.
// A fuzz worker inherits its pipes to the fuzzing coordinator as fds 3 and
// 4; a cluster holding them would keep `go test -fuzz` waiting forever for
// a killed worker's pipe to close. The Go runtime opens its own descriptors
// close-on-exec already, so nothing else changes.
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return // not Linux: nothing known to inherit
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// replaceDB names database db in connection string conn, in either of the
// forms libpq takes: a URL, or keyword=value pairs, where a later pair wins.
func replaceDB(conn, db string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	return conn + " dbname=" + db
}

func makeTemplate(ctx context.Context) error {
	if err := exec(ctx, "postgres", "CREATE DATABASE "+template); err != nil {
		return err
	}
	pool, err := store.Open(ctx, adminURL(template))
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = store.New(pool).Migrate(ctx, migrations.FS)
	return err
}

func exec(ctx context.Context, db, sql string) error {
	conn, err := pgx.Connect(ctx, adminURL(db))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func dropDatabase(ctx context.Context, db string) {
	_ = exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
}

// URL makes a fresh migrated database for t, dropped when t ends, and
// returns its connection string.
func URL(t testing.TB) string {
	t.Helper()
	return newDB(t, template)
}

// EmptyURL makes a fresh database for t with no migration applied, dropped
// when t ends, for tests of the migrations themselves.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return newDB(t, "template0")
}

func newDB(t testing.TB, from string) string {
	t.Helper()
	if adminURL == nil {
		t.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	ctx := context.Background()
	db := fmt.Sprintf("%s_%d", template, counter.Add(1))
	if err := exec(ctx, "postgres", "CREATE DATABASE "+db+" TEMPLATE "+from); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { dropDatabase(ctx, db) })
	return adminURL(db)
}

// Pool makes a fresh migrated database for t and a pool on it, both closed
// when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := store.Open(ctx, URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
