package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/selfaudit"
	"github.com/auditgraph/auditgraph/store"
)

// Password length bounds.
const (
	minPassword = 8
	maxPassword = 1024
)

const userUsage = `Usage:
  auditgraph user add NAME --role auditor|writer|admin --password-stdin
  auditgraph user list
  auditgraph user disable NAME       refuse the user's logins; their tokens stop working at once
  auditgraph user enable NAME
  auditgraph user passwd NAME --password-stdin   a new password; the user's tokens stop working
  auditgraph user delete NAME        remove the user; their tokens stop working at once
`

func cmdUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	var databaseURL, role string
	var passwordStdin bool
	synopsis := map[string]string{"add": "auditgraph user add NAME --role auditor|writer|admin --password-stdin",
		"list": "auditgraph user list", "disable": "auditgraph user disable NAME", "enable": "auditgraph user enable NAME",
		"passwd": "auditgraph user passwd NAME --password-stdin", "delete": "auditgraph user delete NAME"}[sub]
	if synopsis == "" {
		if sub == "-h" || sub == "--help" || sub == "help" {
			fmt.Fprint(stdout, userUsage)
			return nil
		}
		fmt.Fprintf(stderr, "auditgraph: unknown user command %q\n\n%s", sub, userUsage)
		return errUsage
	}
	f := newFlags("user "+sub, synopsis,
		"User administration. Passwords (8 to 1024 characters) are read from standard input, for example:\n"+
			"  printf '%s' \"$PASSWORD\" | auditgraph user add alice --role auditor --password-stdin\n"+
			"Roles: auditor reads audit logs; writer records audit events; admin does both and administers.\n"+
			"Every change is recorded in the audit log.",
		getenv, stdout, stderr)
	f.env(&databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL connection string")
	if sub == "add" {
		f.fs.StringVar(&role, "role", "", "the user's role: auditor, writer or admin")
	}
	if sub == "add" || sub == "passwd" {
		f.fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (required)")
	}
	pos, err := f.parse(rest)
	if err != nil {
		return helpOrUsage(err)
	}
	var name string
	if sub != "list" {
		if len(pos) != 1 {
			return fmt.Errorf("user %s: give exactly one user NAME", sub)
		}
		name = pos[0]
		if err := checkUserName(name); err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
	} else if len(pos) != 0 {
		return errors.New("user list: takes no arguments")
	}
	if sub == "add" && !slices.Contains(auth.Roles, role) {
		return fmt.Errorf("user add: --role is %q; give one of %s", role, strings.Join(auth.Roles, ", "))
	}
	var password string
	if sub == "add" || sub == "passwd" {
		if !passwordStdin {
			return fmt.Errorf("user %s: pass --password-stdin and send the password on standard input, so that it never shows in the process list", sub)
		}
		if password, err = readPassword(stdin); err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
	}
	st, closeStore, err := openStore(ctx, databaseURL, "user "+sub)
	if err != nil {
		return err
	}
	defer closeStore()
	if sub == "list" {
		users, err := st.Users(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-30s %-8s %-9s %s\n", "NAME", "ROLE", "STATE", "CREATED")
		for _, u := range users {
			state := "enabled"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(stdout, "%-30s %-8s %-9s %s\n", u.Name, u.Role, state, u.CreatedAt.UTC().Format(time.RFC3339))
		}
		return nil
	}
	var hash string
	if password != "" {
		if hash, err = auth.NewHasher(auth.DefaultArgon2, 1).Hash(ctx, password); err != nil {
			return err
		}
	}
	switch sub {
	case "add":
		_, err = st.CreateUser(ctx, name, role, hash)
	case "disable", "enable":
		err = st.SetUserDisabled(ctx, name, sub == "disable")
	case "passwd":
		err = st.SetPassword(ctx, name, hash)
	case "delete":
		err = st.DeleteUser(ctx, name)
	}
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("user add: a user called %q exists already", name)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("user %s: there is no user called %q; see auditgraph user list", sub, name)
	case err != nil:
		return err
	}
	attrs := map[string]any{}
	if role != "" {
		attrs["role"] = role
	}
	if err := recordOperator(ctx, st, "user-management", sub+"-user", "user", name, attrs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %s: done for %s\n", sub, name)
	return nil
}

// readPassword reads a password from the first line of r.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPassword+3))
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	password := trimPassword(b)
	if n := len([]rune(password)); n < minPassword || len(password) > maxPassword {
		return "", fmt.Errorf("the password must have %d to %d characters", minPassword, maxPassword)
	}
	return password, nil
}

// openStore opens the database for an administration command.
func openStore(ctx context.Context, databaseURL, cmd string) (*store.Store, func(), error) {
	if databaseURL == "" {
		return nil, nil, fmt.Errorf("%s: DATABASE_URL is not set: set it (or --database-url) to the service's PostgreSQL connection string", cmd)
	}
	pool, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, nil, err
	}
	return store.New(pool), pool.Close, nil
}

// recordOperator writes the audit record of an administration command,
// with the operating-system user who ran it as the actor.
func recordOperator(ctx context.Context, st *store.Store, category, action, objectType, object string, attrs map[string]any) error {
	actor := os.Getenv("SUDO_USER")
	if actor == "" {
		if u, err := user.Current(); err == nil {
			actor = u.Username
		}
	}
	host, _ := os.Hostname()
	err := selfaudit.New(st).Record(ctx, selfaudit.Event{Category: category, Action: action, ObjectType: objectType,
		ObjectID: object, Attributes: attrs, ActorType: "operator", Actor: actor, Protocol: "cli", Host: host, UserAgent: "auditgraph-cli"})
	if err != nil {
		return fmt.Errorf("the change was made, but its audit record could not be written: %w", err)
	}
	return nil
}

// checkUserName accepts names of 1 to 100 letters, digits and . _ @ + -,
// such as e-mail addresses.
func checkUserName(name string) error {
	if len(name) == 0 || len(name) > 100 {
		return errors.New("NAME must have 1 to 100 characters")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)
		if !ok {
			return fmt.Errorf("NAME %q may hold only letters, digits and . _ @ + -", name)
		}
	}
	return nil
}
