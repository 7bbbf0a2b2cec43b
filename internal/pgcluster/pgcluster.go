// Package pgcluster starts a private PostgreSQL cluster from the machine's
// server binaries, for `make run` and for the tests. The cluster listens on
// a Unix socket in its own folder only, so it never clashes with another
// server's port. Run as root, it runs as the postgres user, as PostgreSQL
// requires.
package pgcluster

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Options says where and how to run the cluster.
type Options struct {
	// Dir holds the data folder, the socket and the server log. It is
	// created when missing; a cluster already in it is reused.
	Dir string
	// Durable keeps fsync on. Tests turn it off: they throw the data away.
	Durable bool
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	dir  string
	bin  string
	cred *syscall.Credential
}

// BinDir finds the folder of initdb and pg_ctl: the newest of
// /usr/lib/postgresql/*/bin, else the folder of an initdb on PATH.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them with `apt-get install postgresql`")
}

func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// DefaultBase is the folder under which clusters are made: os.TempDir, but
// /tmp when running as root, because the postgres user must be able to
// enter it (a TMPDIR under /root would not do).
func DefaultBase() string {
	if os.Geteuid() == 0 {
		return "/tmp"
	}
	return os.TempDir()
}

// Start makes the cluster in opts.Dir when there is none and starts it,
// or reuses the one already running there.
func Start(opts Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: opts.Dir, bin: bin}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("pgcluster: running as root, PostgreSQL must run as the postgres user, and there is none: install PostgreSQL with `apt-get install postgresql`, or run as another user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); err != nil {
		args := []string{"-D", c.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"}
		if !opts.Durable {
			args = append(args, "--no-sync")
		}
		if out, err := c.command("initdb", args...); err != nil {
			return nil, fmt.Errorf("pgcluster: initdb: %w\n%s", err, out)
		}
	}
	if _, err := c.command("pg_ctl", "-D", c.dataDir(), "status"); err == nil {
		return c, nil // left running by an earlier run that did not stop
	}
	conf := []string{
		"-k " + c.dir,
		"-c listen_addresses=''",
		"-c max_connections=200",
	}
	if !opts.Durable {
		conf = append(conf, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	out, err := c.command("pg_ctl", "-D", c.dataDir(), "-l", c.LogFile(), "-w", "-t", "60",
		"-o", strings.Join(conf, " "), "start")
	if err != nil {
		log, _ := os.ReadFile(c.LogFile())
		return nil, fmt.Errorf("pgcluster: start: %w\n%s%s", err, out, tail(log, 2000))
	}
	return c, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// LogFile is the server's log.
func (c *Cluster) LogFile() string { return filepath.Join(c.dir, "postgres.log") }

// URL is the connection string for database db, as the postgres superuser.
func (c *Cluster) URL(db string) string {
	q := url.Values{"host": {c.dir}, "user": {"postgres"}, "sslmode": {"disable"}}
	return "postgres:///" + url.PathEscape(db) + "?" + q.Encode()
}

// Stop stops the server, ending its connections.
func (c *Cluster) Stop() error {
	if out, err := c.command("pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pgcluster: stop: %w\n%s", err, out)
	}
	return nil
}

// Remove stops the server and deletes its folder.
func (c *Cluster) Remove() error {
	err := c.Stop()
	return errors.Join(err, os.RemoveAll(c.dir))
}

func (c *Cluster) command(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// Its own process group: a Ctrl-C at the terminal stops the service,
	// which then stops the cluster, in that order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Stdin = nil
	err := cmd.Run()
	return out.Bytes(), err
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
