package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/store"
)

// Password length bounds.
const (
	minPassword = 8
	maxPassword = 1024
)

func cmdUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, "Usage: auditgraph user add NAME --role auditor|writer|admin --password-stdin\n")
			return nil
		}
		fmt.Fprint(stderr, "Usage: auditgraph user add NAME --role auditor|writer|admin --password-stdin\n")
		return errUsage
	}
	var databaseURL, role string
	var passwordStdin bool
	f := newFlags("user add", "auditgraph user add NAME --role auditor|writer|admin --password-stdin",
		"Creates a user who can get tokens with the password grant. The password (8 to 1024 characters) is read\n"+
			"from standard input, for example: printf '%s' \"$PASSWORD\" | auditgraph user add alice --role auditor --password-stdin\n"+
			"Roles: auditor reads audit logs; writer records audit events; admin does both and administers.",
		getenv, stdout, stderr)
	f.env(&databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL connection string")
	f.fs.StringVar(&role, "role", "", "the user's role: auditor, writer or admin")
	f.fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (required)")
	pos, err := f.parse(args[1:])
	if err != nil {
		return helpOrUsage(err)
	}
	if len(pos) != 1 {
		return errors.New("user add: give exactly one user NAME")
	}
	name := pos[0]
	if err := checkUserName(name); err != nil {
		return err
	}
	if !slices.Contains(auth.Roles, role) {
		return fmt.Errorf("user add: --role is %q; give one of %s", role, strings.Join(auth.Roles, ", "))
	}
	if !passwordStdin {
		return errors.New("user add: pass --password-stdin and send the password on standard input, so that it never shows in the process list")
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxPassword+3))
	if err != nil {
		return fmt.Errorf("user add: read password: %w", err)
	}
	password := trimPassword(b)
	if n := len([]rune(password)); n < minPassword || len(password) > maxPassword {
		return fmt.Errorf("user add: the password must have %d to %d characters", minPassword, maxPassword)
	}
	if databaseURL == "" {
		return errors.New("user add: DATABASE_URL is not set: set it (or --database-url) to the service's PostgreSQL connection string")
	}
	pool, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	hash, err := auth.NewHasher(auth.DefaultArgon2, 1).Hash(ctx, password)
	if err != nil {
		return err
	}
	if _, err := store.New(pool).CreateUser(ctx, name, role, hash); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("user add: a user called %q exists already", name)
		}
		return err
	}
	fmt.Fprintf(stdout, "user add: created %s with role %s\n", name, role)
	return nil
}

// checkUserName accepts names of 1 to 100 letters, digits and . _ @ + -,
// such as e-mail addresses.
func checkUserName(name string) error {
	if len(name) == 0 || len(name) > 100 {
		return errors.New("user add: NAME must have 1 to 100 characters")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)
		if !ok {
			return fmt.Errorf("user add: NAME %q may hold only letters, digits and . _ @ + -", name)
		}
	}
	return nil
}
